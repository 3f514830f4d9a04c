"""The order list: a virtual table on the Line API whose rows are paged from SQL as they are drawn.

The built-in DataTable holds every row in Python and re-lays them all out on each change (minutes and
gigabytes at 1M orders, see reference/tui.md 1.1). Here only the visible pages are read: a count sets the
scroll range, pages of ``PAGE`` rows are fetched on demand into an LRU cache, and marks are kept by order
id so they survive re-sorting, filtering and live refresh.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey
from lengow_tui.store.engine import Store
from lengow_tui.tui import order_samples
from lengow_tui.tui.live import data_version
from lengow_tui.tui.order_marks import Marks
from lengow_tui.tui.order_table_query import OrderQuery, OrderRow, Window
from lengow_tui.tui.order_table_rows import GAP, Glyphs, Placed, cells, header, layout


class _TableMessage(Message):
    def __init__(self, table: OrderTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> OrderTable:
        return self.table


class OrderTable(ScrollView, can_focus=True):
    """Orders matching a filter, in a sort order, one per line, with a cursor and marks.

    Call :meth:`set_query` once mounted, then :meth:`refresh_data` whenever the store may have changed.
    Line 0 is a fixed header; row ``i`` of the result is drawn on line ``i + 1 - scroll_y``.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "order-table--header",
        "order-table--cursor",
        "order-table--marked",
        "order-table--pending",
        "order-table--review",
        "order-table--late",
        "order-table--dim",
        "order-table--stripe",
    }

    DEFAULT_CSS = """
    OrderTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        & > .order-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .order-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .order-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .order-table--marked { background: $accent 30%; color: $foreground; }
        & > .order-table--pending { color: $text-warning; }
        & > .order-table--review { color: $text-error; text-style: bold; }
        & > .order-table--late { color: $text-error; }
        & > .order-table--dim { color: $text-muted; }
        & > .order-table--stripe { background: $surface-lighten-1 50%; }
        &:ansi {
            background: ansi_default;
            color: ansi_default;
            & > .order-table--header { background: ansi_bright_blue; color: ansi_default; }
            & > .order-table--cursor { background: ansi_default; color: ansi_default; text-style: reverse; }
            & > .order-table--marked { background: ansi_blue; color: ansi_bright_white; }
            & > .order-table--pending { color: ansi_yellow; }
            & > .order-table--review { color: ansi_red; text-style: bold; }
            & > .order-table--late { color: ansi_red; }
            & > .order-table--dim { color: ansi_bright_black; }
            & > .order-table--stripe { background: ansi_default; }
        }
        &:ansi:focus > .order-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
        &:nocolor > .order-table--cursor { text-style: reverse; }
        &:nocolor > .order-table--marked { text-style: bold underline; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="orders.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="orders.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="orders.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="orders.page_down"),
        Binding("ctrl+u", "half_page_up", "Half page up", show=False, id="orders.half_page_up"),
        Binding("ctrl+d", "half_page_down", "Half page down", show=False, id="orders.half_page_down"),
        Binding("home,g", "first", "First", show=False, id="orders.first"),
        Binding("end,G", "last", "Last", show=False, id="orders.last"),
        Binding("enter", "open", "Open", show=False, id="orders.open"),
        Binding("space", "toggle_mark", "Mark", id="orders.mark"),
        Binding("shift+space,V", "mark_range", "Mark range", show=False, id="orders.mark_range"),
        Binding("ctrl+a", "mark_all", "Mark all", show=False, id="orders.mark_all"),
        Binding("u", "clear_marks", "Unmark all", show=False, id="orders.clear_marks"),
    ]

    ALLOW_SELECT = False  # text selection over a virtual list would select rows that were never read

    cursor = reactive(0, repaint=False, init=False)
    """Index of the highlighted row in the current result."""
    show_raw = reactive(False)
    """Show the marketplace's own status in parentheses after the common one."""
    zebra_stripes = reactive(False)
    """Every other row in the ``order-table--stripe`` style."""

    class OrderSelected(_TableMessage):
        """Enter, or a click on the highlighted row: open this order."""

        def __init__(self, table: OrderTable, order_id: int) -> None:
            super().__init__(table)
            self.order_id = order_id

    class CursorMoved(_TableMessage):
        """The highlighted order changed (None: the result is empty)."""

        def __init__(self, table: OrderTable, order_id: int | None) -> None:
            super().__init__(table)
            self.order_id = order_id

    class MarksChanged(_TableMessage):
        def __init__(self, table: OrderTable, count: int) -> None:
            super().__init__(table)
            self.count = count

    class SortRequested(_TableMessage):
        """A click on a sortable column header; the owner decides the new sort and calls set_query."""

        def __init__(self, table: OrderTable, key: SortKey) -> None:
            super().__init__(table)
            self.key = key

    def __init__(
        self,
        store: Store,
        channel_names: dict[int, str],
        *,
        ascii: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.store = store
        self.channel_names = channel_names
        self.ascii = ascii
        self.glyphs = Glyphs.for_mode(ascii)
        self.marks = Marks()
        self._window: Window | None = None
        self._index_timer: Timer | None = None  # pending build of the shown result's sparse index
        self._anchor: int | None = None  # order id where the last mark was set: one end of mark_range
        self._posted_cursor: list[int | None] = []  # the order id last sent in CursorMoved; [] before any
        self._click_opened = False
        self._layout_key: tuple[object, ...] = ()
        self._placed: list[Placed] = []
        self._width = 0
        self._looks: dict[tuple[object, ...], Style] = {}

    # --- data ---------------------------------------------------------------------------------------

    @property
    def order_query(self) -> OrderQuery | None:
        """The current filter and sort (``.flt``, ``.sort``), or None before ``set_query``."""
        return self._window.query if self._window else None

    @property
    def row_count(self) -> int:
        return self._window.count if self._window else 0

    @property
    def current_order_id(self) -> int | None:
        row = self._row(self.cursor)
        return row.id if row else None

    @property
    def marked_count(self) -> int:
        return self.marks.count

    @property
    def marked_ids(self) -> frozenset[int]:
        """The marked order ids as of now: read when "all in filter" was used (0.6 s and ~70 MB for 1M
        ids on SQLite; a bulk action can stream them with ``marks.chunks(store)`` instead)."""
        return self.marks.materialise(self.store)

    def set_query(
        self, flt: OrderFilter, sort: OrderSort, *, keep_cursor: bool = False, count: int | None = None
    ) -> None:
        """Show another filter or sort. The cursor goes to the top, or with ``keep_cursor`` stays on the
        same order when it is still in the result.

        ``count``: the number of matching orders when the caller knows it already (the status sidebar's
        ``count_by_status``), to skip the COUNT, whose cost grows with the result (50 ms for 545k orders
        on SQLite). ``refresh_data`` counts again anyway. A new sort of the same filter keeps the count
        (the same result in another order; as fresh as the sidebar's counts the app passes otherwise).
        """
        shown = self._window
        if count is None and shown is not None and shown.query.flt == flt and shown.query.sort != sort:
            count = shown.count
        order_id = self.current_order_id if keep_cursor else None
        window = self._reload(OrderQuery(self.store, flt, sort), count)
        index = window.find(order_id) if order_id is not None else None
        self._set_cursor(index or 0, center=True)

    def refresh_data(self) -> None:
        """Re-read after the store changed: recount, drop cached pages, keep the cursor on its order (and
        that order on the same screen line) when it is still in the result, else on the same row.
        Repaints only when what is on screen changed: over SSH a repaint every second costs bandwidth."""
        if self._window is None:
            return
        index, order_id, before = self.cursor, self.current_order_id, self._on_screen()
        window = self._reload(self._window.query, repaint=False)
        if self.marks.all_filters or self.marks.ids or self.marks.excluded:
            count = self.marks.count
            self.marks.recount(self.store)
            if count != self.marks.count:
                self._marks_changed()
        found = window.find(order_id, near=index) if order_id is not None else None
        if found is not None and found != index:
            self.scroll_to(y=self.scroll_y + found - index, animate=False, force=True)
        self._set_cursor(index if found is None else found)
        if self._on_screen() != before:
            self.refresh()

    def _on_screen(self) -> tuple[object, ...]:
        rows = range(self.scroll_offset.y, self.scroll_offset.y + self._visible_rows())
        return self.row_count, self.marks.count, rows, self.cursor, [self._row(i) for i in rows]

    def jump_to_order(self, order_id: int) -> bool:
        """Put the cursor on this order if it is in the current result."""
        index = self._window.find(order_id) if self._window else None
        if index is None:
            return False
        self._set_cursor(index, center=True)
        return True

    def _reload(self, query: OrderQuery, count: int | None = None, *, repaint: bool = True) -> Window:
        window = self._window = Window(query, count)
        self.virtual_size = Size(0, window.count + 1)  # +1: the header line
        if repaint:
            self.refresh()
        if self._index_timer is not None:  # (it holds the window it was set for: its pages, a few MB)
            self._index_timer.stop()
            self._index_timer = None
        if order_samples.wanted(query, window.count):  # deep jumps from a sparse index, once built
            self._index_timer = self.set_timer(order_samples.SETTLE, lambda: self._index(window))
        return window

    def _index(self, window: Window) -> None:
        """Build the sparse index of a result still shown, in a thread: the UI never waits for it."""
        def build() -> None:
            if window is self._window:  # else replaced while waiting for the thread: no use any more
                built = order_samples.build(window.query, window.count, lambda: data_version(self.store))
                window.samples = built if window is self._window else None

        if window is self._window and window.samples is None:
            self.run_worker(build, thread=True, group="order-samples", exclusive=True, exit_on_error=False)

    def _row(self, index: int) -> OrderRow | None:
        return self._window.row(index) if self._window else None

    def _is_marked(self, index: int, row: OrderRow) -> bool:
        if not self.marks or self._window is None:
            return False
        return self.marks.is_marked(row.id, self._window.covered(index, self.marks))

    # --- cursor ---------------------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.row_count - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self._scroll_to_cursor()
        self._post_cursor()

    def _set_cursor(self, index: int, *, center: bool = False) -> None:
        index = self.validate_cursor(index)
        if center:
            self.scroll_to(y=index - self._visible_rows() // 2, animate=False, force=True)
        if index == self.cursor:  # no watcher call: do its work
            self._scroll_to_cursor()
            self._post_cursor()
        self.cursor = index

    def _post_cursor(self) -> None:
        order_id = self.current_order_id
        if self._posted_cursor != [order_id]:
            self._posted_cursor = [order_id]
            self.post_message(self.CursorMoved(self, order_id))

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        rows, top = self._visible_rows(), self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, force=True)

    def _move(self, delta: int) -> None:
        """Move by a page: the view scrolls by the same amount, so the cursor keeps its screen line."""
        target = self.validate_cursor(self.cursor + delta)
        self.scroll_to(y=self.scroll_y + target - self.cursor, animate=False, force=True)
        self.cursor = target

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self._move(-self._visible_rows())

    def action_page_down(self) -> None:
        self._move(self._visible_rows())

    def action_half_page_up(self) -> None:
        self._move(-max(1, self._visible_rows() // 2))

    def action_half_page_down(self) -> None:
        self._move(max(1, self._visible_rows() // 2))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self.row_count - 1

    def action_open(self) -> None:
        order_id = self.current_order_id
        if order_id is not None:
            self.post_message(self.OrderSelected(self, order_id))

    # --- marks ----------------------------------------------------------------------------------------

    def toggle_mark(self) -> None:
        """Mark or unmark the highlighted order and move down."""
        row = self._row(self.cursor)
        if row is None or self._window is None:
            return
        covered = self._window.covered(self.cursor, self.marks)
        self.marks.set(row.id, covered, not self.marks.is_marked(row.id, covered))
        self._anchor = row.id
        self.refresh_line(self.cursor + 1)
        self._marks_changed()
        self.cursor += 1

    def mark_range(self) -> None:
        """Mark every order from the anchor (the last one marked or unmarked) to the cursor, both
        included; without an anchor, the cursor's order, which becomes the anchor."""
        window = self._window
        if window is None or window.count == 0:
            return
        anchor = window.find(self._anchor) if self._anchor is not None else None
        low, high = sorted((self.cursor if anchor is None else anchor, self.cursor))
        self.marks.mark_many(self.store, window.ids(low, high), window.query.flt)
        if anchor is None:
            self._anchor = self.current_order_id
        self.refresh()
        self._marks_changed()

    def mark_all_in_filter(self) -> None:
        """Mark every order of the current filter, kept symbolic (see ``Marks``) until ids are needed."""
        if self._window is None:
            return
        self.marks.add_filter(self.store, self._window.query.flt, count=self._window.count)
        self.refresh()
        self._marks_changed()

    def clear_marks(self) -> None:
        self.marks.clear()
        self._anchor = None
        self.refresh()
        self._marks_changed()

    def _marks_changed(self) -> None:
        self.post_message(self.MarksChanged(self, self.marks.count))

    def action_toggle_mark(self) -> None:
        self.toggle_mark()

    def action_mark_range(self) -> None:
        self.mark_range()

    def action_mark_all(self) -> None:
        self.mark_all_in_filter()

    def action_clear_marks(self) -> None:
        self.clear_marks()

    # --- mouse ----------------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            for place in self._layout():
                if place.x <= offset.x < place.x + place.width and place.column.sort is not None:
                    self.post_message(self.SortRequested(self, place.column.sort))
            return
        index = self.scroll_offset.y + offset.y - 1
        if index >= self.row_count:
            return
        if event.chain == 1:  # a click on the highlighted row opens it; a double click opens once
            self._click_opened = index == self.cursor
            opens = self._click_opened
        else:
            opens = not self._click_opened
            self._click_opened = True
        self.cursor = index
        if opens:
            self.action_open()

    def on_focus(self) -> None:
        self._looks.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._looks.clear()
        self.refresh()

    # --- rendering ------------------------------------------------------------------------------------

    def watch_show_raw(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks.clear()

    def _layout(self) -> list[Placed]:
        sort = self._window.query.sort if self._window else OrderSort()
        key = (self._width, sort.key, self.show_raw)
        if key != self._layout_key:
            self._layout_key, self._placed = key, layout(self._width, sort.key, self.show_raw)
        return self._placed

    def _look(
        self, accent: str | None, *, stripe: bool = False, marked: bool = False, cursor: bool = False
    ) -> Style:
        """A cell's style, combined once per CSS/theme/focus state: Style sums and ``rich_style`` (which
        walks the DOM) would otherwise cost more than the rest of a line."""
        key = (accent, stripe, marked, cursor)
        style = self._looks.get(key)
        if style is None:
            get = self.get_component_rich_style
            style = self.rich_style
            if stripe:
                style += get("order-table--stripe")
            if marked:
                style += get("order-table--marked")
            if accent:  # partial: only the accent's own colour, so a marked row keeps its background
                style += get(accent, partial=True)
            if cursor:
                style += get("order-table--cursor")
            self._looks[key] = style
        return style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._width = self.size.width  # once per paint, not per line: ``size`` is not free
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._width = self._width or self.size.width
        if y == 0:
            return self._header_line(width)
        index = self.scroll_offset.y + y - 1
        row = self._row(index)
        if row is None:
            base = self._look(None)
            if index == 0 and self._window is not None and self._window.count == 0:
                message = Segment("  No orders match.", self._look("order-table--dim"))
                return Strip([message]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        marked, stripe = self._is_marked(index, row), self.zebra_stripes and index % 2 == 1
        look = {"stripe": stripe, "marked": marked, "cursor": index == self.cursor}
        gap = Segment(" " * GAP, self._look(None, **look))
        segments: list[Segment] = []
        placed = self._layout()
        columns = cells(
            row, placed, marked=marked, glyphs=self.glyphs, channel_names=self.channel_names,
            show_raw=self.show_raw, now=datetime.now(UTC), ascii=self.ascii,
        )
        for pieces in columns:
            if segments:
                segments.append(gap)
            for text, accent in pieces:
                segments.append(Segment(text, self._look(accent, **look)))
        used = placed[-1].x + placed[-1].width if placed else 0
        if used < width:
            segments.append(Segment(" " * (width - used), gap.style))
        strip = Strip(segments, max(width, used))  # every cell has its exact width: no measuring again
        return strip.crop(0, width) if used > width else strip

    def _header_line(self, width: int) -> Strip:
        style = self._look("order-table--header")
        sort = self._window.query.sort if self._window else OrderSort()
        labels = header(self._layout(), sort.key, sort.descending, self.glyphs)
        return Strip([Segment((" " * GAP).join(labels), style)]).adjust_cell_length(width, style)
