"""The daemon's per-channel schedule and the state it shows (health endpoint, metrics, logs).

A channel is imported every ``max(interval, largest min_poll_interval_seconds of its connector's
marketplace declarations)``: the operator's ``--interval`` may ask for more than a marketplace allows,
and then the marketplace wins. Due actions are delivered far more often (every ``DELIVERY_TICK``) since
an accept or a shipment should not wait for the next import.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lengow_tui.store.types import utcnow

if TYPE_CHECKING:
    from lengow_tui.connector_api import MarketplaceDeclaration

DELIVERY_TICK = 2.0  # seconds between two looks at a channel's due actions
# After the client could not be built (bad settings, plugin bug), try again after this many seconds,
# doubling up to the import interval: no marketplace call is made, but a broken plugin should not spin.
CLIENT_RETRY_FIRST = 5.0


def connector_min_poll(declarations: Iterable[MarketplaceDeclaration]) -> int:
    """The largest ``min_poll_interval_seconds`` among a channel's marketplace declarations (static, or
    fetched and cached for connectors that read them from a platform)."""
    return max((d.min_poll_interval_seconds for d in declarations), default=0)


def import_interval(requested: float, declarations: Iterable[MarketplaceDeclaration]) -> float:
    return max(float(requested), float(connector_min_poll(declarations)))


@dataclass
class ChannelState:
    """What the daemon knows about one channel; read by ``/healthz``, ``/metrics`` and the logs."""

    name: str
    interval: float = 0.0  # effective import interval (seconds)
    last_success: datetime | None = None  # last import that ended without error
    last_error: str | None = None  # cleaned text, None once an import succeeds again
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    imports: int = 0  # import passes run by this daemon (successful or not)
    next_import_at: float = 0.0  # time.monotonic() of the next import
    gate_wait: float = 0.0  # seconds the channel's rate gate stays closed, as of the last step
    stopped: bool = False  # the channel cannot run at all (e.g. its connector is not installed)
    import_held_by: str | None = None  # PostgreSQL: the worker importing the channel, when not this one

    def next_import_in(self) -> float | None:
        if self.stopped:
            return None
        return max(0.0, self.next_import_at - time.monotonic())

    def seconds_since_success(self) -> float:
        if self.last_success is None:
            return float("inf")
        return max(0.0, (utcnow() - self.last_success).total_seconds())

    def succeeded(self) -> None:
        self.last_success = utcnow()
        self.last_error = None
        self.consecutive_failures = 0

    def failed(self, error: str) -> None:
        self.last_error = error
        self.last_error_at = utcnow()
        self.consecutive_failures += 1

    def as_health(self) -> dict[str, object]:
        next_in = self.next_import_in()
        return {
            "last_success": _iso(self.last_success),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "consecutive_failures": self.consecutive_failures,
            "import_interval": self.interval,
            "next_import_in": None if next_in is None else round(next_in, 1),
            "rate_limited_for": round(self.gate_wait, 1),
            "import_held_by": self.import_held_by,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")
