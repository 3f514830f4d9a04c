"""Import: per channel, pages after the stored cursor, each page and its cursor in one transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lengow_tui.connector_api import ConnectorError, MarketplaceClient, OrderPage, RateLimitedError
from lengow_tui.store.models import SyncCursor
from lengow_tui.store.types import utcnow
from lengow_tui.sync.marketplaces import refresh_declarations
from lengow_tui.sync.rate_gate import close_gate, gate_delay, record_outcome
from lengow_tui.sync.upsert import UpsertStats, upsert_orders
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

    @property
    def orders(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        text = f"{self.channel}: {self.created} new, {self.updated} updated, {self.unchanged} unchanged"
        if self.flagged:
            text += f", {self.flagged} flagged for review"
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
    """The connector's pages, fetched up to ``depth`` ahead of the consumer (in a task). An error the
    connector raises is raised here, after the pages before it; the task stops with the consumer."""
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


async def import_channel(runtime: Runtime, channel_name: str, client: MarketplaceClient) -> ImportResult:
    result = ImportResult(channel_name)
    channel_id = runtime.channel_id(channel_name)
    wait = gate_delay(runtime, channel_id)
    if wait > 0:
        result.deferred_seconds = wait
        return result
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
        def store_page(page: OrderPage) -> UpsertStats:
            with runtime.store.write() as session:
                stats = upsert_orders(session, channel_id, page.orders, declarations, utcnow())
                row = session.get(SyncCursor, channel_id)
                assert row is not None
                if page.cursor is not None:
                    row.cursor = page.cursor
                row.orders_seen += len(page.orders)
                session.add(row)
            return stats

        async for page in _read_ahead(client.fetch_orders(cursor)):
            # In a thread: SQLite releases the GIL while it works, so the next page is fetched and
            # parsed meanwhile. Pages are still stored one at a time, in order, each with its cursor.
            stats = await asyncio.to_thread(store_page, page)
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
