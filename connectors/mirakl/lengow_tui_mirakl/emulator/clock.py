"""Timestamps in Mirakl's format (ISO 8601, UTC, milliseconds, 'Z')."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso(ts: float) -> str:
    # Faster than datetime.isoformat + replace, and always the same shape.
    # Truncated, never rounded up: a change must not look later than the moment it happened.
    total = int(ts * 1000)
    whole, millis = divmod(total, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def ms(ts: float) -> float:
    """``ts`` at the millisecond precision of :func:`iso`."""
    return int(ts * 1000) / 1000


def parse_iso(text: str) -> float:
    """Seconds since the epoch; raises ValueError on a malformed date."""
    value = datetime.fromisoformat(text.strip().replace(" ", "+"))  # '+' in a query string may arrive as ' '
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
