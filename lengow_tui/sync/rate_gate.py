"""A channel's rate gate, kept in the database so every worker (daemon, TUI, `sync --once`) sees it.

When a marketplace answers "too many requests", the whole channel waits — not only the call that got
the answer — until ``blocked_until``. Consecutive failures are counted so operators can see a channel
that keeps failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from lengow_tui.store.models import ChannelGate
from lengow_tui.store.types import utcnow
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime


def gate_delay(runtime: Runtime, channel_id: int, now: datetime | None = None) -> float:
    """Seconds until the channel may call its marketplace again; 0 when the gate is open."""
    now = now or utcnow()
    with runtime.store.read() as session:
        gate = session.get(ChannelGate, channel_id)
    if gate is None or gate.blocked_until is None or gate.blocked_until <= now:
        return 0.0
    return (gate.blocked_until - now).total_seconds()


def _locked_gate(session: Session, channel_id: int, now: datetime) -> ChannelGate:
    """The channel's gate row, created if missing and locked for this transaction: several workers
    update one gate (a 429 seen by two of them, failure counts) without losing an update or colliding
    on the insert."""
    from lengow_tui.sync.leases import dialect_insert

    insert = dialect_insert(session)
    session.execute(insert(ChannelGate).values(channel_id=channel_id, consecutive_failures=0, updated_at=now)
                    .on_conflict_do_nothing(index_elements=["channel_id"]))
    gate = session.get(ChannelGate, channel_id, with_for_update=True, populate_existing=True)
    assert gate is not None
    return gate


def close_gate(runtime: Runtime, channel_id: int, seconds: float, reason: str, now: datetime | None = None) -> None:
    """Block the channel for ``seconds``; an already longer block is kept."""
    now = now or utcnow()
    until = now + timedelta(seconds=max(0.0, seconds))
    with runtime.store.write() as session:
        gate = _locked_gate(session, channel_id, now)
        if gate.blocked_until is None or gate.blocked_until < until:
            gate.blocked_until = until
            gate.reason = clean_text(reason, 500)
        gate.updated_at = now
        session.add(gate)


def record_outcome(runtime: Runtime, channel_id: int, *, failed: bool, now: datetime | None = None) -> None:
    """Count consecutive failed passes of a channel (reset by a good one)."""
    now = now or utcnow()
    with runtime.store.write() as session:
        gate = session.get(ChannelGate, channel_id)
        if gate is None and not failed:
            return
        gate = _locked_gate(session, channel_id, now)
        gate.consecutive_failures = gate.consecutive_failures + 1 if failed else 0
        gate.updated_at = now
        session.add(gate)


def gates(runtime: Runtime) -> dict[int, ChannelGate]:
    with runtime.store.read() as session:
        from sqlmodel import select

        return {g.channel_id: g for g in session.exec(select(ChannelGate))}
