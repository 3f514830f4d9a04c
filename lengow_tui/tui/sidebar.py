"""The status sidebar: "All" and the 16 statuses in their groups, each with a live count."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from lengow_tui.domain import STATUS_GROUPS, Status

ALL = "all"
REVIEW = "review"


def _line(label: str, count: int | None, width: int = 23) -> Text:
    number = "" if count is None else f"{count:,}"
    room = max(4, width - len(number) - 1)
    if len(label) > room:
        label = label[: room - 1] + "…"
    pad = max(1, width - len(label) - len(number))
    return Text(f"{label}{' ' * pad}{number}", no_wrap=True, overflow="ellipsis")


class StatusSidebar(OptionList):
    """Choosing an entry posts ``OptionList.OptionSelected`` (and ``OptionHighlighted``);
    the option id is ``all``, ``review`` or a status value."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(*self._build_options({}), id=id)
        self.status_counts: dict[str | None, int] = {}

    @staticmethod
    def _build_options(counts: dict[str | None, int]) -> list[Option | None]:
        total = sum(counts.values()) if counts else None
        options: list[Option | None] = [Option(_line("All", total), id=ALL)]
        for group, statuses in STATUS_GROUPS.items():
            options.append(Option(Text(group.label.upper(), style="bold"), id=f"group:{group.value}", disabled=True))
            for status in statuses:
                options.append(Option(_line("  " + status.label, counts.get(status.value, 0) if counts else None),
                                      id=status.value))
        review = counts.get(None, 0) if counts else None
        options.append(Option(_line("Needs review", review), id=REVIEW))
        return options

    def set_counts(self, counts: dict[str | None, int]) -> None:
        """Update the numbers in place (the highlighted entry stays)."""
        if counts == self.status_counts:
            return
        self.status_counts = dict(counts)
        for option in self._build_options(counts):
            if option is None or option.id is None or option.id.startswith("group:"):
                continue
            self.replace_option_prompt(option.id, option.prompt)

    def select_id(self, option_id: str) -> None:
        self.highlighted = self.get_option_index(option_id)

    @staticmethod
    def status_for(option_id: str | None) -> tuple[tuple[Status, ...], bool | None]:
        """Filter statuses and needs-review flag for a sidebar entry."""
        if option_id in (None, ALL):
            return (), None
        if option_id == REVIEW:
            return (), True
        return (Status(option_id),), None
