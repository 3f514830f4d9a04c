"""The Mirakl order / order-line state machine, as the emulator applies it.

Lines carry the state; the order's ``order_state`` and its flags are derived from the lines after every
change (``derive``). Terminal line states are REFUSED, CANCELED and REFUNDED.
"""

from __future__ import annotations

from typing import Any

RANK = {
    "STAGING": 0, "WAITING_ACCEPTANCE": 1, "WAITING_DEBIT": 2, "WAITING_DEBIT_PAYMENT": 2, "SHIPPING": 3,
    "SHIPPED": 4, "TO_COLLECT": 4, "INCIDENT_OPEN": 4, "INCIDENT_CLOSED": 4, "RECEIVED": 5, "CLOSED": 6,
}
STOPPED = frozenset({"REFUSED", "CANCELED", "REFUNDED"})
CANCELABLE = frozenset({"WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING"})
REFUNDABLE = frozenset({"SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED"})
SHIPPED_LIKE = frozenset({"SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED"})
# What "time passing" does to an order (customer receives, operator closes, ...).
NEXT_STATE = {"STAGING": "WAITING_ACCEPTANCE", "SHIPPED": "RECEIVED", "RECEIVED": "CLOSED",
              "INCIDENT_OPEN": "INCIDENT_CLOSED"}


def cents(value: Any) -> int:
    return int(round(float(value or 0) * 100))


def order_state(lines: list[dict[str, Any]]) -> str:
    states = [line["order_line_state"] for line in lines]
    active = [s for s in states if s not in STOPPED]
    if not active:
        if "REFUNDED" in states:
            return "REFUNDED"
        return "REFUSED" if all(s == "REFUSED" for s in states) else "CANCELED"
    if "INCIDENT_OPEN" in active:
        return "INCIDENT_OPEN"
    return min(active, key=lambda s: RANK.get(s, 9))


def refunded_cents(line: dict[str, Any]) -> int:
    return sum(cents(r["amount"]) for r in line["refunds"])


def canceled_cents(line: dict[str, Any]) -> int:
    return sum(cents(c["amount"]) for c in line["cancelations"])


def remaining_cents(line: dict[str, Any]) -> int:
    """What can still be refunded or canceled on a line."""
    return cents(line["price"]) - refunded_cents(line) - canceled_cents(line)


def derive(order: dict[str, Any]) -> None:
    """Recompute the order-level fields Mirakl derives from the lines."""
    lines = order["order_lines"]
    state = order_state(lines)
    order["order_state"] = state
    price = sum(cents(line["price"]) for line in lines if line["order_line_state"] not in ("REFUSED",))
    shipping = sum(cents(line["shipping_price"]) for line in lines if line["order_line_state"] not in ("REFUSED",))
    order["price"] = round(price / 100, 2)
    order["shipping_price"] = round(shipping / 100, 2)
    order["total_price"] = round((price + shipping) / 100, 2)
    order["can_cancel"] = state in CANCELABLE
    order["can_shop_ship"] = state == "SHIPPING"
    order["has_incident"] = any(line["order_line_state"] == "INCIDENT_OPEN" for line in lines)
    order["has_invoice"] = any(line.get("shipped_date") for line in lines)
    live = [line for line in lines if line["order_line_state"] not in ("REFUSED", "CANCELED")]
    order["fully_refunded"] = bool(live) and all(remaining_cents(line) <= 0 and line["refunds"] for line in live)
    for line in lines:
        line["can_refund"] = line["order_line_state"] in REFUNDABLE and remaining_cents(line) > 0
