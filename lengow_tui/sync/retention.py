"""GDPR retention purge: erase the personal data of orders older than their channel's retention period.

What an anonymized order keeps: ids, statuses, dates, amounts, lines (SKUs, titles, quantities), carrier
and tracking number, the status history without free text — what bookkeeping needs. What it loses:
every ``party`` row (deleted), ``buyer_name``, the buyer in ``search_text``, the marketplace's raw
payload (replaced by a stub), stored documents (deleted), free text in action arguments, errors,
attempt messages and event messages. ``anonymized_at`` marks it, and the importer never brings the
personal data back (see :mod:`lengow_tui.sync.upsert` and :mod:`lengow_tui.sync.order_values`).

The work is done in batches of short write transactions, because a daemon and terminals share one
SQLite file and a long write lock would freeze them. On SQLite the deleted bytes must also leave the
files: every connection runs with ``secure_delete`` (freed cells, overflow and freelist pages are
zeroed), the FTS5 search index is merged (its old segments and delete markers still hold the words of
the rewritten search text), and a ``wal_checkpoint(TRUNCATE)`` moves the new pages into the main file
and empties the WAL, whose old frames still hold the previous page images.

Each run, dry runs included, is recorded in ``purge_run`` as proof (GDPR art. 5(2)).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func
from sqlalchemy.exc import StatementError
from sqlmodel import Session, col, select

from lengow_tui.domain import ActionSpec, ArgType
from lengow_tui.store.models import (
    Action,
    ActionAttempt,
    Channel,
    Document,
    Order,
    OrderEvent,
    OrderLine,
    Party,
    PurgeRun,
)
from lengow_tui.store.types import utcnow
from lengow_tui.sync.order_values import build_search_text
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime
    from lengow_tui.store import Store

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # orders per write transaction: a few hundred ms of lock at most
PURGE_INTERVAL = timedelta(hours=24)
RETRY_AFTER_FAILURE = timedelta(hours=1)  # a failed run is retried sooner than daily, but not every loop
CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_PAUSE_SECONDS = 0.2
REMOVED = "[removed]"
# An order with an action in one of these states is postponed: the action still needs its arguments,
# and the marketplace's answer may still change the order (same states as the outbox's UNFINISHED).
UNFINISHED_STATES = ("queued", "sending", "awaiting_confirmation", "retrying")

# Text arguments that identify a parcel or a carrier, never a person; kept for bookkeeping and claims.
KEPT_TEXT_ARGUMENTS = frozenset(
    {"tracking_number", "tracking_url", "carrier", "carrier_code", "carrier_name"}
)
# Event messages written by the host itself, free of marketplace text: kept whole.
_HOST_EVENT = re.compile(
    r"(?:accept|refuse|ship|cancel|refund) (?:queued|confirmed by the marketplace|cancelled by the user)"
)
# Host messages that end with the marketplace's own words (which may quote the buyer): the head is kept.
_HOST_EVENT_HEAD = re.compile(
    r"((?:accept|refuse|ship|cancel|refund) (?:rejected by the marketplace|gave up after \d+ attempts)):"
)


# ------------------------------------------------------------------------------------------------ report


@dataclass
class ChannelPurge:
    """What one run did (or, dry, would do) on one channel."""

    channel: str
    retention_days: int
    cutoff: datetime
    orders: int = 0  # orders anonymized
    parties: int = 0  # party rows deleted
    documents: int = 0  # stored documents deleted
    actions: int = 0  # actions whose arguments, error or attempt messages were scrubbed
    events: int = 0  # events whose messages were scrubbed
    postponed: int = 0  # past retention but with an unfinished action: next run

    def as_details(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        return data


@dataclass
class PurgeReport:
    run_id: int | None
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    channels: list[ChannelPurge] = field(default_factory=list)
    # SQLite only: "done", "not needed" (nothing changed), or why the WAL could not be emptied.
    checkpoint: str | None = None
    error: str | None = None

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.channels)

    @property
    def changed(self) -> bool:
        return not self.dry_run and any(c.orders or c.documents or c.actions or c.events or c.parties
                                        for c in self.channels)

    def details(self) -> dict[str, Any]:
        return {"channels": {c.channel: c.as_details() for c in self.channels}, "checkpoint": self.checkpoint}


# ---------------------------------------------------------------------------------------- scrubbing rules


def scrub_arguments(arguments: dict[str, Any], spec: ActionSpec | None) -> dict[str, Any]:
    """``arguments`` with every value that may be personal replaced by :data:`REMOVED`."""
    return {name: value if _keeps_argument(name, value, spec) else REMOVED for name, value in arguments.items()}


def _keeps_argument(name: str, value: Any, spec: ActionSpec | None) -> bool:
    if value is None or value == "" or value == REMOVED or name in KEPT_TEXT_ARGUMENTS:
        return True
    declared = spec.argument(name) if spec is not None else None
    if declared is None:
        return False  # undeclared (or the connector is gone): nothing says it is harmless
    if declared.type is ArgType.TEXT:
        return False  # free text typed by the merchant: may name or quote the buyer
    if declared.type is ArgType.CHOICE:
        # A code from the marketplace's list is not personal; a free value is free text.
        return not declared.accept_free_values or declared.choice_label(str(value)) is not None
    return True  # quantities, amounts, dates and line ids


def scrub_event_message(message: str | None) -> str | None:
    if message is None or message == REMOVED or _HOST_EVENT.fullmatch(message):
        return message
    head = _HOST_EVENT_HEAD.match(message)
    return f"{head.group(1)}: {REMOVED}" if head else REMOVED


def _scrub_text(message: str | None) -> str | None:
    # Errors and attempt messages quote the marketplace, which may quote the buyer: nothing is kept.
    return None if message is None else REMOVED


def payload_stub(order: Order, now: datetime) -> dict[str, Any]:
    """What replaces the marketplace's raw payload: enough to say what it was, nothing personal."""
    return {"anonymized": True, "anonymized_at": now.isoformat(), "marketplace": order.marketplace,
            "order_id": order.marketplace_order_id}


# ------------------------------------------------------------------------------------------------- batches


def _unfinished_action() -> Any:
    return exists().where(Action.order_id == Order.id, col(Action.state).in_(UNFINISHED_STATES))


def _due_orders(channel_id: int, cutoff: datetime) -> Any:
    return (Order.channel_id == channel_id) & col(Order.anonymized_at).is_(None) & (Order.ordered_at < cutoff)


def _next_batch(session: Session, channel_id: int, cutoff: datetime, after_id: int, lock: bool) -> list[Order]:
    stmt = (
        select(Order)
        .where(_due_orders(channel_id, cutoff), col(Order.id) > after_id, ~_unfinished_action())
        .order_by(col(Order.id))
        .limit(BATCH_SIZE)
    )
    if lock:
        # PostgreSQL with several workers: each takes the orders the others are not purging.
        stmt = stmt.with_for_update(skip_locked=True, of=Order)  # type: ignore[arg-type]
    return list(session.exec(stmt))


def _count_postponed(session: Session, channel_id: int, cutoff: datetime) -> int:
    stmt = select(func.count()).select_from(Order).where(_due_orders(channel_id, cutoff), _unfinished_action())
    return int(session.exec(stmt).one())


def _ensure_secure_delete(session: Session) -> None:
    # The engine sets it on connect; a connection made elsewhere (or a pragma reset) must not slip by,
    # or the deleted rows would linger in free space of the database file.
    conn = session.connection()
    conn.exec_driver_sql("PRAGMA secure_delete = ON")
    if conn.exec_driver_sql("PRAGMA secure_delete").scalar() != 1:
        raise RuntimeError("SQLite refused PRAGMA secure_delete = ON; nothing was purged")


def _count(session: Session, model: type[Any], ids: Sequence[int]) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(col(model.order_id).in_(ids))).one())


def _anonymize_batch(runtime: Runtime, session: Session, channel: str, orders: Sequence[Order],
                     stamp: datetime, dry_run: bool, counts: ChannelPurge) -> None:
    """Anonymize ``orders`` inside the caller's transaction; with ``dry_run`` only count."""
    ids = [o.id for o in orders if o.id is not None]
    counts.orders += len(ids)
    counts.parties += _count(session, Party, ids)
    counts.documents += _count(session, Document, ids)
    by_id = {o.id: o for o in orders}
    counts.actions += _scrub_actions(runtime, session, channel, by_id, dry_run)
    counts.events += _scrub_events(session, ids, dry_run)
    if dry_run:
        return
    session.exec(delete(Party).where(col(Party.order_id).in_(ids)))  # type: ignore[call-overload]
    session.exec(delete(Document).where(col(Document.order_id).in_(ids)))  # type: ignore[call-overload]
    items = _line_items(session, ids)
    for order in orders:
        order.buyer_name = None
        words = items.get(order.id, [])  # type: ignore[arg-type]
        order.search_text = build_search_text(order.marketplace_order_id, "", words, order.tracking_number)
        order.raw_payload = payload_stub(order, stamp)
        order.has_documents = False
        order.anonymized_at = stamp
        session.add(order)


def _line_items(session: Session, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    items: dict[int, list[tuple[str, str]]] = {}
    stmt = select(OrderLine).where(col(OrderLine.order_id).in_(ids)).order_by(col(OrderLine.id))
    for line in session.exec(stmt):
        items.setdefault(line.order_id, []).append((line.sku, line.title))
    return items


def _scrub_actions(runtime: Runtime, session: Session, channel: str, orders: dict[Any, Order],
                   dry_run: bool) -> int:
    """Scrub the actions of ``orders``; returns how many actions had something to scrub."""
    actions = list(session.exec(select(Action).where(col(Action.order_id).in_(list(orders)))))
    attempts: dict[int, list[ActionAttempt]] = {}
    if actions:
        stmt = select(ActionAttempt).where(col(ActionAttempt.action_id).in_([a.id for a in actions]),
                                           col(ActionAttempt.message).is_not(None))
        for attempt in session.exec(stmt):
            attempts.setdefault(attempt.action_id, []).append(attempt)
    touched = 0
    for action in actions:
        declaration = runtime.declaration(channel, orders[action.order_id].marketplace)
        spec = declaration.action(action.kind) if declaration is not None else None
        arguments = scrub_arguments(dict(action.arguments), spec)
        last_error = _scrub_text(action.last_error)
        changed_attempts = [a for a in attempts.get(action.id, []) if a.message != REMOVED]  # type: ignore[arg-type]
        if arguments == action.arguments and last_error == action.last_error and not changed_attempts:
            continue
        touched += 1
        if dry_run:
            continue
        action.arguments = arguments  # a new dict, so the JSON column is seen as changed
        action.last_error = last_error
        session.add(action)
        for attempt in changed_attempts:
            attempt.message = REMOVED
            session.add(attempt)
    return touched


def _scrub_events(session: Session, ids: Sequence[int], dry_run: bool) -> int:
    stmt = select(OrderEvent).where(col(OrderEvent.order_id).in_(ids), col(OrderEvent.message).is_not(None))
    touched = 0
    for event in session.exec(stmt):
        scrubbed = scrub_event_message(event.message)
        if scrubbed == event.message:
            continue
        touched += 1
        if not dry_run:
            event.message = scrubbed
            session.add(event)
    return touched


def _purge_channel(runtime: Runtime, channel_id: int, counts: ChannelPurge, stamp: datetime,
                   dry_run: bool) -> None:
    store = runtime.store
    after_id = 0
    while True:
        # One short transaction per batch; a dry run only reads.
        with (store.read() if dry_run else store.write()) as session:
            if not dry_run and store.is_sqlite:
                _ensure_secure_delete(session)
            batch = _next_batch(session, channel_id, counts.cutoff, after_id, lock=not dry_run)
            if not batch:
                break
            _anonymize_batch(runtime, session, counts.channel, batch, stamp, dry_run, counts)
            after_id = max(o.id for o in batch if o.id is not None)
    with store.read() as session:
        counts.postponed = _count_postponed(session, channel_id, counts.cutoff)


# ---------------------------------------------------------------------------------------------- checkpoint


def checkpoint_wal(store: Store) -> str | None:
    """Move the WAL into the database file and truncate it to zero bytes; None when done, else why not.

    A reader in the middle of a transaction pins old frames, so the checkpoint is retried briefly; if it
    still cannot finish, the next purge run tries again.
    """
    busy = "never tried"
    for attempt in range(CHECKPOINT_ATTEMPTS):
        # A raw DBAPI connection: the driver issues no BEGIN (isolation_level None) and a checkpoint
        # must not run inside a transaction of its own connection.
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            blocked, log_frames, done_frames = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
        if blocked == 0:
            return None
        busy = f"blocked by readers ({done_frames} of {log_frames} WAL frames copied)"
        time.sleep(CHECKPOINT_PAUSE_SECONDS * (attempt + 1))
    return f"WAL checkpoint {busy}; the next purge run retries"


def _last_checkpoint_incomplete(session: Session) -> bool:
    stmt = (select(PurgeRun).where(col(PurgeRun.dry_run).is_(False), col(PurgeRun.finished_at).is_not(None))
            .order_by(col(PurgeRun.id).desc()).limit(1))
    last = session.exec(stmt).first()
    value = last.details.get("checkpoint") if last is not None else None
    return value not in (None, "done", "not needed")


# ------------------------------------------------------------------------------------------------ the run


def _channel_targets(runtime: Runtime, names: Iterable[str] | None) -> list[tuple[int, str, int]]:
    """(channel id, name, retention days) of the channels to purge.

    Channels removed from the config keep their orders in the database; they are purged too, with the
    global retention period, or their customers' data would be kept forever.
    """
    with runtime.store.read() as session:
        rows = list(session.exec(select(Channel).order_by(col(Channel.name))))
    configured = {c.name: c.retention_days for c in runtime.config.channels}
    wanted = None if names is None else list(dict.fromkeys(names))
    known = {row.name for row in rows}
    unknown = [n for n in wanted or () if n not in known]
    if unknown:
        raise ValueError(f"unknown channel(s): {', '.join(unknown)}; channels: {', '.join(sorted(known)) or 'none'}")
    return [
        (row.id, row.name, configured.get(row.name, runtime.config.retention_days))  # type: ignore[misc]
        for row in rows
        if wanted is None or row.name in wanted
    ]


def _start_run(runtime: Runtime, started: datetime, dry_run: bool, worker: str) -> int:
    with runtime.store.write() as session:
        run = PurgeRun(started_at=started, dry_run=dry_run, worker=worker[:128])
        session.add(run)
        session.flush()
        return run.id  # type: ignore[return-value]


def _finish_run(runtime: Runtime, report: PurgeReport) -> None:
    with runtime.store.write() as session:
        run = session.get(PurgeRun, report.run_id)
        if run is None:  # deleted meanwhile by hand: record the run anew rather than lose the proof
            run = PurgeRun(started_at=report.started_at, dry_run=report.dry_run)
        run.finished_at = report.finished_at
        run.orders = report.total("orders")
        run.documents = report.total("documents")
        run.actions = report.total("actions")
        run.events = report.total("events")
        run.details = report.details()
        run.error = report.error[:2048] if report.error else None
        session.add(run)


def purge(runtime: Runtime, *, now: datetime | None = None, dry_run: bool = False,
          channels: Iterable[str] | None = None, worker: str = "") -> PurgeReport:
    """Anonymize every order past its channel's retention period (see the module docstring).

    ``now`` moves the clock (tests, ``--now``); ``channels`` limits the run to these channel names
    (ValueError for an unknown one). Errors are recorded in the run and in the report, not raised.
    """
    started = utcnow()
    now = now or started
    targets = _channel_targets(runtime, channels)
    report = PurgeReport(run_id=_start_run(runtime, started, dry_run, worker), dry_run=dry_run, started_at=started)
    try:
        for channel_id, name, days in targets:
            counts = ChannelPurge(channel=name, retention_days=days, cutoff=now - timedelta(days=days))
            report.channels.append(counts)
            # anonymized_at records when it happened, not the pretend ``now`` of a test or --now.
            _purge_channel(runtime, channel_id, counts, started, dry_run)
            log.info("retention purge%s: channel %s, cut-off %s: %d orders, %d documents, %d actions, "
                     "%d events, %d postponed", " (dry run)" if dry_run else "", name, counts.cutoff.isoformat(),
                     counts.orders, counts.documents, counts.actions, counts.events, counts.postponed)
    except Exception as exc:  # recorded as proof of an incomplete run; the next run resumes
        report.error = describe_error(exc)
        log.error("retention purge failed: %s", report.error)
    if runtime.store.is_sqlite and not dry_run:
        if report.changed:
            _compact_search_index(runtime, report)
        report.checkpoint = _checkpoint_if_needed(runtime, report)
    report.finished_at = utcnow()
    _finish_run(runtime, report)
    return report


def _compact_search_index(runtime: Runtime, report: PurgeReport) -> None:
    """Merge the FTS5 search index: it keeps the words of rewritten ``search_text`` (the buyer's name)
    in old segments, and even writes them again in its delete markers, until a merge."""
    from lengow_tui.store.search_index import FTS_TABLE, compact_search_index

    try:
        with runtime.store.write() as session:
            conn = session.connection()
            found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                         (FTS_TABLE,)).first()
            if found is not None:
                _ensure_secure_delete(session)
                compact_search_index(conn)
    except Exception as exc:
        report.error = report.error or f"search index compaction failed: {describe_error(exc)}"
        log.error("retention purge: %s", report.error)


def describe_error(exc: BaseException) -> str:
    """A failure, said without the row values it may carry (it goes to ``purge_run.error`` and the logs).

    SQLAlchemy's message of a failed statement lists its parameters — here the very personal data being
    erased — and PostgreSQL's DETAIL line quotes key values; only the driver's first line is kept.
    """
    if isinstance(exc, StatementError):
        first_line = (str(exc.orig).strip().splitlines() or [""])[0]
        return clean_text(f"{type(exc.orig).__name__}: {first_line}", 500)
    return clean_text(f"{type(exc).__name__}: {exc}", 500)


def _checkpoint_if_needed(runtime: Runtime, report: PurgeReport) -> str:
    with runtime.store.read() as session:
        retry = _last_checkpoint_incomplete(session)
    if not report.changed and not retry:
        return "not needed"
    problem = checkpoint_wal(runtime.store)
    if problem is None:
        return "done"
    log.warning("retention purge: %s", problem)
    report.error = report.error or problem
    return problem


def purge_due(runtime: Runtime, now: datetime | None = None) -> bool:
    """True when no real (non-dry) run finished without error in the last 24 hours.

    A failed run is retried after an hour rather than at every loop of the daemon, so a persistent
    failure does not fill ``purge_run``.
    """
    now = now or utcnow()
    with runtime.store.read() as session:
        real = col(PurgeRun.dry_run).is_(False)
        last_ok = session.exec(
            select(func.max(PurgeRun.finished_at)).where(real, col(PurgeRun.error).is_(None))
        ).one()
        last_start = session.exec(select(func.max(PurgeRun.started_at)).where(real)).one()
    if last_ok is not None and now - _aware(last_ok) < PURGE_INTERVAL:
        return False
    return last_start is None or now - _aware(last_start) >= RETRY_AFTER_FAILURE


def _aware(value: datetime) -> datetime:
    # func.max bypasses the column type on SQLite, which then hands back a naive UTC value (or a string).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def recent_runs(runtime: Runtime, limit: int = 20) -> list[PurgeRun]:
    """The latest recorded runs, newest first (``lengow-tui purge --history``)."""
    with runtime.store.read() as session:
        return list(session.exec(select(PurgeRun).order_by(col(PurgeRun.id).desc()).limit(limit)))
