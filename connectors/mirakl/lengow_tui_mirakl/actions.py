"""Request bodies for Mirakl's action APIs and how to recognise an action already applied.

Mirakl has no idempotency key: a replayed accept or ship is refused (400, wrong state). The client
then re-reads the order and answers ``already_applied`` when the order shows the action's effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lengow_tui.connector_api import ActionKind, ActionRequest, LineSelection
from lengow_tui_mirakl.convert import cents

ACCEPTED = frozenset({"WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING", "SHIPPED", "TO_COLLECT", "RECEIVED",
                      "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED", "REFUNDED"})
SHIPPED = frozenset({"SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED", "REFUNDED"})
STOPPED = frozenset({"REFUSED", "CANCELED", "REFUNDED"})


def lines_by_id(order: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(line.get("order_line_id")): line for line in order.get("order_lines") or ()}


def _proportional(taxes: Any, part: int, whole: int) -> list[dict[str, Any]]:
    """Each tax scaled to ``part`` of ``whole`` (Mirakl wants the tax breakdown of a partial refund)."""
    out = []
    for tax in taxes or ():
        if not isinstance(tax, Mapping) or not tax.get("code"):
            continue
        amount = cents(tax.get("amount")) * part // whole if whole else 0
        out.append({"code": tax["code"], "amount": round(amount / 100, 2)})
    return out


def remaining(line: Mapping[str, Any]) -> int:
    refunded = sum(cents(r.get("amount")) for r in line.get("refunds") or ())
    canceled = sum(cents(c.get("amount")) for c in line.get("cancelations") or ())
    return cents(line.get("price")) - refunded - canceled


def accept_body(request: ActionRequest, line_ids: Sequence[str]) -> dict[str, Any]:
    accepted = request.kind == ActionKind.ACCEPT
    return {"order_lines": [{"id": line_id, "accepted": accepted} for line_id in line_ids]}


def refund_body(order: Mapping[str, Any], selections: Sequence[LineSelection], reason: str,
                refund_shipping: bool) -> dict[str, Any]:
    lines = lines_by_id(order)
    refunds = []
    for sel in selections:
        line = lines[sel.line_id]
        price = cents(line.get("price"))
        left = remaining(line)
        amount = min(left, sel.amount_cents) if sel.amount_cents is not None else left
        item: dict[str, Any] = {
            "order_line_id": sel.line_id, "amount": round(amount / 100, 2), "reason_code": reason,
            "quantity": sel.quantity if sel.quantity is not None else (int(line.get("quantity") or 0)
                                                                     if amount == price else 0),
            "currency_iso_code": order.get("currency_iso_code") or "EUR",
        }
        if line.get("taxes"):  # required by Mirakl when the order has taxes
            item["taxes"] = _proportional(line["taxes"], amount, price)
        if refund_shipping:
            shipping = cents(line.get("shipping_price")) - sum(
                cents(r.get("shipping_amount")) for r in line.get("refunds") or ())
            if shipping > 0:
                item["shipping_amount"] = round(shipping / 100, 2)
                if line.get("shipping_taxes"):
                    item["shipping_taxes"] = _proportional(line["shipping_taxes"], shipping,
                                                           cents(line.get("shipping_price")))
        refunds.append(item)
    return {"order_tax_mode": order.get("order_tax_mode") or "TAX_INCLUDED", "refunds": refunds}


def is_full_cancel(order: Mapping[str, Any], selections: Sequence[LineSelection]) -> bool:
    """Every live line, in full: one OR29 instead of OR30 line by line."""
    live = {lid for lid, line in lines_by_id(order).items() if line.get("order_line_state") not in STOPPED}
    chosen = {s.line_id for s in selections}
    lines = lines_by_id(order)
    whole = all(s.quantity in (None, int(lines[s.line_id].get("quantity") or 0)) and s.amount_cents is None
                for s in selections if s.line_id in lines)
    no_history = all(not lines[lid].get("cancelations") for lid in live)
    return bool(live) and chosen >= live and whole and no_history


def cancel_body(order: Mapping[str, Any], selections: Sequence[LineSelection], reason: str) -> dict[str, Any]:
    lines = lines_by_id(order)
    cancelations = []
    for sel in selections:
        line = lines[sel.line_id]
        quantity = int(line.get("quantity") or 0)
        canceled = sum(int(c.get("quantity") or 0) for c in line.get("cancelations") or ())
        qty = sel.quantity if sel.quantity is not None else quantity - canceled
        unit = cents(line.get("price_unit")) or (cents(line.get("price")) // max(1, quantity))
        amount = sel.amount_cents if sel.amount_cents is not None else min(remaining(line), unit * qty)
        item: dict[str, Any] = {"order_line_id": sel.line_id, "quantity": qty, "amount": round(amount / 100, 2),
                                "reason_code": reason, "currency_iso_code": order.get("currency_iso_code") or "EUR"}
        if line.get("taxes"):
            item["taxes"] = _proportional(line["taxes"], amount, cents(line.get("price")))
        cancelations.append(item)
    return {"cancelations": cancelations}


def effect_visible(kind: ActionKind, order: Mapping[str, Any], line_ids: Sequence[str],
                   reason: str | None = None) -> bool:
    """Does the order already show what this action does (so a refused replay is really a success)?"""
    lines = lines_by_id(order)
    chosen = [lines[i] for i in line_ids if i in lines] or list(lines.values())
    states = [str(line.get("order_line_state")) for line in chosen]
    if kind == ActionKind.ACCEPT:
        return all(s in ACCEPTED for s in states)
    if kind == ActionKind.REFUSE:
        return all(s == "REFUSED" for s in states)
    if kind == ActionKind.SHIP:
        return str(order.get("order_state")) in SHIPPED
    if kind == ActionKind.CANCEL:
        return all(s == "CANCELED" or line.get("cancelations") for s, line in zip(states, chosen))
    if kind == ActionKind.REFUND:
        return all(any(r.get("reason_code") == reason for r in line.get("refunds") or ()) for line in chosen)
    return False
