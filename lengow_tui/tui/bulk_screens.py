"""Bulk action dialogs: confirmation with eligibility, and shipping many orders at once."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lengow_tui.services.bulk import BulkPlan

SHOWN_INELIGIBLE = 50
SHOWN_TRACKING_INPUTS = 100


class BulkConfirmScreen(ModalScreen[bool]):
    """How many orders, how many eligible, which are skipped and why. Dismisses True to go ahead."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="bulk.cancel"),
        Binding("y", "confirm", "Confirm", id="bulk.confirm"),
        Binding("n", "cancel", "Cancel", show=False),
    ]
    DEFAULT_CSS = """
    BulkConfirmScreen { align: center middle; }
    BulkConfirmScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 90%;
                                   border: round $accent; padding: 1 2; background: $surface; }
    BulkConfirmScreen #skipped { height: auto; max-height: 12; }
    BulkConfirmScreen Horizontal { height: auto; margin-top: 1; }
    BulkConfirmScreen Button { margin-right: 2; }
    """

    def __init__(self, plan: BulkPlan, what: str = "") -> None:
        super().__init__()
        self.plan = plan
        self.what = what or str(plan.kind)

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical():
            yield Label(Text(f"{self.what.capitalize()} {plan.total:,} marked orders?", style="bold"), id="heading")
            yield Static(f"{len(plan.eligible):,} eligible, {len(plan.ineligible):,} will be skipped.", id="counts")
            if plan.ineligible:
                lines = [f"  {i.reference}: {i.reason}" for i in plan.ineligible[:SHOWN_INELIGIBLE]]
                if len(plan.ineligible) > SHOWN_INELIGIBLE:
                    lines.append(f"  … and {len(plan.ineligible) - SHOWN_INELIGIBLE:,} more")
                with VerticalScroll(id="skipped"):
                    yield Static(Text("Skipped:\n" + "\n".join(lines)))
            with Horizontal():
                yield Button(f"{self.what.capitalize()} {len(plan.eligible):,} (y)", variant="primary", id="confirm",
                             disabled=not plan.eligible)
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm" if self.plan.eligible else "#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        if self.plan.eligible:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class BulkShipScreen(ModalScreen[dict[int, dict[str, str]] | None]):
    """One carrier for all with a tracking number per order, or a CSV of order id, carrier, tracking.

    Dismisses arguments per order id (None when cancelled).
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="bulk.cancel"),
        Binding("ctrl+s", "submit", "Ship", id="bulk.submit"),
    ]
    DEFAULT_CSS = """
    BulkShipScreen { align: center middle; }
    BulkShipScreen > Vertical { width: 80; max-width: 100%; height: 90%; border: round $accent; padding: 0 1;
                                background: $surface; }
    BulkShipScreen #orders { height: 1fr; }
    BulkShipScreen .order-row { height: 3; }
    BulkShipScreen .order-row Label { width: 28; padding: 1 0; }
    BulkShipScreen .order-row Input { width: 1fr; }
    BulkShipScreen #error { color: $error; height: auto; }
    BulkShipScreen Horizontal.buttons { height: 3; }
    """

    def __init__(self, plan: BulkPlan, carriers: list[str], runtime: object) -> None:
        super().__init__()
        self.plan = plan
        self.carriers = carriers
        self.runtime = runtime

    def compose(self) -> ComposeResult:
        eligible = self.plan.eligible
        with Vertical():
            yield Label(Text(f"Ship {len(eligible):,} orders ({len(self.plan.ineligible):,} not eligible, skipped)",
                             style="bold"))
            hint = ", ".join(self.carriers[:12]) + ("…" if len(self.carriers) > 12 else "")
            yield Input(placeholder=f"Carrier for all, e.g. {hint}", id="carrier")
            yield Input(placeholder="…or a CSV file: order id, carrier, tracking number", id="csv")
            with VerticalScroll(id="orders"):
                for order_id in eligible[:SHOWN_TRACKING_INPUTS]:
                    with Horizontal(classes="order-row"):
                        yield Label(self.plan.references.get(order_id, str(order_id)))
                        yield Input(placeholder="tracking number", id=f"track-{order_id}")
                if len(eligible) > SHOWN_TRACKING_INPUTS:
                    yield Static(f"{len(eligible) - SHOWN_TRACKING_INPUTS:,} more orders: use a CSV file.")
            yield Static("", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Ship (ctrl+s)", variant="primary", id="submit")
                yield Button("Cancel (esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        from lengow_tui.services.bulk import ShipCsvError, read_ship_csv

        error = self.query_one("#error", Static)
        csv_path = self.query_one("#csv", Input).value.strip()
        if csv_path:
            try:
                rows = read_ship_csv(Path(csv_path).expanduser(), self.runtime)  # type: ignore[arg-type]
            except ShipCsvError as exc:
                error.update(str(exc))
                return
            self.dismiss(rows)
            return
        carrier = self.query_one("#carrier", Input).value.strip()
        if not carrier:
            error.update("Give a carrier for all orders, or a CSV file.")
            return
        result: dict[int, dict[str, str]] = {}
        for order_id in self.plan.eligible:
            args = {"carrier": carrier}
            try:
                tracking = self.query_one(f"#track-{order_id}", Input).value.strip()
            except Exception:
                tracking = ""
            if tracking:
                args["tracking_number"] = tracking
            result[order_id] = args
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
