"""The activity log: what the app did (bulk results, sync errors), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    summary: str
    details: tuple[str, ...] = ()
    level: str = "info"  # info, warning, error


class ActivityLogScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="activity.back"),
        Binding("q", "app.pop_screen", "Back", show=False),
    ]
    DEFAULT_CSS = """
    ActivityLogScreen #title { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, entries: list[ActivityEntry]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        yield Static("Activity log — newest first (esc to go back)", id="title")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        if not self.entries:
            log.write(Text("Nothing yet: bulk results and sync problems appear here."))
        style = {"info": "", "warning": "yellow", "error": "red"}
        for entry in reversed(self.entries):
            log.write(Text(f"{entry.at:%H:%M:%S}  {entry.summary}", style=style.get(entry.level, "")))
            for detail in entry.details[:200]:
                log.write(Text(f"          {detail}"))
            if len(entry.details) > 200:
                log.write(Text(f"          … and {len(entry.details) - 200} more"))
