"""The outbox: recent actions with their delivery state; re-queue dead ones, cancel unsent ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lengow_tui.services.actions import ActionRow, cancel_action, list_actions, requeue_action
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

SHOWN = 500  # the newest actions; the CLI (`lengow-tui actions list`) filters the rest
MUTATING = {"retry", "cancel"}


class OutboxScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="outbox.back"),
        Binding("r", "retry", "Re-queue dead", id="outbox.retry"),
        Binding("x", "cancel", "Cancel unsent", id="outbox.cancel"),
        Binding("f", "toggle_problems", "Problems only", id="outbox.problems"),
        Binding("R", "reload", "Reload", show=False, id="outbox.reload"),
    ]
    DEFAULT_CSS = """
    OutboxScreen #title { height: 1; background: $panel; padding: 0 1; }
    OutboxScreen DataTable { height: 1fr; }
    """

    def __init__(self, runtime: Runtime, *, read_only: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.read_only = read_only
        self.problems_only = False
        self.rows: list[ActionRow] = []

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="actions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "order", "channel", "action", "state", "tries", "updated", "last error")
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in MUTATING)

    def action_reload(self) -> None:
        states = ("dead", "rejected", "retrying") if self.problems_only else ()
        self.rows = list_actions(self.runtime, states=states, limit=SHOWN)
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in self.rows:
            table.add_row(str(row.id), clean_text(row.order_reference, 40), row.channel, row.kind, row.state,
                          str(row.attempts), f"{row.updated_at:%m-%d %H:%M}",
                          clean_text(row.last_error or "", 80), key=str(row.id))
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))
        which = "dead, rejected and retrying actions" if self.problems_only else "all actions"
        self.query_one("#title", Static).update(
            f"Outbox — {which}, newest first ({len(self.rows)} shown; r re-queue dead, x cancel unsent, f filter)"
        )

    def action_toggle_problems(self) -> None:
        self.problems_only = not self.problems_only
        self.action_reload()

    def _selected(self) -> ActionRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_retry(self) -> None:
        self._change(requeue_action, "re-queued")

    def action_cancel(self) -> None:
        self._change(cancel_action, "cancelled")

    def _change(self, change: Callable[[Runtime, int], str | None], done: str) -> None:
        row = self._selected()
        if row is None:
            return
        error = change(self.runtime, row.id)
        if error:
            self.notify(error, severity="warning")
        else:
            self.notify(f"action #{row.id} ({row.kind} on {clean_text(row.order_reference, 40)}) {done}")
        self.action_reload()
