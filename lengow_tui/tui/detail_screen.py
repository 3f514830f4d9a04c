"""One order in full: lines, customer, totals, tracking, documents, history, raw payload, and the actions
its marketplace allows in its current status."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Label, Static

from lengow_tui.domain import ActionKind, ActionSpec, MarketplaceDeclaration, Status
from lengow_tui.services.actions import QueueResult
from lengow_tui.services.documents import DocumentError, fetch_document, save_document
from lengow_tui.services.orders import OrderDetail, order_detail
from lengow_tui.tui.action_form import ActionFormScreen
from lengow_tui.tui.detail_widgets import (
    DirectoryPrompt,
    document_cells,
    history_content,
    line_cells,
    notice_content,
    open_with_viewer,
    parties_content,
    raw_content,
    safe,
    summary_content,
    tracking_url,
)

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

# One key per action kind; bindings carry ids so a user keymap can move them.
ACTION_KEYS: dict[ActionKind, str] = {
    ActionKind.ACCEPT: "a",
    ActionKind.REFUSE: "x",
    ActionKind.SHIP: "s",
    ActionKind.CANCEL: "c",
    ActionKind.REFUND: "f",
}
ACTION_TITLES: dict[ActionKind, str] = {
    ActionKind.ACCEPT: "Accept",
    ActionKind.REFUSE: "Refuse",
    ActionKind.SHIP: "Ship",
    ActionKind.CANCEL: "Cancel order",
    ActionKind.REFUND: "Refund",
}


class OrderDetailScreen(Screen[None]):
    """The detail of order ``order_id``. ``read_only`` hides every action (viewer terminals)."""

    DEFAULT_CSS = """
    OrderDetailScreen #detail-body { padding: 0 1; }
    OrderDetailScreen #notice { height: auto; }
    OrderDetailScreen #actions { height: auto; margin: 1 0 0 0; }
    OrderDetailScreen #actions Button { margin-right: 1; min-width: 10; }
    OrderDetailScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    OrderDetailScreen DataTable { height: auto; max-height: 12; }
    OrderDetailScreen #raw { margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="detail.back"),
        *(Binding(key, f"act('{kind.value}')", ACTION_TITLES[kind], id=f"detail.{kind.value}")
          for kind, key in ACTION_KEYS.items()),
        Binding("d", "save_document", "Save doc", id="detail.save_document"),
        Binding("o", "open_document", "Open doc", id="detail.open_document"),
        Binding("p", "toggle_raw", "Raw", id="detail.toggle_raw"),
        Binding("y", "copy_tracking", "Copy tracking URL", show=False, id="detail.copy_tracking"),
        Binding("r", "reload", "Reload", show=False, id="detail.reload"),
        Binding("j", "scroll_body(1)", "Down", show=False, id="detail.scroll_down"),
        Binding("k", "scroll_body(-1)", "Up", show=False, id="detail.scroll_up"),
    ]

    def __init__(self, runtime: Runtime, order_id: int, *, read_only: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.order_id = order_id
        self.read_only = read_only
        self.detail: OrderDetail | None = None
        self.declaration: MarketplaceDeclaration | None = None
        self.save_directory = Path.cwd()
        self._load()

    # --- data -------------------------------------------------------------------------------------

    def _load(self) -> None:
        with self.runtime.store.read() as session:
            self.detail = order_detail(session, self.order_id)
        self.declaration = (self.runtime.declaration(self.detail.channel, self.detail.order.marketplace)
                            if self.detail else None)

    def allowed_actions(self) -> tuple[ActionSpec, ...]:
        """The actions offered now: what the marketplace allows from the order's status, unless the
        screen is read-only or the order is anonymized, unmapped or flagged for review."""
        detail, declaration = self.detail, self.declaration
        if self.read_only or detail is None or declaration is None:
            return ()
        order = detail.order
        if order.anonymized_at is not None or order.needs_review or not order.status:
            return ()
        try:
            status = Status(order.status)
        except ValueError:
            return ()
        return declaration.actions_allowed(status)

    # --- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(id="summary")
            yield Static(id="notice")
            with Horizontal(id="actions"):
                for spec in self.declaration.actions if self.declaration else ():
                    key = ACTION_KEYS.get(spec.kind, "")
                    yield Button(Content(f"{ACTION_TITLES.get(spec.kind, spec.kind.value)} ({key})"),
                                 id=f"act-{spec.kind.value}", compact=True)
            yield Label("Lines", classes="section")
            yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
            yield Label("Customer", classes="section")
            yield Static(id="parties")
            yield Label("Documents  (tab to the list · d save · o open)", classes="section")
            yield DataTable(id="documents", cursor_type="row")
            yield Static(id="no-documents")
            yield Label("History", classes="section")
            yield Static(id="history")
            yield Static(id="raw")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#lines", DataTable).add_columns("Line", "SKU", "Qty", "Amount", "Status", "Title")
        self.query_one("#documents", DataTable).add_columns("", "Document", "File", "Size")
        self.query_one("#raw", Static).display = False
        self._refresh_view()
        self.query_one("#detail-body").focus()

    def _refresh_view(self) -> None:
        detail, declaration = self.detail, self.declaration
        if detail is None:
            gone = Content.styled(f"Order {self.order_id} no longer exists.", "bold red")
            self.query_one("#summary", Static).update(gone)
            for widget_id in ("#notice", "#parties", "#history", "#no-documents"):
                self.query_one(widget_id, Static).update("")
            self.query_one("#lines", DataTable).clear()
            self.query_one("#documents", DataTable).clear()
            self._show_actions()
            return
        order = detail.order
        self.title = f"Order {safe(order.marketplace_order_id, 60)}"
        self.query_one("#summary", Static).update(summary_content(detail, declaration))
        notice = notice_content(detail, declaration)
        self.query_one("#notice", Static).update(notice)
        self.query_one("#notice", Static).display = bool(notice.plain)
        self._show_actions()
        self._fill(self.query_one("#lines", DataTable),
                   [(str(line.id), line_cells(line, order.currency)) for line in detail.lines])
        self._fill(self.query_one("#documents", DataTable),
                   [(str(doc.id), document_cells(doc, declaration)) for doc in detail.documents])
        self.query_one("#documents", DataTable).display = bool(detail.documents)
        self.query_one("#no-documents", Static).update(
            "" if detail.documents else Content.styled("no documents for this order yet", "dim"))
        self.query_one("#parties", Static).update(parties_content(detail))
        self.query_one("#history", Static).update(history_content(detail))
        raw = self.query_one("#raw", Static)
        if raw.display:
            raw.update(raw_content(order))
        self.refresh_bindings()

    def _show_actions(self) -> None:
        allowed = {spec.kind for spec in self.allowed_actions()}
        for button in self.query("#actions Button").results(Button):
            button.display = (button.id or "").removeprefix("act-") in allowed
        self.query_one("#actions").display = bool(allowed)

    @staticmethod
    def _fill(table: DataTable, rows: list) -> None:
        # Keep the highlighted row across reloads, by key when it still exists.
        cursor = table.cursor_row
        current = None
        if table.row_count and 0 <= cursor < table.row_count:
            current = table.coordinate_to_cell_key(Coordinate(cursor, 0)).row_key.value
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        keys = [key for key, _ in rows]
        if current in keys:
            table.move_cursor(row=keys.index(current), animate=False)
        elif rows:
            table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)

    def reload(self) -> None:
        """Re-read the order from the store and refresh in place, keeping the scroll position."""
        if not self.is_mounted:
            self._load()  # compose and on_mount will show it
            return
        body = self.query_one("#detail-body", VerticalScroll)
        scroll_y = body.scroll_y
        self._load()
        self._refresh_view()
        self.call_after_refresh(body.scroll_to, y=scroll_y, animate=False)

    # --- bindings ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act":
            return any(spec.kind == parameters[0] for spec in self.allowed_actions())
        if action in ("save_document", "open_document"):
            return bool(self.detail and self.detail.documents)
        if action == "copy_tracking":
            return bool(self.detail and tracking_url(self.detail.order, self.declaration))
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.reload()

    def action_scroll_body(self, direction: int) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        body.scroll_relative(y=direction, animate=False)

    def action_toggle_raw(self) -> None:
        raw = self.query_one("#raw", Static)
        raw.display = not raw.display
        if raw.display and self.detail:
            raw.update(raw_content(self.detail.order))
            self.call_after_refresh(raw.scroll_visible, animate=False, top=True)

    def action_copy_tracking(self) -> None:
        url = tracking_url(self.detail.order, self.declaration) if self.detail else None
        if url:
            # OSC 52: lands in the clipboard of the terminal the merchant sits at, also over SSH.
            self.app.copy_to_clipboard(url)
            self.notify("Tracking URL copied to the clipboard")

    @on(Button.Pressed, "#actions Button")
    def _action_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_act((event.button.id or "").removeprefix("act-"))

    def action_act(self, kind: str) -> None:
        spec = next((s for s in self.allowed_actions() if s.kind == kind), None)
        if spec is None or self.declaration is None:
            self.notify(f"{kind} is not possible on this order now", severity="warning")
            return
        try:
            form = ActionFormScreen(self.runtime, self.order_id, spec, self.declaration)
        except LookupError as exc:  # deleted meanwhile (another terminal, a purge)
            self.notify(str(exc), severity="error")
            self.reload()
            return
        self.app.push_screen(form, callback=self._after_action)

    def _after_action(self, result: QueueResult | None) -> None:
        if result is not None and result.ok:
            self.notify(f"{result.kind} queued (action #{result.action_id}); it is sent on the next sync")
            wake = getattr(self.app, "wake_sync", None)  # the desk's background sync, when it runs one
            if callable(wake):
                wake()
        self.reload()

    # --- documents --------------------------------------------------------------------------------

    def highlighted_document_id(self) -> int | None:
        table = self.query_one("#documents", DataTable)
        if not self.detail or not self.detail.documents or not table.row_count:
            return None
        row_key = table.coordinate_to_cell_key(Coordinate(max(table.cursor_row, 0), 0)).row_key
        return int(row_key.value) if row_key.value is not None else None

    def action_save_document(self) -> None:
        document_id = self.highlighted_document_id()
        if document_id is None:
            self.notify("This order has no document", severity="warning")
            return

        def chosen(directory: Path | None) -> None:
            if directory is not None:
                self.save_directory = directory
                self.run_worker(self._save(document_id, directory), group="documents")

        self.app.push_screen(DirectoryPrompt(self.save_directory), callback=chosen)

    def action_open_document(self) -> None:
        document_id = self.highlighted_document_id()
        if document_id is None:
            self.notify("This order has no document", severity="warning")
            return
        self.run_worker(self._open(document_id), group="documents")

    async def _save(self, document_id: int, directory: Path) -> Path | None:
        try:
            row = await fetch_document(self.runtime, document_id)
            path = save_document(row, directory)
        except DocumentError as exc:
            self.notify(str(exc), title="Document not saved", severity="error")
            return None
        self.notify(f"Saved {path}", title="Document saved")
        if self.is_attached:
            self.reload()  # the list shows the document as stored now
        return path

    async def _open(self, document_id: int) -> Path | None:
        try:
            row = await fetch_document(self.runtime, document_id)
            directory = _open_directory() / str(document_id)
            directory.mkdir(parents=True, exist_ok=True)
            existing = [p for p in directory.iterdir() if p.is_file() and p.read_bytes() == row.content]
            path = existing[0] if existing else save_document(row, directory)
        except (DocumentError, OSError) as exc:
            self.notify(str(exc), title="Document not opened", severity="error")
            return None
        if open_with_viewer(path):
            self.notify(f"Opened {path}", title="Document")
        else:
            self.notify(f"No viewer here; saved to {path}", title="Document saved")
        if self.is_attached:
            self.reload()
        return path


def _open_directory() -> Path:
    """A private per-user directory for documents handed to a viewer (they hold personal data)."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = Path(tempfile.gettempdir()) / f"lengow-tui-{uid if uid is not None else 'user'}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A shared /tmp: refuse a directory (or symlink) planted by someone else.
    if path.is_symlink() or (uid is not None and path.stat().st_uid != uid):
        raise DocumentError(f"{path} belongs to another user; not opening documents there")
    return path
