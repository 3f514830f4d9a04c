"""Import: per channel, pages after the stored cursor, each page and its cursor in one transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from lengow_tui.connector_api import (
    ConnectorError,
    MarketplaceClient,
    OrderPage,
    RateLimitedError,
    RemoteOrder,
)
from lengow_tui.store.models import SyncCursor
from lengow_tui.store.notify import mark_changed
from lengow_tui.store.types import utcnow
from lengow_tui.sync.leases import LeaseLost, claim_import_lease, release_import_lease, renew_import_lease
from lengow_tui.sync.marketplaces import refresh_declarations
from lengow_tui.sync.rate_gate import close_gate, gate_delay, record_outcome
from lengow_tui.sync.new_orders import NewOrderRows, OrderKey, build_new_rows, order_key
from lengow_tui.sync.upsert import UpsertStats, known_orders, sort_listed, upsert_orders
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime


READ_AHEAD = 2  # pages fetched ahead while one is being stored


@dataclass
class ImportResult:
    channel: str
    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0
    error: str | None = None
    deferred_seconds: float = 0.0  # the channel's rate gate was closed: nothing was fetched
    # Another worker holds the channel's import lease (or, for daemons, the fleet's next import is not
    # due yet): nothing was fetched. ``held_by`` names the holder, None when the lease was merely not due.
    skipped: bool = False
    held_by: str | None = None
    next_import_at: datetime | None = None

    @property
    def orders(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        text = f"{self.channel}: {self.created} new, {self.updated} updated, {self.unchanged} unchanged"
        if self.flagged:
            text += f", {self.flagged} flagged for review"
        if self.skipped:
            return f"{self.channel}: imported by another worker ({self.held_by})" if self.held_by \
                else f"{self.channel}: not due (imported by another worker)"
        if self.error:
            text += f"; failed: {self.error}"
        elif self.deferred_seconds:
            text += f"; rate-limited by the marketplace, next import in {self.deferred_seconds:.0f} s"
        return text


def _describe(exc: BaseException) -> str:
    # Connector messages are written for users; anything else gets its type name so the cause is
    # findable without leaking the payload that may have triggered it.
    if isinstance(exc, ConnectorError):
        return clean_text(str(exc), 500)
    return clean_text(f"{type(exc).__name__}: {exc}", 500)


_END = object()


async def _read_ahead(pages: AsyncIterator[OrderPage], depth: int = READ_AHEAD) -> AsyncIterator[OrderPage]:
    """The connector's pages, fetched up to ``depth`` ahead of the consumer (in a task): the next page's
    HTTP call is under way while this one is stored. An error the connector raises is raised here,
    after the pages before it; the task stops with the consumer."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    async def produce() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:
            await queue.put(_Failure(exc))
        else:
            await queue.put(_END)

    task = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


@dataclass
class _Failure:
    error: Exception


@dataclass
class _Prepared:
    page: OrderPage
    orders: tuple[RemoteOrder, ...]  # to upsert: the page's converted orders and the listed ones loaded
    seen: list[int]  # stored ids of listed orders found unchanged
    rows: dict[OrderKey, NewOrderRows]  # rows of the orders not stored yet, built ahead


async def import_channel(runtime: Runtime, channel_name: str, client: MarketplaceClient, *,
                         worker: str | None = None, interval: float | None = None) -> ImportResult:
    """Import the channel's new pages while holding its import lease (:mod:`lengow_tui.sync.leases`).

    ``interval`` (daemons): import only when the fleet's next import of the channel is due, and schedule
    the next one ``interval`` seconds after this one started. Without it the import happens now unless
    another worker is importing the channel at this moment."""
    from lengow_tui.sync.run import worker_name

    result = ImportResult(channel_name)
    channel_id = runtime.channel_id(channel_name)
    wait = gate_delay(runtime, channel_id)
    if wait > 0:
        result.deferred_seconds = wait
        return result
    worker = worker or worker_name()
    started = utcnow()
    claim = claim_import_lease(runtime, channel_id, worker, scheduled=interval is not None, now=started)
    if not claim.acquired:
        result.skipped, result.held_by, result.next_import_at = True, claim.holder, claim.next_import_at
        return result
    next_import = started + timedelta(seconds=interval) if interval is not None else None
    try:
        return await _import_leased(runtime, channel_name, channel_id, client, worker, result)
    finally:
        # Not on a lost lease: it belongs to the worker that took it over (the update matches nothing).
        with contextlib.suppress(Exception):  # a database outage: the lease then expires on its own
            release_import_lease(runtime, channel_id, worker, next_import_at=next_import)


async def _import_leased(runtime: Runtime, channel_name: str, channel_id: int, client: MarketplaceClient,
                         worker: str, result: ImportResult) -> ImportResult:
    spec = runtime.spec_for(runtime.config.channel(channel_name))
    with runtime.store.write() as session:
        row = session.get(SyncCursor, channel_id) or SyncCursor(channel_id=channel_id)
        row.last_attempt_at = utcnow()
        session.add(row)
        cursor = row.cursor
    try:
        if spec.dynamic_marketplaces:
            # Declarations read from the platform: refreshed (and cached) before the orders that use them.
            await refresh_declarations(runtime, channel_name, client)
        declarations = runtime.declarations(channel_name)

        async def prepare(page: OrderPage) -> _Prepared:
            """A page made ready to store: its listed orders loaded (only those new or changed) and the
            rows of its new orders built, before the write transaction, which then only writes."""
            keys = [order_key(o) for o in (*page.listed, *page.orders)]
            with runtime.store.read() as session:
                known = known_orders(session, channel_id, keys) if keys else {}
            wanted, seen = sort_listed(page.listed, known)
            orders = page.orders + await page.load_listed(wanted)
            now = utcnow()
            rows = {key: build_new_rows(channel_id, remote, declarations, now)
                    for remote in orders if (key := order_key(remote)) not in known}
            return _Prepared(page, orders, seen, rows)

        def store_page(ready: _Prepared) -> UpsertStats:
            page = ready.page
            with runtime.store.write() as session:
                # First, in the page's transaction: a worker that lost the lease stores nothing more.
                renew_import_lease(session, channel_id, worker)
                stats = upsert_orders(session, channel_id, ready.orders, declarations, utcnow(), ready.seen,
                                      ready.rows)
                mark_changed(session, channel_id=channel_id, orders=page.size)
                # One Core statement, not the ORM's load-and-flush of the cursor row: this runs per page.
                values: dict[str, Any] = {"orders_seen": SyncCursor.orders_seen + page.size}
                if page.cursor is not None:
                    values["cursor"] = page.cursor
                session.execute(update(SyncCursor).where(SyncCursor.channel_id == channel_id).values(**values))
            return stats

        async for page in _read_ahead(client.fetch_orders(cursor)):
            # Pages are stored one at a time, in order, each with its cursor. (Between prepare and
            # store the outbox may store one of these orders, re-read after an action: the upsert
            # compares update times again in its transaction, and a listed order prepare found
            # unchanged is at worst marked seen, its newer version stored by the outbox.)
            # Prepared and stored in the event loop, not in a thread: an import is CPU-bound, and a
            # thread fighting this one for the GIL made it 10% slower (bench/sync_throughput.py); the
            # write transaction holds only multi-row statements, a few milliseconds per page.
            stats = store_page(await prepare(page))
            result.pages += 1
            result.created += stats.created
            result.updated += stats.updated
            result.unchanged += stats.unchanged
            result.flagged += stats.flagged
    except RateLimitedError as exc:
        # Not a failure: the pages imported so far are committed; the channel waits, then resumes from
        # the committed cursor.
        close_gate(runtime, channel_id, exc.retry_after, _describe(exc))
        result.deferred_seconds = exc.retry_after
    except LeaseLost:  # this worker stalled past its lease; the worker that took it over goes on
        result.skipped, result.held_by = True, "another worker, which took the lease over"
        return result
    except Exception as exc:  # one channel failing must not stop the others
        result.error = _describe(exc)
    with runtime.store.write() as session:
        row = session.get(SyncCursor, channel_id)
        assert row is not None
        row.last_error = result.error
        if result.error is None:
            row.last_success_at = utcnow()
        session.add(row)
    record_outcome(runtime, channel_id, failed=result.error is not None)
    return result
