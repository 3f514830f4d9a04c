"""The emulator's world: orders, tokens, the clock, Lengow actions and their processing, the ledger.

Thread-safe: the HTTP server runs in its own thread (or process) while tests read and change state
directly, so every public method takes the lock. Actions are processed asynchronously like Lengow's:
``queued`` until ``action_delay_seconds`` after creation, then sent to the marketplace (``queued`` false),
then, one more delay later, ``processed`` (applied to the order) or ``errors`` (the marketplace refused).
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from lengow_tui_lengow.emulator import catalog
from lengow_tui_lengow.emulator import machine as m
from lengow_tui_lengow.emulator.generate import CODES, DAY, build_order, iso, ms, state_for

TRANSITIONS = frozenset({"accept", "refuse", "ship", "cancel"})  # applying one twice is always a bug


class LengowError(Exception):
    """An API error answered as Lengow does: ``{"error": {"message": ..., "code": ...}}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class EmulatorOptions:
    orders: int = 120
    seed: int = 1
    access_token: str = "emulator-access-token"
    secret: str = "emulator-secret"
    account_id: int = 4242
    marketplaces: tuple[str, ...] = CODES
    token_lifetime_seconds: float = 3600.0
    action_delay_seconds: float = 1.0  # queued -> sent -> processed, each step this long (0: next request)
    payment_delay_seconds: float = 0.0  # accepted -> waiting_shipment (marketplaces with an accepted step)
    refund_delay_seconds: float = 60.0  # refunding -> refunded (marketplaces with a refunding step)
    rate_limit_per_minute: int = 500  # per route and method, one-minute windows; 0 = off
    history_days: float = 20.0


@dataclass
class CallRecord:
    seq: int
    at: str
    method: str
    path: str
    action_id: int | None
    order_id: str | None
    action_type: str | None
    status: int
    message: str = ""
    fault: str | None = None


@dataclass
class RejectRule:
    """Make the marketplace refuse the next matching action(s) (``errors``), whatever its arguments."""

    message: str
    order_id: str | None = None
    action_type: str | None = None
    count: int = 1


@dataclass
class World:
    orders: list[dict[str, Any]] = field(default_factory=list)
    index: dict[tuple[str, str], int] = field(default_factory=dict)
    updated: list[float] = field(default_factory=list)
    ordered: list[float] = field(default_factory=list)
    cache: list[bytes | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.orders)


class EmulatorState:
    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        unknown = set(self.options.marketplaces) - set(catalog.MARKETPLACES)
        if unknown:
            raise ValueError(f"unknown marketplace(s): {', '.join(sorted(unknown))}")
        self.lock = threading.RLock()
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------

    def reset(self, orders: int | None = None, seed: int | None = None) -> None:
        with self.lock:
            if orders is not None:
                self.options.orders = orders
            if seed is not None:
                self.options.seed = seed
            self.clock_offset = 0.0
            self.world = World()
            self.rng = random.Random(self.options.seed)
            self.tokens: dict[str, float] = {}  # token -> expires at
            self.token_requests = 0
            self.actions: list[dict[str, Any]] = []  # Lengow action records; id = index + 1
            self.schedule: list[tuple[float, int, str, str]] = []  # (due, seq, kind, ref)
            self.schedule_seq = 0
            self.calls: list[CallRecord] = []
            self.applied: Counter[tuple[str, str, str]] = Counter()  # (order, action_type, target)
            self.rejections: list[RejectRule] = []
            self.windows: dict[tuple[str, str], tuple[int, int]] = {}  # (route, method) -> (minute, calls)
            now = self.now()
            self._generate(self.options.orders, now - self.options.history_days * DAY, now)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += max(0.0, seconds)
            self.tick()

    def _generate(self, count: int, start: float, end: float, status: str | None = None) -> list[str]:
        step = (end - start) / max(1, count)
        codes = self.options.marketplaces
        created_ids = []
        for k in range(count):
            index = len(self.world.orders)
            marketplace = codes[index % len(codes)]
            created = ms(start + (k + self.rng.random() * 0.9) * step)
            order_status = status or state_for(marketplace, self.rng)
            if status == "waiting_acceptance" and not catalog.has_status(marketplace, status):
                order_status = "new" if catalog.has_status(marketplace, "new") else "waiting_shipment"
            order = build_order(self.rng, index, marketplace, created, order_status, self.options.account_id)
            # Lengow imports an order a little after the marketplace took it, never in the future.
            imported = ms(min(created + 120, self.now()))
            order["imported_at"] = order["updated_at"] = iso(imported)
            self.world.orders.append(order)
            self.world.index[(marketplace, order["marketplace_order_id"])] = index
            self.world.updated.append(imported)
            self.world.ordered.append(created)
            self.world.cache.append(None)
            created_ids.append(order["marketplace_order_id"])
        return created_ids

    # --- reading --------------------------------------------------------------------------------

    def order_bytes(self, index: int) -> bytes:
        cached = self.world.cache[index]
        if cached is None:
            cached = json.dumps(self.world.orders[index], ensure_ascii=False, separators=(",", ":")).encode()
            self.world.cache[index] = cached
        return cached

    def order(self, order_id: str, marketplace: str | None = None) -> dict[str, Any]:
        """A copy of an order (tests); any marketplace when ``marketplace`` is None."""
        with self.lock:
            return json.loads(self.order_bytes(self.lookup(order_id, marketplace)))

    def lookup(self, order_id: str, marketplace: str | None = None) -> int:
        if marketplace is not None:
            index = self.world.index.get((marketplace, order_id))
        else:
            index = next((i for (_, oid), i in self.world.index.items() if oid == order_id), None)
        if index is None:
            raise LengowError(404, "Order not found")
        return index

    def first_order(self, marketplace: str, status: str, *, min_lines: int = 1, packages: int | None = None) -> str:
        """The id of the first order of ``marketplace`` in ``status`` (tests)."""
        with self.lock:
            for order in self.world.orders:
                lines = [line for p in order["packages"] for line in p["cart"]]
                if order["marketplace"] == marketplace and order["lengow_status"] == status \
                        and len(lines) >= min_lines and (packages is None or len(order["packages"]) == packages):
                    return str(order["marketplace_order_id"])
        raise LookupError(f"no {marketplace} order in {status}")

    # --- time passing ---------------------------------------------------------------------------

    def _at(self, due: float, kind: str, ref: str) -> None:
        self.schedule_seq += 1
        heapq.heappush(self.schedule, (due, self.schedule_seq, kind, ref))

    def tick(self) -> None:
        """Apply what is due: action steps, payments, refund payments. Cheap when nothing is due."""
        if not self.schedule or self.schedule[0][0] > self.now():
            return
        with self.lock:
            while self.schedule and self.schedule[0][0] <= self.now():
                _, _, kind, ref = heapq.heappop(self.schedule)
                if kind == "send":
                    self._send_action(int(ref))
                elif kind == "process":
                    self._process_action(int(ref))
                elif kind == "pay":
                    self._step_lines(ref, "accepted", "waiting_shipment")
                elif kind == "refund":
                    self._step_lines(ref, "refunding", "refunded")

    def touch(self, index: int) -> None:
        order = self.world.orders[index]
        m.derive(order)
        stamp = max(self.now(), self.world.updated[index] + 0.001)  # strictly increasing per order
        order["updated_at"] = iso(stamp)
        self.world.updated[index] = ms(stamp)
        self.world.cache[index] = None

    def _step_lines(self, ref: str, before: str, after: str) -> None:
        marketplace, order_id = ref.split("|", 1)
        index = self.world.index.get((marketplace, order_id))
        if index is None:
            return
        order = self.world.orders[index]
        changed = False
        for line in m.lines(order):
            if line["lengow_status"] == before:
                m.set_line(order, line, after)
                changed = True
        if changed:
            self.touch(index)

    # --- actions --------------------------------------------------------------------------------

    def create_action(self, order_index: int, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            order = self.world.orders[order_index]
            now = self.now()
            record: dict[str, Any] = {
                "id": len(self.actions) + 1, "account_id": self.options.account_id,
                "marketplace": order["marketplace"], "marketplace_order_id": order["marketplace_order_id"],
                "action_type": params["action_type"], "queued": True, "processed": False, "errors": None,
                **{k: v for k, v in params.items() if k not in ("account_id", "marketplace", "marketplace_order_id",
                                                                 "action_type")},
                "created_at": iso(now), "updated_at": iso(now),
            }
            self.actions.append(record)
            delay = self.options.action_delay_seconds
            self._at(now + delay, "send", str(record["id"]))
            self._at(now + 2 * delay, "process", str(record["id"]))
            return dict(record)

    def _send_action(self, action_id: int) -> None:
        record = self.actions[action_id - 1]
        record["queued"] = False
        record["updated_at"] = iso(self.now())

    def _process_action(self, action_id: int) -> None:
        record = self.actions[action_id - 1]
        index = self.world.index[(record["marketplace"], record["marketplace_order_id"])]
        order = self.world.orders[index]
        message = self._forced_rejection(record) or m.apply(self, index, order, record)
        record["queued"] = False
        record["updated_at"] = iso(self.now())
        if message:
            record["errors"] = [message]
        else:
            record["processed"] = True
            target = str(record.get("line") or record["marketplace_order_id"])
            self.applied[(record["marketplace_order_id"], record["action_type"], target)] += 1
            self.touch(index)

    def _forced_rejection(self, record: dict[str, Any]) -> str | None:
        for rule in list(self.rejections):
            if rule.order_id not in (None, record["marketplace_order_id"]):
                continue
            if rule.action_type not in (None, record["action_type"]):
                continue
            rule.count -= 1
            if rule.count <= 0:
                self.rejections.remove(rule)
            return rule.message
        return None

    def schedule_payment(self, order: dict[str, Any]) -> None:
        self._at(self.now() + self.options.payment_delay_seconds, "pay",
                 f"{order['marketplace']}|{order['marketplace_order_id']}")

    def schedule_refund(self, order: dict[str, Any]) -> None:
        self._at(self.now() + self.options.refund_delay_seconds, "refund",
                 f"{order['marketplace']}|{order['marketplace_order_id']}")

    def action_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.actions]

    # --- control (the /_emulator endpoints and tests) --------------------------------------------

    def add_orders(self, count: int) -> list[str]:
        """New orders arriving now, waiting for the merchant (acceptance, or shipment on Amazon)."""
        with self.lock:
            now = self.now()
            return self._generate(count, now - 0.001 * count, now, status="waiting_acceptance")

    def advance_orders(self, count: int = 0, order_ids: list[str] | None = None) -> list[str]:
        """Move orders one step as customers and marketplaces would: new -> next, shipped -> closed,
        accepted -> waiting_shipment, refunding -> refunded."""
        with self.lock:
            if order_ids is None:
                order_ids = [o["marketplace_order_id"] for o in self.world.orders
                             if m.next_status(o["marketplace"], o["lengow_status"])][:count]
            moved = []
            for order_id in order_ids:
                index = self.lookup(order_id)
                order = self.world.orders[index]
                changed = False
                for line in m.lines(order):
                    following = m.next_status(order["marketplace"], line["lengow_status"])
                    if following:
                        m.set_line(order, line, following)
                        changed = True
                if changed:
                    self.touch(index)
                    moved.append(order_id)
            return moved

    def set_status(self, order_id: str, status: str) -> None:
        """Force every line of an order into ``status`` (tests)."""
        with self.lock:
            index = self.lookup(order_id)
            order = self.world.orders[index]
            for line in m.lines(order):
                m.set_line(order, line, status)
            self.touch(index)

    def set_raw_status(self, order_id: str, raw: str, lengow_status: str | None = None) -> None:
        """Give an order a raw status word (tests: a word the definitions do not list)."""
        with self.lock:
            index = self.lookup(order_id)
            order = self.world.orders[index]
            order["marketplace_status"] = raw
            if lengow_status is not None:
                order["lengow_status"] = lengow_status
            stamp = max(self.now(), self.world.updated[index] + 0.001)
            order["updated_at"] = iso(stamp)
            self.world.updated[index] = ms(stamp)
            self.world.cache[index] = None

    def expire_tokens(self) -> int:
        with self.lock:
            count = len(self.tokens)
            for token in self.tokens:
                self.tokens[token] = self.now() - 1
            return count

    def issue_token(self) -> str:
        with self.lock:
            self.token_requests += 1
            token = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            self.tokens[token] = self.now() + self.options.token_lifetime_seconds
            return token

    def rate_check(self, route: str, method: str) -> float | None:
        """Seconds to wait when the route's minute budget is spent, else None (and the call is counted)."""
        limit = self.options.rate_limit_per_minute
        if limit <= 0:
            return None
        with self.lock:
            now = self.now()
            minute = int(now // 60)
            current, calls = self.windows.get((route, method), (minute, 0))
            if minute != current:
                current, calls = minute, 0
            if calls >= limit:
                return max(1.0, (current + 1) * 60 - now)
            self.windows[(route, method)] = (current, calls + 1)
            return None

    # --- ledger ---------------------------------------------------------------------------------

    def record(self, method: str, path: str, status: int, *, action_id: int | None = None,
               order_id: str | None = None, action_type: str | None = None, message: str = "",
               fault: str | None = None) -> None:
        with self.lock:
            self.calls.append(CallRecord(len(self.calls) + 1, iso(self.now()), method, path, action_id, order_id,
                                         action_type, status, message[:500], fault))

    def actions_report(self) -> dict[str, Any]:
        with self.lock:
            per_order: Counter[tuple[str, str]] = Counter()
            for (order_id, action_type, _), n in self.applied.items():
                per_order[(order_id, action_type)] += n
            return {
                "calls": [asdict(c) for c in self.calls],
                "actions": [dict(r) for r in self.actions],
                "applied_counts": [{"order_id": o, "action_type": t, "count": n} for (o, t), n in per_order.items()],
                # An order (or line) accepted, refused, shipped or canceled twice: always a bug.
                "duplicates": [{"order_id": o, "action_type": t, "target": target, "count": n}
                               for (o, t, target), n in self.applied.items() if t in TRANSITIONS and n > 1],
            }
