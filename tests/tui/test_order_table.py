"""The virtual order table, driven with Pilot over a few hundred generated orders."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select
from textual.app import App, ComposeResult
from textual.message import Message

from lengow_tui.domain.statuses import Status
from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, count_orders, list_orders
from lengow_tui.store import Store, open_store
from lengow_tui.store.bulk import generate_orders
from lengow_tui.store.models import Channel, Order
from lengow_tui.tui import order_table_query
from lengow_tui.tui.order_table import OrderTable
from lengow_tui.tui.order_table_query import OrderQuery

N = 300
NOW = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
EVERYTHING, BY_DATE = OrderFilter(), OrderSort()


def make_store(url: str) -> Store:
    store = open_store(url)
    generate_orders(store, N, seed=11, now=NOW)
    return store


@pytest.fixture
def store(sqlite_url: str):
    store = make_store(sqlite_url)
    yield store
    store.dispose()


def channel_names(store: Store) -> dict[int, str]:
    with store.read() as session:
        return {c.id: c.name for c in session.exec(select(Channel))}  # type: ignore[misc]


class Host(App[None]):
    def __init__(self, store: Store, *, ascii: bool = False, flt: OrderFilter = EVERYTHING,
                 sort: OrderSort = BY_DATE) -> None:
        super().__init__()
        self.store, self.ascii, self.flt, self.sort = store, ascii, flt, sort
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield OrderTable(self.store, channel_names(self.store), ascii=self.ascii, id="orders")

    def on_mount(self) -> None:
        table = self.query_one(OrderTable)
        table.set_query(self.flt, self.sort)
        table.focus()

    def on_order_table_order_selected(self, message: OrderTable.OrderSelected) -> None:
        self.messages.append(message)

    def on_order_table_cursor_moved(self, message: OrderTable.CursorMoved) -> None:
        self.messages.append(message)

    def on_order_table_marks_changed(self, message: OrderTable.MarksChanged) -> None:
        self.messages.append(message)

    def on_order_table_sort_requested(self, message: OrderTable.SortRequested) -> None:
        self.messages.append(message)


def ids(store: Store, flt: OrderFilter = EVERYTHING, sort: OrderSort = BY_DATE) -> list[int]:
    with store.read() as session:
        return [o.id for o in list_orders(session, flt, sort, limit=10_000)]  # type: ignore[misc]


def refs(store: Store, flt: OrderFilter = EVERYTHING, sort: OrderSort = BY_DATE) -> list[str]:
    with store.read() as session:
        return [o.marketplace_order_id for o in list_orders(session, flt, sort, limit=10_000)]


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def row_id(table: OrderTable, index: int) -> int:
    row = table._row(index)
    assert row is not None
    return row.id


def lines(table: OrderTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def add_order(store: Store, *, ordered_at: datetime, buyer: str = "New Buyer", status: str = "new",
              reference: str = "NEW-1") -> int:
    with store.write() as session:
        channel_id = session.exec(select(Channel.id)).first()
        order = Order(
            channel_id=channel_id, marketplace="fnac_fr", marketplace_order_id=reference, status=status,
            raw_status=status.upper(), ordered_at=ordered_at, remote_updated_at=ordered_at, total_cents=1234,
            items_count=1, buyer_name=buyer, search_text=f"{reference.lower()} {buyer.lower()}",
        )
        session.add(order)
        session.flush()
        return order.id  # type: ignore[return-value]


async def test_cursor_keys_move_and_scroll(store: Store) -> None:
    expected = ids(store)
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        assert table.row_count == N and table.cursor == 0
        assert table.current_order_id == expected[0]
        await pilot.press("down", "j", "j", "k")
        assert table.cursor == 2 and table.current_order_id == expected[2]
        await pilot.press("pagedown")
        visible = table.size.height - 1  # one line is the header
        assert table.cursor == 2 + visible
        assert table.scroll_offset.y <= table.cursor < table.scroll_offset.y + visible
        await pilot.press("ctrl+d")
        assert table.cursor == 2 + visible + visible // 2
        await pilot.press("ctrl+u", "pageup")
        assert table.cursor == 2
        await pilot.press("G")
        assert table.cursor == N - 1 and table.current_order_id == expected[-1]
        assert table.scroll_offset.y == N - visible
        assert refs(store)[-1] in lines(table)[-1]
        await pilot.press("g")
        assert table.cursor == 0 and table.scroll_offset.y == 0
        await pilot.press("end", "up", "home")
        assert table.cursor == 0
        await pilot.pause()
        moved = [m.order_id for m in app.messages if isinstance(m, OrderTable.CursorMoved)]
        assert moved[0] == expected[0] and expected[-1] in moved and moved[-1] == expected[0]
        await pilot.press("enter")
        await pilot.pause()
        selected = [m for m in app.messages if isinstance(m, OrderTable.OrderSelected)]
        assert [m.order_id for m in selected] == [expected[0]] and selected[0].control is table


async def test_mouse_click_selects_then_opens(store: Store) -> None:
    expected = ids(store)
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        await pilot.click(OrderTable, offset=(20, 4))  # line 4 = row 3
        assert table.cursor == 3
        assert not [m for m in app.messages if isinstance(m, OrderTable.OrderSelected)]
        await pilot.click(OrderTable, offset=(20, 4))
        await pilot.pause()
        assert [m.order_id for m in app.messages if isinstance(m, OrderTable.OrderSelected)] == [expected[3]]
        await pilot.click(OrderTable, offset=(20, 6), times=2)
        await pilot.pause()
        selected = [m.order_id for m in app.messages if isinstance(m, OrderTable.OrderSelected)]
        assert selected == [expected[3], expected[5]]  # a double click opens once
        header = lines(table)[0]
        await pilot.click(OrderTable, offset=(header.index("Total"), 0))
        await pilot.pause()
        assert [m.key for m in app.messages if isinstance(m, OrderTable.SortRequested)] == [SortKey.TOTAL]
        assert table.cursor == 5


async def test_sort_shows_indicator_and_reorders(store: Store) -> None:
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        assert "Date ▼" in lines(table)[0]
        sort = OrderSort(SortKey.TOTAL, descending=True)
        table.set_query(OrderFilter(), sort)
        await pilot.pause()
        header = lines(table)[0]
        assert "Total ▼" in header and "Date ▼" not in header
        assert table.current_order_id == ids(store, sort=sort)[0]
        for line, reference in zip(lines(table)[1:], refs(store, sort=sort), strict=False):
            assert reference in line
        table.set_query(OrderFilter(), OrderSort(SortKey.TOTAL, descending=False))
        await pilot.pause()
        assert "Total ▲" in lines(table)[0]
        # a column hidden at 80 cells appears when it is the sorted one
        table.set_query(OrderFilter(), OrderSort(SortKey.DEADLINE))
        await pilot.pause()
        assert "Ship by ▼" in lines(table)[0]


async def test_width_aware_columns(store: Store) -> None:
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        header = lines(table)[0]
        for label in ("Date", "Order", "Buyer", "Total", "Status"):
            assert label in header
        assert "Channel" not in header and "Ship by" not in header
        assert all(len(line) == table.size.width for line in lines(table))
        await pilot.resize_terminal(160, 30)
        await pilot.pause()
        header = lines(table)[0]
        for label in ("Date", "Channel", "Order", "Buyer", "Qty", "Total", "Status", "Ship by"):
            assert label in header
        table.show_raw = True
        await pilot.pause()
        row = ids(store)[0]
        with store.read() as session:
            order = session.get(Order, row)
            assert order is not None and order.status is not None
            assert f"{Status(order.status).label} ({order.raw_status[:3]}" in lines(table)[1]


async def test_filter_by_status_reduces_the_count(store: Store) -> None:
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        flt = OrderFilter(statuses=(Status.WAITING_SHIPMENT,))
        table.set_query(flt, OrderSort())
        await pilot.pause()
        with store.read() as session:
            expected = count_orders(session, flt)
        assert 0 < table.row_count == expected < N
        assert table.virtual_size.height == expected + 1
        assert all("Waiting Shipment" in line for line in lines(table)[1 : expected + 1])
        table.set_query(OrderFilter(search="no such order anywhere"), OrderSort())
        await pilot.pause()
        assert table.row_count == 0 and table.current_order_id is None
        assert "No orders match" in lines(table)[1]


async def test_marks_single_range_all_survive_refresh_and_sort(store: Store) -> None:
    expected = ids(store)
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        await pilot.press("space")  # marks row 0, moves to 1
        assert table.marked_ids == {expected[0]} and table.cursor == 1
        assert lines(table)[1].startswith("✓")
        await pilot.press("down", "down", "down", "V")  # rows 0..4
        assert table.marked_ids == set(expected[:5]) and table.marked_count == 5
        await pilot.press("space")  # unmark row 4
        assert table.marked_ids == set(expected[:4])
        table.refresh_data()
        assert table.marked_ids == set(expected[:4])
        table.set_query(OrderFilter(), OrderSort(SortKey.TOTAL))
        await pilot.pause()
        assert table.marked_ids == set(expected[:4])
        marked_lines = [line for line in lines(table)[1:] if line.startswith("✓")]
        on_screen = set(ids(store, sort=OrderSort(SortKey.TOTAL))[: table.size.height - 1])
        assert len(marked_lines) == len(on_screen & set(expected[:4]))

        await pilot.press("ctrl+a")
        assert table.marked_count == N and table.marks.all_filters == [OrderFilter()]
        assert all(line.startswith("✓") for line in lines(table)[1:])
        await pilot.press("home", "space")  # one exception
        assert table.marked_count == N - 1
        first = ids(store, sort=OrderSort(SortKey.TOTAL))[0]
        assert table.marked_ids == set(expected) - {first}
        table.refresh_data()
        assert table.marked_count == N - 1

        # another filter: rows are marked through the symbolic "all" filter, without loading ids
        flt = OrderFilter(statuses=(Status.SHIPPED,))
        table.set_query(flt, OrderSort())
        await pilot.pause()
        visible = ids(store, flt)[: table.size.height - 1]
        marks = [line.startswith("✓") for line in lines(table)[1 : len(visible) + 1]]
        assert marks == [order_id != first for order_id in visible]
        await pilot.press("u")
        assert table.marked_count == 0 and not table.marked_ids
        assert not any(line.startswith("✓") for line in lines(table))
        # mark all in a filter, then in another: the union
        await pilot.press("ctrl+a")
        table.set_query(OrderFilter(statuses=(Status.CLOSED,)), OrderSort())
        await pilot.press("ctrl+a")
        with store.read() as session:
            both = count_orders(session, OrderFilter(statuses=(Status.SHIPPED, Status.CLOSED)))
        assert table.marked_count == both == len(table.marked_ids)
        await pilot.pause()
        counts = [m.count for m in app.messages if isinstance(m, OrderTable.MarksChanged)]
        assert counts[:3] == [1, 5, 4] and counts[-1] == both


async def test_refresh_keeps_the_cursor_on_its_order(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = ids(store)
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(OrderTable)
        await pilot.press(*["down"] * 30)  # scrolled: the cursor is on the last visible line
        order_id, line = table.current_order_id, table.cursor - table.scroll_offset.y
        assert order_id == expected[30]
        with monkeypatch.context() as patch:  # nothing changed: no repaint (no bytes sent over SSH)
            repaints: list[object] = []
            patch.setattr(table, "refresh", lambda *args, **kwargs: repaints.append(args))
            table.refresh_data()
            assert repaints == [] and table.current_order_id == order_id
        newest = add_order(store, ordered_at=NOW + timedelta(minutes=1))
        table.refresh_data()
        await pilot.pause()
        assert table.row_count == N + 1
        assert table.current_order_id == order_id and table.cursor == 31
        assert table.cursor - table.scroll_offset.y == line  # same screen line: the view did not jump
        # the order leaves the result (another status): the cursor stays on the same row index
        table.set_query(OrderFilter(statuses=(Status.NEW,)), OrderSort())
        assert table.current_order_id == newest
        await pilot.press("down")
        sql(store, "UPDATE orders SET status = 'accepted' WHERE id = :id", id=table.current_order_id)
        table.refresh_data()
        assert table.cursor == min(1, table.row_count - 1)
        # far away: found by the positional query, not in the neighbouring pages
        target = expected[250]
        assert table.jump_to_order(target) is False  # not in this filter
        table.set_query(OrderFilter(), OrderSort())
        assert table.jump_to_order(target) is True and table.cursor == 251
        await pilot.pause()
        assert table.scroll_offset.y <= table.cursor < table.scroll_offset.y + table.size.height - 1


CONTROL = "\x1b[31mEVIL\x1b[0m \x9b31mC1\x1b]8;;http://x\x07link\x1b]8;;\x07 \u202egnp.exe"


async def test_escape_sequences_in_data_are_inert(store: Store) -> None:
    with store.engine.begin() as conn:  # straight SQL: nothing cleans it on the way in
        channel_id = conn.execute(text("SELECT min(id) FROM channel")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO orders (channel_id, marketplace, marketplace_order_id, status, raw_status, "
                "needs_review, ordered_at, remote_updated_at, imported_at, synced_at, currency, total_cents, "
                "shipping_cents, items_count, buyer_name, search_text, has_documents, pending_actions, "
                "raw_payload) "
                "VALUES (:c, 'fnac_fr', :ref, 'new', :raw, 0, '2026-12-01 10:00:00.000000', "
                "'2026-12-01 10:00:00.000000', '2026-12-01 10:00:00.000000', '2026-12-01 10:00:00.000000', "
                "'EUR', 100, 0, 1, :buyer, 'evil', 0, 0, '{}')"
            ),
            {"c": channel_id, "ref": "\x1b[2J\x1b[HREF", "raw": "\x1b[5mBLINK", "buyer": CONTROL},
        )
    app = Host(store)
    async with app.run_test(size=(160, 24)) as pilot:
        table = app.query_one(OrderTable)
        table.show_raw = True
        await pilot.pause()
        strip = table.render_line(1)
        assert "EVIL" in strip.text and "REF" in strip.text and "BLINK" in strip.text
        for y in range(table.size.height):
            for segment in table.render_line(y):
                assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in segment.text), segment
                assert not segment.control
        evil = next(seg for seg in strip if "EVIL" in seg.text)
        reference = next(seg for seg in strip if "REF" in seg.text)
        assert evil.style == reference.style  # styled as any cell: the "red" never applied
        assert evil.style is None or evil.style.color is None or evil.style.color.name != "red"


async def test_ascii_mode_is_pure_ascii(store: Store) -> None:
    add_order(store, ordered_at=NOW + timedelta(minutes=1), buyer="Zoë Müller 李小龍 \u2012 “quoted”")
    sql(store, "UPDATE orders SET pending_actions = 2, has_documents = true")
    app = Host(store, ascii=True)
    async with app.run_test(size=(160, 24)) as pilot:
        table = app.query_one(OrderTable)
        await pilot.press("space", "V")
        rendered = lines(table)
        assert all(line.isascii() for line in rendered), [line for line in rendered if not line.isascii()]
        assert "Date v" in rendered[0] and "Zoe Muller" in rendered[1]
        assert rendered[1].startswith("x  *D")
        await pilot.resize_terminal(60, 20)  # cut cells end with "~", still ASCII
        await pilot.pause()
        assert all(line.isascii() for line in lines(table))


async def test_marks_flags_and_anonymized_buyers(store: Store) -> None:
    sql(store, "UPDATE orders SET pending_actions = 1, has_documents = true, needs_review = true")
    first = ids(store)[0]
    with store.read() as session:
        buyer = session.get(Order, first).buyer_name  # type: ignore[union-attr]
    sql(store, "UPDATE orders SET anonymized_at = '2026-11-01 00:00:00.000000' WHERE id = :id", id=first)
    app = Host(store)
    async with app.run_test(size=(120, 24)) as pilot:
        table = app.query_one(OrderTable)
        await pilot.press("space")
        assert lines(table)[1].startswith("✓ !⟳▤")
        assert "anonymized" in lines(table)[1] and buyer not in lines(table)[1]


@pytest.mark.parametrize("theme", ["ansi-dark", "textual-light"])
async def test_renders_in_themes(store: Store, theme: str) -> None:
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        table = app.query_one(OrderTable)
        await pilot.press("space")
        await pilot.pause()
        cursor, marked, plain = table.render_line(2), table.render_line(1), table.render_line(3)
        header = table.render_line(0)
        styles = [next(iter(strip)).style for strip in (cursor, marked, plain, header)]
        assert len(set(styles)) == 4  # cursor, marked, plain rows and the header all look different
        if theme == "ansi-dark":
            for style in styles:
                for color in (style.color, style.bgcolor):  # type: ignore[union-attr]
                    standard = color is not None and color.number is not None and color.number < 16
                    assert color is None or color.is_default or standard


async def test_bindings_have_ids_and_can_be_remapped(store: Store) -> None:
    ids_ = {b.id for b in OrderTable.BINDINGS if not isinstance(b, tuple)}  # type: ignore[union-attr]
    expected = {"orders.mark", "orders.mark_range", "orders.mark_all", "orders.clear_marks", "orders.open"}
    assert expected <= ids_
    app = Host(store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.set_keymap({"orders.mark": "x"})
        await pilot.press("x")
        assert app.query_one(OrderTable).marked_count == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_keyset_pages_match_offset_pages(backend: str, request: pytest.FixtureRequest,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages read by keyset from a neighbour, by OFFSET from either end, and positions from the count
    query all agree with list_orders, for every sort (NULLs included: status, deadline)."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    store = make_store(url)
    try:
        monkeypatch.setattr(order_table_query, "PAGE", 17)
        flt = OrderFilter(statuses=(Status.SHIPPED, Status.WAITING_SHIPMENT, Status.CLOSED, Status.NEW))
        # NULL statuses (and the NULL deadlines of closed orders) to sort among the others
        sql(store, "UPDATE orders SET status = NULL, needs_review = true WHERE id % 7 = 0")
        for key in SortKey:
            for descending in (True, False):
                sort = OrderSort(key, descending)
                for case_filter in (OrderFilter(), flt):
                    expected = ids(store, case_filter, sort)
                    app = Host(store, flt=case_filter, sort=sort)
                    async with app.run_test(size=(80, 12)):
                        table = app.query_one(OrderTable)
                        assert table.row_count == len(expected)
                        forward = [row_id(table, i) for i in range(len(expected))]
                        table._reload(table.order_query)  # type: ignore[arg-type]  # no page cached
                        backward = [row_id(table, i) for i in reversed(range(len(expected)))]
                        assert forward == expected, sort
                        assert backward[::-1] == expected, sort
                        query: Any = OrderQuery(store, case_filter, sort)
                        for position in (0, 1, len(expected) // 2, len(expected) - 1):
                            assert query.index_of(expected[position]) == position, (sort, position)
    finally:
        store.dispose()
