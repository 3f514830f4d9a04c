"""Outbox delivery: claim due actions with a lease, call the connector outside any transaction,
record the outcome. An action whose outcome is unknown is reconciled (order re-read) before any resend.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from lengow_tui.connector_api import (
    ActionOutcome,
    ActionRequest,
    ActionResult,
    MarketplaceClient,
    RateLimitedError,
)
from lengow_tui.domain import ActionKind, LineSelection
from lengow_tui.domain.statuses import shows_effect
from lengow_tui.store.models import Action, ActionAttempt, Order, OrderEvent
from lengow_tui.store.notify import mark_changed
from lengow_tui.store.types import utcnow
from lengow_tui.sync.leases import dead_local_owner
from lengow_tui.sync.rate_gate import close_gate, gate_delay
from lengow_tui.sync.upsert import upsert_orders
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

LEASE = timedelta(minutes=2)
POLL_INTERVAL = timedelta(seconds=2)
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
MAX_ATTEMPTS = 8
CLAIM_BATCH = 10  # small, so a rate limit or a stop leaves few claimed-but-unsent actions to hand back
UNFINISHED = ("queued", "sending", "awaiting_confirmation", "retrying")


@dataclass
class DeliveryResult:
    done: int = 0
    awaiting: int = 0
    rejected: int = 0
    retrying: int = 0
    dead: int = 0
    rate_limited: int = 0
    deferred_seconds: float = 0.0  # the channel's rate gate was closed: nothing was sent
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.done} done", f"{self.awaiting} awaiting confirmation", f"{self.rejected} rejected",
                 f"{self.retrying} to retry"]
        if self.dead:
            parts.append(f"{self.dead} dead")
        if self.deferred_seconds:
            parts.append(f"channel rate-limited, waiting {self.deferred_seconds:.0f} s")
        return "actions: " + ", ".join(parts)


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(0, ceiling)


def _dead_local_owners(session: Session) -> list[str]:
    """Lease owners (``host:pid``) on this host whose process is gone: a crash. Their leases need not
    run out: the actions are reconciled (order re-read) at once."""
    owners = session.exec(
        select(Action.lease_owner).where(Action.state == "sending", col(Action.lease_owner).is_not(None)).distinct()
    )
    return [owner for owner in owners if owner and dead_local_owner(owner)]


def claim_due(runtime: Runtime, channel_id: int, worker: str, *, limit: int = 50, now: datetime | None = None) -> list[int]:
    """Lease due actions of a channel: the oldest unfinished action of each order only, so actions on
    one order land in the order they were queued.

    Several workers claim at once on PostgreSQL: ``FOR UPDATE SKIP LOCKED`` on the action rows **and on
    their orders' rows**, so two claims touching one order never overlap (the second skips that order
    until the first commits, and then sees its action in flight). Besides "no earlier unfinished action",
    no action of the order may be in flight (a dead action re-queued behind a later one that is being
    sent waits for it)."""
    now = now or utcnow()
    earlier = aliased(Action)
    sibling = aliased(Action)
    with runtime.store.write() as session:
        has_earlier = exists().where(
            and_(earlier.order_id == Action.order_id, earlier.id < Action.id, col(earlier.state).in_(UNFINISHED))
        )
        in_flight = exists().where(
            and_(sibling.order_id == Action.order_id, sibling.id != Action.id,
                 col(sibling.state).in_(("sending", "awaiting_confirmation")), col(sibling.lease_owner).is_not(None),
                 sibling.lease_expires_at >= now)
        )
        abandoned = (Action.lease_expires_at < now)
        dead = _dead_local_owners(session)
        if dead:
            abandoned = abandoned | col(Action.lease_owner).in_(dead)
        due = (
            (col(Action.state).in_(("queued", "retrying", "awaiting_confirmation")) & (Action.next_attempt_at <= now))
            | ((Action.state == "sending") & abandoned)
        )
        stmt = (
            select(Action)
            .join(Order, Order.id == Action.order_id)
            .where(Action.channel_id == channel_id, due, ~has_earlier, ~in_flight)
            .order_by(Action.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=[Action.__table__, Order.__table__])  # type: ignore[attr-defined]
        )
        claimed = []
        orders = []
        for action in session.exec(stmt):
            if action.state == "sending":
                # The worker holding it died mid-call: we cannot know whether the marketplace got it.
                action.needs_reconcile = True
            if action.state != "awaiting_confirmation":
                action.attempts += 1
            action.state = "sending" if action.state != "awaiting_confirmation" else "awaiting_confirmation"
            action.lease_owner = worker
            action.lease_expires_at = now + LEASE
            action.updated_at = now
            session.add(action)
            claimed.append(action.id)
            orders.append(action.order_id)
        if claimed:
            mark_changed(session, channel_id=channel_id, order_ids=orders)
        return claimed  # type: ignore[return-value]


def _request(action: Action, order: Order) -> ActionRequest:
    return ActionRequest(
        action_id=f"lt-{action.id}",
        kind=ActionKind(action.kind),
        marketplace=order.marketplace,
        order_id=order.marketplace_order_id,
        arguments=dict(action.arguments),
        lines=tuple(
            LineSelection(str(l["line_id"]), l.get("quantity"), l.get("amount_cents")) for l in action.lines
        ),
        attempt=action.attempts,
    )


async def _reconcile(runtime: Runtime, channel_name: str, client: MarketplaceClient, action: Action, order: Order) -> bool:
    """Re-read the order; True when the marketplace already shows the action's effect."""
    declaration = runtime.declaration(channel_name, order.marketplace)
    spec = declaration.action(action.kind) if declaration else None
    remote = await client.get_order(order.marketplace, order.marketplace_order_id)
    if remote is None or declaration is None:
        return False
    with runtime.store.write() as session:
        upsert_orders(session, order.channel_id, [remote], {declaration.code: declaration}, utcnow())
        mark_changed(session, channel_id=order.channel_id, order_ids=[order.id])
    if spec is None or spec.result_status is None:
        return False
    status = declaration.status_map.resolve(remote.raw_status, [l.raw_status for l in remote.lines])
    # The result status itself, or a later one (an accepted order may already await shipment).
    return shows_effect(spec.result_status, status)


async def _refresh_order(runtime: Runtime, channel_name: str, client: MarketplaceClient, order: Order) -> None:
    declaration = runtime.declaration(channel_name, order.marketplace)
    try:
        remote = await client.get_order(order.marketplace, order.marketplace_order_id)
    except Exception:
        return  # the next import brings the change; the action itself is done
    if remote is not None and declaration is not None:
        with runtime.store.write() as session:
            upsert_orders(session, order.channel_id, [remote], {declaration.code: declaration}, utcnow())
            mark_changed(session, channel_id=order.channel_id, order_ids=[order.id])


@dataclass(frozen=True)
class Delivered:
    state: str  # the action's new state
    result: ActionResult | None = None  # what the marketplace answered (None: the action was gone)


async def deliver_action(
    runtime: Runtime, channel_name: str, client: MarketplaceClient, action_id: int, worker: str
) -> Delivered:
    """Deliver (or poll) one claimed action and record the outcome."""
    with runtime.store.read() as session:
        action = session.get(Action, action_id)
        order = session.get(Order, action.order_id) if action else None
    if action is None or order is None:
        return Delivered("missing")
    started = utcnow()
    result: ActionResult
    try:
        if action.state == "awaiting_confirmation" and action.handle:
            result = await client.poll(action.handle)
        elif action.needs_reconcile and await _reconcile(runtime, channel_name, client, action, order):
            result = ActionResult.already_applied("the marketplace already shows this change")
        else:
            result = await client.perform(_request(action, order))
    except RateLimitedError as exc:  # a connector that raises instead of returning rate_limited
        result = ActionResult.rate_limited(exc.retry_after, clean_text(str(exc), 300))
    except Exception as exc:  # a connector bug or transport failure: never lose the action
        result = ActionResult.ambiguous(clean_text(f"{type(exc).__name__}: {exc}", 300))
    state = _record(runtime, action_id, result, worker, started)
    if state == "done":
        await _refresh_order(runtime, channel_name, client, order)
    return Delivered(state, result)


def _record(runtime: Runtime, action_id: int, result: ActionResult, worker: str, started: datetime) -> str:
    now = utcnow()
    message = clean_text(result.message, 2000) or None
    with runtime.store.write() as session:
        action = session.get(Action, action_id)
        assert action is not None
        outcome = result.outcome
        if action.lease_owner is not None and action.lease_owner != worker:
            # This worker was taken for dead (stale heartbeat, expired lease) and another one holds the
            # action now: that one decides (it reconciles first). Keep the late answer for the audit only.
            session.add(ActionAttempt(action_id=action_id, attempt_no=action.attempts, worker=worker,
                                      started_at=started, finished_at=now, outcome=outcome.value,
                                      message=clean_text(f"late answer, lease held by {action.lease_owner}: "
                                                         f"{message or ''}", 2000)))
            return "superseded"
        was_polling = action.state == "awaiting_confirmation"
        mark_changed(session, channel_id=action.channel_id, order_ids=[action.order_id])
        if outcome is ActionOutcome.PENDING and was_polling:
            # Still processing at the marketplace: poll again later, no attempt recorded.
            action.next_attempt_at = now + POLL_INTERVAL
            action.lease_owner = action.lease_expires_at = None
            session.add(action)
            return action.state
        session.add(ActionAttempt(action_id=action_id, attempt_no=action.attempts, worker=worker,
                                  started_at=started, finished_at=now, outcome=outcome.value, message=message))
        action.lease_owner = None
        action.lease_expires_at = None
        action.updated_at = now
        if outcome in (ActionOutcome.APPLIED, ActionOutcome.ALREADY_APPLIED):
            action.state, action.completed_at, action.last_error = "done", now, None
            action.needs_reconcile = False
        elif outcome is ActionOutcome.PENDING:
            action.state, action.handle = "awaiting_confirmation", result.handle
            action.next_attempt_at = now + POLL_INTERVAL
            action.needs_reconcile = False
        elif outcome in (ActionOutcome.REJECTED, ActionOutcome.NOT_SUPPORTED):
            action.state, action.completed_at, action.last_error = "rejected", now, message
        else:
            if outcome is ActionOutcome.RATE_LIMITED and not was_polling:
                # The marketplace turned the call away without processing it: not a failed attempt.
                action.attempts = max(0, action.attempts - 1)
            if outcome is ActionOutcome.AMBIGUOUS:
                action.needs_reconcile = True
            if was_polling and outcome is ActionOutcome.AMBIGUOUS:
                action.state = "awaiting_confirmation"  # keep polling the same handle
            elif action.attempts >= MAX_ATTEMPTS:
                action.state, action.completed_at = "dead", now
            else:
                action.state = "retrying"
            delay = result.retry_after if result.retry_after is not None else backoff_delay(action.attempts)
            action.next_attempt_at = now + timedelta(seconds=max(0.0, delay))
            action.last_error = message
        session.add(action)
        if action.state in ("done", "rejected", "dead"):
            order = session.get(Order, action.order_id)
            if order is not None:
                order.pending_actions = max(0, order.pending_actions - 1)
                session.add(order)
            text = {"done": f"{action.kind} confirmed by the marketplace",
                    "rejected": f"{action.kind} rejected by the marketplace: {message or 'no reason given'}",
                    "dead": f"{action.kind} gave up after {action.attempts} attempts: {message or ''}"}[action.state]
            session.add(OrderEvent(order_id=action.order_id, at=now, kind="action", action_id=action.id, message=text))
        return action.state


def unclaim(runtime: Runtime, action_ids: list[int], worker: str) -> None:
    """Hand back claimed actions that were never sent (rate gate closed, shutdown): as they were."""
    if not action_ids:
        return
    now = utcnow()
    with runtime.store.write() as session:
        for action in session.exec(select(Action).where(col(Action.id).in_(action_ids), Action.lease_owner == worker)):
            mark_changed(session, channel_id=action.channel_id, order_ids=[action.order_id])
            if action.state == "sending":
                action.attempts = max(0, action.attempts - 1)
                action.state = "queued" if action.attempts == 0 else "retrying"
            action.lease_owner = action.lease_expires_at = None
            action.updated_at = now
            session.add(action)


def release_leases(runtime: Runtime, worker: str) -> int:
    """Release every lease ``worker`` holds (graceful shutdown). A call that may have been in flight is
    marked for reconciliation: the order is re-read before any resend."""
    now = utcnow()
    count = 0
    with runtime.store.write() as session:
        for action in session.exec(select(Action).where(Action.lease_owner == worker)):
            mark_changed(session, channel_id=action.channel_id, order_ids=[action.order_id])
            if action.state == "sending":
                action.state = "retrying"
                action.needs_reconcile = True
                action.next_attempt_at = now
            action.lease_owner = action.lease_expires_at = None
            action.updated_at = now
            session.add(action)
            count += 1
    return count


_TALLY = {"done": "done", "awaiting_confirmation": "awaiting", "rejected": "rejected", "dead": "dead",
          "retrying": "retrying"}


async def deliver_channel(
    runtime: Runtime, channel_name: str, client: MarketplaceClient, worker: str, *, stop: asyncio.Event | None = None
) -> DeliveryResult:
    """Deliver the channel's due actions until none is due, the rate gate closes or ``stop`` is set."""
    result = DeliveryResult()
    channel_id = runtime.channel_id(channel_name)
    seen: set[int] = set()
    while not (stop and stop.is_set()):
        wait = gate_delay(runtime, channel_id)
        if wait > 0:
            result.deferred_seconds = wait
            break
        claimed = claim_due(runtime, channel_id, worker, limit=CLAIM_BATCH)
        # An action handled earlier in this pass may be due again (a short backoff): leave it for the next
        # pass rather than hammering the marketplace in a loop.
        batch = [i for i in claimed if i not in seen]
        unclaim(runtime, [i for i in claimed if i in seen], worker)
        if not batch:
            break
        for index, action_id in enumerate(batch):
            if stop and stop.is_set():
                unclaim(runtime, batch[index:], worker)
                return result
            seen.add(action_id)
            delivered = await deliver_action(runtime, channel_name, client, action_id, worker)
            if delivered.state in _TALLY:
                name = _TALLY[delivered.state]
                setattr(result, name, getattr(result, name) + 1)
            answer = delivered.result
            if answer is not None and answer.outcome is ActionOutcome.RATE_LIMITED:
                rate_limit = answer.retry_after if answer.retry_after is not None else 60.0
                result.rate_limited += 1
                close_gate(runtime, channel_id, rate_limit, "the marketplace asked to slow down (HTTP 429)")
                unclaim(runtime, batch[index + 1:], worker)
                result.deferred_seconds = rate_limit
                return result
    return result

