"""Writing remote orders into the store: idempotent, newest marketplace update wins, history kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from lengow_tui.connector_api import ListedOrder, MarketplaceDeclaration, RemoteOrder
from lengow_tui.store.models import Document, Order, OrderEvent, OrderLine, Party
from lengow_tui.sync.new_orders import (
    NewOrderRows,
    OrderKey,
    build_new_rows,
    insert_new,
    known_rows,
    order_key,
    order_status,
)
from lengow_tui.sync.order_values import document_values, line_values, order_fields, party_values, review_reason
from lengow_tui.text import clean_text


@dataclass
class UpsertStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0  # unknown raw status or unknown marketplace
    status_changes: list[tuple[int, str | None, str | None]] = field(default_factory=list)


def _apply_fields(row: Order, remote: RemoteOrder, status: str | None, now: datetime) -> None:
    for name, value in order_fields(remote, status, now, row.anonymized_at is not None).items():
        setattr(row, name, value)


def _sync_children(session: Session, row: Order, remote: RemoteOrder, declaration: MarketplaceDeclaration | None) -> None:
    assert row.id is not None
    existing = {line.line_id: line for line in session.exec(select(OrderLine).where(OrderLine.order_id == row.id))}
    for remote_line in remote.lines:
        line = existing.pop(remote_line.line_id, None) or OrderLine(order_id=row.id, line_id=clean_text(remote_line.line_id, 128))
        for name, value in line_values(remote_line, declaration).items():
            setattr(line, name, value)
        session.add(line)
    for gone in existing.values():
        session.delete(gone)
    if row.anonymized_at is None:
        parties = {p.role: p for p in session.exec(select(Party).where(Party.order_id == row.id))}
        for remote_party in remote.parties:
            party = parties.pop(remote_party.role.value, None) or Party(order_id=row.id, role=remote_party.role.value)
            for name, value in party_values(remote_party).items():
                setattr(party, name, value)
            session.add(party)
    if row.anonymized_at is not None:
        return  # an anonymized order's documents (names, addresses) were deleted and are not re-listed
    docs = {d.remote_id: d for d in session.exec(select(Document).where(Document.order_id == row.id))}
    for remote_doc in remote.documents:
        doc = docs.get(remote_doc.document_id) or Document(order_id=row.id, remote_id=clean_text(remote_doc.document_id, 128))
        for name, value in document_values(remote_doc).items():
            setattr(doc, name, value)
        session.add(doc)


def known_orders(session: Session, channel_id: int, keys: Sequence[OrderKey]) -> dict[OrderKey, tuple[int, datetime]]:
    """Stored id and marketplace update time of each of ``keys`` the store holds."""
    return {(marketplace, order_id): (row_id, updated_at)
            for row_id, marketplace, order_id, updated_at in known_rows(session.connection(), channel_id, keys)}


def sort_listed(listed: Sequence[ListedOrder], known: Mapping[OrderKey, tuple[int, datetime]]
                ) -> tuple[list[ListedOrder], list[int]]:
    """Split a page's listed orders into those to load (new, or changed since stored) and the stored
    ids of those already held at that update time (nothing to load, nothing to write but "seen")."""
    wanted: list[ListedOrder] = []
    unchanged: dict[int, None] = {}
    for order in listed:
        stored = known.get(order_key(order))
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
    prebuilt: Mapping[OrderKey, NewOrderRows] | None = None,
) -> UpsertStats:
    """Insert or update ``orders`` (one page) inside the caller's transaction. ``seen_unchanged``: ids
    of stored orders the page listed unchanged (see :func:`sort_listed`), counted and marked as seen.
    ``prebuilt``: rows of orders expected to be new, built ahead (:func:`build_new_rows`); used for an
    order that is indeed new, in that very version, else ignored."""
    stats = UpsertStats()
    if not orders:
        _mark_seen(session, list(seen_unchanged), now, stats)
        return stats
    # The same order may appear twice in a page (overlapping windows): keep its newest version.
    newest: dict[tuple[str, str], RemoteOrder] = {}
    for remote in orders:
        key = order_key(remote)  # as stored (cleaned): the lookup below finds what an earlier import wrote
        if key not in newest or remote.updated_at >= newest[key].updated_at:
            newest[key] = remote
    # Light rows first (a re-sync is mostly unchanged orders); whole rows only for those to update.
    known = {
        (marketplace, order_id): (row_id, updated_at)
        for row_id, marketplace, order_id, updated_at in known_rows(session.connection(), channel_id, list(newest))
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
    new: list[NewOrderRows] = []
    for key, remote in newest.items():
        if key in known and key not in existing:
            continue  # unchanged
        row = existing.get(key)
        if row is None:
            rows = (prebuilt or {}).get(key)
            new.append(rows if rows is not None and rows.remote is remote
                       else build_new_rows(channel_id, remote, declarations, now))
            continue
        declaration = declarations.get(remote.marketplace)
        status = order_status(remote, declaration)
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
                                   message=review_reason(remote, declaration, row.raw_status)))
    if new:
        insert_new(session.connection(), channel_id, new)
        stats.created += len(new)
        stats.flagged += sum(rows.flagged for rows in new)
    _mark_seen(session, list(dict.fromkeys([*unchanged, *seen_unchanged])), now, stats)
    return stats


def _mark_seen(session: Session, ids: list[int], now: datetime, stats: UpsertStats) -> None:
    if ids:
        # Seen again, nothing new: one statement for the page, not one ORM update per order.
        session.execute(update(Order).where(col(Order.id).in_(ids)).values(synced_at=now))
        stats.unchanged += len(ids)
