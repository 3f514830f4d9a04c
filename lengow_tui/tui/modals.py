"""Small modal dialogs: a text prompt and a custom date range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text. Enter accepts, escape cancels (dismisses None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 70; max-width: 95%; height: auto; border: round $accent; padding: 1 2;
                              background: $surface; }
    PromptScreen #error { color: $error; height: auto; }
    """

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(self.value, placeholder=self.placeholder, id="prompt")
            yield Static("", id="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


def parse_day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    return date.fromisoformat(text)


class DateRangeScreen(ModalScreen[tuple[datetime | None, datetime | None] | None]):
    """Custom date range: from (inclusive) and to (inclusive) days, either may be empty."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]
    DEFAULT_CSS = """
    DateRangeScreen { align: center middle; }
    DateRangeScreen > Vertical { width: 60; height: auto; border: round $accent; padding: 1 2; background: $surface; }
    DateRangeScreen Input { width: 1fr; }
    DateRangeScreen #error { color: $error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Orders placed between (YYYY-MM-DD, either may be empty)")
            with Horizontal(classes="row"):
                yield Input(placeholder="from", id="from")
                yield Input(placeholder="to", id="to")
            yield Static("", id="error")
            yield Button("Apply", variant="primary", id="apply")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._apply()

    def _apply(self) -> None:
        try:
            start = parse_day(self.query_one("#from", Input).value)
            end = parse_day(self.query_one("#to", Input).value)
        except ValueError:
            self.query_one("#error", Static).update("Dates are written like 2026-11-01.")
            return
        if start and end and end < start:
            self.query_one("#error", Static).update("The end is before the start.")
            return
        since = datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None
        until = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1) if end else None
        self.dismiss((since, until))

    def action_cancel(self) -> None:
        self.dismiss(None)
