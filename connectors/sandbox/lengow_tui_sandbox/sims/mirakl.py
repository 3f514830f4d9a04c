"""A Mirakl-like marketplace: status per order line, line-level accept/refuse and refunds.

The order's ``order_state`` is computed from its lines like Mirakl does: the least advanced line that
is still alive (refused and canceled lines only count when every line is). Refunds are requested by
the shop (OR28), wait as ``WAITING_REFUND`` and are paid 30 simulated seconds later. A refund of part
of a line's amount keeps the line in its state (the amount shows in the line's ``refunds``), as on
Mirakl, so only whole-line refunds change the common status.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from lengow_tui.connector_api import ActionKind, ActionRequest, Status
from lengow_tui_sandbox.declarations import MIRAKL
from lengow_tui_sandbox.sims.base import (
    DAY,
    HOUR,
    MarketplaceSim,
    Order,
    Script,
    Tick,
    iso,
    money,
    steps,
)

_RANK = {
    state: rank for rank, state in enumerate((
        "STAGING", "WAITING_ACCEPTANCE", "WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING", "SHIPPED",
        "TO_COLLECT", "RECEIVED", "INCIDENT_OPEN", "WAITING_REFUND", "CLOSED", "REFUNDED",
    ))
}
_STOPPED = ("REFUSED", "CANCELED")
_REFUNDABLE = ("SHIPPED", "RECEIVED", "CLOSED", "INCIDENT_OPEN")

_V, _A, _D = ("validate", 0.005, 0.05), ("accept", 0.2, 10), ("debit", 0.01, 0.2)
_SH, _DL, _CL = ("ship", 4, 48), ("deliver", 48, 96), ("close", 24, 72)
_SHIPPED = (_V, _A, _D, _SH)
_CLOSED = (*_SHIPPED, _DL, _CL)
_PAID = ("refund_paid", 0.005, 0.01)


def order_state(states: list[str]) -> str:
    live = [s for s in states if s not in _STOPPED]
    if not live:
        return max(sorted(set(states)), key=states.count)
    if "INCIDENT_OPEN" in live:
        return "INCIDENT_OPEN"
    return min(live, key=lambda s: _RANK.get(s, -1))


class MiraklSim(MarketplaceSim):
    code = MIRAKL.code
    declaration = MIRAKL
    unknown_status = "ON_HOLD_REVIEW"
    reject_messages: ClassVar[dict[ActionKind, str]] = {
        ActionKind.ACCEPT: "OR21: the offer's stock changed while the order waited; the line cannot be accepted "
                           "(error 4201)",
        ActionKind.REFUSE: "OR21: the operator already recorded a decision for this order (error 4202)",
        ActionKind.SHIP: "OR23: this tracking number is already used by another order of the shop (error 4310)",
        ActionKind.CANCEL: "OR29: the order cannot be canceled, the customer has already been debited "
                           "(can_cancel=false)",
        ActionKind.REFUND: "OR28: the operator's payment service refused the refund (error 4451)",
    }
    scripts: ClassVar[dict[Status, tuple[Script, ...]]] = {
        Status.NEW: (Script((), 0, 0.005),),
        Status.WAITING_ACCEPTANCE: (Script(steps(_V), 0.05, 36),),
        Status.ACCEPTED: (Script(steps(_V, _A), 0, 0.004),),
        Status.WAITING_SHIPMENT: (Script(steps(_V, _A, _D), 0.1, 60),),
        Status.SHIPPED: (Script(steps(*_SHIPPED), 1, 40), Script(steps(*_SHIPPED, _DL), 0, 20)),
        Status.CLOSED: (Script(steps(*_CLOSED), 0, 18 * 24),),
        Status.REFUSED: (Script(steps(_V, ("refuse", 0.2, 10)), 0, 25 * 24),),
        Status.CANCELED: (
            Script(steps(_V, _A, _D, ("customer_cancel", 2, 24)), 0, 25 * 24),
            Script(steps(_V, _A, _D, ("cancel", 1, 24)), 0, 25 * 24),
        ),
        Status.TO_REFUND: (Script(steps(*_SHIPPED, _DL, ("incident", 24, 96)), 0, 5 * 24),),
        Status.REFUNDING: (Script(steps(*_CLOSED, ("refund", 24, 120)), 0, 0.005),),
        Status.REFUNDED: (Script(steps(*_CLOSED, ("refund", 24, 120), _PAID), 0, 12 * 24),),
        Status.PARTIAL_REFUNDED: (Script(steps(*_CLOSED, ("refund_one", 24, 120), _PAID), 0, 12 * 24),),
    }

    def order_id(self, n: int, rng: random.Random) -> str:
        return f"MK{n:08d}-A"

    def line_id(self, order_id: str, index: int, rng: random.Random) -> str:
        return f"{order_id}-{index + 1}"

    def delivery_type(self, rng: random.Random) -> str:
        return "EXP" if rng.random() < 0.15 else "STD"

    def target_weights(self, order: Order) -> dict[Status, int]:
        weights = {
            Status.CLOSED: 36, Status.SHIPPED: 18, Status.WAITING_SHIPMENT: 10, Status.WAITING_ACCEPTANCE: 10,
            Status.NEW: 1, Status.ACCEPTED: 1, Status.REFUSED: 3, Status.CANCELED: 5, Status.TO_REFUND: 5,
            Status.REFUNDING: 1, Status.REFUNDED: 4,
        }
        if len(order["lines"]) > 1:  # a partial refund by lines needs two lines
            weights[Status.PARTIAL_REFUNDED] = 6
        return weights

    def line_raw_status(self, line: dict[str, Any]) -> str | None:
        state: str | None = line["state"]
        return state

    # --- state changes -------------------------------------------------------------------------

    @staticmethod
    def _move(order: Order, sources: tuple[str, ...] | None, target: str, line_ids: set[str] | None = None) -> int:
        moved = 0
        for line in order["lines"]:
            if (sources is None or line["state"] in sources) and (line_ids is None or line["id"] in line_ids):
                line["prev"], line["state"] = line["state"], target
                moved += 1
        return moved

    def _changed(self, order: Order, tick: Tick, rng: random.Random) -> None:
        order["status"] = order_state([line["state"] for line in order["lines"]])
        self.touch(order, tick)
        self.schedule_natural(order, tick, rng)

    def start(self, order: Order, tick: Tick) -> None:
        for line in order["lines"]:
            line["state"] = "STAGING"
        order["status"] = "STAGING"

    def schedule_natural(self, order: Order, tick: Tick, rng: random.Random) -> None:
        status = order["status"]
        if any(r["state"] == "WAITING_REFUND" for r in order["refunds"]):
            self.schedule(order, "refund_paid", 30, tick, rng)
        elif status == "STAGING":
            self.schedule(order, "fraud_cancel" if rng.random() < 0.02 else "validate", 30, tick, rng)
        elif status in ("WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"):
            self.schedule(order, "debit", 20, tick, rng)
        elif status == "SHIPPING" and rng.random() < 0.02:
            self.schedule(order, "customer_cancel", rng.uniform(2, 12) * HOUR, tick, rng)
        elif status == "SHIPPED":
            self.schedule(order, "deliver", rng.uniform(2, 4) * DAY, tick, rng)
        elif status == "RECEIVED":
            incident = rng.random() < 0.06
            days = rng.uniform(1, 4) if incident else rng.uniform(1, 3)
            self.schedule(order, "incident" if incident else "close", days * DAY, tick, rng)
        else:
            self.unschedule(order)

    def evolve(self, order: Order, kind: str, tick: Tick, rng: random.Random) -> None:
        moved = 0
        if kind == "validate":
            moved = self._move(order, ("STAGING",), "WAITING_ACCEPTANCE")
        elif kind == "fraud_cancel":
            moved = self._move(order, ("STAGING",), "CANCELED")
            order["reason"] = "FRAUD_CHECK_FAILED"
        elif kind == "debit":
            moved = self._move(order, ("WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"), "SHIPPING")
            order["dates"]["debited"] = tick.at
        elif kind == "customer_cancel":
            moved = self._move(order, ("SHIPPING",), "CANCELED")
            order["reason"] = "CUSTOMER_CANCELLATION"
        elif kind == "deliver":
            moved = self._move(order, ("SHIPPED",), "RECEIVED")
            order["dates"]["received"] = tick.at
        elif kind == "close":
            moved = self._move(order, ("RECEIVED", "SHIPPED"), "CLOSED")
        elif kind == "incident":
            candidates = [line["id"] for line in order["lines"] if line["state"] in ("RECEIVED", "CLOSED")]
            if candidates:
                moved = self._move(order, None, "INCIDENT_OPEN", {rng.choice(candidates)})
        elif kind == "refund_paid":
            for refund in order["refunds"]:
                if refund["state"] == "WAITING_REFUND":
                    refund["state"], moved = "REFUNDED", moved + 1
            self._move(order, ("WAITING_REFUND",), "REFUNDED")
        if moved:
            self._changed(order, tick, rng)
        else:
            self.schedule_natural(order, tick, rng)

    def _decided_lines(self, order: Order, request: ActionRequest) -> list[str] | str:
        if not request.lines:
            chosen = [line["id"] for line in order["lines"] if line["state"] == "WAITING_ACCEPTANCE"]
            return chosen or (f"order {order['order_id']} is {order['status']}: no line is WAITING_ACCEPTANCE")
        chosen = []
        for sel in request.lines:
            line = self.line_of(order, sel.line_id)
            if line is None:
                return f"order line {sel.line_id!r} does not exist on order {order['order_id']}"
            if line["state"] != "WAITING_ACCEPTANCE":
                return f"order line {sel.line_id!r} is {line['state']}; only WAITING_ACCEPTANCE lines can be decided"
            chosen.append(line["id"])
        return chosen

    def state_problem(self, order: Order, request: ActionRequest) -> str | None:
        kind, status = request.kind, order["status"]
        if kind in (ActionKind.ACCEPT, ActionKind.REFUSE):
            chosen = self._decided_lines(order, request)
            return f"OR21: {chosen}" if isinstance(chosen, str) else None
        if kind in (ActionKind.SHIP, ActionKind.CANCEL):
            if status != "SHIPPING":
                api, done = ("OR24", "shipped") if kind == ActionKind.SHIP else ("OR29", "canceled")
                return f"{api}: order {order['order_id']} is {status}; it must be SHIPPING to be {done}"
            if kind == ActionKind.SHIP and request.lines:
                return "OR24: shipment confirms the whole order; do not select lines"
            return None
        if kind == ActionKind.REFUND:
            plan = self.plan_refund(order, request, lambda line: line["state"] in _REFUNDABLE)
            return f"OR28: {plan}" if isinstance(plan, str) else None
        return f"{kind} is not an operation of this marketplace"

    def apply(self, order: Order, request: ActionRequest, tick: Tick, rng: random.Random) -> None:
        kind = request.kind
        if kind in (ActionKind.ACCEPT, ActionKind.REFUSE):
            chosen = self._decided_lines(order, request)
            assert not isinstance(chosen, str)
            target = "WAITING_DEBIT" if kind == ActionKind.ACCEPT else "REFUSED"
            self._move(order, ("WAITING_ACCEPTANCE",), target, set(chosen))
            if not any(line["state"] == "WAITING_ACCEPTANCE" for line in order["lines"]):
                order["dates"]["decided"] = tick.at
        elif kind == ActionKind.SHIP:
            code, number = self.argument(request, "carrier"), self.argument(request, "tracking_number")
            carrier = self.declaration.carrier(code)
            order["tracking"] = {
                "carrier": code, "carrier_name": carrier.label if carrier else code, "number": number,
                "url": (carrier.tracking_url(number) if carrier else None) or "", "shipped_at": tick.at,
                "method": "",
            }
            self._move(order, ("SHIPPING",), "SHIPPED")
        elif kind == ActionKind.CANCEL:
            self._move(order, ("SHIPPING",), "CANCELED")
            order["reason"] = "SHOP_CANCELLATION"
        elif kind == ActionKind.REFUND:
            plan = self.plan_refund(order, request, lambda line: line["state"] in _REFUNDABLE)
            assert not isinstance(plan, str)
            self.record_refunds(order, plan, self.argument(request, "reason"), "WAITING_REFUND", tick)
            for line, _amount, _qty in plan:
                if self.refundable(line) <= 0:
                    self._move(order, None, "WAITING_REFUND", {line["id"]})
                elif line["state"] == "INCIDENT_OPEN":  # a partial refund settles the incident
                    self._move(order, None, line.get("prev") or "CLOSED", {line["id"]})
        self._changed(order, tick, rng)

    # --- the OR11-shaped payload -----------------------------------------------------------------

    @staticmethod
    def _address(person: dict[str, Any]) -> dict[str, Any]:
        return {
            "firstname": person["first"], "lastname": person["last"], "company": person["company"] or None,
            "street_1": person["address1"], "street_2": person["address2"] or None,
            "zip_code": person["zipcode"], "city": person["city"], "country_iso_code": person["country"],
            "phone": person["phone"],
        }

    def raw(self, order: Order) -> dict[str, Any]:
        lines_total = sum(line["amount"] for line in order["lines"])
        tracking = order["tracking"] or {}
        carrier = tracking.get("carrier")
        refunded = sum(line["refunded_cents"] for line in order["lines"])
        return {
            "order_id": order["order_id"],
            "commercial_id": order["order_id"].removesuffix("-A"),
            "order_state": order["status"],
            "order_state_reason_code": order.get("reason") or None,
            "created_date": iso(order["ordered_at"]),
            "last_updated_date": iso(order["updated_at"]),
            "acceptance_decision_date": iso(order["dates"].get("decided")),
            "customer_debited_date": iso(order["dates"].get("debited")),
            "shipping_deadline": iso(order["deadline"]),
            "channel": {"code": order["channel"], "label": "France"},
            "currency_iso_code": order["currency"],
            "payment_workflow": "PAY_ON_ACCEPTANCE",
            "price": money(lines_total),
            "shipping_price": money(order["shipping_cents"]),
            "total_price": money(lines_total + order["shipping_cents"]),
            "shipping_type_code": order["delivery_type"],
            "shipping_type_label": "Express" if order["delivery_type"] == "EXP" else "Standard",
            "shipping_carrier_code": carrier,
            "shipping_company": tracking.get("carrier_name"),
            "shipping_tracking": tracking.get("number"),
            "shipping_tracking_url": tracking.get("url") or None,
            "has_incident": any(line["state"] == "INCIDENT_OPEN" for line in order["lines"]),
            "has_invoice": order["status"] in ("SHIPPED", "RECEIVED", "CLOSED", "INCIDENT_OPEN", "REFUNDED"),
            "fully_refunded": refunded > 0 and self.fully_refunded(order),
            "can_cancel": order["status"] == "SHIPPING",
            "can_shop_ship": order["status"] == "SHIPPING",
            "customer": {
                "customer_id": f"C{order['n'] * 7919 % 10**7:07d}",
                "firstname": order["buyer"]["first"],
                "lastname": order["buyer"]["last"],
                "email": order["buyer"]["email"],
                "billing_address": self._address(order["billing"]),
                "shipping_address": self._address(order["shipping"]),
            },
            "order_lines": [
                {
                    "order_line_id": line["id"],
                    "order_line_index": index + 1,
                    "order_line_state": line["state"],
                    "offer_sku": line["sku"],
                    "product_title": line["title"],
                    "quantity": line["qty"],
                    "price_unit": money(line["amount"] // line["qty"]),
                    "price": money(line["amount"]),
                    "total_price": money(line["amount"]),
                    "taxes": [{"code": "TVA-20", "amount": money(line["tax"])}],
                    "refunds": [
                        {"id": r["id"], "amount": money(r["amount"]), "quantity": r["qty"],
                         "reason_code": r["reason"], "state": r["state"], "created_date": iso(r["at"])}
                        for r in order["refunds"] if r["line"] == line["id"]
                    ],
                    "cancelations": [],
                }
                for index, line in enumerate(order["lines"])
            ],
        }
