"""Deterministic generation of Mirakl orders (OR11 shape) from a seed, in two steps so that 100,000
orders start in well under a second:

* ``plan_orders`` draws, with one ``random.Random(seed)``, what OR11 filters on: creation and update
  dates, and the state of every line (hence the order state);
* ``build_order`` fills in the rest (buyer, products, prices, carrier) when the order is first served,
  from a small per-order generator seeded by (seed, index) — same seed, same orders, whatever the
  order in which they are first read.

About 2.5 lines per order; the mix of states depends on the order's age, as in a real shop's backlog.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from lengow_tui_mirakl.emulator import fakedata as fd
from lengow_tui_mirakl.emulator import machine as m
from lengow_tui_mirakl.emulator.clock import iso

DAY = 86400.0
LINE_COUNTS = (1, 1, 1, 2, 2, 2, 3, 3, 4, 5)  # plus a 6-line order now and then: mean about 2.5
QUANTITIES = (1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3)
SHIPPING_TYPES = (("STD", "Livraison standard"),) * 6 + (("EXP", "Livraison express"), ("PUDO", "Point relais"))
SHIPPING_FEES = (0, 0, 0, 399, 499, 499, 599, 790)

_STATE_MIX: tuple[tuple[float, tuple[tuple[str, int], ...]], ...] = (
    (0.25, (("STAGING", 5), ("WAITING_ACCEPTANCE", 70), ("SHIPPING", 25))),
    (2.0, (("WAITING_ACCEPTANCE", 15), ("WAITING_DEBIT_PAYMENT", 5), ("SHIPPING", 50), ("SHIPPED", 20),
           ("REFUSED", 5), ("CANCELED", 5))),
    (7.0, (("WAITING_ACCEPTANCE", 2), ("SHIPPING", 20), ("SHIPPED", 40), ("RECEIVED", 20), ("REFUSED", 5),
           ("CANCELED", 5), ("INCIDENT_OPEN", 3), ("REFUND", 5))),
    (1e18, (("SHIPPING", 3), ("SHIPPED", 10), ("RECEIVED", 15), ("CLOSED", 50), ("REFUSED", 5), ("CANCELED", 5),
            ("INCIDENT_OPEN", 2), ("REFUND", 10))),
)
_MIX_TABLES = tuple((age, tuple(s for s, w in mix for _ in range(w))) for age, mix in _STATE_MIX)

ACCEPTED_STATES = frozenset({"WAITING_DEBIT", "WAITING_DEBIT_PAYMENT", "SHIPPING", "SHIPPED", "TO_COLLECT",
                             "RECEIVED", "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED", "REFUNDED"})
SHIPPED_STATES = frozenset({"SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN", "INCIDENT_CLOSED",
                            "REFUNDED"})


@dataclass(slots=True)
class Plan:
    """What is decided up front about an order (everything OR11 filters on)."""

    index: int
    created: float
    updated: float
    base: str  # the business state of its live lines
    line_states: tuple[str, ...]  # REFUSED for lines refused at acceptance, else ``base``
    refund: str | None  # None, WAITING_REFUND, REFUNDED (full) or PARTIAL, on the refunded lines
    refunded_lines: tuple[bool, ...]

    @property
    def order_state(self) -> str:
        states = [("REFUNDED" if self.refund == "REFUNDED" and r else s)
                  for s, r in zip(self.line_states, self.refunded_lines)]
        return m.order_state([{"order_line_state": s} for s in states])


def pick_state(rng: random.Random, age_days: float) -> str:
    for max_age, table in _MIX_TABLES:
        if age_days < max_age:
            return table[int(rng.random() * len(table))]
    return "CLOSED"


def plan_order(rng: random.Random, index: int, created: float, now: float, state: str | None = None) -> Plan:
    r = rng.random
    base = state or pick_state(rng, (now - created) / DAY)
    refund = None
    if base == "REFUND":
        base = ("SHIPPED", "RECEIVED", "CLOSED")[int(r() * 3)]
        refund = ("WAITING_REFUND", "REFUNDED", "REFUNDED", "PARTIAL")[int(r() * 4)]
    n_lines = LINE_COUNTS[int(r() * len(LINE_COUNTS))] if r() > 0.02 else 6
    # The first line is never refused, so the order keeps its business state.
    refused_ok = base in ACCEPTED_STATES and n_lines > 1
    line_states = tuple("REFUSED" if k and refused_ok and r() < 0.05 else base for k in range(n_lines))
    refunded = tuple(bool(refund) and line_states[k] != "REFUSED" and (k == 0 or r() < 0.3) for k in range(n_lines))
    span = now - created - 300.0  # the last change is a few minutes old at least
    updated = created + span * r() if span > 0 else created
    return Plan(index, created, updated, base, line_states, refund, refunded)


class _Draw:
    """splitmix64: a tiny seeded generator, much cheaper to create than ``random.Random``."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def below(self, n: int) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return (z ^ (z >> 31)) % n

    def pick(self, seq: Any) -> Any:
        return seq[self.below(len(seq))]


def order_id_for(seed: int, index: int) -> str:
    return f"{seed % 100:02d}{index + 1:08d}-A"


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def tax_part(cents_incl: int, rate: float) -> int:
    """The VAT included in a tax-included amount, in cents."""
    return int(round(cents_incl * rate / (100.0 + rate)))


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower().translate(_FOLD) if ch.isalnum())


_FOLD = str.maketrans("àâäçéèêëîïôöùûüÿñœæ", "aaaceeeeiioouuuynoa")


def _address(d: _Draw, first: str, last: str, civility: str, phone: str) -> dict[str, Any]:
    zipcode, city = d.pick(fd.CITIES)
    address = {"civility": civility, "firstname": first, "lastname": last,
               "street_1": f"{d.below(180) + 1} {d.pick(fd.STREETS)}", "zip_code": zipcode, "city": city,
               "country": "France", "country_iso_code": "FRA", "phone": phone}
    street_2 = d.pick(fd.ADDRESS2)
    if street_2:
        address["street_2"] = street_2
    return address


def build_order(plan: Plan, seed: int, carriers: tuple[tuple[str, str, str | None], ...]) -> dict[str, Any]:
    """The full OR11 order of a plan (deterministic for a seed and index)."""
    d = _Draw(seed * 1_000_003 + plan.index * 7_919 + 1)
    order_id = order_id_for(seed, plan.index)
    created, updated = plan.created, plan.updated
    created_iso, updated_iso = iso(created), iso(updated)
    accepted = plan.base in ACCEPTED_STATES
    accepted_iso = iso(created + min(3600.0, (updated - created) / 3)) if accepted else None
    shipped_iso = iso(created + (updated - created) * 0.6) if plan.base in SHIPPED_STATES else None
    first, last, civility = d.pick(fd.FIRST_NAMES), d.pick(fd.LAST_NAMES), d.pick(fd.CIVILITIES)
    phone = f"+33 6 {d.below(100):02d} {d.below(100):02d} {d.below(100):02d} {d.below(100):02d}"
    shipping_address = _address(d, first, last, civility, phone)
    billing = shipping_address if d.below(100) < 85 else _address(d, first, last, civility, phone)
    ship_code, ship_label = d.pick(SHIPPING_TYPES)
    shipping_fee = d.pick(SHIPPING_FEES)

    lines = []
    for k, line_state in enumerate(plan.line_states):
        product_no = d.below(len(fd.PRODUCTS))
        sku, title, unit, rate, category = fd.PRODUCTS[product_no]
        qty = d.pick(QUANTITIES)
        price = unit * qty
        fee = shipping_fee if k == 0 else 0
        live = line_state != "REFUSED"
        line: dict[str, Any] = {
            "order_line_id": f"{order_id}-{k + 1}", "order_line_index": k + 1, "order_line_state": line_state,
            "offer_id": 100001 + product_no, "offer_sku": sku, "product_title": title,
            "category_code": category, "quantity": qty, "price_unit": _money(unit), "price": _money(price),
            "shipping_price": _money(fee), "total_price": _money(price + fee),
            "taxes": [{"code": "TVA" + f"{rate:g}".replace(".", "_"), "rate": rate, "amount": _money(tax_part(price, rate))}],
            "shipping_taxes": [{"code": "TVA20", "rate": 20.0, "amount": _money(tax_part(fee, 20.0))}] if fee else [],
            "created_date": created_iso, "refunds": [], "cancelations": [],
        }
        if not live:
            line["order_line_state_reason_code"] = "SHOP_REFUSED"
        if accepted and live:
            line["debited_date"] = accepted_iso
        if shipped_iso and live:
            line["shipped_date"] = shipped_iso
        if live and line_state in ("RECEIVED", "CLOSED"):
            line["received_date"] = updated_iso
        if plan.refunded_lines[k]:
            amount = price if plan.refund != "PARTIAL" else price // 2
            refund_state = "WAITING_REFUND" if plan.refund == "WAITING_REFUND" else "REFUNDED"
            line["refunds"].append({
                "id": f"R{plan.index + 1}-{k + 1}", "amount": _money(amount), "shipping_amount": 0.0,
                "quantity": qty if amount == price else 0, "reason_code": "17", "state": refund_state,
                "refund_state": refund_state, "created_date": updated_iso,
                "taxes": [{"code": line["taxes"][0]["code"], "amount": _money(tax_part(amount, rate))}],
                "shipping_taxes": [],
            })
            if refund_state == "REFUNDED" and amount == price:
                line["order_line_state"] = "REFUNDED"
        lines.append(line)

    order: dict[str, Any] = {
        "order_id": order_id, "commercial_id": order_id[:-2], "order_state": plan.base,
        "created_date": created_iso, "last_updated_date": updated_iso,
        "acceptance_decision_date": accepted_iso, "customer_debited_date": accepted_iso,
        "shipping_deadline": iso(created + 3 * DAY), "payment_workflow": "PAY_ON_ACCEPTANCE",
        "currency_iso_code": "EUR", "order_tax_mode": "TAX_INCLUDED",
        "shipping_type_code": ship_code, "shipping_type_label": ship_label, "shipping_zone_code": "FR-METRO",
        "shipping_carrier_code": None, "shipping_company": None, "shipping_tracking": None,
        "shipping_tracking_url": None,
        "customer": {"customer_id": f"C{1000000 + d.below(9000000)}", "civility": civility, "firstname": first,
                     "lastname": last, "locale": "fr_FR", "billing_address": billing,
                     "shipping_address": shipping_address},
        "customer_notification_email": f"{_ascii(first)}.{_ascii(last)}{d.below(99) + 1}@{d.pick(fd.DOMAINS)}",
        "order_lines": lines,
    }
    if ship_code == "PUDO":
        order["shipping_pudo_id"] = f"PR{10000 + d.below(90000)}"
    if shipped_iso is not None and carriers:
        code, label, url = d.pick(carriers)
        tracking = f"{10**9 + d.below(9 * 10**9)}FR"
        order.update(shipping_carrier_code=code, shipping_company=label, shipping_tracking=tracking,
                     shipping_tracking_url=url.replace("{trackingId}", tracking) if url else None)
    m.derive(order)
    return order


def dump(order: dict[str, Any]) -> bytes:
    return json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode()
