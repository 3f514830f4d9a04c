"""``?``: every key active on the screen below, generated from its bindings (so remaps show)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.containers import Vertical
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90; max-width: 100%; height: 90%; border: round $accent; background: $surface; }
    HelpScreen #title { height: 1; padding: 0 1; text-style: bold; }
    HelpScreen DataTable { height: 1fr; }
    """

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Keys (esc closes). Remap any binding id under [keys] in the config."), id="title")
            yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "Binding id")
        seen: set[tuple[str, str]] = set()
        rows = []
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            description = binding.description or binding.action.replace("_", " ")
            if (description, binding.id or binding.action) in seen and not binding.id:
                continue
            seen.add((description, binding.id or binding.action))
            display = self.app.get_key_display(binding)
            rows.append((binding.id or "", display, description, "" if active.enabled else " (not now)"))
        for binding_id, display, description, state in sorted(rows, key=lambda r: (r[0] == "", r[0], r[1])):
            table.add_row(display, description + state, binding_id or "-")
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
