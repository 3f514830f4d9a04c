"""Auto-accept: a channel's rules decide which new orders are accepted without a human.

:func:`decide` is the pure rule check; :func:`run_auto_accept` is the sync step that applies it. An
order that passes is accepted through the outbox (``source="auto"``) in ONE write transaction with its
stock reservation, so a crash leaves either both or neither; an order that does not pass keeps
waiting for a human with the reason in ``Order.auto_accept_note``. Held orders are looked at again
on every run, since stock may have arrived or the rules changed.

Candidates: the channel's orders in a status their marketplace allows ``accept`` from, with no
unfinished action and no accept action at all. "At all" matters: when a merchant cancels an accept
auto-accept queued, or the marketplace rejected it, queuing it again on the next pass would overrule
them; such an order is the human's from then on.

Reservations (when the stock rule is on) live as long as the order may still need the units:

* the order ends refused, canceled or pickup-canceled, or its automatic accept was rejected or
  cancelled (and no other accept is under way or done) → the reservation is *released*: the units
  are available again;
* the order reaches shipped (or a later status: closed, picked up, refund statuses) → the reservation
  is *consumed*: ``quantity`` and ``reserved`` both go down by the reserved units.

Why consume rather than just release on shipping: the imported quantity is an absolute figure from
the merchant's own system, so the next ``stock import`` corrects any drift either way; until then,
releasing without decrementing would count the shipped units as available again and over-accept
(sell stock that has left the warehouse), while decrementing can at worst under-count when the
merchant's system already deducted them and was imported in between, which only holds an order
back for a human. Erring on the side that never oversells is the safe choice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, exists, func, or_
from sqlmodel import Session, col, select

from lengow_tui.config import AutoAcceptRules
from lengow_tui.domain import ActionKind, Status
from lengow_tui.services.actions import queue_action_in_session
from lengow_tui.services.orders import ACTIVE_ACTION_STATES
from lengow_tui.services.stock import StockLevel, stock_levels
from lengow_tui.store.models import Action, Order, OrderEvent, OrderLine, Stock, StockReservation
from lengow_tui.store.types import utcnow

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # orders read per query; every write is its own short transaction (a TUI shares SQLite)
NOTE_MAX_LENGTH = 512  # Order.auto_accept_note

# The order will never need the reserved units: give them back.
RELEASE_STATUSES = (Status.REFUSED, Status.CANCELED, Status.PICKUP_CANCELED)
# The units have left (or are leaving) the warehouse: take them off the stock too.
CONSUME_STATUSES = (Status.SHIPPED, Status.CLOSED, Status.PICKUP_COMPLETED, Status.REFUNDING, Status.REFUNDED,
                    Status.PARTIAL_REFUNDED, Status.TO_REFUND)
# Lines in these statuses are not part of what an accept commits to.
_DROPPED_LINE_STATUSES = {Status.REFUSED.value, Status.CANCELED.value}


# ------------------------------------------------------------------------------------------ the decision


@dataclass(frozen=True)
class LineToCheck:
    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderToCheck:
    """What the rules look at: the order's total and currency and the lines an accept would cover."""

    total_cents: int
    currency: str
    lines: tuple[LineToCheck, ...]


@dataclass(frozen=True)
class Decision:
    accept: bool
    reason: str | None = None  # why the order waits for a human (None when accepted)
    reserve: Mapping[str, int] = field(default_factory=dict)  # SKU -> units to reserve (stock rule on)


def _amount(cents: int) -> str:
    return f"{cents / 100:.2f}"


def needed_per_sku(lines: Iterable[LineToCheck]) -> dict[str, int]:
    """Units needed per SKU: two lines of one SKU need their sum."""
    needed: dict[str, int] = {}
    for line in lines:
        if line.quantity > 0:
            needed[line.sku] = needed.get(line.sku, 0) + line.quantity
    return needed


def decide(order: OrderToCheck, rules: AutoAcceptRules, stock: Mapping[str, StockLevel]) -> Decision:
    """Whether ``rules`` let ``order`` be accepted, given the ``stock`` of its SKUs (SKU -> level).

    The first rule that fails gives the reason, worded for the merchant. ``rules.enabled`` is not
    looked at: whether to run at all is the caller's business.
    """
    limit = rules.max_total_cents
    if limit is not None and order.total_cents > limit:
        return Decision(False, f"total {_amount(order.total_cents)} {order.currency} is above the limit "
                               f"{_amount(limit)}")
    checks_lines = bool(rules.sku_allow or rules.sku_deny or rules.uses_stock)
    if checks_lines and not order.lines:
        return Decision(False, "the order has no lines, so its SKUs and stock cannot be checked")
    for line in order.lines:
        for pattern in rules.sku_deny:
            # Case-sensitive on every OS (fnmatch.fnmatch would fold case on Windows only).
            if fnmatchcase(line.sku, pattern):
                return Decision(False, f"SKU {line.sku} matches deny pattern {pattern}")
    if rules.sku_allow:
        for line in order.lines:
            if not any(fnmatchcase(line.sku, pattern) for pattern in rules.sku_allow):
                shown = line.sku or "(empty)"
                return Decision(False, f"SKU {shown} matches no allowed pattern ({', '.join(rules.sku_allow)})")
    reserve: dict[str, int] = {}
    if rules.stock_buffer is not None:
        buffer = rules.stock_buffer
        for sku, needed in sorted(needed_per_sku(order.lines).items()):
            if not sku:
                return Decision(False, "a line has no SKU, so its stock cannot be checked")
            level = stock.get(sku)
            if level is None:
                return Decision(False, f"no stock recorded for SKU {sku} ({needed} needed; "
                                       "import it with `lengow-tui stock import`)")
            if level.available - buffer < needed:
                reason = f"stock for SKU {sku}: {level.available} available, {buffer} kept as buffer, {needed} needed"
                if level.reserved:
                    reason += f" ({level.quantity} in stock, {level.reserved} reserved by accepted orders)"
                return Decision(False, reason)
            reserve[sku] = needed
    return Decision(True, None, reserve)


# ---------------------------------------------------------------------------------------- reservations


def _adjust_reservations(session: Session, order_id: int, *, consume: bool) -> int:
    reservations = list(session.exec(select(StockReservation).where(StockReservation.order_id == order_id)))
    if not reservations:
        return 0
    now = utcnow()
    held = {r.sku: r.quantity for r in reservations}
    for stock in session.exec(select(Stock).where(col(Stock.sku).in_(sorted(held))).order_by(Stock.sku)
                              .with_for_update()):
        units = held[stock.sku]
        # max(0, ...): an import or a manual fix may have lowered the figures meanwhile; never go negative.
        stock.reserved = max(0, stock.reserved - units)
        if consume:
            stock.quantity = max(0, stock.quantity - units)
        stock.updated_at = now
        session.add(stock)
    session.exec(delete(StockReservation).where(col(StockReservation.order_id) == order_id))  # type: ignore[call-overload]
    return sum(held.values())


def release_reservations(session: Session, order_id: int) -> int:
    """Give an order's reserved units back to the available stock (the order will not need them).

    Call it inside a write transaction, e.g. when an import sees the order refused or canceled.
    Returns the units released; 0 (and no write) when the order holds no reservation.
    """
    return _adjust_reservations(session, order_id, consume=False)


def consume_reservations(session: Session, order_id: int) -> int:
    """Turn an order's reservation into a stock decrement (the units shipped). Returns the units."""
    return _adjust_reservations(session, order_id, consume=True)


def _failed_auto_accept(channel_id: int):  # type: ignore[no-untyped-def]
    """Orders whose automatic accept was rejected or cancelled and that have no other accept under way
    or done: the reservation would otherwise be held for an accept that will not come from us."""
    failed = exists().where(Action.order_id == Order.id, Action.kind == ActionKind.ACCEPT.value,
                            Action.source == "auto", col(Action.state).in_(("rejected", "cancelled")))
    alive = exists().where(Action.order_id == Order.id, Action.kind == ActionKind.ACCEPT.value,
                           col(Action.state).in_((*ACTIVE_ACTION_STATES, "done", "dead")))
    return and_(Order.channel_id == channel_id, failed, ~alive)


def settle_reservations(runtime: Runtime, channel_id: int) -> int:
    """Release or consume the reservations of the channel's orders that no longer need them (see the
    module docstring). Returns the number of orders settled."""
    ending = [s.value for s in (*RELEASE_STATUSES, *CONSUME_STATUSES)]
    settled, last_id = 0, 0
    while True:
        with runtime.store.read() as session:
            ids = list(session.exec(
                select(Order.id).where(
                    exists().where(StockReservation.order_id == Order.id),
                    or_(and_(Order.channel_id == channel_id, col(Order.status).in_(ending)),
                        _failed_auto_accept(channel_id)),
                    col(Order.id) > last_id,
                ).order_by(col(Order.id)).limit(BATCH_SIZE)
            ))
        if not ids:
            return settled
        last_id = ids[-1]  # type: ignore[assignment]
        for order_id in ids:
            with runtime.store.write() as session:
                order = session.exec(select(Order).where(Order.id == order_id).with_for_update()).first()
                if order is None:
                    continue
                # Re-read under the lock: the importer may have moved the order on meanwhile.
                if order.status in {s.value for s in CONSUME_STATUSES}:
                    units = consume_reservations(session, order_id)  # type: ignore[arg-type]
                    what = "shipped: {} reserved unit(s) taken off the stock"
                elif order.status in {s.value for s in RELEASE_STATUSES} or session.exec(
                        select(Order.id).where(Order.id == order_id, _failed_auto_accept(channel_id))).first():
                    units = release_reservations(session, order_id)  # type: ignore[arg-type]
                    what = "{} reserved unit(s) released"
                else:
                    continue
                if units:
                    session.add(OrderEvent(order_id=order_id, kind="auto_accept", message=what.format(units)))  # type: ignore[arg-type]
                    settled += 1


# --------------------------------------------------------------------------------------------- the step


@dataclass
class AutoAcceptResult:
    channel: str
    accepted: list[int] = field(default_factory=list)  # order ids whose accept was queued
    held: dict[int, str] = field(default_factory=dict)  # order id -> why it waits for a human
    settled: int = 0  # orders whose reservation was released or consumed at the start of the run

    def summary(self) -> str:
        return f"auto-accept: {len(self.accepted)} accepted, {len(self.held)} held"


def _lines_to_check(lines: Sequence[OrderLine]) -> tuple[LineToCheck, ...]:
    return tuple(LineToCheck(line.sku or "", line.quantity) for line in lines
                 if line.status not in _DROPPED_LINE_STATUSES)


def _candidates(channel_id: int, statuses: Sequence[str], after_id: int):  # type: ignore[no-untyped-def]
    any_accept = exists().where(Action.order_id == Order.id, Action.kind == ActionKind.ACCEPT.value)
    return (
        select(Order)
        .where(Order.channel_id == channel_id, col(Order.status).in_(statuses), Order.pending_actions == 0,
               col(Order.anonymized_at).is_(None), ~any_accept, col(Order.id) > after_id)
        .order_by(col(Order.id))
        .limit(BATCH_SIZE)
    )


def _truncate(note: str) -> str:
    return note if len(note) <= NOTE_MAX_LENGTH else note[: NOTE_MAX_LENGTH - 1] + "…"


def run_auto_accept(runtime: Runtime, channel_name: str, *, now: datetime | None = None) -> AutoAcceptResult:
    """Apply the channel's auto-accept rules to its orders waiting for acceptance.

    Safe to run again at any time, also after a crash: an order with an accept action is never a
    candidate, and the accept and its reservation commit together. Does nothing when the channel's
    auto-accept is off.
    """
    result = AutoAcceptResult(channel_name)
    channel = runtime.channel_config(channel_name)
    rules = channel.auto_accept
    if not rules.enabled:
        return result
    channel_id = runtime.channel_id(channel_name)
    result.settled = settle_reservations(runtime, channel_id)

    # Which statuses each marketplace of the connector allows accept from: the declaration decides,
    # never a hard-coded "waiting_acceptance".
    accept_from: dict[str, frozenset[str]] = {}
    for declaration in runtime.declarations(channel_name).values():
        spec = declaration.action(ActionKind.ACCEPT)
        if spec is not None and spec.allowed_from:
            accept_from[declaration.code] = frozenset(s.value for s in spec.allowed_from)
    statuses = sorted(set().union(*accept_from.values())) if accept_from else []
    if not statuses:
        return result

    last_id = 0
    while True:
        # Read phase: decide for a batch without locking anything. Only orders whose outcome would
        # change something (an accept, a new note) open a write transaction, where the decision is
        # taken again under locks, so unchanged held orders cost no write at all.
        with runtime.store.read() as session:
            orders = list(session.exec(_candidates(channel_id, statuses, last_id)))
            if not orders:
                break
            last_id = orders[-1].id  # type: ignore[assignment]
            lines: dict[int, list[OrderLine]] = {}
            for line in session.exec(select(OrderLine).where(col(OrderLine.order_id).in_([o.id for o in orders]))
                                     .order_by(col(OrderLine.id))):
                lines.setdefault(line.order_id, []).append(line)
            skus = {line.sku for batch in lines.values() for line in batch} if rules.uses_stock else set()
            stock = stock_levels(session, sorted(skus))
        for order in orders:
            if order.status not in accept_from.get(order.marketplace, frozenset()):
                continue  # another marketplace of the channel, where accept is not allowed from this status
            first = decide(OrderToCheck(order.total_cents, order.currency, _lines_to_check(lines.get(order.id, []))),  # type: ignore[arg-type]
                           rules, stock)
            if not first.accept and order.auto_accept_note == _truncate(first.reason or ""):
                result.held[order.id] = order.auto_accept_note  # type: ignore[index]
                continue
            outcome = _apply(runtime, order.id, rules, accept_from, now)  # type: ignore[arg-type]
            if outcome is None:
                continue
            accepted, reason = outcome
            if accepted:
                result.accepted.append(order.id)  # type: ignore[arg-type]
            else:
                result.held[order.id] = reason  # type: ignore[index]
    if result.accepted or result.held:
        log.info("%s: %s", channel_name, result.summary())
    return result


def _apply(runtime: Runtime, order_id: int, rules: AutoAcceptRules, accept_from: Mapping[str, frozenset[str]],
           now: datetime | None) -> tuple[bool, str] | None:
    """Decide again for one order under locks and write the outcome. None: no longer a candidate."""
    with runtime.store.write() as session:
        # Lock the order first, then its SKUs in sorted order: every worker takes locks in that order,
        # so two of them cannot deadlock, and the second to come sees the first one's accept.
        order = session.exec(select(Order).where(Order.id == order_id).with_for_update()
                             .execution_options(populate_existing=True)).first()
        if (order is None or order.status not in accept_from.get(order.marketplace, frozenset())
                or order.pending_actions or order.anonymized_at is not None
                or session.exec(select(func.count()).select_from(Action).where(
                    Action.order_id == order_id, Action.kind == ActionKind.ACCEPT.value)).one()):
            return None
        line_rows = list(session.exec(select(OrderLine).where(OrderLine.order_id == order_id).order_by(col(OrderLine.id))))
        to_check = OrderToCheck(order.total_cents, order.currency, _lines_to_check(line_rows))
        stock = stock_levels(session, [l.sku for l in to_check.lines], lock=True) if rules.uses_stock else {}
        decision = decide(to_check, rules, stock)
        at = now or utcnow()
        if decision.accept:
            queued = queue_action_in_session(runtime, session, order, ActionKind.ACCEPT, {}, (), source="auto")
            if queued.ok:
                reserved = _reserve(session, order_id, decision.reserve, at)
                order.auto_accept_note = None
                session.add(order)
                detail = ", ".join(f"{units} × {sku}" for sku, units in sorted(reserved.items()))
                session.add(OrderEvent(order_id=order_id, at=at, kind="auto_accept", action_id=queued.action_id,
                                       message="accepted automatically" + (f"; reserved {detail}" if detail else "")))
                return True, ""
            # Nothing was added by queue_action_in_session; the order waits with the marketplace's word.
            decision = Decision(False, "accept cannot be queued: " + "; ".join(str(p) for p in queued.problems))
        reason = _truncate(decision.reason or "held")
        if order.auto_accept_note != reason:
            if order.auto_accept_note is None:  # the first time only: a changing stock figure is no news
                session.add(OrderEvent(order_id=order_id, at=at, kind="auto_accept",
                                       message=f"left for a human: {reason}"))
            order.auto_accept_note = reason
            session.add(order)
        return False, reason


def _reserve(session: Session, order_id: int, wanted: Mapping[str, int], at: datetime) -> dict[str, int]:
    """Insert the order's reservations and raise ``Stock.reserved``; SKUs the order already holds (it
    cannot, short of a bug or a manual edit) are skipped, so nothing is ever reserved twice."""
    if not wanted:
        return {}
    already = set(session.exec(select(StockReservation.sku).where(StockReservation.order_id == order_id)))
    todo = {sku: units for sku, units in wanted.items() if sku not in already and units > 0}
    if not todo:
        return {}
    rows = {s.sku: s for s in session.exec(select(Stock).where(col(Stock.sku).in_(sorted(todo))))}
    for sku, units in sorted(todo.items()):
        session.add(StockReservation(order_id=order_id, sku=sku, quantity=units, created_at=at))
        row = rows[sku]  # decide() only accepts SKUs with a stock row, locked by the caller
        row.reserved += units
        row.updated_at = at
        session.add(row)
    session.flush()
    return todo
