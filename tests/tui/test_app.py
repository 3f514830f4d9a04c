"""The order desk (LengowApp / OrdersScreen), driven with Pilot over a sandbox-filled store, and snapshots of
its screens over generated orders (no sandbox there: its data depends on the clock)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select
from textual.widgets import DataTable, Static

from lengow_tui.config import load_config
from lengow_tui.domain import Status
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime, open_runtime
from lengow_tui.services.orders import OrderFilter, SortKey, count_orders, list_orders
from lengow_tui.store.bulk import generate_orders
from lengow_tui.store.models import Action, Order
from lengow_tui.sync.run import sync_once
from lengow_tui.tui import order_table as order_table_module
from lengow_tui.tui.app import LengowApp, OrdersScreen
from lengow_tui.tui.bulk_screens import BulkConfirmScreen, BulkShipScreen
from lengow_tui.tui.help_screen import HelpScreen
from lengow_tui.tui.sidebar import StatusSidebar

SIZE = (120, 40)


def write_config(tmp_path: Path, url: str, channels: str, extra: str = "") -> Runtime:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[paths]\ndata_dir = "{tmp_path / "data"}"\n{channels}\n{extra}\n'
    )
    registry = load_registry()
    config = load_config(path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config)


SANDBOX = ('[channels.shop]\nconnector = "sandbox"\nseed = 7\nreject_rate = "0"\ntime_scale = 5\n'
           'unknown_status_rate = "0"\n')


async def sandbox_runtime(tmp_path: Path, url: str, extra: str = "") -> Runtime:
    rt = write_config(tmp_path, url, SANDBOX, extra)
    results = await sync_once(rt)
    assert all(r.error is None for r in results), results
    return rt


@pytest.fixture
async def runtime(tmp_path: Path, sqlite_url: str):
    rt = await sandbox_runtime(tmp_path, sqlite_url)
    yield rt
    rt.close()


def orders_where(rt: Runtime, *conditions, limit: int = 10) -> list[Order]:
    with rt.store.read() as session:
        return list(session.exec(select(Order).where(*conditions).order_by(Order.id).limit(limit)))


def actions(rt: Runtime) -> list[Action]:
    with rt.store.read() as session:
        return list(session.exec(select(Action).order_by(Action.id)))


def count(rt: Runtime, flt: OrderFilter) -> int:
    with rt.store.read() as session:
        return count_orders(session, flt)


def screen_of(app: LengowApp) -> OrdersScreen:
    assert isinstance(app.screen, OrdersScreen), app.screen
    return app.screen


def filterbar(screen: OrdersScreen) -> str:
    return str(screen.query_one("#filterbar", Static).render())


# -- list, filters, search, sort ------------------------------------------------------------------------


async def test_sidebar_status_switch_filters_the_list(runtime: Runtime):
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        total = count(runtime, OrderFilter())
        assert screen.table.row_count == total
        expected = count(runtime, OrderFilter(statuses=(Status.SHIPPED,)))
        assert 0 < expected < total
        sidebar = screen.query_one(StatusSidebar)
        sidebar.focus()
        sidebar.select_id(Status.SHIPPED.value)
        await pilot.pause()
        await pilot.press("enter")  # OptionSelected: back to the table
        await pilot.pause()
        assert screen.table.row_count == expected
        assert screen.table.has_focus
        assert filterbar(screen).startswith(f"{expected:,} orders")
        sidebar.select_id("all")
        await pilot.pause()
        assert screen.table.row_count == total


async def test_date_filter_cycles_consistently_with_count_orders(runtime: Runtime):
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        seen = []
        for label in ("today", "last 7 days", "last 30 days", "any date"):
            await pilot.press("d")
            await pilot.pause()
            assert label in filterbar(screen)
            assert screen.table.row_count == count(runtime, screen.view.to_order_filter())
            seen.append(screen.table.row_count)
        assert seen[-1] == count(runtime, OrderFilter())
        assert seen[0] <= seen[1] <= seen[2] <= seen[3]


async def test_search_narrows_the_list(runtime: Runtime):
    target = orders_where(runtime, Order.status == "shipped", Order.buyer_name.is_not(None), limit=1)[0]
    needle = target.buyer_name.split()[-1]  # letters such as a, s, d, x: typed into the box, not actions
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        total = screen.table.row_count
        await pilot.press("slash")
        await pilot.pause()
        assert screen.query_one("#search").has_focus
        await pilot.press(*needle)
        await pilot.press("enter")
        await pilot.pause()
        assert 0 < screen.table.row_count < total
        assert target.id in {screen.table._row(i).id for i in range(screen.table.row_count)}  # type: ignore[union-attr]
        assert count(runtime, OrderFilter(search=needle)) == screen.table.row_count
        assert actions(runtime) == [] and not isinstance(app.screen, BulkConfirmScreen)
        assert needle in filterbar(screen)
        assert screen.table.has_focus
        await pilot.press("escape")  # clears the search
        await pilot.pause()
        assert screen.table.row_count == total


async def test_sort_changes_header_and_first_row(runtime: Runtime):
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        table = screen.table
        header_before = "".join(s.text for s in table.render_line(0))
        first_before = table.current_order_id
        await pilot.press("o")
        await pilot.pause()
        assert screen.view.sort.key == SortKey.TOTAL
        header_after = "".join(s.text for s in table.render_line(0))
        assert header_after != header_before
        with runtime.store.read() as session:
            expected = list_orders(session, OrderFilter(), screen.view.sort, limit=1)[0].id
        assert table.current_order_id == expected != first_before
        descending = screen.view.sort.descending
        await pilot.press("O")
        await pilot.pause()
        assert screen.view.sort.descending is not descending
        assert "".join(s.text for s in table.render_line(0)) != header_after
        with runtime.store.read() as session:
            expected = list_orders(session, OrderFilter(), screen.view.sort, limit=1)[0].id
        assert table.current_order_id == expected


async def test_marks_space_range_all_and_kept(runtime: Runtime):
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        table = screen.table
        first = table.current_order_id
        await pilot.press("space")
        await pilot.pause()
        assert table.cursor == 1 and table.marked_ids == {first}
        assert "1 marked" in filterbar(screen)
        await pilot.press("down", "down", "V")  # rows 0..3
        await pilot.pause()
        assert table.marked_count == 4
        assert "4 marked" in filterbar(screen)
        marked = set(table.marked_ids)
        screen.refresh_data()
        await pilot.pause()
        assert table.marked_ids == marked
        await pilot.press("o")  # another sort: marks are by order id
        await pilot.pause()
        assert table.marked_ids == marked
        await pilot.press("u")
        await pilot.pause()
        assert table.marked_count == 0 and "marked" not in filterbar(screen)
        screen.query_one(StatusSidebar).select_id(Status.SHIPPED.value)
        await pilot.pause()
        table.focus()
        await pilot.press("ctrl+a")
        await pilot.pause()
        shipped = count(runtime, OrderFilter(statuses=(Status.SHIPPED,)))
        assert table.marked_count == shipped
        assert f"{shipped:,} marked" in filterbar(screen)


# -- actions ---------------------------------------------------------------------------------------------


async def test_accept_from_the_list_queues_an_action(runtime: Runtime):
    order = orders_where(runtime, Order.status == "waiting_acceptance", limit=1)[0]
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        assert screen.table.jump_to_order(order.id)  # type: ignore[arg-type]
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        queued = actions(runtime)
        assert [(a.order_id, a.kind, a.source) for a in queued] == [(order.id, "accept", "tui")]
        assert any("accept queued" in e.summary for e in app.activity)


async def test_bulk_accept_skips_the_ineligible(runtime: Runtime):
    waiting = orders_where(runtime, Order.status == "waiting_acceptance", limit=1)[0]
    closed = orders_where(runtime, Order.status == "closed", limit=1)[0]
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        for order in (waiting, closed):
            assert screen.table.jump_to_order(order.id)  # type: ignore[arg-type]
            await pilot.pause()
            await pilot.press("space")
            await pilot.pause()
        assert screen.table.marked_ids == {waiting.id, closed.id}
        await pilot.press("a")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, BulkConfirmScreen)
        counts = str(confirm.query_one("#counts", Static).render())
        assert "1 eligible, 1 will be skipped" in counts
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen
        queued = actions(runtime)
        assert [(a.order_id, a.kind) for a in queued] == [(waiting.id, "accept")]
        summary = app.activity[-1].summary
        assert "1 queued" in summary and "1 skipped" in summary
        assert screen.table.marked_count == 0


async def test_bulk_ship_from_csv(runtime: Runtime, tmp_path: Path):
    orders = orders_where(runtime, Order.status == "waiting_shipment", Order.marketplace == "mirakl_sandbox", limit=2)
    assert len(orders) == 2
    csv_path = tmp_path / "ship.csv"
    csv_path.write_text("order id,carrier,tracking\n"
                        f"{orders[0].id},COLISSIMO,TRK-0001\n{orders[1].marketplace_order_id},UPS,TRK-0002\n")
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        for order in orders:
            assert screen.table.jump_to_order(order.id)  # type: ignore[arg-type]
            await pilot.pause()
            await pilot.press("space")
            await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        ship = app.screen
        assert isinstance(ship, BulkShipScreen)
        for order in orders:
            ship.query_one(f"#track-{order.id}")
        await pilot.click("#csv")
        await pilot.press(*str(csv_path))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen, str(app.screen.query_one("#error", Static).render())
        got = {(a.order_id, a.kind, a.arguments.get("carrier"), a.arguments.get("tracking_number"))
               for a in actions(runtime)}
        assert got == {(orders[0].id, "ship", "COLISSIMO", "TRK-0001"), (orders[1].id, "ship", "UPS", "TRK-0002")}


async def test_read_only_queues_nothing_and_hides_accept(runtime: Runtime):
    order = orders_where(runtime, Order.status == "waiting_acceptance", limit=1)[0]
    app = LengowApp(runtime, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        assert "read-only" in str(screen.query_one("#statusline", Static).render())
        screen.table.jump_to_order(order.id)  # type: ignore[arg-type]
        await pilot.pause()
        footer_keys = {b.binding.id for b in screen.active_bindings.values() if b.enabled}
        assert "orders.accept" not in footer_keys
        await pilot.press("a")
        await pilot.pause()
        assert actions(runtime) == []
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table = help_screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        accept_rows = [r for r in rows if r[2] == "orders.accept"]
        assert all("not now" in r[1] for r in accept_rows), accept_rows
        assert not any(r[1] == "Accept" for r in rows)


async def test_keymap_override(tmp_path: Path, sqlite_url: str):
    rt = await sandbox_runtime(tmp_path, sqlite_url, '[keys]\n"orders.accept" = "A"\n')
    try:
        assert rt.config.keys == {"orders.accept": "A"}
        first, second = orders_where(rt, Order.status == "waiting_acceptance", limit=2)
        app = LengowApp(rt, live_sync=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = screen_of(app)
            screen.table.jump_to_order(first.id)  # type: ignore[arg-type]
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            assert actions(rt) == []
            await pilot.press("A")
            await pilot.pause()
            assert [(a.order_id, a.kind) for a in actions(rt)] == [(first.id, "accept")]
    finally:
        rt.close()


async def test_escape_sequences_in_buyer_name_are_inert(runtime: Runtime):
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        first = screen.table.current_order_id
        with runtime.store.write() as session:
            session.execute(text("UPDATE orders SET buyer_name = :name WHERE id = :id"),
                            {"name": "\x1b[31mEVIL\x1b[0m", "id": first})
        screen.refresh_data()
        await pilot.pause()
        svg = app.export_screenshot()
        assert "EVIL" in svg
        assert "\x1b" not in svg
        await pilot.press("enter")  # the detail screen (which shows the parties, not buyer_name)
        await pilot.pause()
        assert "\x1b" not in app.export_screenshot()


# -- snapshots (generated orders, fixed clock) ---------------------------------------------------------------

SNAP_NOW = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
GENERATED = "".join(f'[channels.{name}]\nconnector = "sandbox"\n' for name in ("fnac", "amazon", "cdiscount", "manomano"))


class FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
        return SNAP_NOW if tz is not None else SNAP_NOW.replace(tzinfo=None)


@pytest.fixture
def snap_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(order_table_module, "datetime", FixedClock)
    from lengow_tui.tui import filters

    monkeypatch.setattr(filters, "datetime", FixedClock)
    rt = write_config(tmp_path, f"sqlite:///{tmp_path / 'snap.db'}", GENERATED)
    generate_orders(rt.store, 300, seed=1, now=SNAP_NOW)
    yield rt
    rt.close()
    monkeypatch.undo()
    time.tzset()


SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_list(snap_runtime: Runtime, snap_compare, size):
    assert snap_compare(LengowApp(snap_runtime, live_sync=False), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_detail(snap_runtime: Runtime, snap_compare, size):
    assert snap_compare(LengowApp(snap_runtime, live_sync=False), press=["down", "enter"], terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_bulk_confirm(snap_runtime: Runtime, snap_compare, size):
    assert snap_compare(LengowApp(snap_runtime, live_sync=False), press=["space", "space", "space", "a"],
                        terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_help(snap_runtime: Runtime, snap_compare, size):
    assert snap_compare(LengowApp(snap_runtime, live_sync=False), press=["question_mark"], terminal_size=size)


async def test_outbox_screen_requeues_a_dead_action_and_cancels_a_queued_one(runtime: Runtime):
    from lengow_tui.services.actions import queue_action
    from lengow_tui.tui.outbox_screen import OutboxScreen

    first, second = orders_where(runtime, Order.status == "waiting_acceptance", limit=2)
    dead_id = queue_action(runtime, first.id, "accept").action_id  # type: ignore[arg-type]
    queued_id = queue_action(runtime, second.id, "accept").action_id  # type: ignore[arg-type]
    with runtime.store.write() as session:
        dead = session.get(Action, dead_id)
        dead.state, dead.attempts, dead.last_error = "dead", 8, "HTTP 503"  # type: ignore[union-attr]
        session.add(dead)
    app = LengowApp(runtime, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, OutboxScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2 and str(table.get_row_at(0)[0]) == str(queued_id)  # newest first
        await pilot.press("x")  # cancel the queued one (row 0)
        await pilot.pause()
        await pilot.press("down", "r")  # re-queue the dead one
        await pilot.pause()
    states = {a.id: a.state for a in actions(runtime)}
    assert states == {queued_id: "cancelled", dead_id: "queued"}


async def test_outbox_screen_is_read_only_in_read_only_mode(runtime: Runtime):
    from lengow_tui.services.actions import queue_action

    order = orders_where(runtime, Order.status == "waiting_acceptance", limit=1)[0]
    action_id = queue_action(runtime, order.id, "accept").action_id  # type: ignore[arg-type]
    app = LengowApp(runtime, read_only=True, live_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
    assert {a.id: a.state for a in actions(runtime)} == {action_id: "queued"}


async def test_a_daemon_owning_the_database_stops_the_background_sync(runtime: Runtime, monkeypatch):
    from lengow_tui.sync.daemon_lock import DaemonLock
    from lengow_tui.store.models import SyncCursor

    passes: list[bool] = []
    monkeypatch.setattr(LengowApp, "_sync_pass", lambda self, do_import: passes.append(do_import) or [])
    with runtime.store.write() as session:
        cursor = session.get(SyncCursor, runtime.channel_id("shop"))
        cursor.last_error = "HTTP 503 from the marketplace"  # type: ignore[union-attr]
        session.add(cursor)
    lock = DaemonLock(runtime, "elsewhere:4242")
    lock.acquire()
    try:
        app = LengowApp(runtime)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(20):
                await pilot.pause(0.05)
                if app.daemon:
                    break
            assert app.daemon and "daemon" in app.daemon
            assert passes == []  # the app left syncing to the daemon
            line = str(app.screen.query_one("#statusline", Static).render())
            assert "synced by" in line and "shop: HTTP 503 from the marketplace" in line  # the daemon's error
            await pilot.press("S")
            await pilot.pause()
            assert passes == []
    finally:
        lock.release()
