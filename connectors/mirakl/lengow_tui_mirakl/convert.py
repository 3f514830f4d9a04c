"""OR11 order JSON -> the connector API's RemoteOrder (and OR72 documents -> RemoteDocument).

Raises MalformedResponseError on a payload of the wrong shape; messages never quote customer data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lengow_tui.connector_api import (
    DocumentKind,
    ListedOrder,
    MalformedResponseError,
    PartyRole,
    RemoteDocument,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
    RemoteTracking,
)

PENDING_REFUND_STATES = frozenset({"WAITING_REFUND", "WAITING_REFUND_PAYMENT"})
_STOPPED = frozenset({"REFUSED", "CANCELED", "REFUNDED"})
_ALPHA3 = {"FRA": "FR", "BEL": "BE", "DEU": "DE", "ESP": "ES", "ITA": "IT", "LUX": "LU", "CHE": "CH", "GBR": "GB",
           "NLD": "NL", "PRT": "PT", "MCO": "MC", "AUT": "AT", "IRL": "IE", "POL": "PL", "REU": "RE", "GLP": "GP",
           "MTQ": "MQ", "GUF": "GF", "MYT": "YT"}


def parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise MalformedResponseError(f"Mirakl sent no {what}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedResponseError(f"Mirakl sent a {what} that is not a date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _optional_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(value: Any) -> str:
    return value if type(value) is str else str(value or "")


def _is_map(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # JSON gives dicts: skip the ABC check


def cents(value: Any) -> int:
    if type(value) is float or type(value) is int:
        return int(round(value * 100))
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedResponseError("Mirakl sent an amount that is not a number")
    return int(round(value * 100))


def line_raw_status(line: Mapping[str, Any]) -> str:
    """The line's Mirakl state, or a refund marker: a pending refund (WAITING_REFUND...) shows as the
    refund state; a line refunded only in part shows as PARTIALLY_REFUNDED (see declarations)."""
    state = str(line.get("order_line_state") or "")
    refunds = line.get("refunds") or ()
    if not refunds or state in _STOPPED:
        return state
    pending = [r for r in refunds if (r.get("state") or r.get("refund_state")) in PENDING_REFUND_STATES]
    if pending:
        return str(pending[0].get("state") or pending[0].get("refund_state"))
    return "PARTIALLY_REFUNDED"


def _party(role: PartyRole, data: Any, email: str = "") -> RemoteParty | None:
    if not _is_map(data):
        return None
    get = data.get
    name = f"{_text(get('firstname')).strip()} {_text(get('lastname')).strip()}".strip()
    country = _text(get("country_iso_code"))
    return RemoteParty(
        role, name, _text(get("company")), _text(get("street_1")), _text(get("street_2")), _text(get("zip_code")),
        _text(get("city")), _text(get("state")), _ALPHA3.get(country, country if len(country) == 2 else ""),
        email, _text(get("phone")),
    )


def _order_id(order: Any) -> str:
    if not isinstance(order, Mapping):
        raise MalformedResponseError("Mirakl sent an order that is not a JSON object")
    order_id = order.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise MalformedResponseError("Mirakl sent an order without order_id")
    return order_id


def to_listed(order: Any, marketplace: str) -> ListedOrder:
    """What a listing page needs of an OR11 order: its id and last update, without converting the rest."""
    order_id = _order_id(order)
    return ListedOrder(marketplace, order_id, parse_time(order.get("last_updated_date"),
                                                         f"last_updated_date for order {order_id[:40]}"))


def to_remote(order: Any, marketplace: str, documents: Sequence[RemoteDocument] = ()) -> RemoteOrder:
    order_id = _order_id(order)
    state = order.get("order_state")
    if not isinstance(state, str) or not state:
        raise MalformedResponseError(f"Mirakl sent order {order_id[:40]} without order_state")
    raw_lines = order.get("order_lines") or []
    if not isinstance(raw_lines, list):
        raise MalformedResponseError(f"Mirakl sent order {order_id[:40]} with order_lines that are not a list")
    lines = []
    for line in raw_lines:
        if not _is_map(line) or not line.get("order_line_id"):
            raise MalformedResponseError(f"Mirakl sent order {order_id[:40]} with a malformed order line")
        tax_cents = 0
        for tax in line.get("taxes") or ():
            if _is_map(tax):
                tax_cents += cents(tax.get("amount"))
        lines.append(RemoteLine(
            line_id=_text(line["order_line_id"]), sku=_text(line.get("offer_sku") or line.get("product_sku")),
            title=_text(line.get("product_title")), quantity=int(line.get("quantity") or 0),
            amount_cents=cents(line.get("price")), raw_status=line_raw_status(line), tax_cents=tax_cents,
        ))
    customer = order.get("customer") if _is_map(order.get("customer")) else {}
    email = str(order.get("customer_notification_email") or "")
    parties = tuple(p for p in (
        _party(PartyRole.BUYER, customer, email),
        _party(PartyRole.BILLING, customer.get("billing_address")),
        _party(PartyRole.SHIPPING, customer.get("shipping_address")),
    ) if p is not None)
    tracking = None
    if order.get("shipping_tracking") or order.get("shipping_carrier_code") or order.get("shipping_company"):
        shipped = [d for d in (_optional_time(line.get("shipped_date")) for line in raw_lines) if d]
        tracking = RemoteTracking(
            carrier_code=str(order.get("shipping_carrier_code") or ""),
            carrier_name=str(order.get("shipping_company") or ""),
            tracking_number=str(order.get("shipping_tracking") or ""),
            tracking_url=str(order.get("shipping_tracking_url") or ""),
            shipped_at=min(shipped) if shipped else None,
        )
    return RemoteOrder(
        marketplace=marketplace,
        order_id=order_id,
        raw_status=state,
        updated_at=parse_time(order.get("last_updated_date"), f"last_updated_date for order {order_id[:40]}"),
        ordered_at=parse_time(order.get("created_date"), f"created_date for order {order_id[:40]}"),
        currency=str(order.get("currency_iso_code") or "EUR"),
        total_cents=cents(order.get("total_price")),
        shipping_cents=cents(order.get("shipping_price")),
        lines=tuple(lines),
        parties=parties,
        tracking=tracking,
        documents=tuple(documents),
        delivery_type=order.get("shipping_type_code") or None,
        shipping_deadline=_optional_time(order.get("shipping_deadline")),
        raw=order,
    )


def document_kind(type_code: str) -> DocumentKind:
    code = type_code.upper()
    if code in ("SYSTEM_DELIVERY_BILL", "SYSTEM_SHIPMENT_DELIVERY_BILL") or "DELIVERY" in code:
        return DocumentKind.DELIVERY_SLIP
    if "CREDIT" in code:
        return DocumentKind.CREDIT_NOTE
    if "INVOICE" in code:
        return DocumentKind.INVOICE
    if "LABEL" in code:
        return DocumentKind.SHIPPING_LABEL
    if "RETURN" in code:
        return DocumentKind.RETURN_NOTE
    return DocumentKind.OTHER


ZIP_PREFIX = "zip:"


def documents_by_order(payload: Any) -> dict[str, list[RemoteDocument]]:
    """OR72 answer -> documents per order; orders with several documents also get their ZIP bundle."""
    items = payload.get("order_documents") if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        raise MalformedResponseError("Mirakl's document list (OR72) has no order_documents list")
    found: dict[str, list[RemoteDocument]] = {}
    for item in items:
        if not isinstance(item, Mapping) or item.get("id") is None or not item.get("order_id"):
            raise MalformedResponseError("Mirakl's document list (OR72) holds a malformed document")
        name = str(item.get("file_name") or f"document-{item['id']}")
        found.setdefault(str(item["order_id"]), []).append(RemoteDocument(
            document_id=str(item["id"]), kind=document_kind(str(item.get("type") or "")), filename=name,
            content_type=_content_type(name), size=item.get("file_size") if isinstance(item.get("file_size"), int) else None,
        ))
    for order_id, docs in found.items():
        if len(docs) > 1:
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in order_id)
            docs.append(RemoteDocument(document_id=ZIP_PREFIX + order_id, kind=DocumentKind.OTHER,
                                       filename=f"documents-{safe}.zip", content_type="application/zip"))
    return found


def _content_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"pdf": "application/pdf", "zip": "application/zip", "png": "image/png", "jpg": "image/jpeg",
            "jpeg": "image/jpeg", "txt": "text/plain", "csv": "text/csv", "zpl": "application/zpl"}.get(
        ext, "application/octet-stream")
