"""Orders not stored yet: their rows built (possibly ahead of the write transaction, while the previous
page is being written), then inserted with a handful of multi-row statements.

A first import is mostly this. Building the rows is Python work (cleaning every text, mapping statuses);
writing them is SQLite's. The importer builds a page's rows while the previous page is written in a
thread, so that the two overlap instead of taking turns inside one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import col, select

from lengow_tui.connector_api import MarketplaceDeclaration, RemoteOrder
from lengow_tui.store.fast_insert import insert_rows
from lengow_tui.store.models import Document, Order, OrderEvent, OrderLine, Party
from lengow_tui.sync.order_values import document_values, line_values, order_fields, party_values, review_reason
from lengow_tui.text import clean_text

OrderKey = tuple[str, str]  # (marketplace, marketplace order id), cleaned as stored


def order_key(order: Any) -> OrderKey:
    """How an order (remote, listed or new) is keyed in the store, within its channel."""
    return clean_text(order.marketplace, 64), clean_text(order.order_id, 128)


def known_rows(connection: Any, channel_id: int, keys: Sequence[OrderKey]) -> list[Any]:
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


def order_status(remote: RemoteOrder, declaration: MarketplaceDeclaration | None) -> str | None:
    """The common status of ``remote``: None when its marketplace or raw status is unknown (review)."""
    if declaration is None:
        return None
    mapped = declaration.status_map.resolve(remote.raw_status, [line.raw_status for line in remote.lines])
    return mapped.value if mapped is not None else None


@dataclass
class NewOrderRows:
    """Every row a new order adds; children without their ``order_id`` until the order has one."""

    remote: RemoteOrder
    order: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    parties: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.order["status"] is None


def build_new_rows(channel_id: int, remote: RemoteOrder, declarations: Mapping[str, MarketplaceDeclaration],
                   now: datetime) -> NewOrderRows:
    declaration = declarations.get(remote.marketplace)
    status = order_status(remote, declaration)
    values = order_fields(remote, status, now, anonymized=False)
    marketplace, order_id = order_key(remote)
    values.update(channel_id=channel_id, marketplace=marketplace, marketplace_order_id=order_id, imported_at=now,
                  pending_actions=0, auto_accept_note=None, anonymized_at=None)
    rows = NewOrderRows(remote, values)
    rows.lines = [{"line_id": clean_text(line.line_id, 128), **line_values(line, declaration)} for line in remote.lines]
    rows.parties = [{"role": party.role.value, **party_values(party)} for party in remote.parties]
    rows.documents = [{"remote_id": clean_text(doc.document_id, 128), "content": None, "fetched_at": None,
                       **document_values(doc)} for doc in remote.documents]
    event = {"at": now, "to_status": status, "raw_status": values["raw_status"], "from_status": None,
             "action_id": None}
    rows.events = [{**event, "kind": "imported", "message": None}]
    if status is None:
        rows.events.append({**event, "kind": "review", "to_status": None,
                            "message": review_reason(remote, declaration, values["raw_status"])})
    return rows


def insert_new(connection: Connection, channel_id: int, new: Sequence[NewOrderRows]) -> None:
    """INSERT the orders, learn their ids by the unique key (RETURNING with rows in parameter order
    costs SQLite one statement per row), then the children."""
    if not new:
        return
    insert_rows(connection, Order.__table__, [rows.order for rows in new])  # type: ignore[attr-defined]
    keys = [(rows.order["marketplace"], rows.order["marketplace_order_id"]) for rows in new]
    ids = {(marketplace, order_id): row_id for row_id, marketplace, order_id, _ in known_rows(connection, channel_id, keys)}
    children: dict[Any, list[dict[str, Any]]] = {OrderLine: [], Party: [], Document: [], OrderEvent: []}
    for key, rows in zip(keys, new, strict=True):
        order_id = ids[key]
        for model, batch in ((OrderLine, rows.lines), (Party, rows.parties), (Document, rows.documents),
                             (OrderEvent, rows.events)):
            for row in batch:
                row["order_id"] = order_id  # the rows are this order's own: filled in, not copied
            children[model].extend(batch)
    for model, batch in children.items():
        insert_rows(connection, model.__table__, batch)
