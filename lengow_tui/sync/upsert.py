"""Writing remote orders into the store: idempotent, newest marketplace update wins, history kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from lengow_tui.connector_api import MarketplaceDeclaration, RemoteOrder
from lengow_tui.connector_api.types import PartyRole
from lengow_tui.store.models import Document, Order, OrderEvent, OrderLine, Party
from lengow_tui.text import clean_text

MAX_SEARCH_TEXT = 4000


@dataclass
class UpsertStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0  # unknown raw status or unknown marketplace
    status_changes: list[tuple[int, str | None, str | None]] = field(default_factory=list)


def _search_text(remote: RemoteOrder, buyer: str) -> str:
    parts = [remote.order_id, buyer]
    for line in remote.lines:
        parts.extend((line.sku, line.title))
    if remote.tracking is not None:
        parts.append(remote.tracking.tracking_number)
    return " ".join(clean_text(p, 512) for p in parts if p).casefold()[:MAX_SEARCH_TEXT]


def _buyer_name(remote: RemoteOrder) -> str:
    by_role = {p.role: p for p in remote.parties}
    for role in (PartyRole.BUYER, PartyRole.BILLING, PartyRole.SHIPPING):
        party = by_role.get(role)
        if party is not None and (party.name or party.company):
            return clean_text(party.name or party.company, 256)
    return ""


def _apply_fields(row: Order, remote: RemoteOrder, status: str | None, now: datetime) -> None:
    row.raw_status = clean_text(remote.raw_status, 128)
    row.status = status
    row.needs_review = status is None
    row.ordered_at = remote.ordered_at
    row.remote_updated_at = remote.updated_at
    row.synced_at = now
    row.currency = clean_text(remote.currency, 3).upper() or "EUR"
    row.total_cents = remote.total_cents
    row.shipping_cents = remote.shipping_cents
    row.items_count = sum(max(0, line.quantity) for line in remote.lines)
    row.delivery_type = clean_text(remote.delivery_type, 64) or None
    row.shipping_deadline = remote.shipping_deadline
    tracking = remote.tracking
    row.carrier = clean_text(tracking.carrier_name or tracking.carrier_code, 128) or None if tracking else None
    row.tracking_number = clean_text(tracking.tracking_number, 128) or None if tracking else None
    row.tracking_url = clean_text(tracking.tracking_url, 1024) or None if tracking else None
    row.has_documents = bool(remote.documents)
    row.raw_payload = dict(remote.raw) if row.anonymized_at is None else {}
    if row.anonymized_at is None:
        row.buyer_name = _buyer_name(remote) or None
        row.search_text = _search_text(remote, row.buyer_name or "")


def _sync_children(session: Session, row: Order, remote: RemoteOrder, declaration: MarketplaceDeclaration | None) -> None:
    assert row.id is not None
    existing = {line.line_id: line for line in session.exec(select(OrderLine).where(OrderLine.order_id == row.id))}
    for remote_line in remote.lines:
        line = existing.pop(remote_line.line_id, None) or OrderLine(order_id=row.id, line_id=clean_text(remote_line.line_id, 128))
        line.sku = clean_text(remote_line.sku, 128)
        line.title = clean_text(remote_line.title, 512)
        line.quantity = remote_line.quantity
        line.amount_cents = remote_line.amount_cents
        line.tax_cents = remote_line.tax_cents
        line.raw_status = clean_text(remote_line.raw_status, 128) or None if remote_line.raw_status else None
        mapped = declaration.status_map.line_status(remote_line.raw_status) if declaration and remote_line.raw_status else None
        line.status = mapped.value if mapped else None
        session.add(line)
    for gone in existing.values():
        session.delete(gone)
    if row.anonymized_at is None:
        parties = {p.role: p for p in session.exec(select(Party).where(Party.order_id == row.id))}
        for remote_party in remote.parties:
            party = parties.pop(remote_party.role.value, None) or Party(order_id=row.id, role=remote_party.role.value)
            for name in ("name", "company", "address1", "address2", "zipcode", "city", "state", "country", "email", "phone"):
                setattr(party, name, clean_text(getattr(remote_party, name), 512))
            session.add(party)
    docs = {d.remote_id: d for d in session.exec(select(Document).where(Document.order_id == row.id))}
    for remote_doc in remote.documents:
        doc = docs.get(remote_doc.document_id) or Document(order_id=row.id, remote_id=clean_text(remote_doc.document_id, 128))
        doc.kind = remote_doc.kind.value
        doc.filename = clean_text(remote_doc.filename, 256) or f"{remote_doc.kind.value}.bin"
        doc.content_type = clean_text(remote_doc.content_type, 128) or "application/octet-stream"
        doc.size = remote_doc.size
        session.add(doc)


def upsert_orders(
    session: Session,
    channel_id: int,
    orders: Sequence[RemoteOrder],
    declarations: dict[str, MarketplaceDeclaration],
    now: datetime,
) -> UpsertStats:
    """Insert or update ``orders`` (one page) inside the caller's transaction."""
    stats = UpsertStats()
    if not orders:
        return stats
    # The same order may appear twice in a page (overlapping windows): keep its newest version.
    newest: dict[tuple[str, str], RemoteOrder] = {}
    for remote in orders:
        key = (remote.marketplace, remote.order_id)
        if key not in newest or remote.updated_at >= newest[key].updated_at:
            newest[key] = remote
    ids = [order_id for _, order_id in newest]
    existing = {
        (row.marketplace, row.marketplace_order_id): row
        for row in session.exec(
            select(Order).where(Order.channel_id == channel_id, col(Order.marketplace_order_id).in_(ids))
        )
    }
    for key, remote in newest.items():
        declaration = declarations.get(remote.marketplace)
        status = None
        if declaration is not None:
            mapped = declaration.status_map.resolve(remote.raw_status, [line.raw_status for line in remote.lines])
            status = mapped.value if mapped is not None else None
        row = existing.get(key)
        if row is None:
            row = Order(
                channel_id=channel_id,
                marketplace=clean_text(remote.marketplace, 64),
                marketplace_order_id=clean_text(remote.order_id, 128),
                raw_status="",
                ordered_at=remote.ordered_at,
                remote_updated_at=remote.updated_at,
                imported_at=now,
            )
            _apply_fields(row, remote, status, now)
            session.add(row)
            session.flush()
            _sync_children(session, row, remote, declaration)
            session.add(OrderEvent(order_id=row.id, at=now, kind="imported", to_status=status,
                                   raw_status=row.raw_status))
            stats.created += 1
        elif remote.updated_at <= row.remote_updated_at:
            row.synced_at = now
            stats.unchanged += 1
            continue
        else:
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
            reason = (
                f"marketplace {remote.marketplace!r} is not declared by the connector"
                if declaration is None
                else f"raw status {row.raw_status!r} is not in {declaration.name}'s status map"
            )
            session.add(OrderEvent(order_id=row.id, at=now, kind="review", raw_status=row.raw_status, message=reason))
    return stats
