"""The emulator's world: orders, clock, scheduled transitions, carriers, reasons and the action log.

Thread-safe: the HTTP server runs in its own thread (or process) while tests read and change state
directly, so every public method takes the lock. Each order's serialized JSON is cached and dropped
when the order changes, which is what makes unchanged OR11 pages cheap to serve.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from lengow_tui_mirakl.declarations import CANCEL_REASONS, REFUND_REASONS, declaration
from lengow_tui_mirakl.emulator import machine as m
from lengow_tui_mirakl.emulator.clock import iso, ms
from lengow_tui_mirakl.emulator.generate import DAY, Plan, build_order, dump, order_id_for, plan_order

DOCUMENT_TYPES = {"SYSTEM_DELIVERY_BILL": "Bon de livraison", "CUSTOMER_INVOICE": "Facture client"}
TRANSITION_OPS = frozenset({"accept", "refuse", "ship", "cancel"})  # applying one twice is always a bug


class MiraklError(Exception):
    """An API error answered as Mirakl does: ``{"message": ..., "status": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class EmulatorOptions:
    orders: int = 200
    seed: int = 1
    api_key: str = "emulator-api-key"
    shop_id: str = "2001"
    operator: str = "mirakl"
    update_delta_seconds: float = 60.0  # subtracted from start_update_date, as Mirakl documents
    debit_delay_seconds: float = 0.0  # accepted order -> debited (SHIPPING) after this long
    refund_delay_seconds: float = 60.0  # WAITING_REFUND -> REFUNDED after this long
    rate_limit_per_minute: int = 0  # /api calls per clock minute; 0 = unlimited
    history_days: float = 30.0  # generated orders were created over this many past days


@dataclass
class CallRecord:
    seq: int
    at: str
    method: str
    path: str
    api: str
    operation: str
    order_id: str | None
    applied: bool
    status: int
    message: str = ""
    fault: str | None = None
    targets: list[str] = field(default_factory=list)


@dataclass
class World:
    """Orders in creation order. ``plans`` say what OR11 filters on; ``dicts`` hold the orders that
    were changed (or are being read for documents); ``cache`` their serialized JSON."""

    plans: list[Plan] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    updated: list[float] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    dicts: dict[int, dict[str, Any]] = field(default_factory=dict)
    cache: list[bytes | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.plans)


class EmulatorState:
    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        self.lock = threading.RLock()
        spec = declaration(self.options.operator)
        if spec is None:
            raise ValueError(f"unknown operator {self.options.operator!r}")
        # SH21 uses Mirakl's {trackingId} placeholder.
        self.carriers: tuple[tuple[str, str, str | None], ...] = tuple(
            (c.code, c.label, c.tracking_url_template.replace("{tracking_number}", "{trackingId}")
             if c.tracking_url_template else None)
            for c in spec.carriers
        )
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------

    def reset(self, orders: int | None = None, seed: int | None = None) -> None:
        with self.lock:
            if orders is not None:
                self.options.orders = orders
            if seed is not None:
                self.options.seed = seed
            self.clock_offset = 0.0
            self.version = 0
            self.world = World()
            self.rng = random.Random(self.options.seed)
            self.schedule: list[tuple[float, int, str, str]] = []  # (due, seq, kind, order_id / refund id)
            self.schedule_seq = 0
            self.calls: list[CallRecord] = []
            self.applied: Counter[tuple[str, str]] = Counter()
            self.applied_targets: Counter[tuple[str, str, str]] = Counter()  # per order line (or order)
            self.filter_cache: tuple[tuple[Any, ...], list[int]] | None = None
            self.window = (0, 0)  # (minute, calls) for the rate limiter
            self.started = self.now()
            self._generate(self.options.orders, self.started - self.options.history_days * DAY, self.started)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += max(0.0, seconds)
            self.tick()

    def _generate(self, count: int, start: float, end: float, state: str | None = None) -> list[str]:
        world, rng, seed, now = self.world, self.rng, self.options.seed, self.now()
        step = (end - start) / max(1, count)
        created_ids = []
        for k in range(count):
            index = len(world.plans)
            plan = plan_order(rng, index, start + (k + rng.random() * 0.9) * step, now, state)
            order_id = order_id_for(seed, index)
            world.plans.append(plan)
            world.ids.append(order_id)
            world.index[order_id] = index
            # Mirakl dates have millisecond precision: filter on exactly what clients will read.
            world.updated.append(ms(plan.updated))
            world.states.append(plan.order_state)
            world.cache.append(None)
            created_ids.append(order_id)
        self.version += 1
        return created_ids

    # --- reading --------------------------------------------------------------------------------

    def order_bytes(self, index: int) -> bytes:
        cached = self.world.cache[index]
        if cached is None:
            order = self.world.dicts.get(index)
            if order is None:
                order = build_order(self.world.plans[index], self.options.seed, self.carriers)
            cached = dump(order)
            self.world.cache[index] = cached
        return cached

    def order_dict(self, index: int) -> dict[str, Any]:
        """The order as a mutable dict (kept: changed orders are few)."""
        order = self.world.dicts.get(index)
        if order is None:
            order = build_order(self.world.plans[index], self.options.seed, self.carriers)
            self.world.dicts[index] = order
        return order

    def order(self, order_id: str) -> dict[str, Any] | None:
        with self.lock:
            index = self.world.index.get(order_id)
            return None if index is None else json.loads(self.order_bytes(index))

    def lookup(self, order_id: str) -> int:
        index = self.world.index.get(order_id)
        if index is None:
            raise MiraklError(404, f"Order with id '{order_id}' not found")
        return index

    def select(self, key: tuple[Any, ...], predicate: Any) -> list[int]:
        """Indices of orders matching ``predicate``, in creation order; cached until anything changes."""
        cached = self.filter_cache
        if cached is not None and cached[0] == (self.version, *key):
            return cached[1]
        found = [i for i in range(len(self.world)) if predicate(i)]
        self.filter_cache = ((self.version, *key), found)
        return found

    # --- time passing ---------------------------------------------------------------------------

    def _at(self, delay: float, kind: str, ref: str) -> None:
        self.schedule_seq += 1
        heapq.heappush(self.schedule, (self.now() + delay, self.schedule_seq, kind, ref))

    def tick(self) -> None:
        """Apply transitions that are due (debits, refund payments). Cheap when nothing is due."""
        if not self.schedule or self.schedule[0][0] > self.now():
            return
        with self.lock:
            while self.schedule and self.schedule[0][0] <= self.now():
                _, _, kind, ref = heapq.heappop(self.schedule)
                if kind == "debit":
                    self._debit(ref)
                elif kind == "refund":
                    order_id, refund_id = ref.split("|", 1)
                    self._pay_refund(order_id, refund_id)

    def _touch(self, index: int) -> dict[str, Any]:
        order = self.order_dict(index)
        m.derive(order)
        self.world.states[index] = order["order_state"]
        now = self.now()
        # Updates are strictly increasing so that "last_updated_date" orders changes.
        stamp = max(now, self.world.updated[index] + 0.001)
        order["last_updated_date"] = iso(stamp)
        self.world.updated[index] = ms(stamp)
        self.world.cache[index] = None
        self.version += 1
        return order

    def _debit(self, order_id: str) -> None:
        index = self.world.index.get(order_id)
        if index is None:
            return
        order = self.order_dict(index)
        changed = False
        for line in order["order_lines"]:
            if line["order_line_state"] in ("WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"):
                line["order_line_state"] = "SHIPPING"
                line["debited_date"] = iso(self.now())
                changed = True
        if changed:
            order["customer_debited_date"] = iso(self.now())
            self._touch(index)

    def _pay_refund(self, order_id: str, refund_id: str) -> None:
        index = self.world.index.get(order_id)
        if index is None:
            return
        order = self.order_dict(index)
        for line in order["order_lines"]:
            for refund in line["refunds"]:
                if refund["id"] == refund_id and refund["state"] != "REFUNDED":
                    refund["state"] = refund["refund_state"] = "REFUNDED"
                    refund["transaction_date"] = iso(self.now())
                    if m.remaining_cents(line) <= 0 and all(r["state"] == "REFUNDED" for r in line["refunds"]):
                        line["order_line_state"] = "REFUNDED"
                    self._touch(index)
                    return

    # --- control (the /_emulator endpoints and tests) --------------------------------------------

    def add_orders(self, count: int) -> list[str]:
        with self.lock:
            now = self.now()  # they arrive now: created (and last updated) at the current clock
            return self._generate(count, now, now + 0.001 * count, state="WAITING_ACCEPTANCE")

    def advance_orders(self, count: int = 0, order_ids: list[str] | None = None) -> list[str]:
        """Move orders one step on as customers and the operator would (STAGING -> WAITING_ACCEPTANCE,
        SHIPPED -> RECEIVED -> CLOSED, incident closed, pending debits and refunds done)."""
        with self.lock:
            if order_ids is None:
                candidates = [self.world.ids[i] for i, st in enumerate(self.world.states)
                              if st in m.NEXT_STATE or st == "WAITING_DEBIT_PAYMENT"]
                order_ids = candidates[:count]
            moved = []
            for order_id in order_ids:
                index = self.lookup(order_id)
                order = self.order_dict(index)
                changed = False
                for line in order["order_lines"]:
                    state = line["order_line_state"]
                    if state in ("WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"):
                        line["order_line_state"], changed = "SHIPPING", True
                    elif state in m.NEXT_STATE:
                        line["order_line_state"], changed = m.NEXT_STATE[state], True
                        if line["order_line_state"] == "RECEIVED":
                            line["received_date"] = iso(self.now())
                    for refund in line["refunds"]:
                        if refund["state"] != "REFUNDED":
                            refund["state"] = refund["refund_state"] = "REFUNDED"
                            changed = True
                    if line["refunds"] and m.remaining_cents(line) <= 0 and line["order_line_state"] not in m.STOPPED \
                            and all(r["state"] == "REFUNDED" for r in line["refunds"]):
                        line["order_line_state"], changed = "REFUNDED", True
                if changed:
                    self._touch(index)
                    moved.append(order_id)
            return moved

    def set_line_states(self, order_id: str, state: str) -> None:
        """Force every line of an order into ``state`` (tests)."""
        with self.lock:
            index = self.lookup(order_id)
            for line in self.order_dict(index)["order_lines"]:
                line["order_line_state"] = state
            self._touch(index)

    def first_order(self, state: str, *, lines: int | None = None, min_lines: int = 1) -> str:
        """The id of the first order whose lines are all in ``state`` (tests)."""
        with self.lock:
            for index, plan in enumerate(self.world.plans):
                if self.world.states[index] != state:
                    continue
                order = self.order_dict(index) if index in self.world.dicts else None
                lines_now = order["order_lines"] if order else None
                n = len(lines_now) if lines_now is not None else len(plan.line_states)
                if n < min_lines or (lines is not None and n != lines):
                    continue
                if order is None:
                    order = build_order(plan, self.options.seed, self.carriers)
                if all(line["order_line_state"] == state for line in order["order_lines"]):
                    return self.world.ids[index]
        raise LookupError(f"no order in state {state}")

    def rate_check(self) -> float | None:
        """Seconds to wait when the per-minute budget is spent, else None (and the call is counted)."""
        limit = self.options.rate_limit_per_minute
        if limit <= 0:
            return None
        with self.lock:
            now = self.now()
            minute = int(now // 60)
            current, calls = self.window
            if minute != current:
                current, calls = minute, 0
            if calls >= limit:
                return max(1.0, (current + 1) * 60 - now)
            self.window = (current, calls + 1)
            return None

    # --- action log ------------------------------------------------------------------------------

    def record(self, method: str, path: str, api: str, operation: str, order_id: str | None, applied: bool,
               status: int, message: str = "", fault: str | None = None, targets: tuple[str, ...] = ()) -> None:
        """Log one action call. ``targets`` are the order lines it changed (none: the whole order)."""
        with self.lock:
            self.calls.append(CallRecord(len(self.calls) + 1, iso(self.now()), method, path, api, operation,
                                         order_id, applied, status, message[:500], fault, list(targets)))
            if applied and order_id:
                self.applied[(order_id, operation)] += 1
                for target in targets or (order_id,):
                    self.applied_targets[(order_id, operation, target)] += 1

    def actions_report(self) -> dict[str, Any]:
        with self.lock:
            counts = [{"order_id": o, "operation": op, "count": n} for (o, op), n in self.applied.items()]
            return {
                "calls": [asdict(c) for c in self.calls],
                "applied_counts": counts,
                # An order (or line) accepted, refused, shipped or canceled twice: always a bug.
                "duplicates": [{"order_id": o, "operation": op, "target": t, "count": n}
                               for (o, op, t), n in self.applied_targets.items()
                               if op in TRANSITION_OPS and n > 1],
            }

    # --- reference data -------------------------------------------------------------------------

    def carriers_json(self) -> list[dict[str, Any]]:
        return [{"code": code, "label": label, "standard_code": code, "tracking_url": url}
                for code, label, url in sorted(self.carriers, key=lambda c: c[1])]

    @staticmethod
    def reasons_json() -> list[dict[str, Any]]:
        return [{"code": c.code, "label": c.label, "type": "REFUND", "is_shop_right": True} for c in REFUND_REASONS] + [
            {"code": c.code, "label": c.label, "type": "CANCELATION", "is_shop_right": True} for c in CANCEL_REASONS]
