"""The marketplaces' state machine as the emulator applies it, on Lengow statuses.

Lines carry a status (``lengow_status`` and the marketplace's word in ``marketplace_status``); the order's
status is derived from its lines after every change. Each marketplace uses the lengow statuses its
definition lists (Amazon has no acceptance step; Fnac has refunding; ...). ``apply`` is what the
marketplace does with a Lengow action once it reaches it: the change, or the reason it refuses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lengow_tui_lengow.emulator import catalog
from lengow_tui_lengow.emulator.generate import money, tracking_json

if TYPE_CHECKING:
    from lengow_tui_lengow.emulator.state import EmulatorState

RANK = {"new": 0, "waiting_acceptance": 1, "accepted": 2, "waiting_shipment": 3, "shipped": 4,
        "partial_refunded": 4, "to_refund": 4, "refunding": 4, "closed": 5}
STOPPED = frozenset({"refused", "canceled", "refunded"})
NEXT = {"new": "waiting_acceptance", "accepted": "waiting_shipment", "shipped": "closed", "refunding": "refunded"}


def lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for package in order["packages"] for line in package["cart"]]


def next_status(marketplace: str, status: str) -> str | None:
    following = NEXT.get(status)
    if following == "waiting_acceptance" and not catalog.has_status(marketplace, following):
        following = "waiting_shipment"
    return following if following and catalog.has_status(marketplace, following) else None


def set_line(order: dict[str, Any], line: dict[str, Any], status: str) -> None:
    line["lengow_status"] = status
    line["marketplace_status"] = catalog.raw_for(order["marketplace"], status)


def derive(order: dict[str, Any]) -> None:
    """The order's status from its lines (and the totals of its live lines)."""
    marketplace = order["marketplace"]
    statuses = [line["lengow_status"] for line in lines(order)]
    active = [s for s in statuses if s not in STOPPED]
    partly = any(line.get("refunded_amount") for line in lines(order))
    if not active:
        if "refunded" in statuses:
            status = "refunded"
        else:
            status = "refused" if all(s == "refused" for s in statuses) else "canceled"
    elif "refunding" in active:
        status = "refunding"
    elif ("refunded" in statuses or partly) and catalog.has_status(marketplace, "partial_refunded"):
        status = "partial_refunded"
    else:
        status = min(active, key=lambda s: RANK.get(s, 9))
    order["lengow_status"] = status
    order["marketplace_status"] = catalog.raw_for(marketplace, status)


def _cents(value: Any) -> int:
    return int((Decimal(str(value or "0")) * 100).to_integral_value())


def apply(state: EmulatorState, index: int, order: dict[str, Any], record: dict[str, Any]) -> str | None:
    """Apply a Lengow action to the order; the marketplace's refusal message when it refuses."""
    action_type = record["action_type"]
    definition = catalog.action_def(order["marketplace"], action_type) or {}
    allowed = set(definition.get("status") or ())
    line_id = record.get("line")
    chosen = [line for line in lines(order) if line_id in (None, line["marketplace_order_line_id"])]
    if line_id is not None and not chosen:
        return f"Order line {line_id} does not exist"
    subject = f"line {line_id}" if line_id else "the order"
    current = chosen[0]["lengow_status"] if line_id else order["lengow_status"]
    if current not in allowed:
        return (f"{action_type} is not possible: {subject} is {current} "
                f"({catalog.raw_for(order['marketplace'], current)}) on {order['marketplace']}")
    if not line_id:
        chosen = [line for line in chosen if line["lengow_status"] in allowed]
    handler = {"accept": _accept, "refuse": _refuse, "ship": _ship, "cancel": _cancel, "refund": _refund}[action_type]
    return handler(state, order, record, chosen)


def _accept(state: EmulatorState, order: dict[str, Any], record: dict[str, Any], chosen: list[dict[str, Any]]) -> None:
    has_accepted = catalog.has_status(order["marketplace"], "accepted")
    for line in chosen:
        set_line(order, line, "accepted" if has_accepted else "waiting_shipment")
    if has_accepted:
        state.schedule_payment(order)
    return None


def _refuse(state: EmulatorState, order: dict[str, Any], record: dict[str, Any], chosen: list[dict[str, Any]]) -> None:
    for line in chosen:
        set_line(order, line, "refused")
    return None


def _ship(state: EmulatorState, order: dict[str, Any], record: dict[str, Any], chosen: list[dict[str, Any]]) -> str | None:
    carrier = str(record.get("carrier") or "")
    number = str(record.get("tracking_number") or "")
    if order["marketplace"] == "amazon_fr" and (len(number) < 8 or not number.isalnum()):
        # Amazon checks tracking numbers per carrier (help centre); the emulator wants 8+ letters/digits.
        return f"Amazon rejected the feed: tracking number {number[:40]!r} is not valid for carrier {carrier}"
    name = str(record.get("carrier_name") or "") or None
    for package in order["packages"]:
        shipped = [line for line in package["cart"] if line in chosen]
        if not shipped:
            continue
        package["delivery"]["trackings"].append(tracking_json(
            carrier if carrier.casefold() != "other" else (name or "Other"), number, state.now(),
            [line["marketplace_order_line_id"] for line in shipped], url=record.get("tracking_url"), method=name))
        for line in shipped:
            set_line(order, line, "shipped")
    return None


def _cancel(state: EmulatorState, order: dict[str, Any], record: dict[str, Any], chosen: list[dict[str, Any]]) -> str | None:
    quantity = record.get("cancel_quantity")
    for line in chosen:
        if quantity and record.get("line") and 0 < int(quantity) < int(line["quantity"]):
            unit = _cents(line["amount"]) // int(line["quantity"])
            line["quantity"] = int(line["quantity"]) - int(quantity)
            line["amount"] = money(unit * line["quantity"])
        else:
            set_line(order, line, "canceled")
    return None


def _refund(state: EmulatorState, order: dict[str, Any], record: dict[str, Any], chosen: list[dict[str, Any]]) -> str | None:
    pending = catalog.has_status(order["marketplace"], "refunding")
    for line in chosen:
        amount = _cents(line["amount"])
        done = _cents(line.get("refunded_amount"))
        if record.get("refund_price") not in (None, ""):
            asked = _cents(record["refund_price"])
        elif record.get("refund_quantity") not in (None, ""):
            asked = amount * int(record["refund_quantity"]) // max(1, int(line["quantity"]))
        else:
            asked = amount - done
        if asked <= 0 or asked > amount - done:
            return f"refund of {money(asked)} is more than the {money(amount - done)} left on line " \
                   f"{line['marketplace_order_line_id']}"
        line["refunded_amount"] = money(done + asked)
        if done + asked >= amount:
            set_line(order, line, "refunding" if pending else "refunded")
    if pending:
        state.schedule_refund(order)
    return None
