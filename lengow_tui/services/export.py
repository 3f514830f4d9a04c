"""Exporting orders to CSV or JSON, streamed in pages. Anonymized orders carry no personal data."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from sqlmodel import Session, col, select

from lengow_tui.services.orders import OrderFilter, OrderSort, list_orders
from lengow_tui.store.models import Channel, Order, OrderLine, Party

PAGE = 1000
CSV_COLUMNS = [
    "id", "channel", "marketplace", "marketplace_order_id", "status", "raw_status", "ordered_at", "updated_at",
    "currency", "total", "shipping", "items", "skus", "delivery_type", "carrier", "tracking_number", "tracking_url",
    "buyer_name", "buyer_email", "buyer_phone", "shipping_name", "shipping_address", "shipping_zipcode",
    "shipping_city", "shipping_country", "anonymized",
]


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _csv_safe(value: Any) -> Any:
    # Spreadsheet formula injection: marketplace text starting with = + - @ would run as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def iter_export_records(session: Session, flt: OrderFilter) -> Iterator[dict[str, Any]]:
    channels = {c.id: c.name for c in session.exec(select(Channel))}
    offset = 0
    sort = OrderSort()
    while True:
        orders = list_orders(session, flt, sort, limit=PAGE, offset=offset)
        if not orders:
            return
        ids = [o.id for o in orders]
        lines: dict[int, list[OrderLine]] = {}
        for line in session.exec(select(OrderLine).where(col(OrderLine.order_id).in_(ids)).order_by(OrderLine.id)):
            lines.setdefault(line.order_id, []).append(line)
        parties: dict[tuple[int, str], Party] = {
            (p.order_id, p.role): p for p in session.exec(select(Party).where(col(Party.order_id).in_(ids)))
        }
        for order in orders:
            yield _record(order, channels.get(order.channel_id, "?"), lines.get(order.id, []), parties)  # type: ignore[arg-type]
        offset += len(orders)


def _record(order: Order, channel: str, lines: list[OrderLine], parties: dict[tuple[int, str], Party]) -> dict[str, Any]:
    anonymized = order.anonymized_at is not None
    buyer = None if anonymized else parties.get((order.id, "buyer")) or parties.get((order.id, "billing"))  # type: ignore[arg-type]
    ship = None if anonymized else parties.get((order.id, "shipping"))  # type: ignore[arg-type]
    return {
        "id": order.id,
        "channel": channel,
        "marketplace": order.marketplace,
        "marketplace_order_id": order.marketplace_order_id,
        "status": order.status or "",
        "raw_status": order.raw_status,
        "ordered_at": order.ordered_at.isoformat(),
        "updated_at": order.remote_updated_at.isoformat(),
        "currency": order.currency,
        "total": _money(order.total_cents),
        "shipping": _money(order.shipping_cents),
        "items": order.items_count,
        "skus": " ".join(f"{l.sku}x{l.quantity}" for l in lines),
        "delivery_type": order.delivery_type or "",
        "carrier": order.carrier or "",
        "tracking_number": order.tracking_number or "",
        "tracking_url": order.tracking_url or "",
        "buyer_name": "" if anonymized else (buyer.name if buyer else order.buyer_name or ""),
        "buyer_email": buyer.email if buyer else "",
        "buyer_phone": buyer.phone if buyer else "",
        "shipping_name": ship.name if ship else "",
        "shipping_address": " ".join(x for x in (ship.address1, ship.address2) if x) if ship else "",
        "shipping_zipcode": ship.zipcode if ship else "",
        "shipping_city": ship.city if ship else "",
        "shipping_country": ship.country if ship else "",
        "anonymized": anonymized,
        "lines": [
            {"line_id": l.line_id, "sku": l.sku, "title": l.title, "quantity": l.quantity,
             "amount": _money(l.amount_cents), "status": l.status or "", "raw_status": l.raw_status or ""}
            for l in lines
        ],
    }


def export_orders(session: Session, flt: OrderFilter, out: IO[str], fmt: str = "csv") -> int:
    """Write the orders matching ``flt`` to ``out``; returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for record in iter_export_records(session, flt):
            writer.writerow({k: _csv_safe(v) for k, v in record.items()})
            count += 1
    elif fmt == "json":
        out.write("[")
        for record in iter_export_records(session, flt):
            out.write(("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        raise ValueError(f"unknown export format {fmt!r}; use csv or json")
    return count
