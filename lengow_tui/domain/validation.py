"""Validate an action request against a marketplace declaration and the order's current state.

Validation happens before anything is queued, and reports every problem at once, each tied to the
argument (or ``action`` / ``lines``) it concerns, so a form can show them next to its fields.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lengow_tui.domain.declarations import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    Condition,
    MarketplaceDeclaration,
)
from lengow_tui.domain.statuses import Status


@dataclass(frozen=True)
class LineFacts:
    line_id: str
    quantity: int
    amount_cents: int
    status: Status | None = None


@dataclass(frozen=True)
class OrderFacts:
    """What validation needs to know about an order."""

    status: Status | None
    raw_status: str
    delivery_type: str | None = None
    marketplace: str = ""
    lines: tuple[LineFacts, ...] = ()
    total_cents: int = 0

    def attribute(self, name: str) -> str | None:
        if name == "delivery_type":
            return self.delivery_type
        if name == "marketplace":
            return self.marketplace
        return None


@dataclass(frozen=True)
class LineSelection:
    """A line an action applies to, with an optional quantity and amount (partial refund/cancel)."""

    line_id: str
    quantity: int | None = None
    amount_cents: int | None = None


@dataclass(frozen=True)
class Problem:
    field: str  # an argument name, "action" or "lines"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class ValidatedAction:
    """The outcome of validation: either problems, or clean arguments and lines ready to queue."""

    kind: ActionKind
    problems: list[Problem] = field(default_factory=list)
    arguments: dict[str, str] = field(default_factory=dict)
    lines: tuple[LineSelection, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


def _status_label(status: Status | None) -> str:
    return status.label if status is not None else "unknown"


def _has_control_chars(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _condition_holds(cond: Condition, order: OrderFacts, args: Mapping[str, str]) -> bool:
    value = order.attribute(cond.name) if cond.on == "order" else args.get(cond.name)
    if value is None:
        return False
    folded = value.casefold()
    return any(folded == v.casefold() for v in cond.values)


def _check_value(arg: ArgumentSpec, value: str, order: OrderFacts) -> str | None:
    """Return a message when ``value`` is not valid for ``arg``, else None."""
    if _has_control_chars(value):
        return "contains control characters"
    if arg.max_length is not None and len(value) > arg.max_length:
        return f"is {len(value)} characters long; at most {arg.max_length} allowed"
    if arg.type == ArgType.QUANTITY:
        try:
            number = int(value)
        except ValueError:
            return f"must be a whole number, not {value!r}"
        if number <= 0:
            return "must be at least 1"
    elif arg.type == ArgType.AMOUNT:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return f"must be an amount such as 12.50, not {value!r}"
        if not amount.is_finite() or amount < 0:
            return "must be zero or more"
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            return "has more than two decimals"
    elif arg.type == ArgType.DATE:
        try:
            if "T" in value or " " in value:
                datetime.fromisoformat(value)
            else:
                date.fromisoformat(value)
        except ValueError:
            return f"must be a date such as 2026-11-26, not {value!r}"
    elif arg.type == ArgType.LINE:
        if value not in {line.line_id for line in order.lines}:
            return f"{value!r} is not a line of this order"
    if arg.valid_values and not arg.accept_free_values and arg.choice_label(value) is None:
        codes = ", ".join(c.code for c in arg.valid_values[:12])
        more = "…" if len(arg.valid_values) > 12 else ""
        return f"{value!r} is not a valid value; choose one of: {codes}{more}"
    return None


def _validate_lines(
    spec: ActionSpec, order: OrderFacts, lines: Sequence[LineSelection], problems: list[Problem]
) -> tuple[LineSelection, ...]:
    if not spec.per_line:
        if lines:
            problems.append(Problem("lines", f"{spec.kind} applies to the whole order, not to single lines"))
        return ()
    by_id = {line.line_id: line for line in order.lines}
    if not lines:
        # No selection: every line still in a status the action is allowed from (or whose status is
        # not tracked per line).
        chosen = tuple(
            LineSelection(line.line_id)
            for line in order.lines
            if line.status is None or line.status in spec.allowed_from
        )
        if not chosen and order.lines:
            problems.append(Problem("lines", f"no line of this order can be {spec.kind}ed in its current status"))
        return chosen
    seen: set[str] = set()
    for sel in lines:
        line = by_id.get(sel.line_id)
        if line is None:
            problems.append(Problem("lines", f"{sel.line_id!r} is not a line of this order"))
            continue
        if sel.line_id in seen:
            problems.append(Problem("lines", f"line {sel.line_id!r} is selected twice"))
        seen.add(sel.line_id)
        if line.status is not None and line.status not in spec.allowed_from:
            problems.append(
                Problem("lines", f"line {sel.line_id!r} is {_status_label(line.status)}; cannot {spec.kind} it")
            )
        if sel.quantity is not None and not 0 < sel.quantity <= line.quantity:
            problems.append(
                Problem("lines", f"line {sel.line_id!r}: quantity must be between 1 and {line.quantity}")
            )
        if sel.amount_cents is not None and not 0 <= sel.amount_cents <= line.amount_cents:
            problems.append(
                Problem(
                    "lines",
                    f"line {sel.line_id!r}: amount must be between 0 and {line.amount_cents / 100:.2f}",
                )
            )
        partial_sel = sel.quantity not in (None, line.quantity) or sel.amount_cents not in (None, line.amount_cents)
        if partial_sel and not spec.partial:
            problems.append(Problem("lines", f"{spec.kind} cannot be partial on this marketplace"))
    if not spec.partial:
        eligible = {l.line_id for l in order.lines if l.status is None or l.status in spec.allowed_from}
        if seen and seen != eligible and not problems:
            problems.append(
                Problem("lines", f"{spec.kind} must cover every eligible line on this marketplace")
            )
    return tuple(lines)


def validate_action(
    declaration: MarketplaceDeclaration,
    order: OrderFacts,
    kind: ActionKind | str,
    arguments: Mapping[str, str] | None = None,
    lines: Sequence[LineSelection] = (),
) -> ValidatedAction:
    """Check an action against the marketplace's declaration and the order's state.

    Returns a :class:`ValidatedAction` with every problem found; when it is ``ok`` its ``arguments``
    hold the cleaned values (defaults applied, blanks dropped) and ``lines`` the lines to act on.
    """
    try:
        kind = ActionKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in ActionKind)
        return ValidatedAction(ActionKind.ACCEPT, [Problem("action", f"unknown action {kind!r}; one of {choices}")])
    result = ValidatedAction(kind)
    problems = result.problems
    spec = declaration.action(kind)
    if spec is None:
        supported = ", ".join(a.kind.value for a in declaration.actions) or "none"
        problems.append(
            Problem("action", f"{declaration.name} does not support {kind}; supported actions: {supported}")
        )
        return result
    if order.status is None:
        problems.append(
            Problem(
                "action",
                f"the order's marketplace status {order.raw_status!r} is not mapped; "
                "it is flagged for review and no action can be sent until it is",
            )
        )
    elif order.status not in spec.allowed_from:
        allowed = ", ".join(sorted(s.label for s in spec.allowed_from))
        problems.append(
            Problem(
                "action",
                f"{declaration.name} does not allow {kind} on an order that is {order.status.label}; "
                f"allowed from: {allowed}",
            )
        )

    given = {k: ("" if v is None else str(v)).strip() for k, v in (arguments or {}).items()}
    declared = {arg.name for arg in spec.arguments}
    for name in given:
        if name not in declared:
            takes = ", ".join(sorted(declared)) or "no arguments"
            problems.append(Problem(name, f"unknown argument for {kind} on {declaration.name}; it takes: {takes}"))
    clean: dict[str, str] = {}
    for arg in spec.arguments:
        value = given.get(arg.name, "")
        if not value and arg.default is not None:
            value = arg.default
        if value and arg.valid_values and arg.choice_label(value) is None:
            # Codes are matched case-insensitively and sent in the marketplace's own spelling.
            folded = value.casefold()
            value = next((c.code for c in arg.valid_values if c.code.casefold() == folded), value)
        if value:
            clean[arg.name] = value
    for arg in spec.arguments:
        if arg.name not in clean:
            if arg.required:
                problems.append(Problem(arg.name, f"{arg.label} is required"))
            else:
                for cond in arg.required_when:
                    if _condition_holds(cond, order, clean):
                        problems.append(Problem(arg.name, f"{arg.label} is required when {cond.describe()}"))
                        break
            continue
        message = _check_value(arg, clean[arg.name], order)
        if message:
            problems.append(Problem(arg.name, f"{arg.label} {message}"))
    result.arguments = clean
    result.lines = _validate_lines(spec, order, lines, problems)
    return result
