"""Running the emulator: in a background thread for tests (``run_emulator``) or as a process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from lengow_tui.emulation import server as serve
from lengow_tui_lengow.emulator.app import build_app
from lengow_tui_lengow.emulator.faults import FaultRule, FaultTable
from lengow_tui_lengow.emulator.state import EmulatorOptions, EmulatorState, RejectRule


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens, the credentials it accepts, and its world."""

    base_url: str
    state: EmulatorState
    faults: FaultTable

    @property
    def access_token(self) -> str:
        return self.state.options.access_token

    @property
    def secret(self) -> str:
        return self.state.options.secret

    @property
    def account_id(self) -> int:
        return self.state.options.account_id

    def inject(self, kind: str, *, path: str = "/v3.0/*", **options: Any) -> None:
        """Same as POST /_emulator/faults: e.g. ``inject("503", path="/v3.0/orders", count=2)``."""
        self.faults.add(FaultRule.from_json({"kind": kind, "path": path, **options}))

    def reject_next(self, message: str, *, order_id: str | None = None, action_type: str | None = None,
                    count: int = 1) -> None:
        """Same as POST /_emulator/rejections: the marketplace refuses the next matching action(s)."""
        with self.state.lock:
            self.state.rejections.append(RejectRule(message, order_id, action_type, count))

    def actions(self) -> dict[str, Any]:
        return self.state.actions_report()


def make_options(**options: Any) -> EmulatorOptions:
    known = {f.name for f in fields(EmulatorOptions)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown emulator option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    if "marketplaces" in options:
        options["marketplaces"] = tuple(options["marketplaces"])
    return EmulatorOptions(**options)


def make_server(state: EmulatorState, faults: FaultTable, stopping: threading.Event) -> Any:
    return serve.make_server(build_app(state, faults, stopping))


@contextmanager
def run_emulator(**options: Any) -> Iterator[EmulatorHandle]:
    """Start the emulator on 127.0.0.1, a free port, in a background thread; stop it on exit.

    ``options`` are :class:`EmulatorOptions` fields (orders, seed, access_token, secret, account_id,
    marketplaces, token_lifetime_seconds, action_delay_seconds, rate_limit_per_minute...).
    """
    state = EmulatorState(make_options(**options))
    faults = FaultTable()
    stopping = threading.Event()
    with serve.serve_in_thread(build_app(state, faults, stopping), stopping, name="Lengow emulator") as url:
        yield EmulatorHandle(url, state, faults)
