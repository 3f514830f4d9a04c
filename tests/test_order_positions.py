"""Positions in a list by date counted from order_count (lengow_tui.tui.order_positions) give exactly what
list_orders gives: the rows at a position, an order's position, the ids of a range, on SQLite and
PostgreSQL, with ties on ordered_at, busy days, orders at midnight, unknown statuses, and after inserts,
status changes, moves to another day and deletions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from lengow_tui.domain import Status
from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, list_orders
from lengow_tui.store import Store, open_store
from lengow_tui.store.bulk import generate_orders
from lengow_tui.store.models import Channel, Order
from lengow_tui.tui import order_positions, order_table_query
from lengow_tui.tui.order_positions import DayCounts
from lengow_tui.tui.order_table_query import OrderQuery, Window

from order_updates import delete_orders, set_orders

N = 1_500
NOW = datetime(2026, 11, 20, 15, 45, tzinfo=UTC)
BUSY = datetime(2026, 6, 1, tzinfo=UTC)  # a day that gets a few hundred orders, many at the same instant


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = open_store(url)
    generate_orders(store, N, seed=3, now=NOW)
    _shape(store)
    # every page by position goes through the count per day, and pages are small: many day boundaries
    monkeypatch.setattr(order_table_query, "DIRECT", 0)
    monkeypatch.setattr(order_table_query, "PAGE", 29)
    monkeypatch.setattr(order_positions, "SLACK", 20)  # guessed days close to the position: few rows skipped
    yield store
    store.dispose()


def _shape(store: Store) -> None:
    """Ties, a busy day, orders on both sides of midnight, unknown statuses (by SQL: triggers keep counts)."""
    with store.read() as session:
        ids = sorted(session.exec(select(Order.id)))  # type: ignore[arg-type]
    busy = ids[::5]
    for i, order_id in enumerate(busy):  # a busy day: 300 orders, groups of 7 at the same second
        set_orders(store, [order_id], ordered_at=BUSY + timedelta(hours=3, seconds=i // 7))
    set_orders(store, ids[1::97], ordered_at=BUSY)  # exactly midnight (the first instant of the day)
    set_orders(store, ids[2::89], ordered_at=BUSY - timedelta(microseconds=1))  # the last instant of the day before
    set_orders(store, ids[3::7], status=None, needs_review=True)


def _filters(store: Store) -> list[OrderFilter]:
    with store.read() as session:
        channels = sorted(session.exec(select(Channel.id)))  # type: ignore[arg-type]
    month = BUSY - timedelta(days=30)
    return [
        OrderFilter(),
        OrderFilter(statuses=(Status.CLOSED,)),
        OrderFilter(statuses=(Status.SHIPPED, Status.WAITING_SHIPMENT, Status.NEW)),
        OrderFilter(channel_ids=(channels[1],)),
        OrderFilter(channel_ids=tuple(channels[:2]), statuses=(Status.CLOSED, Status.SHIPPED)),
        OrderFilter(since=month, until=BUSY + timedelta(days=1)),
        OrderFilter(since=BUSY),
        OrderFilter(until=BUSY),
        OrderFilter(needs_review=True),
        OrderFilter(needs_review=False, channel_ids=(channels[0],)),
        OrderFilter(statuses=(Status.CLOSED,), needs_review=True),  # empty
    ]


def _expected(store: Store, flt: OrderFilter, sort: OrderSort) -> list[int]:
    with store.read() as session:
        return [o.id for o in list_orders(session, flt, sort, limit=10 * N)]  # type: ignore[misc]


def _positions(total: int, rng: random.Random) -> list[int]:
    chosen = {0, 1, total // 2, total - 2, total - 1, *rng.sample(range(max(total, 1)), min(total, 10))}
    return sorted(p for p in chosen if 0 <= p < total)


def _check(store: Store, *, seed: int = 1) -> None:
    rng = random.Random(seed)
    for flt in _filters(store):
        for descending in (True, False):
            sort = OrderSort(SortKey.ORDERED_AT, descending)
            expected = _expected(store, flt, sort)
            total = len(expected)
            query = OrderQuery(store, flt, sort)
            assert query.scope is not None, flt
            # a window read out of order (no neighbouring page: by position), first from the count per day
            # of an earlier check when there is one (then a guess, stale after changes), then from its own
            for _ in range(2):
                window, size = Window(query), order_table_query.PAGE
                pages = list(range(0, total, size))
                rng.shuffle(pages)
                for start in pages:
                    got = [getattr(window.row(i), "id", None) for i in range(start, min(start + size, total))]
                    assert got == expected[start:start + size], (flt, sort, start)
            days = query.day_counts()
            assert isinstance(days, DayCounts) and days.total == total == query.count(), (flt, sort)
            for position in _positions(total, rng):
                for origin in (query.origin(position, days), query.origin(position), None):  # exact, guess
                    rows = query.slice(position, 9, total, origin)
                    assert [r.id for r in rows] == expected[position:position + 9], (flt, sort, position)
                    ids = query.ids_slice(position, position + 40, origin)
                    assert ids == expected[position:position + 40], (flt, sort, position)
                order_id = expected[position]
                assert query.index_of(order_id) == position, (flt, sort, position)  # sum over order_count
                assert query.index_of(order_id, days) == position, (flt, sort, position)  # count per day
            # pages read around an order found by position
            for position in _positions(total, rng):
                window = Window(query)
                assert window.find(expected[position]) == position
                page = position // order_table_query.PAGE * order_table_query.PAGE
                got = [getattr(window.row(i), "id", None) for i in range(page, min(page + 40, total))]
                assert got == expected[page:page + 40], (flt, sort, position)
            excluded = set(_expected(store, OrderFilter(), sort)) - set(expected)
            if excluded:
                assert query.index_of(min(excluded)) is None


def test_positions_by_day_match_list_orders(store: Store) -> None:
    _check(store)


def test_positions_by_day_after_changes(store: Store) -> None:
    for flt in _filters(store):  # a count per day of each list: guesses for the checks after the changes
        for descending in (True, False):
            assert OrderQuery(store, flt, OrderSort(SortKey.ORDERED_AT, descending)).day_counts() is not None
    with store.read() as session:
        channel_id = session.exec(select(Channel.id)).first()
        ids = sorted(session.exec(select(Order.id)))  # type: ignore[arg-type]
    with store.write() as session:  # new orders tied with existing ones, at midnight, on a new day
        for i, at in enumerate([BUSY + timedelta(hours=3), BUSY, BUSY + timedelta(hours=3, seconds=2),
                                NOW + timedelta(days=3), BUSY - timedelta(days=400)]):
            session.add(Order(
                channel_id=channel_id, marketplace="fnac_fr", marketplace_order_id=f"NEW-{i}",
                status="closed" if i % 2 else None, needs_review=not i % 2, raw_status="X", ordered_at=at,
                remote_updated_at=at, total_cents=100, items_count=1,
            ))
    set_orders(store, ids[10:40], status=Status.CLOSED.value, needs_review=False)  # status changes
    set_orders(store, ids[40:50], ordered_at=BUSY + timedelta(hours=3, seconds=1))  # moved to another day
    gone = ids[50:70]
    delete_orders(store, gone)
    _check(store, seed=2)


def test_other_sorts_and_filters_keep_offset(store: Store) -> None:
    """Sorts other than the date, and filters order_count cannot answer, page by OFFSET and COUNT."""
    odd = OrderFilter(since=BUSY + timedelta(hours=1))  # not a UTC midnight
    cases = [(odd, OrderSort()), (OrderFilter(search="simon"), OrderSort()),
             (OrderFilter(), OrderSort(SortKey.TOTAL)), (OrderFilter(), OrderSort(SortKey.STATUS, False))]
    for flt, sort in cases:
        query = OrderQuery(store, flt, sort)
        assert query.scope is None and query.day_counts() is None
        expected = _expected(store, flt, sort)
        assert expected, flt
        window = Window(query)
        assert [getattr(window.row(i), "id", None) for i in range(len(expected))] == expected
        for position in (0, len(expected) // 2, len(expected) - 1):
            assert query.index_of(expected[position]) == position


async def test_table_refresh_and_jumps_deep_in_a_list_by_date(store: Store) -> None:
    """The table's paths that go through the count per day: a page read by position, a live refresh that
    keeps the cursor on its order (found by position, its page read around it), a filter change that
    keeps the cursor, a jump to an order."""
    from textual.app import App, ComposeResult

    from lengow_tui.tui.order_table import OrderTable

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield OrderTable(store, {}, id="orders")

    def on_screen(table: OrderTable) -> list[int | None]:
        top = table.scroll_offset.y
        return [getattr(table._row(i), "id", None) for i in range(top, top + table.size.height - 1)]

    sort = OrderSort()
    async with Host().run_test(size=(100, 20)) as pilot:
        table = pilot.app.query_one(OrderTable)
        table.set_query(OrderFilter(), sort)
        await pilot.pause()
        expected = _expected(store, OrderFilter(), sort)
        table.scroll_to(y=len(expected) // 2, animate=False, force=True)
        await pilot.pause()
        closed = OrderFilter(statuses=(Status.CLOSED,))
        closed_ids = set(_expected(store, closed, sort))
        table.cursor = next(i for i in range(len(expected) // 2, len(expected)) if expected[i] in closed_ids)
        order_id = table.current_order_id
        assert order_id == expected[table.cursor]
        line = table.cursor - table.scroll_offset.y
        with store.read() as session:
            channel_id = session.exec(select(Channel.id)).first()
        with store.write() as session:  # three newer orders: the cursor's order moves down by three
            for i in range(3):
                session.add(Order(channel_id=channel_id, marketplace="fnac_fr", marketplace_order_id=f"T-{i}",
                                  status="new", raw_status="NEW", ordered_at=NOW + timedelta(hours=i),
                                  remote_updated_at=NOW, total_cents=1, items_count=1))
        table.refresh_data()
        await pilot.pause()
        expected = _expected(store, OrderFilter(), sort)
        assert table.current_order_id == order_id and table.cursor == expected.index(order_id)
        assert table.cursor - table.scroll_offset.y == line
        top = table.scroll_offset.y
        assert on_screen(table) == expected[top:top + table.size.height - 1]
        # another filter keeping the cursor: its position in the closed orders, by day
        table.set_query(closed, sort, keep_cursor=True)
        expected = _expected(store, closed, sort)
        assert table.current_order_id == order_id and table.cursor == expected.index(order_id)
        target = expected[len(expected) * 2 // 3]
        assert table.jump_to_order(target) and table.cursor == expected.index(target)
        await pilot.pause()
        top = table.scroll_offset.y
        assert on_screen(table) == expected[top:top + table.size.height - 1]


def test_marked_ids_stream_in_chunks(store: Store) -> None:
    """Marks.chunks gives the same ids as "(every order of the filters - excluded) + marked by hand",
    ascending, without duplicates, whatever the chunk size (an id marked by hand that matches a filter
    by now, ids before, between and after the filters' own)."""
    from lengow_tui.tui.order_marks import Marks

    closed, shipped = OrderFilter(statuses=(Status.CLOSED,)), OrderFilter(statuses=(Status.SHIPPED,))
    in_filters = set(_expected(store, closed, OrderSort())) | set(_expected(store, shipped, OrderSort()))
    outside = sorted(set(_expected(store, OrderFilter(), OrderSort())) - in_filters)
    marks = Marks()
    marks.add_filter(store, closed)
    marks.add_filter(store, shipped)
    excluded = sorted(in_filters)[::9]
    for order_id in excluded:
        marks.set(order_id, True, False)
    by_hand = [outside[0], *outside[5::50], outside[-1]]
    for order_id in by_hand:
        marks.set(order_id, False, True)
    set_orders(store, [by_hand[1]], status=Status.CLOSED.value, needs_review=False)  # now in a filter as well
    expected = sorted((in_filters - set(excluded)) | set(by_hand))
    for size in (1, 7, 100, 10 * N):
        chunks = list(marks.chunks(store, size))
        assert [i for chunk in chunks for i in chunk] == expected, size
        assert all(0 < len(chunk) for chunk in chunks)
    assert marks.materialise(store) == frozenset(expected)
    assert [i for chunk in Marks(ids=set(by_hand)).chunks(store, 3) for i in chunk] == sorted(by_hand)
