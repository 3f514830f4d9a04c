"""Action intents: validated against the marketplace's declaration, then stored in the outbox in the
same transaction that marks the order as having a pending action. Delivery is the sync engine's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from lengow_tui.domain import ActionKind, LineSelection, Problem, validate_action
from lengow_tui.services.orders import ACTIVE_ACTION_STATES, order_facts
from lengow_tui.store.models import Action, Channel, Order, OrderEvent
from lengow_tui.store.notify import mark_changed
from lengow_tui.store.types import utcnow

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime


@dataclass
class QueueResult:
    order_id: int
    kind: ActionKind
    action_id: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.action_id is not None and not self.problems


def queue_action_in_session(
    runtime: Runtime,
    session: Session,
    order: Order,
    kind: ActionKind,
    arguments: Mapping[str, str],
    lines: Sequence[LineSelection],
    source: str,
) -> QueueResult:
    """Validate and queue one action inside the caller's write transaction (for steps that must commit
    the action together with other rows, e.g. auto-accept's stock reservation). Adds nothing to
    ``session`` when there is any problem."""
    result = QueueResult(order.id, kind)  # type: ignore[arg-type]
    channel = session.get(Channel, order.channel_id)
    if channel is None or not channel.enabled:
        result.problems.append(Problem("action", "the order's channel is disabled or no longer configured"))
        return result
    declaration = runtime.declaration(channel.name, order.marketplace)
    if declaration is None:
        result.problems.append(
            Problem("action", f"marketplace {order.marketplace!r} is not declared by channel {channel.name!r}'s connector")
        )
        return result
    if order.anonymized_at is not None:
        result.problems.append(Problem("action", "the order was anonymized after the retention period"))
        return result
    pending = session.exec(
        select(Action).where(Action.order_id == order.id, col(Action.state).in_(ACTIVE_ACTION_STATES))
    ).all()
    for other in pending:
        if other.kind == kind:
            result.problems.append(
                Problem("action", f"a {kind} action is already queued for this order (action #{other.id}, {other.state})")
            )
            return result
    validated = validate_action(declaration, order_facts(session, order), kind, arguments, lines)
    if not validated.ok:
        result.problems.extend(validated.problems)
        return result
    now = utcnow()
    action = Action(
        order_id=order.id,  # type: ignore[arg-type]
        channel_id=order.channel_id,
        kind=kind.value,
        arguments=validated.arguments,
        lines=[
            {"line_id": s.line_id, "quantity": s.quantity, "amount_cents": s.amount_cents} for s in validated.lines
        ],
        state="queued",
        next_attempt_at=now,
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    order.pending_actions = len(pending) + 1
    session.add(order)
    session.flush()
    session.add(OrderEvent(order_id=order.id, at=now, kind="action", action_id=action.id,  # type: ignore[arg-type]
                           message=f"{kind} queued"))
    mark_changed(session, channel_id=order.channel_id, order_ids=[order.id])
    result.action_id = action.id
    return result


def queue_action(
    runtime: Runtime,
    order_id: int,
    kind: ActionKind | str,
    arguments: Mapping[str, str] | None = None,
    lines: Sequence[LineSelection] = (),
    *,
    source: str = "cli",
) -> QueueResult:
    """Validate and queue one action. Nothing is stored when there is any problem."""
    try:
        kind = ActionKind(kind)
    except ValueError:
        return QueueResult(order_id, ActionKind.ACCEPT, problems=[Problem("action", f"unknown action {kind!r}")])
    with runtime.store.write() as session:
        # Locked (PostgreSQL): two terminals queueing the same action at once are taken one after the
        # other, so the second sees the first's and is refused. (SQLite's write lock does the same.)
        order = session.get(Order, order_id, with_for_update=True)
        if order is None:
            return QueueResult(order_id, kind, problems=[Problem("action", f"no order with id {order_id}")])
        # Validation happens before anything is added to the session: a refused action writes nothing.
        return queue_action_in_session(runtime, session, order, kind, arguments or {}, lines, source)


def cancel_action(runtime: Runtime, action_id: int) -> str | None:
    """Cancel a queued (not yet sent) action. Returns an error message, or None when cancelled."""
    with runtime.store.write() as session:
        action = session.get(Action, action_id)
        if action is None:
            return f"no action with id {action_id}"
        if action.state not in ("queued", "retrying", "dead"):
            return f"action #{action_id} is {action.state}; only queued, retrying or dead actions can be cancelled"
        was_active = action.state in ACTIVE_ACTION_STATES
        action.state = "cancelled"
        action.updated_at = action.completed_at = utcnow()
        session.add(action)
        order = session.get(Order, action.order_id)
        if order is not None and was_active:
            order.pending_actions = max(0, order.pending_actions - 1)
            session.add(order)
        session.add(OrderEvent(order_id=action.order_id, kind="action", action_id=action.id,
                               message=f"{action.kind} cancelled by the user"))
        mark_changed(session, channel_id=action.channel_id, order_ids=[action.order_id])
    return None


def requeue_action(runtime: Runtime, action_id: int) -> str | None:
    """Give a dead action a fresh set of attempts. Returns an error message, or None when re-queued.

    A dead action may have reached the marketplace on an attempt whose answer was lost, so it keeps its
    reconciliation flag: the order is re-read before it is sent again.
    """
    with runtime.store.write() as session:
        action = session.get(Action, action_id)
        if action is None:
            return f"no action with id {action_id}"
        if action.state != "dead":
            return f"action #{action_id} is {action.state}; only dead actions can be re-queued"
        order = session.get(Order, action.order_id)
        if order is None or order.anonymized_at is not None:
            return f"action #{action_id}: the order was anonymized after the retention period"
        other = session.exec(
            select(Action).where(Action.order_id == action.order_id, Action.kind == action.kind,
                                 Action.id != action.id, col(Action.state).in_(ACTIVE_ACTION_STATES))
        ).first()
        if other is not None:
            return f"a {action.kind} action is already queued for this order (action #{other.id}, {other.state})"
        now = utcnow()
        action.state = "queued"
        action.attempts = 0
        action.next_attempt_at = now
        action.completed_at = None
        action.updated_at = now
        session.add(action)
        order.pending_actions += 1
        session.add(order)
        session.add(OrderEvent(order_id=action.order_id, at=now, kind="action", action_id=action.id,
                               message=f"{action.kind} re-queued by the user"))
        mark_changed(session, channel_id=action.channel_id, order_ids=[action.order_id])
    return None


@dataclass(frozen=True)
class ActionRow:
    id: int
    order_id: int
    order_reference: str
    channel: str
    kind: str
    state: str
    attempts: int
    source: str
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None


def list_actions(
    runtime: Runtime,
    *,
    states: Sequence[str] = (),
    order_id: int | None = None,
    channel_ids: Sequence[int] = (),
    limit: int = 100,
) -> list[ActionRow]:
    """Outbox rows, newest first, for the CLI and the activity screen."""
    stmt = (
        select(Action, Order.marketplace_order_id, Channel.name)
        .join(Order, Order.id == Action.order_id)  # type: ignore[arg-type]
        .join(Channel, Channel.id == Action.channel_id)  # type: ignore[arg-type]
        .order_by(col(Action.id).desc())
        .limit(limit)
    )
    if states:
        stmt = stmt.where(col(Action.state).in_(list(states)))
    if order_id is not None:
        stmt = stmt.where(Action.order_id == order_id)
    if channel_ids:
        stmt = stmt.where(col(Action.channel_id).in_(list(channel_ids)))
    with runtime.store.read() as session:
        return [
            ActionRow(a.id, a.order_id, reference, channel, a.kind, a.state, a.attempts, a.source,  # type: ignore[arg-type]
                      a.created_at, a.updated_at, a.next_attempt_at, a.last_error)
            for a, reference, channel in session.exec(stmt)
        ]
