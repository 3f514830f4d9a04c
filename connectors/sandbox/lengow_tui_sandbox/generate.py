"""Making orders: new arrivals and the initial world's orders with their made-up past.

Every order is a function of (seed, order number n, marketplace, arrival time): its random draws come
from ``random.Random(f"{seed}:order:{n}")`` (string seeds hash with SHA-512, so they are stable across
processes and Python runs). The initial orders additionally pick a target status and replay a history
that reaches it, so their lines, tracking, refunds and dates are consistent.

Planted data, by rule so tests can predict it:

* unknown raw status: when ``unknown_status_rate`` > 0, order n is planted iff
  ``n % stride == stride // 2`` with ``stride = max(1, round(100 / rate))`` (0.5 % -> orders 100, 300, …);
* hostile data (``hostile_data`` on): the buyer's first name of orders with ``n % 20 == 7`` and the first
  line's title of orders with ``n % 20 == 13`` carry control characters / escape sequences;
* an emoji in the buyer's last name for ``n % 97 == 42``, whatever the settings.
"""

from __future__ import annotations

import random
from dataclasses import asdict

from lengow_tui.connector_api import Status
from lengow_tui_sandbox.fakedata import EMOJI, HOSTILE_NAME_SPICES, HOSTILE_TITLE_SPICES, PRODUCTS, person
from lengow_tui_sandbox.settings import Settings
from lengow_tui_sandbox.sims import ARRIVAL_WEIGHTS, SIMS, MarketplaceSim
from lengow_tui_sandbox.sims.base import DAY, US, Order, Tick

SHIPPING_FEES = {
    "STD": 499, "EXP": 990,
    "Standard": 0, "Expedited": 599, "NextDay": 999,
    "tracked": 590, "letter": 290, "pickup": 0,
}
GBP_PER_EUR = 0.86


_M, _A, _P = "mirakl_sandbox", "amazon_sandbox", "pickup_sandbox"
# Every status of every marketplace, so that even a small world (and a demo) shows them all; the
# merchant's to-do piles come first.
SHOWCASE: tuple[tuple[str, str | None, Status], ...] = (
    (_M, None, Status.WAITING_ACCEPTANCE), (_A, None, Status.WAITING_SHIPMENT),
    (_P, "tracked", Status.WAITING_ACCEPTANCE), (_P, "pickup", Status.PICKUP_TO_PREPARE),
    (_M, None, Status.WAITING_SHIPMENT), (_P, "tracked", Status.WAITING_SHIPMENT),
    (_M, None, Status.TO_REFUND), (_P, "letter", Status.WAITING_SHIPMENT), (_P, "tracked", Status.TO_REFUND),
    (_P, "pickup", Status.WAITING_ACCEPTANCE),
    *((_M, None, s) for s in (Status.NEW, Status.ACCEPTED, Status.SHIPPED, Status.CLOSED, Status.REFUSED,
                              Status.CANCELED, Status.REFUNDING, Status.REFUNDED, Status.PARTIAL_REFUNDED)),
    *((_A, None, s) for s in (Status.NEW, Status.SHIPPED, Status.CANCELED, Status.REFUNDED,
                              Status.PARTIAL_REFUNDED)),
    *((_P, "tracked", s) for s in (Status.NEW, Status.ACCEPTED, Status.SHIPPED, Status.CLOSED, Status.REFUSED,
                                   Status.CANCELED, Status.REFUNDING, Status.REFUNDED, Status.PARTIAL_REFUNDED)),
    *((_P, "pickup", s) for s in (Status.TO_PICKUP, Status.PICKUP_COMPLETED, Status.PICKUP_CANCELED)),
)


def order_rng(seed: int, n: int) -> random.Random:
    return random.Random(f"{seed}:order:{n}")


def pick_marketplace(seed: int, n: int, served: tuple[str, ...]) -> MarketplaceSim:
    rng = random.Random(f"{seed}:marketplace:{n}")
    return SIMS[rng.choices(served, weights=[ARRIVAL_WEIGHTS[c] for c in served])[0]]


def plants_unknown_status(n: int, rate: float) -> bool:
    if rate <= 0:
        return False
    stride = max(1, round(100 / rate))
    return n % stride == stride // 2


def new_order(settings: Settings, n: int, sim: MarketplaceSim, at: int, delivery_type: str | None = None,
              min_lines: int = 1) -> Order:
    """Order number ``n`` of ``sim``'s marketplace, placed at ``at`` (µs), before its first status."""
    rng = order_rng(settings.seed, n)
    order_id = sim.order_id(n, rng)
    channel, currency, country = sim.channel(rng)
    spice = random.Random(f"{settings.seed}:spice:{n}")  # planted data must not shift the other draws
    buyer = asdict(person(rng, country))
    if settings.hostile_data and n % 20 == 7:
        buyer["first"] = spice.choice(HOSTILE_NAME_SPICES) + buyer["first"]
    if n % 97 == 42:
        buyer["last"] = f"{buyer['last']} {spice.choice(EMOJI)}"
    billing = dict(buyer) if rng.random() < 0.9 else asdict(person(rng, country))
    shipping = dict(buyer) if rng.random() < 0.85 else asdict(person(rng, country))  # gifts ship elsewhere
    count = max(min_lines, rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0])
    lines = []
    for index, (sku, title, price) in enumerate(rng.sample(PRODUCTS, count)):
        qty = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        unit = round(price * GBP_PER_EUR) if currency == "GBP" else price
        amount = unit * qty
        if settings.hostile_data and n % 20 == 13 and index == 0:
            title = spice.choice(HOSTILE_TITLE_SPICES) + title
        lines.append({
            "id": sim.line_id(order_id, index, rng), "sku": sku, "title": title, "qty": qty, "amount": amount,
            "tax": amount - round(amount / 1.2), "state": None, "prev": None,
            "refunded_cents": 0, "refunded_qty": 0, "shipped_qty": 0,
        })
    delivery_type = delivery_type or sim.delivery_type(rng)
    order: Order = {
        "n": n, "marketplace": sim.code, "order_id": order_id, "status": "", "channel": channel,
        "ordered_at": at, "changed_at": at, "updated_at": at, "rev": 0, "step": 0,
        "currency": currency, "delivery_type": delivery_type, "shipping_cents": SHIPPING_FEES[delivery_type],
        "deadline": at + int(rng.uniform(2, 3) * DAY) * US if delivery_type != "pickup" else at + DAY * US,
        "lines": lines, "buyer": buyer, "billing": billing, "shipping": shipping,
        "tracking": None, "refunds": [], "next": None, "held": None, "reason": "", "dates": {},
    }
    sim.decorate(order, rng)
    return order


def arriving_order(settings: Settings, n: int, at: int) -> Order:
    """A new order that arrives now: its marketplace's first status and first scheduled event."""
    sim = pick_marketplace(settings.seed, n, settings.marketplaces)
    order = new_order(settings, n, sim, at)
    tick = Tick(at, settings.time_scale)
    sim.start(order, tick)
    sim.schedule_natural(order, tick, random.Random(f"{settings.seed}:start:{n}"))
    if plants_unknown_status(n, settings.unknown_status_rate):
        sim.hold(order, tick)
    return order


def initial_order(settings: Settings, n: int, now: int) -> Order:
    """An order of the initial world, somewhere in its life, with a history ending before ``now``.

    The first orders walk through :data:`SHOWCASE`; the others draw a marketplace and a status.
    """
    rng = random.Random(f"{settings.seed}:history:{n}")
    showcase = [entry for entry in SHOWCASE if entry[0] in settings.marketplaces]
    if n <= len(showcase):
        code, delivery_type, target = showcase[n - 1]
        sim = SIMS[code]
        order = new_order(settings, n, sim, now, delivery_type,
                          min_lines=2 if target == Status.PARTIAL_REFUNDED else 1)
    else:
        sim = pick_marketplace(settings.seed, n, settings.marketplaces)
        order = new_order(settings, n, sim, now)
        weights = sim.target_weights(order)
        target = rng.choices(list(weights), weights=list(weights.values()))[0]
    sim.replay(order, rng.choice(sim.scripts[target]), rng, now, settings.time_scale)
    order["updated_at"] = order["changed_at"]
    if plants_unknown_status(n, settings.unknown_status_rate):
        sim.hold(order, Tick(now, settings.time_scale))
    return order
