"""Lengow order JSON (``/v3.0/orders`` results) -> the connector API's RemoteOrder.

An order has ``packages[]``, one per delivery address, each with its ``delivery`` (address and
``trackings[]``) and its ``cart[]`` (the order lines). The host's order has one line list, one shipping
party and one tracking, so: the lines of every package are the order's lines (``marketplace_order_line_id``
is unique within an order and is what actions name), the first package's delivery address is the shipping
party, and the first tracking found (package order) is the order's tracking — what Lengow's own plugins
read (reference/lengow.md §4.7). Every package stays in the raw payload.

Raises MalformedResponseError on a payload of the wrong shape; messages never quote customer data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lengow_tui.connector_api import (
    MalformedResponseError,
    PartyRole,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
    RemoteTracking,
    Status,
)

KNOWN_LENGOW_STATUSES = frozenset(s.value for s in Status)

# Is this raw status listed by the marketplace's definition? (None: definitions unavailable.)
StatusKnown = Callable[[str, str], bool] | None


def parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise MalformedResponseError(f"Lengow sent no {what}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value)
    except ValueError:
        raise MalformedResponseError(f"Lengow sent a {what} that is not a date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def optional_time(value: Any) -> datetime | None:
    try:
        return parse_time(value, "date")
    except MalformedResponseError:
        return None


def cents(value: Any, what: str) -> int:
    """Lengow amounts are "decimal or string" (``"26.50"``)."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MalformedResponseError(f"Lengow sent {what} that is not an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MalformedResponseError(f"Lengow sent {what} that is not an amount") from None
    if not amount.is_finite():
        raise MalformedResponseError(f"Lengow sent {what} that is not an amount")
    return int((amount * 100).to_integral_value())


def raw_status(marketplace: str, marketplace_status: Any, lengow_status: Any, known: StatusKnown) -> str:
    """The raw status the host maps: the marketplace's own word when its definition lists it; otherwise
    Lengow's normalised ``lengow_status`` (the declarations accept those too), so a status Lengow added
    after our definitions were cached does not flag the order; otherwise the unknown word (flagged)."""
    own = str(marketplace_status or "")
    lengow = str(lengow_status or "")
    if own and (known is None or known(marketplace, own)):
        return own
    if lengow in KNOWN_LENGOW_STATUSES:
        return lengow
    return own or lengow


def _phone(data: Mapping[str, Any]) -> str:
    for key in ("phone_mobile", "phone_home", "phone_office"):
        if data.get(key):
            return str(data[key])
    return ""


def _party(role: PartyRole, data: Any) -> RemoteParty | None:
    if not isinstance(data, Mapping):
        return None
    name = str(data.get("full_name") or "").strip() or " ".join(
        str(data.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    country = str(data.get("common_country_iso_a2") or "")
    address2 = " ".join(str(data.get(k) or "").strip() for k in ("second_line", "complement")).strip()
    return RemoteParty(
        role=role, name=name, company=str(data.get("company") or ""), address1=str(data.get("first_line") or ""),
        address2=address2, zipcode=str(data.get("zipcode") or ""), city=str(data.get("city") or ""),
        state=str(data.get("state_region") or ""), country=country.upper() if len(country) == 2 else "",
        email=str(data.get("email") or ""), phone=_phone(data),
    )


def _tracking(packages: list[Mapping[str, Any]]) -> RemoteTracking | None:
    for package in packages:
        delivery = package.get("delivery") if isinstance(package.get("delivery"), Mapping) else {}
        for tracking in delivery.get("trackings") or package.get("trackings") or ():
            if isinstance(tracking, Mapping) and (tracking.get("number") or tracking.get("carrier")):
                return RemoteTracking(
                    carrier_code=str(tracking.get("carrier") or ""),
                    carrier_name=str(tracking.get("method") or ""),
                    tracking_number=str(tracking.get("number") or ""),
                    tracking_url=str(tracking.get("url") or ""),
                    shipped_at=optional_time(tracking.get("shipped_at")),
                )
    return None


def to_remote(order: Any, known: StatusKnown = None) -> RemoteOrder:
    if not isinstance(order, Mapping):
        raise MalformedResponseError("Lengow sent an order that is not a JSON object")
    order_id = order.get("marketplace_order_id")
    marketplace = order.get("marketplace")
    if not isinstance(order_id, str) or not order_id:
        raise MalformedResponseError("Lengow sent an order without marketplace_order_id")
    if not isinstance(marketplace, str) or not marketplace:
        raise MalformedResponseError(f"Lengow sent order {order_id[:40]} without marketplace")
    ref = f"order {order_id[:40]}"
    packages = order.get("packages") or []
    if not isinstance(packages, list) or not all(isinstance(p, Mapping) for p in packages):
        raise MalformedResponseError(f"Lengow sent {ref} with packages that are not a list of objects")
    lines: list[RemoteLine] = []
    for package in packages:
        cart = package.get("cart") or []
        if not isinstance(cart, list):
            raise MalformedResponseError(f"Lengow sent {ref} with a cart that is not a list")
        for line in cart:
            if not isinstance(line, Mapping) or not line.get("marketplace_order_line_id"):
                raise MalformedResponseError(f"Lengow sent {ref} with a malformed cart line")
            product = line.get("merchant_product_id")
            sku = product.get("id") if isinstance(product, Mapping) else None
            try:
                quantity = int(line.get("quantity") or 0)
            except (TypeError, ValueError):
                raise MalformedResponseError(f"Lengow sent {ref} with a quantity that is not a number") from None
            lines.append(RemoteLine(
                line_id=str(line["marketplace_order_line_id"]),
                sku=str(sku or line.get("marketplace_product_id") or ""),
                title=str(line.get("title") or ""), quantity=quantity,
                amount_cents=cents(line.get("amount"), f"{ref} a line amount"),
                raw_status=raw_status(marketplace, line.get("marketplace_status"), line.get("lengow_status"), known)
                or None,
                tax_cents=cents(line.get("tax"), f"{ref} a line tax"),
            ))
    deliveries = [p.get("delivery") for p in packages if isinstance(p.get("delivery"), Mapping)]
    billing = order.get("billing_address") if isinstance(order.get("billing_address"), Mapping) else None
    if billing is None and deliveries:
        billing = deliveries[0]  # what Lengow's plugins do when billing_address is null
    buyer = order.get("contact_address") if isinstance(order.get("contact_address"), Mapping) else billing
    parties = tuple(p for p in (
        _party(PartyRole.BUYER, buyer),
        _party(PartyRole.BILLING, billing),
        _party(PartyRole.SHIPPING, deliveries[0] if deliveries else None),
    ) if p is not None)
    total, currency_info = order.get("total_order"), order.get("currency")
    if str(total).strip() in ("-1", "-1.0", "-1.00"):
        # No exchange rate at Lengow: the marketplace-currency twins are the real amount.
        total, currency_info = order.get("original_total_order"), order.get("original_currency") or currency_info
    currency = currency_info.get("iso_a3") if isinstance(currency_info, Mapping) else currency_info
    meta = order.get("meta") if isinstance(order.get("meta"), Mapping) else {}
    deadlines = [d for d in (optional_time(line.get("max_shipping_date")) for p in packages
                             for line in p.get("cart") or () if isinstance(line, Mapping)) if d]
    ordered = order.get("marketplace_order_date") or order.get("imported_at")
    first_delivery = deliveries[0] if deliveries else {}
    return RemoteOrder(
        marketplace=marketplace,
        order_id=order_id,
        raw_status=raw_status(marketplace, order.get("marketplace_status"), order.get("lengow_status"), known),
        updated_at=parse_time(order.get("updated_at"), f"updated_at for {ref}"),
        ordered_at=parse_time(ordered, f"marketplace_order_date for {ref}"),
        currency=str(currency or "EUR")[:3].upper(),
        total_cents=cents(total, f"{ref} a total"),
        shipping_cents=cents(order.get("shipping"), f"{ref} a shipping amount"),
        lines=tuple(lines),
        parties=parties,
        tracking=_tracking(list(packages)),
        delivery_type=str(first_delivery.get("type")) if first_delivery.get("type") else None,
        shipping_deadline=optional_time(meta.get("shipping_deadline")) or (min(deadlines) if deadlines else None),
        anonymized=bool(order.get("anonymized")),
        raw=order,
    )
