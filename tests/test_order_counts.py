"""The order_count table (kept by triggers) gives the same counts as counting the orders, whoever
writes: the bulk generator, the importer's inserts and updates, a deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func
from sqlmodel import select

from lengow_tui.domain import Status
from lengow_tui.services import orders as orders_service
from lengow_tui.services.orders import OrderFilter, count_by_status, count_orders
from lengow_tui.store import open_store
from lengow_tui.store.bulk import generate_orders
from lengow_tui.store.models import Order, OrderEvent, OrderLine, Party

NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = open_store(url)
    generate_orders(store, 600, seed=5, now=NOW)
    yield store
    store.dispose()


def _real(session, flt: OrderFilter) -> dict[str | None, int]:  # type: ignore[no-untyped-def]
    stmt = select(Order.status, func.count()).select_from(Order).where(
        *orders_service.filter_conditions(session, flt)).group_by(Order.status)
    return {status: int(n) for status, n in session.exec(stmt)}


def _filters(session) -> list[OrderFilter]:  # type: ignore[no-untyped-def]
    channel = session.exec(select(Order.channel_id).limit(1)).one()
    week = NOW - timedelta(days=7)
    return [
        OrderFilter(),
        OrderFilter(channel_ids=(channel,)),
        OrderFilter(statuses=(Status.SHIPPED, Status.CLOSED)),
        OrderFilter(since=week, until=NOW),
        OrderFilter(channel_ids=(channel,), statuses=(Status.WAITING_SHIPMENT,), since=week),
        OrderFilter(needs_review=True),
        OrderFilter(needs_review=False, since=week),
    ]


def _check(store) -> None:  # type: ignore[no-untyped-def]
    with store.read() as session:
        for flt in _filters(session):
            counted = orders_service._from_counts(session, flt)
            assert counted is not None, f"{flt} should be answered from order_count"
            assert counted == _real(session, flt), flt
            assert count_by_status(session, flt) == counted
            assert count_orders(session, flt) == sum(counted.values())


def test_counts_follow_bulk_loads_updates_and_deletes(store):
    _check(store)
    with store.write() as session:
        changed = list(session.exec(select(Order).where(Order.status == "waiting_acceptance").limit(20)))
        for order in changed[:10]:
            order.status = "accepted"
        for order in changed[10:15]:
            order.status, order.needs_review = None, True
        for order in changed[15:]:
            order.ordered_at = order.ordered_at - timedelta(days=40)
        session.add_all(changed)
    _check(store)
    with store.write() as session:
        gone = [o.id for o in session.exec(select(Order).where(Order.status == "closed").limit(7))]
        for model in (OrderLine, Party, OrderEvent):
            session.exec(delete(model).where(model.order_id.in_(gone)))  # type: ignore[attr-defined]
        session.exec(delete(Order).where(Order.id.in_(gone)))  # type: ignore[union-attr]
    _check(store)


def test_filters_the_table_cannot_answer_are_counted_for_real(store):
    with store.read() as session:
        odd = OrderFilter(since=NOW - timedelta(days=3, hours=5))
        assert orders_service._from_counts(session, odd) is None
        assert count_by_status(session, odd) == _real(session, odd)
        assert orders_service._from_counts(session, OrderFilter(search="a")) is None
