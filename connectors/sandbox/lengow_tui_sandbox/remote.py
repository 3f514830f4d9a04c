"""World orders -> the connector API's RemoteOrder, and their documents."""

from __future__ import annotations

from typing import Any

from lengow_tui.connector_api import (
    DocumentKind,
    DocumentSpec,
    PartyRole,
    RemoteDocument,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
    RemoteTracking,
)
from lengow_tui_sandbox.pdf import minimal_pdf
from lengow_tui_sandbox.sims import SIMS
from lengow_tui_sandbox.sims.base import Order, from_us, money


def _party(role: PartyRole, person: dict[str, Any]) -> RemoteParty:
    return RemoteParty(
        role=role, name=f"{person['first']} {person['last']}", company=person["company"],
        address1=person["address1"], address2=person["address2"], zipcode=person["zipcode"], city=person["city"],
        country=person["country"], email=person["email"], phone=person["phone"],
    )


def document_specs(order: Order) -> tuple[DocumentSpec, ...]:
    sim = SIMS[order["marketplace"]]
    return sim.declaration.documents_available(sim.common_status(order))


def render_document(order: Order, spec: DocumentSpec) -> bytes:
    sim = SIMS[order["marketplace"]]
    person = order["shipping"] if spec.kind != DocumentKind.INVOICE else order["billing"]
    currency = order["currency"]
    lines = [
        sim.declaration.name,
        f"Order {order['order_id']} placed {from_us(order['ordered_at']):%Y-%m-%d %H:%M} UTC",
        "",
        f"{person['first']} {person['last']}",
        *([person["company"]] if person["company"] else []),
        person["address1"],
        f"{person['zipcode']} {person['city']} {person['country']}",
        "",
    ]
    lines += [f"{line['qty']} x {line['sku']}  {line['title'][:60]}  {money(line['amount']):.2f} {currency}"
              for line in order["lines"]]
    total = sum(line["amount"] for line in order["lines"]) + order["shipping_cents"]
    lines += [f"Shipping {money(order['shipping_cents']):.2f} {currency}", f"Total {money(total):.2f} {currency}"]
    if spec.kind == DocumentKind.CREDIT_NOTE:
        lines += [""] + [f"Refund {r['line']}: {money(r['amount']):.2f} {currency} ({r['reason']})"
                         for r in order["refunds"]]
    return minimal_pdf(spec.label, lines)


def document_for(order: Order, spec: DocumentSpec) -> RemoteDocument:
    safe_id = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in order["order_id"])
    return RemoteDocument(
        document_id=f"{order['order_id']}:{spec.kind}", kind=spec.kind, filename=f"{spec.kind}-{safe_id}.pdf",
        content_type="application/pdf", size=len(render_document(order, spec)),
    )


def documents(order: Order) -> tuple[RemoteDocument, ...]:
    return tuple(document_for(order, spec) for spec in document_specs(order))


def to_remote(order: Order) -> RemoteOrder:
    sim = SIMS[order["marketplace"]]
    tracking = order["tracking"]
    return RemoteOrder(
        marketplace=order["marketplace"],
        order_id=order["order_id"],
        raw_status=order["status"],
        updated_at=from_us(order["updated_at"]),
        ordered_at=from_us(order["ordered_at"]),
        currency=order["currency"],
        total_cents=sum(line["amount"] for line in order["lines"]) + order["shipping_cents"],
        shipping_cents=order["shipping_cents"],
        lines=tuple(
            RemoteLine(line_id=line["id"], sku=line["sku"], title=line["title"], quantity=line["qty"],
                       amount_cents=line["amount"], raw_status=sim.line_raw_status(line), tax_cents=line["tax"])
            for line in order["lines"]
        ),
        parties=(
            _party(PartyRole.BUYER, order["buyer"]),
            _party(PartyRole.BILLING, order["billing"]),
            _party(PartyRole.SHIPPING, order["shipping"]),
        ),
        tracking=None if not tracking else RemoteTracking(
            carrier_code=tracking["carrier"], carrier_name=tracking["carrier_name"],
            tracking_number=tracking["number"], tracking_url=tracking["url"],
            shipped_at=from_us(tracking["shipped_at"]),
        ),
        documents=documents(order),
        delivery_type=order["delivery_type"],
        shipping_deadline=from_us(order["deadline"]),
        raw=sim.raw(order),
    )
