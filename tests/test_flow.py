"""The whole back end as a merchant uses it: import from the sandbox, list, act, deliver, re-import.

Runs on SQLite and on the machine's PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from sandbox_runtime import make_runtime
from lengow_tui.domain import Status
from lengow_tui.runtime import Runtime
from lengow_tui.services.actions import cancel_action, queue_action
from lengow_tui.services.orders import OrderFilter, count_orders, list_orders, order_detail
from lengow_tui.store.models import Action, Order, OrderEvent, OrderLine, Party
from lengow_tui.sync.run import sync_once


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    # A test may slow the sandbox down (marker "sandbox_time_scale") to observe short-lived statuses.
    marker = request.node.get_closest_marker("sandbox_time_scale")
    rt = make_runtime(tmp_path, url, unknown_status_rate="2", **({"time_scale": marker.args[0]} if marker else {}))
    yield rt
    rt.close()


def sync(rt: Runtime) -> None:
    results = asyncio.run(sync_once(rt))
    assert all(r.error is None and (r.imported is None or r.imported.error is None) for r in results), results


def first(rt: Runtime, status: Status, **where: object) -> Order:
    with rt.store.read() as session:
        for order in list_orders(session, OrderFilter(statuses=(status,)), limit=500):
            if all(getattr(order, k) == v for k, v in where.items()):
                return order
    raise AssertionError(f"no {status} order with {where}")


def counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.store.read() as session:
        return tuple(session.exec(select(func.count()).select_from(t)).one() for t in (Order, OrderLine, Party))  # type: ignore[return-value]


def wait_for(rt: Runtime, order_id: int, statuses: set[str], timeout: float = 40.0) -> Order:
    deadline = time.monotonic() + timeout
    while True:
        sync(rt)
        with rt.store.read() as session:
            order = session.get(Order, order_id)
        assert order is not None
        settled = order.status in statuses and order.pending_actions == 0
        if settled or time.monotonic() > deadline:
            return order
        time.sleep(0.3)


def test_import_is_idempotent_and_flags_unknown_statuses(runtime: Runtime):
    sync(runtime)
    before = counts(runtime)
    assert before[0] >= 150
    sync(runtime)
    sync(runtime)
    with runtime.store.read() as session:
        dupes = session.exec(
            select(Order.marketplace_order_id, func.count()).group_by(Order.channel_id, Order.marketplace,
                                                                    Order.marketplace_order_id).having(func.count() > 1)
        ).all()
        assert dupes == []
        flagged = list_orders(session, OrderFilter(needs_review=True), limit=50)
    assert flagged, "unknown_status_rate=2% should plant at least one unmapped raw status"
    assert all(o.status is None and o.raw_status for o in flagged)
    with runtime.store.read() as session:
        review = session.exec(select(OrderEvent).where(OrderEvent.order_id == flagged[0].id,
                                                       OrderEvent.kind == "review")).first()
    assert review is not None and flagged[0].raw_status in (review.message or "")
    # An action on a flagged order is refused before anything is queued.
    result = queue_action(runtime, flagged[0].id, "cancel")  # type: ignore[arg-type]
    assert not result.ok and "flagged for review" in str(result.problems[0])


@pytest.mark.sandbox_time_scale(2)  # accepted lasts 10 s: long enough to be seen even on a busy machine
def test_accept_goes_accepted_then_waiting_shipment_with_history(runtime: Runtime):
    sync(runtime)
    order = first(runtime, Status.WAITING_ACCEPTANCE, marketplace="mirakl_sandbox")
    queued = queue_action(runtime, order.id, "accept")  # type: ignore[arg-type]
    assert queued.ok, queued.problems
    with runtime.store.read() as session:
        assert session.get(Order, order.id).pending_actions == 1  # type: ignore[union-attr]
    reached = wait_for(runtime, order.id, {"waiting_shipment"})  # type: ignore[arg-type]
    assert reached.status == "waiting_shipment" and reached.pending_actions == 0
    with runtime.store.read() as session:
        detail = order_detail(session, order.id)  # type: ignore[arg-type]
    assert detail is not None
    action = detail.actions[0]
    assert (action.kind, action.state) == ("accept", "done")
    outcomes = [a.outcome for a in detail.attempts[action.id]]  # type: ignore[index]
    assert outcomes[0] == "pending" and outcomes[-1] == "applied"
    path = [e.to_status for e in detail.events if e.kind in ("imported", "status")]
    assert path[0] == "waiting_acceptance" and "accepted" in path and path[-1] == "waiting_shipment"
    assert path.index("accepted") < path.index("waiting_shipment")


def test_refuse_gives_refused(runtime: Runtime):
    sync(runtime)
    order = first(runtime, Status.WAITING_ACCEPTANCE)
    assert queue_action(runtime, order.id, "refuse").ok  # type: ignore[arg-type]
    assert wait_for(runtime, order.id, {"refused"}).status == "refused"  # type: ignore[arg-type]


def test_invalid_actions_are_refused_and_nothing_is_queued(runtime: Runtime):
    sync(runtime)
    tracked = first(runtime, Status.WAITING_SHIPMENT, marketplace="pickup_sandbox", delivery_type="tracked")
    result = queue_action(runtime, tracked.id, "ship", {"carrier": "COLISSIMO"})  # type: ignore[arg-type]
    assert not result.ok
    assert [p.field for p in result.problems] == ["tracking_number"]
    closed = first(runtime, Status.CLOSED)
    wrong_state = queue_action(runtime, closed.id, "accept")  # type: ignore[arg-type]
    assert not wrong_state.ok and wrong_state.problems[0].field == "action"
    with runtime.store.read() as session:
        assert session.exec(select(func.count()).select_from(Action)).one() == 0
        assert session.get(Order, tracked.id).pending_actions == 0  # type: ignore[union-attr]


def test_duplicate_intent_refused_and_queued_action_cancellable(runtime: Runtime):
    sync(runtime)
    order = first(runtime, Status.WAITING_ACCEPTANCE)
    first_try = queue_action(runtime, order.id, "accept")  # type: ignore[arg-type]
    again = queue_action(runtime, order.id, "accept")  # type: ignore[arg-type]
    assert first_try.ok and not again.ok and "already queued" in str(again.problems[0])
    assert cancel_action(runtime, first_try.action_id) is None  # type: ignore[arg-type]
    with runtime.store.read() as session:
        assert session.get(Action, first_try.action_id).state == "cancelled"  # type: ignore[union-attr]
        assert session.get(Order, order.id).pending_actions == 0  # type: ignore[union-attr]
    sync(runtime)  # a cancelled action is never delivered
    with runtime.store.read() as session:
        assert session.get(Action, first_try.action_id).attempts == 0  # type: ignore[union-attr]


def test_filters_and_search_are_pushed_to_sql(runtime: Runtime):
    sync(runtime)
    with runtime.store.read() as session:
        total = count_orders(session)
        waiting = count_orders(session, OrderFilter(statuses=(Status.WAITING_ACCEPTANCE,)))
        some = list_orders(session, limit=1)[0]
        by_id = list_orders(session, OrderFilter(search=some.marketplace_order_id.lower()))
        line = session.exec(select(OrderLine)).first()
        by_sku = count_orders(session, OrderFilter(search=line.sku))  # type: ignore[union-attr]
    assert 0 < waiting < total
    assert some.id in [o.id for o in by_id]
    assert by_sku >= 1
