"""Documents prefetch: with ``prefetch_documents = true`` a channel's documents are fetched as soon as
the marketplace makes them available (the order is in one of the statuses the declaration lists for that
kind), and stored in the database so that every host and terminal has them without a call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import col, select

from lengow_tui.connector_api import MarketplaceClient
from lengow_tui.store.models import Document, Order

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

PER_PASS = 50  # documents fetched per pass: the rest waits for the next one, imports go first
FAILURES_KEPT = 20


@dataclass
class PrefetchResult:
    fetched: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # DocumentError messages: no customer data


def _candidates(runtime: Runtime, channel_name: str, skip: set[int]) -> list[int]:
    channel_id = runtime.channel_id(channel_name)
    marketplaces = list(runtime.declarations(channel_name).values())
    available = {(m.code, d.kind.value, s.value) for m in marketplaces for d in m.documents
                 for s in d.available_from}
    with runtime.store.read() as session:
        rows = session.exec(
            select(Document.id, Document.kind, Order.marketplace, Order.status)
            .join(Order, Order.id == Document.order_id)  # type: ignore[arg-type]
            .where(Order.channel_id == channel_id, col(Order.anonymized_at).is_(None),
                   col(Document.content).is_(None))
            .order_by(col(Document.id).desc())
            .limit(PER_PASS * 4)
        )
        # A kind the declaration does not list is fetched whatever the status: the marketplace offered it.
        listed = {(m.code, d.kind.value) for m in marketplaces for d in m.documents}
        return [doc_id for doc_id, kind, marketplace, status in rows
                if doc_id not in skip
                and ((marketplace, kind) not in listed or (marketplace, kind, status) in available)][:PER_PASS]


async def prefetch_documents(
    runtime: Runtime, channel_name: str, client: MarketplaceClient, *, stop: asyncio.Event | None = None,
    skip: set[int] | None = None,
) -> PrefetchResult:
    """Fetch up to ``PER_PASS`` missing documents of the channel. ``skip``: ids that failed earlier in
    this process (kept by the caller so a broken document is not asked for on every pass)."""
    from lengow_tui.services.documents import DocumentError, fetch_document

    result = PrefetchResult()
    skip = skip if skip is not None else set()
    for document_id in _candidates(runtime, channel_name, skip):
        if stop is not None and stop.is_set():
            break
        try:
            await fetch_document(runtime, document_id, client)
            result.fetched += 1
        except DocumentError as exc:
            result.failed += 1
            skip.add(document_id)
            if len(result.errors) < FAILURES_KEPT:
                result.errors.append(str(exc))
    return result
