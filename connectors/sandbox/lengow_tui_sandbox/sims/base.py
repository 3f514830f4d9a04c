"""What every simulated marketplace shares: time, scheduling, argument checks, refunds, histories.

An order is a JSON-able dict (see :func:`lengow_tui_sandbox.generate.new_order`). A marketplace sim
mutates it in place: on arrival (:meth:`MarketplaceSim.start`), when a background event is due
(:meth:`evolve`), and when it applies a merchant action (:meth:`apply`). Each order has at most one
pending background event (``order["next"]``); after every change the sim decides the next one from the
order's state (:meth:`schedule_natural`), so the world is a function of its past, not of who polled.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from lengow_tui.connector_api import (
    ActionKind,
    ActionRequest,
    Condition,
    LineSelection,
    MarketplaceDeclaration,
    Status,
)

US = 1_000_000
HOUR = 3600
DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Order = dict[str, Any]
Line = dict[str, Any]


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:  # a naive clock is taken as UTC rather than local time
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iso(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat().replace("+00:00", "Z")


def money(cents: int) -> float:
    return round(cents / 100, 2)


@dataclass(frozen=True)
class Tick:
    """The simulated moment an event happens, and how fast the world runs."""

    at: int  # microseconds since the epoch
    scale: int = 1

    def later(self, seconds: float) -> int:
        return self.at + max(1, int(seconds * US / self.scale))


@dataclass(frozen=True)
class Step:
    """One step of an order's made-up history: an event or an action, ``lo``..``hi`` hours after the last."""

    name: str
    lo: float
    hi: float


@dataclass(frozen=True)
class Script:
    """How to reach a target status: the steps, then ``idle_lo``..``idle_hi`` hours without change."""

    steps: tuple[Step, ...]
    idle_lo: float
    idle_hi: float


def steps(*items: tuple[str, float, float]) -> tuple[Step, ...]:
    return tuple(Step(*item) for item in items)


def _holds(condition: Condition, order: Order, args: dict[str, str]) -> bool:
    value = order.get(condition.name) if condition.on == "order" else args.get(condition.name)
    return bool(value) and str(value).casefold() in {v.casefold() for v in condition.values}


class MarketplaceSim(ABC):
    code: str
    declaration: MarketplaceDeclaration
    unknown_status: str  # planted raw status the declaration does not map
    scripts: ClassVar[dict[Status, tuple[Script, ...]]]  # ways an initial order reaches each status
    # Seconds the marketplace takes to process an action at time_scale 1: long enough to be seen
    # pending, short enough for a demo.
    action_delay: ClassVar[dict[ActionKind, float]] = {
        ActionKind.ACCEPT: 3, ActionKind.REFUSE: 3, ActionKind.CANCEL: 3,
        ActionKind.SHIP: 5, ActionKind.REFUND: 5,
    }
    reject_messages: ClassVar[dict[ActionKind, str]]  # the message of a random (reject_rate) rejection

    # --- identity and shape -------------------------------------------------------------------

    @abstractmethod
    def order_id(self, n: int, rng: random.Random) -> str: ...

    @abstractmethod
    def line_id(self, order_id: str, index: int, rng: random.Random) -> str: ...

    def channel(self, rng: random.Random) -> tuple[str, str, str]:
        """(sales channel, currency, customer country)."""
        return "FR", "EUR", "FR" if rng.random() < 0.94 else "BE"

    @abstractmethod
    def delivery_type(self, rng: random.Random) -> str: ...

    def decorate(self, order: Order, rng: random.Random) -> None:
        """Add what only this marketplace has to a freshly generated order."""

    @abstractmethod
    def target_weights(self, order: Order) -> dict[Status, int]: ...

    # --- behaviour ----------------------------------------------------------------------------

    @abstractmethod
    def start(self, order: Order, tick: Tick) -> None:
        """A new order arrives: set its first raw status."""

    @abstractmethod
    def schedule_natural(self, order: Order, tick: Tick, rng: random.Random) -> None:
        """Decide the order's next background event from its current state (or none)."""

    @abstractmethod
    def evolve(self, order: Order, kind: str, tick: Tick, rng: random.Random) -> None:
        """Apply the background event ``kind`` (customer, payment, carrier, operator)."""

    @abstractmethod
    def state_problem(self, order: Order, request: ActionRequest) -> str | None:
        """Why the marketplace refuses ``request`` in the order's current state, or None."""

    @abstractmethod
    def apply(self, order: Order, request: ActionRequest, tick: Tick, rng: random.Random) -> None:
        """Apply an accepted action."""

    @abstractmethod
    def raw(self, order: Order) -> dict[str, Any]:
        """The order as this marketplace's API would return it."""

    def line_raw_status(self, line: Line) -> str | None:
        return None

    def common_status(self, order: Order) -> Status | None:
        raws = [self.line_raw_status(line) for line in order["lines"]]
        return self.declaration.status_map.resolve(order["status"], raws if any(raws) else [])

    # --- helpers for subclasses -----------------------------------------------------------------

    def _set(self, order: Order, status: str, tick: Tick, rng: random.Random) -> None:
        """Move an order-level-status order to ``status`` now, and plan what happens next."""
        order["status"] = status
        self.touch(order, tick)
        self.schedule_natural(order, tick, rng)

    @staticmethod
    def touch(order: Order, tick: Tick) -> None:
        order["changed_at"] = tick.at
        order["rev"] = order.get("rev", 0) + 1

    @staticmethod
    def schedule(order: Order, kind: str, seconds: float, tick: Tick, rng: random.Random) -> None:
        """Plan ``kind`` ``seconds`` after the order's last change.

        When that moment has already passed (an initial order whose made-up history is older than
        the delay), the event is spread over the coming delay instead of firing all at once.
        """
        delay = max(1, int(seconds * US / tick.scale))
        at = order["changed_at"] + delay
        if at <= tick.at:
            at = tick.at + max(1, int(delay * rng.uniform(0.05, 1.0)))
        order["next"] = {"at": at, "kind": kind}

    @staticmethod
    def unschedule(order: Order) -> None:
        order["next"] = None

    def argument_problem(self, order: Order, request: ActionRequest) -> str | None:
        """Check arguments the way the marketplace API would (it knows its own rules)."""
        spec = self.declaration.action(request.kind)
        assert spec is not None
        args = {k: (v or "").strip() for k, v in request.arguments.items()}
        declared = {a.name for a in spec.arguments}
        for name in args:
            if name not in declared:
                return f"unexpected field {name!r}"
        for arg in spec.arguments:
            value = args.get(arg.name) or (arg.default or "")
            if not value:
                needed = arg.required or any(_holds(c, order, args) for c in arg.required_when)
                if needed:
                    return f"field {arg.name!r} is mandatory"
                continue
            if arg.valid_values and not arg.accept_free_values and arg.choice_label(value) is None:
                return f"{value!r} is not a valid {arg.name.replace('_', ' ')}"
            if arg.max_length is not None and len(value) > arg.max_length:
                return f"field {arg.name!r} is longer than {arg.max_length} characters"
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                return f"field {arg.name!r} contains control characters"
        return None

    def argument(self, request: ActionRequest, name: str) -> str:
        value = (request.arguments.get(name) or "").strip()
        if not value:
            spec = self.declaration.action(request.kind)
            arg = spec.argument(name) if spec else None
            value = (arg.default or "") if arg else ""
        return value

    @staticmethod
    def line_of(order: Order, line_id: str) -> Line | None:
        return next((line for line in order["lines"] if line["id"] == line_id), None)

    @staticmethod
    def refundable(line: Line) -> int:
        return int(line["amount"] - line["refunded_cents"])

    def plan_refund(
        self, order: Order, request: ActionRequest, eligible: Callable[[Line], bool]
    ) -> list[tuple[Line, int, int]] | str:
        """The (line, amount, quantity) a refund request means, or why it cannot be done.

        No line selection refunds what is left on every eligible line. A quantity without an amount
        refunds that share of the line's amount.
        """
        selections = request.lines or tuple(
            LineSelection(line["id"]) for line in order["lines"] if eligible(line) and self.refundable(line) > 0
        )
        if not selections:
            return "nothing is left to refund on this order"
        plan: list[tuple[Line, int, int]] = []
        seen: set[str] = set()
        for sel in selections:
            line = self.line_of(order, sel.line_id)
            if line is None:
                return f"line {sel.line_id!r} does not exist on order {order['order_id']}"
            if sel.line_id in seen:
                return f"line {sel.line_id!r} appears twice in the refund"
            seen.add(sel.line_id)
            if not eligible(line):
                return f"line {sel.line_id!r} cannot be refunded in its current state"
            left, qty_left = self.refundable(line), line["qty"] - line["refunded_qty"]
            if left <= 0:
                return f"line {sel.line_id!r} is already fully refunded"
            if sel.quantity is not None and not 0 < sel.quantity <= qty_left:
                return f"line {sel.line_id!r}: quantity {sel.quantity} is more than the {qty_left} left to refund"
            if sel.amount_cents is not None:
                amount = sel.amount_cents
            elif sel.quantity is not None:
                amount = min(left, line["amount"] * sel.quantity // line["qty"])
            else:
                amount = left
            if amount <= 0:
                return f"line {sel.line_id!r}: the refund amount must be positive"
            if amount > left:
                return f"line {sel.line_id!r}: refund of {money(amount):.2f} exceeds the {money(left):.2f} left"
            qty = sel.quantity if sel.quantity is not None else (qty_left if amount == left else 0)
            plan.append((line, amount, qty))
        return plan

    def record_refunds(self, order: Order, plan: list[tuple[Line, int, int]], reason: str, state: str,
                       tick: Tick) -> None:
        for line, amount, qty in plan:
            line["refunded_cents"] += amount
            line["refunded_qty"] += qty
            order["refunds"].append({
                "id": f"{line['id']}-R{len(order['refunds']) + 1}", "line": line["id"], "amount": amount,
                "qty": qty, "reason": reason, "state": state, "at": tick.at,
            })

    @staticmethod
    def fully_refunded(order: Order) -> bool:
        return all(line["refunded_cents"] >= line["amount"] for line in order["lines"])

    # --- orders whose raw status the declaration does not know -----------------------------------

    def hold(self, order: Order, tick: Tick) -> None:
        """Show an unmapped raw status for two simulated hours, then resume where the order was."""
        order["held"] = {"status": order["status"], "lines": [line["state"] for line in order["lines"]],
                         "next": order["next"]}
        order["status"] = self.unknown_status
        for line in order["lines"]:
            if line["state"] is not None:
                line["state"] = self.unknown_status
        order["next"] = {"at": tick.later(2 * HOUR), "kind": "release"}

    def release(self, order: Order, tick: Tick) -> None:
        held = order.pop("held")
        order["status"] = held["status"]
        for line, state in zip(order["lines"], held["lines"], strict=True):
            line["state"] = state
        upcoming = held["next"]
        order["next"] = upcoming and {"at": max(upcoming["at"], tick.at + 1), "kind": upcoming["kind"]}
        self.touch(order, tick)

    # --- made-up histories for the initial world -----------------------------------------------

    def autopilot(self, order: Order, step: str, rng: random.Random) -> ActionRequest:
        """The action a past merchant took at this step of an initial order's history."""
        kind = ActionKind(step.removesuffix("_one"))
        lines: tuple[LineSelection, ...] = ()
        if step == "refund_one":  # one line of several, or a commercial gesture on a single line
            first = order["lines"][0]
            gesture = first["amount"] // 4 if len(order["lines"]) == 1 else None
            lines = (LineSelection(first["id"], amount_cents=gesture),)
        spec = self.declaration.action(kind)
        arguments: dict[str, str] = {}
        for arg in spec.arguments if spec else ():
            if arg.name == "carrier":
                usable = [c for c in self.declaration.carriers if c.code != "Other"]
                arguments["carrier"] = rng.choice(usable).code
            elif arg.name == "tracking_number":
                prefix = rng.choice("6LXJ8") + rng.choice("ABCPUW")
                arguments["tracking_number"] = f"{prefix}{rng.randint(10**10, 10**11 - 1)}FR"
            elif arg.valid_values and (arg.required or arg.default is not None):
                arguments[arg.name] = arg.default or rng.choice(arg.valid_values).code
        action_id = f"history-{order['order_id']}-{step}"
        return ActionRequest(action_id, kind, self.code, order["order_id"], arguments, lines)

    def replay(self, order: Order, script: Script, rng: random.Random, now: int, scale: int) -> None:
        """Give an initial order the history ``script`` describes, ending ``idle`` hours before ``now``."""
        gaps = [rng.uniform(s.lo, s.hi) * HOUR * US for s in script.steps]
        idle = rng.uniform(script.idle_lo, script.idle_hi) * HOUR * US
        at = now - int(idle + sum(gaps)) - 1
        order["ordered_at"] = order["changed_at"] = at
        order["deadline"] = at + (3 * DAY if order["delivery_type"] != "pickup" else DAY) * US
        self.start(order, Tick(at))
        for step, gap in zip(script.steps, gaps, strict=True):
            at += int(gap)
            tick = Tick(at)
            if step.name in ("accept", "refuse", "ship", "cancel", "refund", "refund_one"):
                request = self.autopilot(order, step.name, rng)
                problem = self.state_problem(order, request) or self.argument_problem(order, request)
                if problem is None:
                    self.apply(order, request, tick, rng)
            else:
                self.evolve(order, step.name, tick, rng)
        self.schedule_natural(order, Tick(now, scale), rng)
