"""Positions from a sparse index of sort keys (lengow_tui.tui.order_samples) give exactly what list_orders
gives: the rows at a position, an order's position, the ids of a range, for every sort key in both
directions, with NULL deadlines, ties on the sort column, filters order_count cannot answer, and after
inserts, updates and deletions (the index rebuilt), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, literal
from sqlmodel import col, select

from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, list_orders
from lengow_tui.store import Store, open_store
from lengow_tui.store.bulk import generate_orders
from lengow_tui.store.models import Channel, Order, OrderEvent, OrderLine, Party
from lengow_tui.tui import order_samples, order_table_query
from lengow_tui.tui.order_samples import Samples, build, usable
from lengow_tui.tui.order_table_query import OrderQuery, Window

from order_updates import delete_orders, set_orders

N = 1_200
NOW = datetime(2026, 11, 20, 15, 45, tzinfo=UTC)
STEP = 37  # many samples, and samples that fall inside runs of ties


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = open_store(url)
    generate_orders(store, N, seed=5, now=NOW)
    _shape(store)
    monkeypatch.setattr(order_samples, "STEP", STEP)
    monkeypatch.setattr(order_samples, "THRESHOLD", 0)
    monkeypatch.setattr(order_table_query, "PAGE", 23)
    yield store
    store.dispose()


def _shape(store: Store) -> None:
    """Long runs of equal totals, NULL and tied deadlines, NULL statuses."""
    with store.read() as session:
        ids = sorted(session.exec(select(Order.id)))  # type: ignore[arg-type]
    set_orders(store, ids[::3], total_cents=4_990)  # a run of ~400 ties, over many samples
    set_orders(store, ids[1::11], total_cents=100)
    set_orders(store, ids[::4], shipping_deadline=None)
    set_orders(store, ids[2::13], shipping_deadline=NOW + timedelta(days=2))
    set_orders(store, ids[5::7], status=None, needs_review=True)


def _filters(store: Store) -> list[OrderFilter]:
    with store.read() as session:
        channels = sorted(session.exec(select(Channel.id)))  # type: ignore[arg-type]
        marketplace = session.exec(select(Order.marketplace)).first()
    return [
        OrderFilter(),
        OrderFilter(channel_ids=(channels[0],)),
        OrderFilter(marketplaces=(marketplace,)),  # type: ignore[arg-type]
        OrderFilter(since=NOW - timedelta(days=200, hours=5)),  # not a UTC midnight
        OrderFilter(search="simon"),
    ]


def _expected(store: Store, flt: OrderFilter, sort: OrderSort) -> list[int]:
    with store.read() as session:
        return [o.id for o in list_orders(session, flt, sort, limit=10 * N)]  # type: ignore[misc]


def _sampled(query: OrderQuery) -> Window:
    window = Window(query)
    window.samples = build(query, window.count, lambda: 0)
    assert window.samples is None or isinstance(window.samples, Samples)
    return window


def _check(store: Store, *, seed: int = 1) -> None:
    rng = random.Random(seed)
    for flt in _filters(store):
        for key in SortKey:
            for descending in (True, False):
                sort = OrderSort(key, descending)
                query = OrderQuery(store, flt, sort)
                if key is SortKey.ORDERED_AT and query.scope is not None:
                    continue  # counted by day (order_positions)
                assert usable(store, key)
                expected = _expected(store, flt, sort)
                total = len(expected)
                window = _sampled(query)
                if not total:
                    continue
                samples = window.samples
                assert samples is not None and samples.count == total, (flt, sort)
                assert [k[1] for k in samples.keys] == expected[::STEP], (flt, sort)
                # every page by position (shuffled: no neighbouring page cached, no keyset from it)
                size = order_table_query.PAGE
                pages = list(range(0, total, size))
                rng.shuffle(pages)
                for start in pages:
                    got = [getattr(window.row(i), "id", None) for i in range(start, min(start + size, total))]
                    assert got == expected[start:start + size], (flt, sort, start)
                positions = sorted({0, total - 1, total // 2, *rng.sample(range(total), min(total, 25))})
                for position in positions:
                    sample = samples.origin(position)
                    rows = query.slice(position, 9, total, sample=sample)
                    assert [r.id for r in rows] == expected[position:position + 9], (flt, sort, position)
                    ids = query.ids_slice(position, position + 60, sample=sample)
                    assert ids == expected[position:position + 60], (flt, sort, position)
                    located = query.index_of(expected[position], samples=samples)
                    assert located == position, (flt, sort, position)
                    found = Window(query, total)  # no page cached: the order is found from the index
                    found.samples = samples
                    assert found.find(expected[position]) == position, (flt, sort, position)
                    high = min(total - 1, position + 200)
                    assert found.ids(position, high) == expected[position:high + 1]
                outside = set(_expected(store, OrderFilter(), sort)) - set(expected)
                if outside:
                    assert query.index_of(min(outside), samples=samples) is None


def test_sampled_positions_match_list_orders(store: Store) -> None:
    _check(store)


def test_sampled_positions_after_changes(store: Store) -> None:
    with store.read() as session:
        channel_id = session.exec(select(Channel.id)).first()
        ids = sorted(session.exec(select(Order.id)))  # type: ignore[arg-type]
    with store.write() as session:  # new orders tied with existing keys, NULL deadlines, NULL statuses
        for i in range(12):
            at = NOW - timedelta(days=i * 17, hours=i)
            session.add(Order(
                channel_id=channel_id, marketplace="fnac_fr", marketplace_order_id=f"NEW-{i}",
                status="closed" if i % 2 else None, needs_review=not i % 2, raw_status="X", ordered_at=at,
                remote_updated_at=at, total_cents=4_990 if i % 3 else 100, items_count=1,
                shipping_deadline=None if i % 2 else NOW + timedelta(days=2),
            ))
    set_orders(store, ids[10:60], total_cents=7, shipping_deadline=None)  # moved to the front of two sorts
    set_orders(store, ids[60:90], status="shipped", needs_review=False,
               marketplace_order_id=literal("~") + col(Order.marketplace_order_id))
    gone = ids[100:140]
    delete_orders(store, gone)
    _check(store, seed=2)


def test_stale_index_is_not_used(store: Store) -> None:
    """An index built for another count is ignored; a build that saw the data version move is dropped."""
    sort = OrderSort(SortKey.TOTAL)
    query = OrderQuery(store, OrderFilter(), sort)
    old = _sampled(query)
    assert old.samples is not None
    versions = iter(range(10))
    assert build(query, old.count, lambda: next(versions)) is None  # changed while building
    assert build(query, old.count + 1, lambda: 0) is None  # another count than the window's
    with store.read() as session:
        first = session.exec(select(Order.id)).first()
    with store.write() as session:
        for table in (OrderLine, Party, OrderEvent):
            session.exec(delete(table).where(col(table.order_id) == first))  # type: ignore[call-overload]
        session.exec(delete(Order).where(col(Order.id) == first))  # type: ignore[call-overload]
    window = Window(query)
    window.samples = old.samples  # built before the deletion: another count, so never used
    expected = _expected(store, OrderFilter(), sort)
    middle = len(expected) // 2
    got = [getattr(window.row(i), "id", None) for i in range(middle, middle + 30)]
    assert got == expected[middle:middle + 30]
    assert window.find(expected[middle]) == middle


async def test_table_builds_the_index_in_the_background(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result sorted by total gets its index from a worker thread; jumps and finds then use it; a live
    refresh drops it (a new window) and builds it again."""
    from textual.app import App, ComposeResult

    from lengow_tui.tui.order_table import OrderTable

    monkeypatch.setattr(order_samples, "SETTLE", 0.01)

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield OrderTable(store, {}, id="orders")

    sort = OrderSort(SortKey.TOTAL, True)
    async with Host().run_test(size=(100, 20)) as pilot:
        table = pilot.app.query_one(OrderTable)
        table.set_query(OrderFilter(), sort)

        async def built() -> Samples:
            for _ in range(200):
                await pilot.pause(0.02)
                await pilot.app.workers.wait_for_complete()
                if table._window is not None and table._window.samples is not None:
                    return table._window.samples
            raise AssertionError("no index built")

        samples = await built()
        expected = _expected(store, OrderFilter(), sort)
        assert samples.count == len(expected)
        table.scroll_to(y=len(expected) // 2, animate=False, force=True)
        await pilot.pause()
        top = table.scroll_offset.y
        assert [getattr(table._row(i), "id", None) for i in range(top, top + 10)] == expected[top:top + 10]
        table.cursor = top + 3
        order_id = table.current_order_id
        set_orders(store, [expected[0]], total_cents=0)  # the first order moves to the end: one row up
        table.refresh_data()
        assert table._window is not None and table._window.samples is None  # dropped with the old window
        expected = _expected(store, OrderFilter(), sort)
        assert table.current_order_id == order_id and table.cursor == expected.index(order_id)
        await built()
        assert table.jump_to_order(expected[-5]) and table.cursor == len(expected) - 5
