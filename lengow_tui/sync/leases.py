"""Leases shared by several sync workers through the database: who imports a channel now, which workers
are alive, and the clean-up of the ones that died.

A channel's import lease (``channel_lease``) is claimed with one atomic upsert, for
``IMPORT_LEASE_SECONDS``; the holder renews it with every page it stores (in the page's transaction, so a
worker that lost its lease cannot commit one more page: the renewal finds no row and the page rolls
back) and from its heartbeat; it releases it at the end of the pass or on SIGTERM. A lease is taken over
when it expired, or at once when its holder is a process of this host that no longer exists.

Workers are the ``worker`` rows: a heartbeat every few seconds, ``holds`` describing what the worker
holds. A worker whose heartbeat is older than ``STALE_AFTER`` is dead: any live worker hands its action
leases back (marked for reconciliation), frees its channel leases and deletes its row.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from lengow_tui.store.models import Action, ChannelLease, Worker
from lengow_tui.store.types import utcnow

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

IMPORT_LEASE_SECONDS = 30.0
STALE_AFTER = timedelta(seconds=30)  # six missed heartbeats (the daemon beats every 5 s)


class LeaseLost(Exception):
    """This worker no longer holds the channel's import lease (it expired and was taken over)."""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def dead_local_owner(owner: str | None) -> bool:
    """True when ``owner`` (``host:pid``) names a process of this host that is gone: a crash."""
    host, _, pid = (owner or "").rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() \
        and not _process_alive(int(pid))


def dialect_insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@dataclass(frozen=True)
class LeaseClaim:
    acquired: bool
    holder: str | None = None  # who holds it when not acquired (None: free, but the import is not due)
    next_import_at: datetime | None = None  # the fleet's next scheduled import of the channel


def claim_import_lease(runtime: Runtime, channel_id: int, worker: str, *, scheduled: bool = False,
                       now: datetime | None = None) -> LeaseClaim:
    """Claim the channel's import lease for ``worker``. With ``scheduled`` (daemons), only when the
    fleet's next import of the channel is due; ``sync --once`` and the TUI ask for an import now."""
    now = now or utcnow()
    expires = now + timedelta(seconds=IMPORT_LEASE_SECONDS)
    with runtime.store.write() as session:
        current = session.get(ChannelLease, channel_id)
        takeable = [ChannelLease.owner.is_(None), ChannelLease.owner == worker,  # type: ignore[union-attr]
                    ChannelLease.expires_at < now]
        if current is not None and current.owner and dead_local_owner(current.owner):
            takeable.append(ChannelLease.owner == current.owner)
        condition = or_(*takeable)
        if scheduled:
            condition = condition & (ChannelLease.next_import_at.is_(None)  # type: ignore[union-attr]
                                     | (ChannelLease.next_import_at <= now))
        insert = dialect_insert(session)
        stmt = insert(ChannelLease).values(channel_id=channel_id, owner=worker, expires_at=expires,
                                           acquired_at=now, next_import_at=None)
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel_id"],
            set_={"owner": worker, "expires_at": expires, "acquired_at": now},
            where=condition,
        ).returning(ChannelLease.owner)
        got = session.execute(stmt).first()
        if got is not None:
            return LeaseClaim(True, worker)
        session.expire_all()
        row = session.get(ChannelLease, channel_id)
        return LeaseClaim(False, row.owner if row else None, row.next_import_at if row else None)


def renew_import_lease(session: Session, channel_id: int, worker: str, now: datetime | None = None) -> None:
    """Extend the lease inside the caller's transaction; :class:`LeaseLost` when it is no longer ours.
    The row lock this takes also keeps a take-over waiting until the transaction ends."""
    expires = (now or utcnow()) + timedelta(seconds=IMPORT_LEASE_SECONDS)
    result = session.execute(
        update(ChannelLease).where(ChannelLease.channel_id == channel_id, ChannelLease.owner == worker)
        .values(expires_at=expires)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"the import lease of channel {channel_id} was taken over by another worker")


def renew_all(runtime: Runtime, worker: str, now: datetime | None = None) -> int:
    """Extend every import lease ``worker`` holds (from the heartbeat: a long first page stays ours)."""
    expires = (now or utcnow()) + timedelta(seconds=IMPORT_LEASE_SECONDS)
    with runtime.store.write() as session:
        result = session.execute(update(ChannelLease).where(ChannelLease.owner == worker).values(expires_at=expires))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_import_lease(runtime: Runtime, channel_id: int, worker: str, *,
                         next_import_at: datetime | None = None) -> None:
    """Free the lease (when ours); a daemon also sets when the fleet next imports the channel."""
    values: dict[str, Any] = {"owner": None, "expires_at": None}
    if next_import_at is not None:
        values["next_import_at"] = next_import_at
    with runtime.store.write() as session:
        session.execute(update(ChannelLease).where(ChannelLease.channel_id == channel_id,
                                                   ChannelLease.owner == worker).values(**values))


def release_worker_leases(runtime: Runtime, worker: str) -> int:
    """Free every import lease of ``worker``; the next due import goes to whichever worker asks first."""
    with runtime.store.write() as session:
        result = session.execute(update(ChannelLease).where(ChannelLease.owner == worker)
                                 .values(owner=None, expires_at=None, next_import_at=None))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def held_import_leases(session: Session, worker: str, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(session.exec(select(ChannelLease.channel_id).where(
        ChannelLease.owner == worker, ChannelLease.expires_at >= now).order_by(ChannelLease.channel_id)))


def claimed_actions(session: Session, worker: str) -> int:
    return int(session.exec(select(func.count()).select_from(Action).where(Action.lease_owner == worker)).one())


def live_workers(runtime: Runtime, *, kind: str = "daemon", now: datetime | None = None) -> list[Worker]:
    """Workers of ``kind`` whose heartbeat is fresh, newest first."""
    now = now or utcnow()
    with runtime.store.read() as session:
        return list(session.exec(select(Worker).where(Worker.kind == kind, Worker.heartbeat_at >= now - STALE_AFTER)
                                 .order_by(col(Worker.heartbeat_at).desc())))


def reap_dead_workers(runtime: Runtime, me: str, now: datetime | None = None) -> list[tuple[str, int, int]]:
    """Clean up after daemons that died: heartbeat older than ``STALE_AFTER``, or a process of this host
    that is gone. Returns ``(worker, action leases released, import leases released)`` for each.

    Several live workers may do this at once: each step is a conditional update, so a lease is released
    once, and the row is deleted only while it is still stale (a worker that was merely cut off and
    beats again keeps its row)."""
    from lengow_tui.sync.outbox import release_leases

    now = now or utcnow()
    cutoff = now - STALE_AFTER
    with runtime.store.read() as session:
        rows = list(session.exec(select(Worker).where(Worker.kind == "daemon", Worker.name != me)))
    dead = [w for w in rows if w.heartbeat_at < cutoff or dead_local_owner(w.name)]
    reaped = []
    for worker in dead:
        actions = release_leases(runtime, worker.name)
        imports = release_worker_leases(runtime, worker.name)
        with runtime.store.write() as session:
            gone = dead_local_owner(worker.name)
            stmt = delete(Worker).where(Worker.name == worker.name)  # type: ignore[arg-type]
            if not gone:
                stmt = stmt.where(Worker.heartbeat_at < cutoff)  # type: ignore[arg-type]
            session.execute(stmt)
        reaped.append((worker.name, actions, imports))
    return reaped


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    kind: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age: float  # seconds
    alive: bool
    import_leases: list[str]  # channels whose import lease it holds now (from channel_lease)
    actions: int  # actions it has claimed now (from action.lease_owner)
    holds: dict[str, Any]  # what it reported with its last heartbeat


def describe_workers(runtime: Runtime, now: datetime | None = None) -> list[WorkerInfo]:
    """Every registered worker with what it holds, read live from the leases (not only its last
    heartbeat's report). Stale ones are listed until a live worker cleans them up."""
    from lengow_tui.store.models import Channel

    now = now or utcnow()
    with runtime.store.read() as session:
        workers = list(session.exec(select(Worker).order_by(Worker.host, Worker.started_at)))
        names = {c.id: c.name for c in session.exec(select(Channel))}
        leases: dict[str, list[str]] = {}
        for lease in session.exec(select(ChannelLease).where(col(ChannelLease.owner).is_not(None),
                                                             ChannelLease.expires_at >= now)):
            leases.setdefault(lease.owner or "", []).append(names.get(lease.channel_id, str(lease.channel_id)))
        claimed = dict(session.exec(select(Action.lease_owner, func.count()).where(
            col(Action.lease_owner).is_not(None)).group_by(Action.lease_owner)).all())
    return [WorkerInfo(w.name, w.kind, w.host, w.pid, w.started_at, w.heartbeat_at,
                       max(0.0, (now - w.heartbeat_at).total_seconds()),
                       w.heartbeat_at >= now - STALE_AFTER and not dead_local_owner(w.name),
                       sorted(leases.get(w.name, [])), int(claimed.get(w.name, 0)), dict(w.holds or {}))
            for w in workers]
