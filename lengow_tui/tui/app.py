"""The order desk: status sidebar, virtual order list, filters, actions, live updates."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static

from lengow_tui.domain import ActionKind
from lengow_tui.services.channels import channel_names
from lengow_tui.services.orders import OrderFilter, OrderSort, count_by_status
from lengow_tui.tui.activity import ActivityEntry, ActivityLogScreen
from lengow_tui.tui.filters import ViewFilter
from lengow_tui.tui.live import ChangeListener, data_version
from lengow_tui.tui.order_table import OrderTable
from lengow_tui.tui.sidebar import StatusSidebar

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

LIVE_TICK_SECONDS = 1.5
# PostgreSQL with a LISTEN connection: refresh on notifications, at most this often (a big import sends
# one per page), and poll the data version this rarely as a safety net for writers that do not notify.
NOTIFY_REFRESH_SECONDS = 0.3
SAFETY_POLL_SECONDS = 15.0
SYNC_TICK_SECONDS = 2.0
MUTATING = {"accept", "refuse", "ship", "bulk_ship", "sync_now"}


class OrdersScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="orders.search"),
        Binding("d", "next_date_range", "Dates", id="orders.dates"),
        Binding("D", "custom_dates", "Date range…", show=False, id="orders.custom_dates"),
        Binding("c", "next_channel", "Channel", show=False, id="orders.channel"),
        Binding("o", "next_sort", "Sort", id="orders.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="orders.sort_reverse"),
        Binding("w", "toggle_raw", "Raw status", show=False, id="orders.raw_status"),
        Binding("a", "accept", "Accept", id="orders.accept"),
        Binding("x", "refuse", "Refuse", id="orders.refuse"),
        Binding("s", "ship", "Ship", id="orders.ship"),
        Binding("e", "export", "Export", id="orders.export"),
        Binding("p", "toggle_live", "Pause live", show=False, id="orders.pause"),
        Binding("S", "sync_now", "Sync now", show=False, id="orders.sync"),
        Binding("L", "activity", "Activity", show=False, id="orders.activity"),
        Binding("t", "outbox", "Outbox", show=False, id="orders.outbox"),
        Binding("tab", "switch_pane", "Sidebar/list", show=False, id="orders.switch_pane"),
        Binding("b", "toggle_sidebar", "Statuses", show=False, id="orders.sidebar"),
    ]
    DEFAULT_CSS = """
    OrdersScreen #sidebar { width: 30; border-right: solid $panel; }
    /* At 80 columns the list needs the room: the sidebar shows on demand (b, or tab to it). */
    OrdersScreen.narrow #sidebar { display: none; }
    OrdersScreen.narrow.show-sidebar #sidebar { display: block; width: 30; }
    OrdersScreen #main { width: 1fr; }
    OrdersScreen #filterbar { height: 1; padding: 0 1; background: $panel; }
    OrdersScreen #search { height: 3; display: none; }
    OrdersScreen #search.visible { display: block; }
    OrdersScreen #statusline { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    OrdersScreen OrderTable { height: 1fr; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "narrow"), (100, "wide")]

    def __init__(self, runtime: Runtime, *, read_only: bool = False, ascii: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.read_only = read_only
        self.ascii = ascii
        self.view = ViewFilter()
        self._counted: OrderFilter | None = None  # the filter the sidebar's counts are for
        self._status_counts: dict[str | None, int] = {}
        self.names = channel_names(runtime)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield StatusSidebar(id="sidebar")
            with Vertical(id="main"):
                yield Static("", id="filterbar")
                yield Input(placeholder="Search order id, buyer, SKU, title, tracking — enter to apply, esc to close",
                            id="search")
                yield OrderTable(self.runtime.store, self.names, ascii=self.ascii, id="orders")
                yield Static("", id="statusline")
        yield Footer()

    def on_mount(self) -> None:
        self.apply_view()
        self.query_one(OrderTable).focus()
        self.update_statusline()

    @property
    def table(self) -> OrderTable:
        return self.query_one(OrderTable)

    # -- filters -------------------------------------------------------------------------------
    def apply_view(self) -> None:
        flt = self.view.to_order_filter()
        base = replace(flt, statuses=(), needs_review=None)
        if base != self._counted:
            self.refresh_counts()
        # The sidebar's numbers are this list's length whenever the choice is one of its entries: the
        # list skips its own COUNT, whose cost grows with the result.
        self.table.set_query(flt, self.view.sort, count=self._known_count(flt))
        self.update_filterbar()

    def refresh_counts(self) -> None:
        base = replace(self.view.to_order_filter(), statuses=(), needs_review=None)
        with self.runtime.store.read() as session:
            self._status_counts = count_by_status(session, base)
        self._counted = base
        self.query_one(StatusSidebar).set_counts(self._status_counts)

    def _known_count(self, flt: OrderFilter) -> int | None:
        counts = self._status_counts
        if flt.needs_review is None and not flt.statuses:
            return sum(counts.values())
        if flt.needs_review is True and not flt.statuses:
            return counts.get(None, 0)
        if flt.needs_review is None and len(flt.statuses) == 1:
            return counts.get(flt.statuses[0].value, 0)
        return None

    def update_filterbar(self) -> None:
        table = self.table
        marks = f" · {table.marked_count:,} marked" if table.marked_count else ""
        text = f"{table.row_count:,} orders · {self.view.describe(self.names)}{marks}"
        self.query_one("#filterbar", Static).update(Text(text))

    @on(OptionList.OptionHighlighted, "#sidebar")
    @on(OptionList.OptionSelected, "#sidebar")
    def _status_chosen(self, event: OptionList.OptionHighlighted) -> None:
        statuses, review = StatusSidebar.status_for(event.option.id)
        if (statuses, review) != (self.view.statuses, self.view.needs_review):
            self.view = replace(self.view, statuses=statuses, needs_review=review)
            self.apply_view()
        if isinstance(event, OptionList.OptionSelected):
            self.table.focus()

    def action_focus_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("visible")
        search.value = self.view.search
        search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.view = replace(self.view, search=event.value.strip())
        event.input.remove_class("visible")
        self.apply_view()
        self.table.focus()

    def key_escape(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            search.remove_class("visible")
            self.table.focus()
        elif self.view.search:
            self.view = replace(self.view, search="")
            self.apply_view()

    def action_next_date_range(self) -> None:
        self.view = self.view.next_date_range()
        self.apply_view()

    def action_custom_dates(self) -> None:
        from lengow_tui.tui.modals import DateRangeScreen

        def done(result: tuple[datetime | None, datetime | None] | None) -> None:
            if result is not None:
                self.view = replace(self.view, date_range="custom", since=result[0], until=result[1])
                self.apply_view()

        self.app.push_screen(DateRangeScreen(), done)

    def action_next_channel(self) -> None:
        ids = [None, *sorted(self.names)]
        index = ids.index(self.view.channel_id) if self.view.channel_id in ids else 0
        self.view = replace(self.view, channel_id=ids[(index + 1) % len(ids)])
        self.apply_view()

    def action_next_sort(self) -> None:
        self.view = self.view.next_sort()
        self.apply_view()

    def action_reverse_sort(self) -> None:
        self.view = self.view.reversed_sort()
        self.apply_view()

    def action_toggle_raw(self) -> None:
        self.table.show_raw = not self.table.show_raw

    def action_switch_pane(self) -> None:
        sidebar = self.query_one(StatusSidebar)
        if sidebar.has_focus:
            self.remove_class("show-sidebar")
            self.table.focus()
        else:
            self.add_class("show-sidebar")
            sidebar.focus()

    def action_toggle_sidebar(self) -> None:
        if self.has_class("show-sidebar"):
            self.remove_class("show-sidebar")
            self.table.focus()
        else:
            self.add_class("show-sidebar")
            self.query_one(StatusSidebar).focus()

    @on(OrderTable.SortRequested)
    def _sort_clicked(self, event: OrderTable.SortRequested) -> None:
        same = event.key == self.view.sort.key
        self.view = replace(self.view, sort=OrderSort(event.key, not self.view.sort.descending if same else True))
        self.apply_view()

    @on(OrderTable.MarksChanged)
    def _marks_changed(self, event: OrderTable.MarksChanged) -> None:
        self.update_filterbar()
        self.refresh_bindings()

    @on(OrderTable.OrderSelected)
    def _open_order(self, event: OrderTable.OrderSelected) -> None:
        self.open_order(event.order_id)

    def open_order(self, order_id: int) -> None:
        from lengow_tui.tui.detail_screen import OrderDetailScreen

        self.app.push_screen(OrderDetailScreen(self.runtime, order_id, read_only=self.read_only))

    # -- actions ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.read_only and action in MUTATING:
            return False
        return True

    def _targets(self) -> list[int]:
        table = self.table
        if table.marked_count:
            return sorted(table.marked_ids)
        return [table.current_order_id] if table.current_order_id is not None else []

    def action_accept(self) -> None:
        self._act(ActionKind.ACCEPT)

    def action_refuse(self) -> None:
        self._act(ActionKind.REFUSE)

    def _act(self, kind: ActionKind) -> None:
        targets = self._targets()
        if not targets:
            self.notify("No order here.", severity="warning")
            return
        if self.table.marked_count:
            self._bulk(kind, targets)
        else:
            self._single(kind, targets[0])

    def _single(self, kind: ActionKind, order_id: int) -> None:
        """One order, right away: queue it unless the marketplace wants arguments, then show the form."""
        from lengow_tui.services.actions import queue_action
        from lengow_tui.services.bulk import plan_bulk

        plan = plan_bulk(self.runtime, [order_id], kind)
        if not plan.eligible:
            self.notify(f"{plan.ineligible[0].reference}: {plan.ineligible[0].reason}", severity="warning")
            return
        spec, declaration = self._spec(order_id, kind)
        if spec is not None and any((a.required and a.default is None) or a.required_when for a in spec.arguments):
            self._open_form(order_id, spec, declaration)
            return
        result = queue_action(self.runtime, order_id, kind, {}, source="tui")
        ref = plan.references.get(order_id, str(order_id))
        if result.ok:
            self.notify(f"{ref}: {kind} queued")
            self.app.log_activity(ActivityEntry(datetime.now(UTC), f"{ref}: {kind} queued (action #{result.action_id})"))  # type: ignore[attr-defined]
            self.app.wake_sync()  # type: ignore[attr-defined]
        else:
            message = "; ".join(str(p) for p in result.problems)
            self.notify(f"{ref}: {kind} refused — {message}", severity="error", timeout=8)
        self.refresh_data()

    def _spec(self, order_id: int, kind: ActionKind):  # type: ignore[no-untyped-def]
        from lengow_tui.store.models import Channel, Order

        with self.runtime.store.read() as session:
            order = session.get(Order, order_id)
            channel = session.get(Channel, order.channel_id) if order else None
        if order is None or channel is None:
            return None, None
        declaration = self.runtime.declaration(channel.name, order.marketplace)
        return (declaration.action(kind) if declaration else None), declaration

    def _open_form(self, order_id: int, spec, declaration) -> None:  # type: ignore[no-untyped-def]
        from lengow_tui.tui.action_form import ActionFormScreen

        def done(result) -> None:  # type: ignore[no-untyped-def]
            if result is not None and result.ok:
                self.notify(f"{spec.kind} queued as action #{result.action_id}")
                self.app.wake_sync()  # type: ignore[attr-defined]
                self.refresh_data()

        self.app.push_screen(ActionFormScreen(self.runtime, order_id, spec, declaration), done)

    def action_ship(self) -> None:
        targets = self._targets()
        if not targets:
            self.notify("No order here.", severity="warning")
            return
        if not self.table.marked_count:
            spec, declaration = self._spec(targets[0], ActionKind.SHIP)
            if spec is None:
                self.notify("This marketplace has no ship action.", severity="warning")
                return
            from lengow_tui.services.bulk import plan_bulk

            plan = plan_bulk(self.runtime, targets, ActionKind.SHIP)
            if not plan.eligible:
                self.notify(f"{plan.ineligible[0].reference}: {plan.ineligible[0].reason}", severity="warning")
                return
            self._open_form(targets[0], spec, declaration)
            return
        self._bulk_ship(targets)

    def _bulk(self, kind: ActionKind, targets: list[int]) -> None:
        from lengow_tui.services.bulk import plan_bulk, run_bulk
        from lengow_tui.tui.bulk_screens import BulkConfirmScreen

        plan = plan_bulk(self.runtime, targets, kind)

        def done(go: bool | None) -> None:
            if go:
                self._report(run_bulk(self.runtime, plan, source="tui"))

        self.app.push_screen(BulkConfirmScreen(plan), done)

    def _bulk_ship(self, targets: list[int]) -> None:
        from lengow_tui.services.bulk import plan_bulk, run_bulk
        from lengow_tui.tui.bulk_screens import BulkShipScreen

        plan = plan_bulk(self.runtime, targets, ActionKind.SHIP)
        if not plan.eligible:
            self.notify(f"None of the {plan.total:,} marked orders can be shipped now.", severity="warning")
            return
        carriers = sorted({c.code for c in self._carriers(plan.eligible)})

        def done(per_order: dict[int, dict[str, str]] | None) -> None:
            if per_order is None:
                return
            # A CSV may name orders that were not marked: plan those too, so eligibility is checked.
            final = plan if set(per_order) <= set(plan.eligible) else plan_bulk(self.runtime, per_order, ActionKind.SHIP)
            final.eligible = [o for o in final.eligible if o in per_order]
            self._report(run_bulk(self.runtime, final, per_order=per_order, source="tui"))

        self.app.push_screen(BulkShipScreen(plan, carriers, self.runtime), done)

    def _carriers(self, order_ids: list[int]):  # type: ignore[no-untyped-def]
        from sqlmodel import col, select

        from lengow_tui.store.models import Channel, Order

        with self.runtime.store.read() as session:
            pairs = session.exec(
                select(Channel.name, Order.marketplace).join(Channel, Channel.id == Order.channel_id)
                .where(col(Order.id).in_(order_ids[:1000])).distinct()
            ).all()
        for channel, marketplace in pairs:
            declaration = self.runtime.declaration(channel, marketplace)
            if declaration is not None:
                yield from declaration.carriers

    def _report(self, outcome) -> None:  # type: ignore[no-untyped-def]
        details = [f"queued: {r.order_id} (action #{r.action_id})" for r in outcome.queued]
        details += [f"refused: {r.order_id}: " + "; ".join(str(p) for p in r.problems) for r in outcome.refused]
        details += [f"skipped: {s.reference}: {s.reason}" for s in outcome.skipped]
        details += [f"failed: {order_id}: {error}" for order_id, error in outcome.failed]
        level = "error" if outcome.failed else ("warning" if outcome.refused else "info")
        self.app.log_activity(ActivityEntry(datetime.now(UTC), outcome.summary(), tuple(details), level))  # type: ignore[attr-defined]
        self.notify(outcome.summary() + " — details in the activity log (L)",
                    severity="error" if level == "error" else "warning" if level == "warning" else "information",
                    timeout=8)
        self.table.clear_marks()
        self.app.wake_sync()  # type: ignore[attr-defined]
        self.refresh_data()

    def action_export(self) -> None:
        from lengow_tui.tui.modals import PromptScreen

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        default = str(Path.cwd() / f"orders-{stamp}.csv")
        what = f"{self.table.marked_count:,} marked orders" if self.table.marked_count else f"{self.table.row_count:,} orders of this view"

        def done(path: str | None) -> None:
            if path:
                self._export(Path(path).expanduser())

        self.app.push_screen(PromptScreen(f"Export {what} to (.csv or .json):", default), done)

    def _export(self, path: Path) -> None:
        from lengow_tui.services.export import export_orders

        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        flt = OrderFilter(order_ids=tuple(sorted(self.table.marked_ids))) if self.table.marked_count \
            else self.view.to_order_filter()
        try:
            tmp = path.with_name(path.name + ".part")
            with self.runtime.store.read() as session, tmp.open("w", encoding="utf-8", newline="") as handle:
                count = export_orders(session, flt, handle, fmt)
            tmp.replace(path)
        except OSError as exc:
            self.notify(f"Export failed: {exc.strerror}: {path}", severity="error")
            return
        self.app.log_activity(ActivityEntry(datetime.now(UTC), f"exported {count:,} orders to {path}"))  # type: ignore[attr-defined]
        self.notify(f"Exported {count:,} orders to {path}")

    def action_toggle_live(self) -> None:
        app = self.app
        app.live_paused = not app.live_paused  # type: ignore[attr-defined]
        self.notify("Live refresh paused (p to resume)" if app.live_paused else "Live refresh on")  # type: ignore[attr-defined]
        self.update_statusline()

    def action_sync_now(self) -> None:
        daemon = getattr(self.app, "daemon", None)
        if daemon:
            self.notify(f"{daemon} syncs this database; its results appear here as they land.")
            return
        self.app.wake_sync(force_import=True)  # type: ignore[attr-defined]
        self.notify("Syncing…")

    def action_outbox(self) -> None:
        from lengow_tui.tui.outbox_screen import OutboxScreen

        self.app.push_screen(OutboxScreen(self.runtime, read_only=self.read_only))

    def action_activity(self) -> None:
        self.app.push_screen(ActivityLogScreen(self.app.activity))  # type: ignore[attr-defined]

    # -- live ------------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        self.table.refresh_data()
        self.refresh_counts()
        self.update_filterbar()

    def update_statusline(self) -> None:
        app = self.app
        parts = []
        if getattr(app, "live_paused", False):
            parts.append("LIVE PAUSED (p)")
        last = getattr(app, "last_sync_at", None)
        parts.append(f"last sync {last:%H:%M:%S}" if last else "not synced yet")
        if getattr(app, "sync_disabled_reason", None):
            parts.append(app.sync_disabled_reason)  # type: ignore[attr-defined]
        errors = getattr(app, "channel_errors", {})
        for channel, error in errors.items():
            parts.append(f"{channel}: {error}")
        if self.read_only:
            parts.append("read-only")
        line = self.query_one_optional("#statusline", Static)
        if line is not None:  # the sync worker may report before the screen is composed
            line.update(Text(" · ".join(parts)))


class LengowApp(App[None]):
    TITLE = "lengow-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, runtime: Runtime, *, read_only: bool = False, live_sync: bool = True,
                 ascii: bool | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.read_only = read_only
        self.live_sync = live_sync and not read_only
        self.ascii = runtime.config.ascii if ascii is None else ascii
        self.activity: list[ActivityEntry] = []
        self.live_paused = False
        self.last_sync_at: datetime | None = None
        self.channel_errors: dict[str, str] = {}
        self.sync_disabled_reason: str | None = None if self.live_sync else "background sync off"
        self.daemon: str | None = None  # the sync daemon that owns the database, when one runs
        self._version: tuple[object, ...] | None = None
        self.listener: ChangeListener | None = None  # PostgreSQL: LISTEN lengow_tui_changes
        self._notified = False  # a notification arrived that no refresh has answered yet
        self._last_poll = 0.0
        self._sync_wakeup = asyncio.Event()
        self._force_import = True
        self._last_import = 0.0
        self.crash_report: Path | None = None

    def on_mount(self) -> None:
        theme = self.runtime.config.theme
        if theme in self.available_themes:
            self.theme = theme
        if self.runtime.config.keys:
            self.set_keymap(dict(self.runtime.config.keys))
        self.orders_screen = OrdersScreen(self.runtime, read_only=self.read_only, ascii=self.ascii)
        self.push_screen(self.orders_screen)
        self._version = data_version(self.runtime.store)
        self._last_poll = time.monotonic()
        self.set_interval(LIVE_TICK_SECONDS, self._live_tick)
        if not self.runtime.store.is_sqlite:
            self.listener = ChangeListener(self.runtime.store, self._changes_notified)
            self.listener.start()
            # A flag check, no query: the refresh follows a notification by at most this interval, and a
            # burst of notifications (an import sends one per page) gives one refresh.
            self.set_interval(NOTIFY_REFRESH_SECONDS, self._refresh_from_notification)
        if self.live_sync:
            self._sync_loop()

    def log_activity(self, entry: ActivityEntry) -> None:
        self.activity.append(entry)
        del self.activity[:-500]

    def action_help(self) -> None:
        from lengow_tui.tui.help_screen import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen):  # type: ignore[no-untyped-def,override]
        yield from super().get_system_commands(screen)
        orders = self.orders_screen
        yield SystemCommand("Jump to order", "Open an order by its id or marketplace id", self._jump_prompt)
        yield SystemCommand("Sync now", "Import orders and deliver queued actions now", orders.action_sync_now)
        yield SystemCommand("Export", "Export marked orders (or the current view)", orders.action_export)
        yield SystemCommand("Activity log", "Bulk results and sync problems", orders.action_activity)
        yield SystemCommand("Outbox", "Actions and their delivery: re-queue dead ones, cancel unsent ones",
                            orders.action_outbox)
        yield SystemCommand("Pause or resume live refresh", "Stop the list from moving", orders.action_toggle_live)
        from lengow_tui.domain import Status

        for status in Status:
            yield SystemCommand(f"Show {status.label}", f"Orders with status {status.label}",
                                lambda s=status: self._show_status(s.value))

    def _show_status(self, status: str) -> None:
        self.switch_to_orders()
        self.orders_screen.query_one(StatusSidebar).select_id(status)

    def switch_to_orders(self) -> None:
        while self.screen is not self.orders_screen and len(self.screen_stack) > 1:
            self.pop_screen()

    def _jump_prompt(self) -> None:
        from lengow_tui.tui.modals import PromptScreen

        def done(reference: str | None) -> None:
            if reference:
                self.jump_to(reference)

        self.push_screen(PromptScreen("Order id or marketplace order id:"), done)

    def jump_to(self, reference: str) -> None:
        from lengow_tui.services.orders import find_order

        with self.runtime.store.read() as session:
            order = find_order(session, reference)
        if order is None:
            self.notify(f"No order {reference!r}", severity="warning")
            return
        self.switch_to_orders()
        self.orders_screen.table.jump_to_order(order.id)  # type: ignore[arg-type]
        self.orders_screen.open_order(order.id)  # type: ignore[arg-type]

    def on_unmount(self) -> None:
        if self.listener is not None:
            self.listener.stop()

    # -- live refresh and background sync ----------------------------------------------------------
    def _live_tick(self) -> None:
        if self.live_paused:
            return
        if self._notified:  # a notification arrived while paused or while a refresh was pending
            self._refresh_from_notification()
            return
        listening = self.listener is not None and self.listener.connected
        if listening and time.monotonic() - self._last_poll < SAFETY_POLL_SECONDS:
            return  # PostgreSQL: notifications say when to refresh
        self._last_poll = time.monotonic()
        try:
            version = data_version(self.runtime.store)
        except Exception:
            return  # a busy database this tick: try the next one
        if version == self._version:
            return
        self._version = version
        self._refresh_live()

    def _changes_notified(self, _body: dict[str, object]) -> None:
        """A writer committed a change (PostgreSQL NOTIFY). Called in the listener's thread: only sets a
        flag, which the app's timer answers."""
        self._notified = True

    def _refresh_from_notification(self) -> None:
        if self.live_paused or not self._notified:
            return  # the tick after "resume" answers it
        self._notified = False
        try:
            self._version = data_version(self.runtime.store)
        except Exception:
            self._notified = True  # a busy database: the next tick tries again
            return
        self._refresh_live()

    def _refresh_live(self) -> None:
        """Re-read what is shown: the visible page of the list (plus the cursor's neighbourhood), the
        counts, and the screen on top when it can reload — never a whole list."""
        self.orders_screen.refresh_data()
        reload = getattr(self.screen, "reload", None)
        if callable(reload) and self.screen is not self.orders_screen:
            reload()

    def wake_sync(self, force_import: bool = False) -> None:
        self._force_import = self._force_import or force_import
        self._sync_wakeup.set()

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def _sync_loop(self) -> None:
        from lengow_tui.sync.daemon_lock import daemon_lock_holder

        interval = max(5, self.runtime.config.sync_interval_seconds)
        while True:
            # A daemon owns the database: it syncs, this app only shows what it did (checked every
            # pass: the daemon may start or stop while the app runs).
            self.daemon = await asyncio.to_thread(daemon_lock_holder, self.runtime)
            if self.daemon:
                self.sync_disabled_reason = f"synced by {self.daemon}"
                await asyncio.to_thread(self._read_daemon_status)
            else:
                self.sync_disabled_reason = None
                do_import = self._force_import or time.monotonic() - self._last_import >= interval
                self._force_import = False
                results = await asyncio.to_thread(self._sync_pass, do_import)
                if do_import:
                    self._last_import = time.monotonic()
                self.last_sync_at = datetime.now()
                errors = {r.channel: r.error or (r.imported.error if r.imported else None) or ""
                          for r in results if r.error or (r.imported and r.imported.error)}
                self._set_channel_errors(errors)
            self.orders_screen.update_statusline()
            self._sync_wakeup.clear()
            try:
                await asyncio.wait_for(self._sync_wakeup.wait(), SYNC_TICK_SECONDS)
            except TimeoutError:
                pass

    def _set_channel_errors(self, errors: dict[str, str]) -> None:
        for channel, error in errors.items():
            if self.channel_errors.get(channel) != error:  # each new problem once in the log
                self.log_activity(ActivityEntry(datetime.now(UTC), f"sync {channel}: {error}", level="error"))
        self.channel_errors = errors

    def _read_daemon_status(self) -> None:
        """The daemon's last successful import and per-channel errors, from the sync cursors."""
        from sqlmodel import select

        from lengow_tui.services.channels import channel_names
        from lengow_tui.store.models import SyncCursor

        names = channel_names(self.runtime)
        with self.runtime.store.read() as session:
            cursors = list(session.exec(select(SyncCursor)))
        successes = [c.last_success_at for c in cursors if c.last_success_at is not None]
        if successes:
            self.last_sync_at = max(successes).astimezone()
        self._set_channel_errors({names.get(c.channel_id, str(c.channel_id)): c.last_error
                                  for c in cursors if c.last_error})

    def _sync_pass(self, do_import: bool):  # type: ignore[no-untyped-def]
        from lengow_tui.sync.run import sync_once

        return asyncio.run(sync_once(self.runtime, do_import=do_import, deliver=True))

    def _fatal_error(self) -> None:
        # Replaces Textual's crash screen, which prints local variables (customer data, secrets).
        from lengow_tui.tui.crash import write_crash_report

        error = self._exception
        try:
            if error is not None:
                self.crash_report = write_crash_report(error, self.runtime.config.log_dir)
        except OSError:
            self.crash_report = None
        self.bell()
        self._close_messages_no_wait()
