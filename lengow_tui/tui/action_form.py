"""The form of one action on one order, generated from the marketplace's argument declarations.

Validation is the domain's (``validate_action``), run on every change and on submit, so the form says
exactly what ``queue_action`` would refuse, next to the field concerned.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from rich.text import Text
from sqlmodel import select
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from lengow_tui.domain import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    Choice,
    Condition,
    LineSelection,
    MarketplaceDeclaration,
    OrderFacts,
    Problem,
    validate_action,
)
from lengow_tui.services.actions import QueueResult, queue_action
from lengow_tui.services.orders import order_facts
from lengow_tui.store.models import Order, OrderLine
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

# What a field accepts while typing (the whole value must match); the domain checks the rest.
RESTRICT = {
    ArgType.QUANTITY: r"[0-9]*",
    ArgType.AMOUNT: r"[0-9]*([.,][0-9]{0,2})?",
    ArgType.DATE: r"[0-9T:. +-]*",
}
TOP_FIELDS = ("action", "lines")


@dataclass(frozen=True)
class Field:
    """One argument of the form: its position (widget ids are ``arg-<index>``), spec and choices."""

    index: int
    arg: ArgumentSpec
    choices: tuple[Choice, ...]
    uses_select: bool


def _condition_holds(cond: Condition, facts: OrderFacts, arguments: dict[str, str]) -> bool:
    value = facts.attribute(cond.name) if cond.on == "order" else arguments.get(cond.name)
    return value is not None and value.casefold() in {v.casefold() for v in cond.values}


def build_fields(spec: ActionSpec, declaration: MarketplaceDeclaration, lines: list[OrderLine]) -> list[Field]:
    fields = []
    for index, arg in enumerate(spec.arguments):
        choices = arg.valid_values
        from_carriers = not choices and arg.name == "carrier" and bool(declaration.carriers)
        if from_carriers:
            choices = tuple(Choice(c.code, c.label) for c in declaration.carriers)
        if arg.type == ArgType.LINE:
            choices = tuple(Choice(line.line_id, f"{line.line_id} {line.title}") for line in lines)
        strict = (not arg.accept_free_values or arg.type == ArgType.LINE
                  or (from_carriers and arg.type == ArgType.CHOICE))
        fields.append(Field(index, arg, choices, uses_select=bool(choices) and strict))
    return fields


def _line_text(line: OrderLine, currency: str) -> Content:
    title = clean_text(line.title, 50)
    return Content(f"{clean_text(line.line_id, 30)}  {line.quantity} × {title}  "
                   f"{line.amount_cents / 100:,.2f} {clean_text(currency, 3)}")


class ActionFormScreen(ModalScreen[QueueResult | None]):
    """Queue ``spec`` on order ``order_id``. Dismisses with the QueueResult on success, None on escape."""

    DEFAULT_CSS = """
    ActionFormScreen { align: center middle; }
    ActionFormScreen > #form { width: 84; max-width: 100%; height: auto; max-height: 100%;
                               border: round $accent; background: $surface; padding: 0 1; }
    ActionFormScreen #fields { height: auto; max-height: 62vh; }
    ActionFormScreen .field-label { margin-top: 1; text-style: bold; }
    ActionFormScreen .hint { color: $text-muted; height: auto; }
    ActionFormScreen .error { color: $error; height: auto; }
    ActionFormScreen #problems-top { color: $error; height: auto; }
    ActionFormScreen .line-row { height: auto; }
    ActionFormScreen .line-row Label { width: 1fr; }
    ActionFormScreen .line-row Input { width: 18; margin-left: 1; }
    ActionFormScreen SelectionList { height: auto; max-height: 8; }
    ActionFormScreen #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ActionFormScreen #buttons Button { margin-left: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="action_form.cancel"),
        Binding("ctrl+s", "submit", "Queue", priority=True, id="action_form.submit"),
    ]

    def __init__(
        self, runtime: Runtime, order_id: int, spec: ActionSpec, declaration: MarketplaceDeclaration
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.order_id = order_id
        self.spec = spec
        self.declaration = declaration
        with runtime.store.read() as session:
            order = session.get(Order, order_id)
            if order is None:
                raise LookupError(f"no order with id {order_id}")
            self.order = order
            self.facts = order_facts(session, order)
            self.lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order_id)
                                           .order_by(OrderLine.id)))
        self.fields = build_fields(spec, declaration, self.lines)
        self.touched: set[str] = set()
        self.submitted = False

    # --- layout -----------------------------------------------------------------------------------

    @property
    def quantities(self) -> bool:
        # A partial accept or refuse picks whole lines; only refunds and cancellations take part of one.
        return self.spec.partial and self.spec.kind in (ActionKind.REFUND, ActionKind.CANCEL)

    @property
    def amounts(self) -> bool:
        # Money per line only makes sense when money moves back to the customer.
        return self.spec.partial and self.spec.kind == ActionKind.REFUND

    def _eligible(self, line: OrderLine) -> bool:
        return line.status is None or line.status in self.spec.allowed_from

    def compose(self) -> ComposeResult:
        title = f"{self.spec.kind.value.capitalize()} order {clean_text(self.order.marketplace_order_id)}"
        with Vertical(id="form") as form:
            form.border_title = Content(f"{title} · {clean_text(self.declaration.name)}")
            if self.spec.help:
                yield Static(Content(clean_text(self.spec.help)), classes="hint")
            yield Static("", id="problems-top")
            with VerticalScroll(id="fields"):
                for field in self.fields:
                    yield from self._compose_field(field)
                if self.spec.per_line and self.lines:
                    yield from self._compose_lines()
                if not self.fields and not self.spec.per_line:
                    yield Static(Content(f"{self.spec.kind.value} takes no arguments; queue it?"),
                                 classes="hint")
            with Horizontal(id="buttons"):
                yield Button(Content(f"Queue {self.spec.kind.value} (ctrl+s)"), id="submit", variant="primary",
                             compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _compose_field(self, field: Field) -> ComposeResult:
        arg, i = field.arg, field.index
        yield Label(self._label(arg, False), id=f"label-{i}", classes="field-label")
        if field.uses_select:
            # rich Text, not Content: Select's type-to-search only reads str and Text prompts.
            options = [(Text(f"{clean_text(c.label)} ({clean_text(c.code)})" if c.label != c.code
                             else clean_text(c.code)), c.code) for c in field.choices]
            codes = {c.code for c in field.choices}
            value = arg.default if arg.default in codes else Select.NULL
            yield Select(options, value=value, prompt=escape(f"choose {clean_text(arg.label).lower()}"),
                         id=f"arg-{i}", compact=True)
        else:
            codes_list = [c.code for c in field.choices]
            suggester = SuggestFromList(codes_list, case_sensitive=False) if codes_list else None
            yield Input(arg.default or "", id=f"arg-{i}", restrict=RESTRICT.get(arg.type), compact=True,
                        max_length=arg.max_length or 0, suggester=suggester,
                        placeholder={ArgType.DATE: "YYYY-MM-DD", ArgType.AMOUNT: "0.00"}.get(arg.type, ""))
        hints = [clean_text(arg.help)] if arg.help else []
        if arg.required_when and not arg.required:
            hints.append("required when " + " or ".join(c.describe() for c in arg.required_when))
        if field.choices and not field.uses_select:
            shown = ", ".join(c.code for c in field.choices[:8])
            hints.append(f"e.g. {shown}{'…' if len(field.choices) > 8 else ''} (free values accepted)")
        hint = Static(Content(clean_text("; ".join(hints))), id=f"hint-{i}", classes="hint")
        hint.display = bool(hints)
        yield hint
        yield Static("", id=f"error-{i}", classes="error")

    def _compose_lines(self) -> ComposeResult:
        yield Label("Lines *", classes="field-label")
        yield SelectionList[int](
            *(Selection(_line_text(line, self.order.currency), i, initial_state=self._eligible(line),
                        disabled=not self._eligible(line)) for i, line in enumerate(self.lines)),
            id="lines",
        )
        if self.quantities:
            what = "quantity and amount" if self.amounts else "quantity"
            yield Static(f"Leave the {what} blank to take the whole line.", classes="hint")
            for i, line in enumerate(self.lines):
                if not self._eligible(line):
                    continue
                with Horizontal(classes="line-row"):
                    yield Label(Content(clean_text(line.line_id, 40)))
                    yield Input(id=f"qty-{i}", restrict=RESTRICT[ArgType.QUANTITY], compact=True,
                                placeholder=f"qty ≤ {line.quantity}")
                    if self.amounts:
                        yield Input(id=f"amount-{i}", restrict=RESTRICT[ArgType.AMOUNT], compact=True,
                                    placeholder=f"amount ≤ {line.amount_cents / 100:.2f}")

    def on_mount(self) -> None:
        focusable = self.query("#fields Input, #fields Select, #fields SelectionList")
        (focusable.first() if focusable else self.query_one("#submit")).focus()
        self._validate()

    def _label(self, arg: ArgumentSpec, required_now: bool) -> Content:
        marker = " *" if arg.required or required_now else ""
        return Content(f"{clean_text(arg.label)}{marker}")

    # --- values and validation --------------------------------------------------------------------

    def arguments(self) -> dict[str, str]:
        """The current values, blanks left out (the domain applies defaults)."""
        values: dict[str, str] = {}
        for field in self.fields:
            if field.uses_select:
                raw = self.query_one(f"#arg-{field.index}", Select).value
                value = "" if raw is Select.NULL else str(raw)
            else:
                value = self.query_one(f"#arg-{field.index}", Input).value.strip()
                if field.arg.type == ArgType.AMOUNT:
                    value = value.replace(",", ".")
            if value:
                values[field.arg.name] = value
        return values

    def line_selections(self) -> tuple[list[LineSelection], list[Problem]]:
        if not self.spec.per_line or not self.lines:
            return [], []
        chosen = sorted(self.query_one("#lines", SelectionList).selected)
        problems = [] if chosen else [Problem("lines", "select at least one line")]
        selections = []
        for i in chosen:
            line = self.lines[i]
            quantity = amount = None
            qty_text = self._input_value(f"#qty-{i}")
            if qty_text:
                quantity = int(qty_text)
            amount_text = self._input_value(f"#amount-{i}").replace(",", ".")
            if amount_text:
                try:
                    amount = int(Decimal(amount_text) * 100)
                except InvalidOperation:
                    problems.append(Problem("lines", f"line {line.line_id}: {amount_text!r} is not an amount"))
            selections.append(LineSelection(line.line_id, quantity, amount))
        return selections, problems

    def _input_value(self, selector: str) -> str:
        found = self.query(selector)
        return found.first(Input).value.strip() if found else ""

    def _validate(self) -> list[Problem]:
        arguments = self.arguments()
        lines, problems = self.line_selections()
        problems += validate_action(self.declaration, self.facts, self.spec.kind, arguments, lines).problems
        self._show(problems)
        for field in self.fields:
            required_now = any(_condition_holds(c, self.facts, arguments) for c in field.arg.required_when)
            self.query_one(f"#label-{field.index}", Label).update(self._label(field.arg, required_now))
        return problems

    def _show(self, problems: list[Problem]) -> None:
        names = {field.arg.name for field in self.fields}
        per_field: dict[str, list[str]] = {}
        top: list[str] = []
        for problem in problems:
            if problem.field in names and problem.field not in TOP_FIELDS:
                if self.submitted or problem.field in self.touched:
                    per_field.setdefault(problem.field, []).append(problem.message)
            elif problem.field == "action" or self.submitted or "lines" in self.touched:
                top.append(problem.message if problem.field == "action"
                           else f"{problem.field}: {problem.message}")
        for field in self.fields:
            messages = per_field.get(field.arg.name, [])
            self._set_message(f"#error-{field.index}", clean_text("; ".join(messages)))
        self._set_message("#problems-top", "\n".join(clean_text(m) for m in top))

    def _set_message(self, selector: str, message: str) -> None:
        widget = self.query_one(selector, Static)
        widget.update(Content(message))
        widget.display = bool(message)

    def _field_name(self, widget_id: str | None) -> str | None:
        if widget_id and widget_id.startswith("arg-"):
            return self.fields[int(widget_id.removeprefix("arg-"))].arg.name
        if widget_id and (widget_id == "lines" or widget_id.startswith(("qty-", "amount-"))):
            return "lines"
        return None

    @on(Input.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    def _changed(self, event: Input.Changed | Select.Changed | SelectionList.SelectedChanged) -> None:
        name = self._field_name(event.control.id if event.control else None)
        if name and self.is_mounted:
            self.touched.add(name)
            self._validate()

    # --- submit / cancel --------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        self.submitted = True
        if self._validate():
            return
        lines, _ = self.line_selections()
        try:
            result = queue_action(self.runtime, self.order_id, self.spec.kind, self.arguments(), lines,
                                  source="tui")
        except Exception as exc:  # the store is busy or gone: say so, keep the form
            self._show([Problem("action", f"could not queue the action ({type(exc).__name__}); try again")])
            return
        if not result.ok:
            self._show(result.problems)
            return
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
