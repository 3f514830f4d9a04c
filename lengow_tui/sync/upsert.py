"""Writing remote orders into the store: idempotent, newest marketplace update wins, history kept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from lengow_tui.connector_api import (
    ListedOrder,
    MarketplaceDeclaration,
    RemoteDocument,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
)
from lengow_tui.connector_api.types import PartyRole
from lengow_tui.store.fast_insert import insert_rows
from lengow_tui.store.models import Document, Order, OrderEvent, OrderLine, Party
from lengow_tui.text import clean_text, clean_texts

MAX_SEARCH_TEXT = 4000


@dataclass
class UpsertStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0  # unknown raw status or unknown marketplace
    status_changes: list[tuple[int, str | None, str | None]] = field(default_factory=list)


def build_search_text(order_id: str, buyer: str, items: Iterable[tuple[str, str]], tracking_number: str | None) -> str:
    """The lowercased words an order is found by: its id, buyer, line SKUs and titles, tracking number.

    Shared with the retention purge, which rebuilds it with an empty ``buyer``.
    """
    parts = [order_id, buyer]
    for sku, title in items:
        parts.extend((sku, title))
    parts.append(tracking_number or "")
    return " ".join(clean_text(p, 512) for p in parts if p).casefold()[:MAX_SEARCH_TEXT]


def _search_text(remote: RemoteOrder, buyer: str) -> str:
    tracking = remote.tracking.tracking_number if remote.tracking is not None else None
    return build_search_text(remote.order_id, buyer, ((line.sku, line.title) for line in remote.lines), tracking)


def _buyer_name(remote: RemoteOrder) -> str:
    by_role = {p.role: p for p in remote.parties}
    for role in (PartyRole.BUYER, PartyRole.BILLING, PartyRole.SHIPPING):
        party = by_role.get(role)
        if party is not None and (party.name or party.company):
            return clean_text(party.name or party.company, 256)
    return ""


def _fields(remote: RemoteOrder, status: str | None, now: datetime, anonymized: bool) -> dict[str, Any]:
    """The order columns a remote order sets (shared by the bulk insert of new orders and updates)."""
    tracking = remote.tracking
    values: dict[str, Any] = {
        "raw_status": clean_text(remote.raw_status, 128),
        "status": status,
        "needs_review": status is None,
        "ordered_at": remote.ordered_at,
        "remote_updated_at": remote.updated_at,
        "synced_at": now,
        "currency": clean_text(remote.currency, 3).upper() or "EUR",
        "total_cents": remote.total_cents,
        "shipping_cents": remote.shipping_cents,
        "items_count": sum(max(0, line.quantity) for line in remote.lines),
        "delivery_type": clean_text(remote.delivery_type, 64) or None,
        "shipping_deadline": remote.shipping_deadline,
        "carrier": clean_text(tracking.carrier_name or tracking.carrier_code, 128) or None if tracking else None,
        "tracking_number": clean_text(tracking.tracking_number, 128) or None if tracking else None,
        "tracking_url": clean_text(tracking.tracking_url, 1024) or None if tracking else None,
    }
    if not anonymized:
        buyer = _buyer_name(remote) or None
        values.update(has_documents=bool(remote.documents), raw_payload=dict(remote.raw), buyer_name=buyer,
                      search_text=_search_text(remote, buyer or ""))
    else:
        # The retention purge anonymized this order: the marketplace still sends the buyer, but
        # nothing personal may come back. The purge's payload stub stays; documents stay deleted.
        values.update(has_documents=False, buyer_name=None, search_text=_search_text(remote, ""))
    return values


def _apply_fields(row: Order, remote: RemoteOrder, status: str | None, now: datetime) -> None:
    for name, value in _fields(remote, status, now, row.anonymized_at is not None).items():
        setattr(row, name, value)


def _line_values(remote_line: RemoteLine, declaration: MarketplaceDeclaration | None) -> dict[str, Any]:
    mapped = (declaration.status_map.line_status(remote_line.raw_status)
              if declaration and remote_line.raw_status else None)
    return {
        "sku": clean_text(remote_line.sku, 128),
        "title": clean_text(remote_line.title, 512),
        "quantity": remote_line.quantity,
        "amount_cents": remote_line.amount_cents,
        "tax_cents": remote_line.tax_cents,
        "raw_status": clean_text(remote_line.raw_status, 128) or None if remote_line.raw_status else None,
        "status": mapped.value if mapped else None,
    }


_PARTY_FIELDS = ("name", "company", "address1", "address2", "zipcode", "city", "state", "country", "email", "phone")


def _party_values(remote_party: RemoteParty) -> dict[str, Any]:
    return dict(zip(_PARTY_FIELDS, clean_texts([getattr(remote_party, n) for n in _PARTY_FIELDS], 512), strict=True))


def _document_values(remote_doc: RemoteDocument) -> dict[str, Any]:
    return {
        "kind": remote_doc.kind.value,
        "filename": clean_text(remote_doc.filename, 256) or f"{remote_doc.kind.value}.bin",
        "content_type": clean_text(remote_doc.content_type, 128) or "application/octet-stream",
        "size": remote_doc.size,
    }


def _review_reason(remote: RemoteOrder, declaration: MarketplaceDeclaration | None, raw_status: str) -> str:
    if declaration is None:
        return f"marketplace {remote.marketplace!r} is not declared by the connector"
    return f"raw status {raw_status!r} is not in {declaration.name}'s status map"


def _known_rows(connection: Any, channel_id: int, keys: list[tuple[str, str]]) -> list[Any]:
    """(id, marketplace, order id, remote update time) of the stored orders among ``keys``, read through
    the unique (channel, marketplace, order id) index: one query per marketplace in the page. Without
    the marketplace in the condition the planner walks every order of the channel, which made each
    page's lookup grow with the store (a 100,000-order import spent most of its time there)."""
    by_marketplace: dict[str, list[str]] = {}
    for marketplace, order_id in keys:
        by_marketplace.setdefault(marketplace, []).append(order_id)
    found: list[Any] = []
    for marketplace, order_ids in by_marketplace.items():
        found.extend(connection.execute(
            select(Order.id, Order.marketplace, Order.marketplace_order_id, Order.remote_updated_at).where(
                Order.channel_id == channel_id, Order.marketplace == marketplace,
                col(Order.marketplace_order_id).in_(order_ids))))
    return found


def _insert_new(
    session: Session, channel_id: int, new: list[tuple[RemoteOrder, MarketplaceDeclaration | None, str | None]],
    now: datetime, stats: UpsertStats,
) -> None:
    """Insert orders not seen before with a handful of multi-row statements: a first import is mostly
    this, and one ORM flush per order made it 15 times slower."""
    rows = []
    for remote, _, status in new:
        values = _fields(remote, status, now, anonymized=False)
        values.update(channel_id=channel_id, marketplace=clean_text(remote.marketplace, 64),
                      marketplace_order_id=clean_text(remote.order_id, 128), imported_at=now,
                      pending_actions=0, auto_accept_note=None, anonymized_at=None)
        rows.append(values)
    # Core statements on the session's connection (same transaction): the ORM's bulk insert runs one
    # statement per row whenever rows differ in which values are None.
    connection = session.connection()
    insert_rows(connection, Order.__table__, rows)  # type: ignore[attr-defined]
    # The new ids, by the unique key. (RETURNING with rows in parameter order costs SQLite one
    # statement per row.)
    ids = {
        (marketplace, order_id): row_id
        for row_id, marketplace, order_id, _ in _known_rows(
            connection, channel_id, [(r["marketplace"], r["marketplace_order_id"]) for r in rows])
    }
    returned = [ids[(r["marketplace"], r["marketplace_order_id"])] for r in rows]
    lines, parties, documents, events = [], [], [], []
    for order_id, (remote, declaration, status), values in zip(returned, new, rows, strict=True):
        for remote_line in remote.lines:
            lines.append({"order_id": order_id, "line_id": clean_text(remote_line.line_id, 128),
                          **_line_values(remote_line, declaration)})
        for remote_party in remote.parties:
            parties.append({"order_id": order_id, "role": remote_party.role.value, **_party_values(remote_party)})
        for remote_doc in remote.documents:
            documents.append({"order_id": order_id, "remote_id": clean_text(remote_doc.document_id, 128),
                              "content": None, "fetched_at": None, **_document_values(remote_doc)})
        events.append({"order_id": order_id, "at": now, "kind": "imported", "to_status": status,
                       "raw_status": values["raw_status"], "from_status": None, "action_id": None,
                       "message": None})
        if status is None:
            stats.flagged += 1
            events.append({"order_id": order_id, "at": now, "kind": "review", "to_status": None,
                           "raw_status": values["raw_status"], "from_status": None, "action_id": None,
                           "message": _review_reason(remote, declaration, values["raw_status"])})
    for model, batch in ((OrderLine, lines), (Party, parties), (Document, documents), (OrderEvent, events)):
        insert_rows(connection, model.__table__, batch)  # type: ignore[attr-defined]
    stats.created += len(new)


def _sync_children(session: Session, row: Order, remote: RemoteOrder, declaration: MarketplaceDeclaration | None) -> None:
    assert row.id is not None
    existing = {line.line_id: line for line in session.exec(select(OrderLine).where(OrderLine.order_id == row.id))}
    for remote_line in remote.lines:
        line = existing.pop(remote_line.line_id, None) or OrderLine(order_id=row.id, line_id=clean_text(remote_line.line_id, 128))
        for name, value in _line_values(remote_line, declaration).items():
            setattr(line, name, value)
        session.add(line)
    for gone in existing.values():
        session.delete(gone)
    if row.anonymized_at is None:
        parties = {p.role: p for p in session.exec(select(Party).where(Party.order_id == row.id))}
        for remote_party in remote.parties:
            party = parties.pop(remote_party.role.value, None) or Party(order_id=row.id, role=remote_party.role.value)
            for name, value in _party_values(remote_party).items():
                setattr(party, name, value)
            session.add(party)
    if row.anonymized_at is not None:
        return  # an anonymized order's documents (names, addresses) were deleted and are not re-listed
    docs = {d.remote_id: d for d in session.exec(select(Document).where(Document.order_id == row.id))}
    for remote_doc in remote.documents:
        doc = docs.get(remote_doc.document_id) or Document(order_id=row.id, remote_id=clean_text(remote_doc.document_id, 128))
        for name, value in _document_values(remote_doc).items():
            setattr(doc, name, value)
        session.add(doc)


def sort_listed(session: Session, channel_id: int, listed: Sequence[ListedOrder]) -> tuple[list[ListedOrder], list[int]]:
    """Split a page's listed orders into those to load (new, or changed since stored) and the stored
    ids of those already held at that update time (nothing to load, nothing to write but "seen")."""
    keys = [(clean_text(o.marketplace, 64), clean_text(o.order_id, 128)) for o in listed]
    known = {(marketplace, order_id): (row_id, updated_at)
             for row_id, marketplace, order_id, updated_at in _known_rows(session.connection(), channel_id, keys)}
    wanted: list[ListedOrder] = []
    unchanged: dict[int, None] = {}
    for key, order in zip(keys, listed, strict=True):
        stored = known.get(key)
        if stored is not None and order.updated_at <= stored[1]:
            unchanged[stored[0]] = None
        else:
            wanted.append(order)
    return wanted, list(unchanged)


def upsert_orders(
    session: Session,
    channel_id: int,
    orders: Sequence[RemoteOrder],
    declarations: dict[str, MarketplaceDeclaration],
    now: datetime,
    seen_unchanged: Sequence[int] = (),
) -> UpsertStats:
    """Insert or update ``orders`` (one page) inside the caller's transaction. ``seen_unchanged``: ids
    of stored orders the page listed unchanged (see :func:`sort_listed`), counted and marked as seen."""
    stats = UpsertStats()
    if not orders:
        _mark_seen(session, list(seen_unchanged), now, stats)
        return stats
    # The same order may appear twice in a page (overlapping windows): keep its newest version.
    newest: dict[tuple[str, str], RemoteOrder] = {}
    for remote in orders:
        # Keyed as stored (cleaned), so that the lookup below finds what an earlier import wrote.
        key = (clean_text(remote.marketplace, 64), clean_text(remote.order_id, 128))
        if key not in newest or remote.updated_at >= newest[key].updated_at:
            newest[key] = remote
    # Light rows first (a re-sync is mostly unchanged orders); whole rows only for those to update.
    known = {
        (marketplace, order_id): (row_id, updated_at)
        for row_id, marketplace, order_id, updated_at in _known_rows(session.connection(), channel_id, list(newest))
    }
    unchanged: list[int] = []
    stale: list[int] = []
    for key, remote in newest.items():
        if key in known:
            row_id, updated_at = known[key]
            (unchanged if remote.updated_at <= updated_at else stale).append(row_id)
    existing = {
        (row.marketplace, row.marketplace_order_id): row
        for row in (session.exec(select(Order).where(col(Order.id).in_(stale))) if stale else ())
    }
    new: list[tuple[RemoteOrder, MarketplaceDeclaration | None, str | None]] = []
    for key, remote in newest.items():
        if key in known and key not in existing:
            continue  # unchanged
        declaration = declarations.get(remote.marketplace)
        status = None
        if declaration is not None:
            mapped = declaration.status_map.resolve(remote.raw_status, [line.raw_status for line in remote.lines])
            status = mapped.value if mapped is not None else None
        row = existing.get(key)
        if row is None:
            new.append((remote, declaration, status))
            continue
        before_status, before_raw = row.status, row.raw_status
        _apply_fields(row, remote, status, now)
        session.add(row)
        _sync_children(session, row, remote, declaration)
        if (before_status, before_raw) != (row.status, row.raw_status):
            session.add(OrderEvent(order_id=row.id, at=now, kind="status", from_status=before_status,
                                   to_status=row.status, raw_status=row.raw_status))
            stats.status_changes.append((row.id, before_status, row.status))  # type: ignore[arg-type]
        stats.updated += 1
        if row.needs_review:
            stats.flagged += 1
            session.add(OrderEvent(order_id=row.id, at=now, kind="review", raw_status=row.raw_status,
                                   message=_review_reason(remote, declaration, row.raw_status)))
    if new:
        _insert_new(session, channel_id, new, now, stats)
    _mark_seen(session, list(dict.fromkeys([*unchanged, *seen_unchanged])), now, stats)
    return stats


def _mark_seen(session: Session, ids: list[int], now: datetime, stats: UpsertStats) -> None:
    if ids:
        # Seen again, nothing new: one statement for the page, not one ORM update per order.
        session.execute(update(Order).where(col(Order.id).in_(ids)).values(synced_at=now))
        stats.unchanged += len(ids)
