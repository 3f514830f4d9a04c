"""The column values an imported order sets: pure functions of a remote order, shared by inserts,
updates and the retention purge. Every text from the marketplace goes through ``clean_text`` here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lengow_tui.connector_api import MarketplaceDeclaration, RemoteDocument, RemoteLine, RemoteOrder, RemoteParty
from lengow_tui.connector_api.types import PartyRole
from lengow_tui.text import clean_text, clean_texts

MAX_SEARCH_TEXT = 4000


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


def order_fields(remote: RemoteOrder, status: str | None, now: datetime, anonymized: bool) -> dict[str, Any]:
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
        "items_count": sum([line.quantity for line in remote.lines if line.quantity > 0]),
        "delivery_type": clean_text(remote.delivery_type, 64) or None,
        "shipping_deadline": remote.shipping_deadline,
        "carrier": clean_text(tracking.carrier_name or tracking.carrier_code, 128) or None if tracking else None,
        "tracking_number": clean_text(tracking.tracking_number, 128) or None if tracking else None,
        "tracking_url": clean_text(tracking.tracking_url, 1024) or None if tracking else None,
    }
    if not anonymized:
        buyer = _buyer_name(remote) or None
        values.update(has_documents=bool(remote.documents), raw_payload=remote.raw if type(remote.raw) is dict else dict(remote.raw), buyer_name=buyer,
                      search_text=_search_text(remote, buyer or ""))
    else:
        # The retention purge anonymized this order: the marketplace still sends the buyer, but
        # nothing personal may come back. The purge's payload stub stays; documents stay deleted.
        values.update(has_documents=False, buyer_name=None, search_text=_search_text(remote, ""))
    return values


def line_values(remote_line: RemoteLine, declaration: MarketplaceDeclaration | None) -> dict[str, Any]:
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


def party_values(remote_party: RemoteParty) -> dict[str, Any]:
    p = remote_party
    texts = clean_texts([p.name, p.company, p.address1, p.address2, p.zipcode, p.city, p.state, p.country, p.email,
                         p.phone], 512)
    return dict(zip(_PARTY_FIELDS, texts, strict=True))


def document_values(remote_doc: RemoteDocument) -> dict[str, Any]:
    return {
        "kind": remote_doc.kind.value,
        "filename": clean_text(remote_doc.filename, 256) or f"{remote_doc.kind.value}.bin",
        "content_type": clean_text(remote_doc.content_type, 128) or "application/octet-stream",
        "size": remote_doc.size,
    }


def review_reason(remote: RemoteOrder, declaration: MarketplaceDeclaration | None, raw_status: str) -> str:
    if declaration is None:
        return f"marketplace {remote.marketplace!r} is not declared by the connector"
    return f"raw status {raw_status!r} is not in {declaration.name}'s status map"
