"""Marketplace declarations: what a marketplace says about its statuses, actions and documents.

A connector provides one :class:`MarketplaceDeclaration` per marketplace it serves. The host never
hard-codes marketplace rules: which action is possible on an order, which arguments it takes and which
documents exist are all read from here. Modelled on Lengow's ``/v3.0/marketplaces`` definitions
(``orders.status``, ``orders.actions.<action>.args/optional_args/args_description``, ``orders.carriers``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from lengow_tui.domain.statuses import Status, aggregate_line_statuses


def _as_status(value: object) -> object:
    """A Status for a valid status string; anything else unchanged, for check() to report."""
    if isinstance(value, str) and not isinstance(value, Status):
        try:
            return Status(value)
        except ValueError:
            return value
    return value


class ActionKind(StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"
    SHIP = "ship"
    CANCEL = "cancel"
    REFUND = "refund"


class ArgType(StrEnum):
    """Type of an action argument; decides how a value is parsed and which widget edits it."""

    TEXT = "text"
    CHOICE = "choice"
    QUANTITY = "quantity"  # a positive whole number
    AMOUNT = "amount"  # a non-negative decimal amount in the order's currency
    DATE = "date"  # ISO 8601 date or date-time
    LINE = "line"  # an order line id of the order


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DELIVERY_SLIP = "delivery_slip"
    PACKING_SLIP = "packing_slip"
    SHIPPING_LABEL = "shipping_label"
    RETURN_NOTE = "return_note"
    OTHER = "other"


@dataclass(frozen=True)
class Choice:
    """One valid value of an argument: the code sent to the marketplace and the label shown."""

    code: str
    label: str


@dataclass(frozen=True)
class Condition:
    """When an argument becomes required.

    ``on="order"`` tests an order attribute (only ``delivery_type`` is provided today);
    ``on="argument"`` tests the value of another argument of the same action.
    The condition holds when the tested value is one of ``values`` (case-insensitive).
    """

    on: Literal["order", "argument"]
    name: str
    values: tuple[str, ...]

    def describe(self) -> str:
        subject = "the order's " + self.name.replace("_", " ") if self.on == "order" else self.name
        return f"{subject} is {' or '.join(repr(v) for v in self.values)}"


def when_order(name: str, *values: str) -> Condition:
    """Required when the order's attribute ``name`` is one of ``values``."""
    return Condition("order", name, tuple(values))


def when_argument(name: str, *values: str) -> Condition:
    """Required when the argument ``name`` is one of ``values``."""
    return Condition("argument", name, tuple(values))


@dataclass(frozen=True)
class ArgumentSpec:
    """One argument of an action, as the marketplace declares it."""

    name: str
    label: str
    type: ArgType = ArgType.TEXT
    required: bool = False
    valid_values: tuple[Choice, ...] = ()
    accept_free_values: bool = True
    default: str | None = None
    required_when: tuple[Condition, ...] = ()
    help: str = ""
    max_length: int | None = None

    def choice_label(self, code: str) -> str | None:
        for choice in self.valid_values:
            if choice.code == code:
                return choice.label
        return None


@dataclass(frozen=True)
class ActionSpec:
    """An action the marketplace supports: from which statuses, at which level, with which arguments."""

    kind: ActionKind
    allowed_from: frozenset[Status]
    per_line: bool = False
    arguments: tuple[ArgumentSpec, ...] = ()
    result_status: Status | None = None  # the status the order reaches once the marketplace applied it
    partial: bool = False  # per-line actions: may target a subset of lines (partial refund, partial cancel)
    help: str = ""

    def __post_init__(self) -> None:
        # Accept plain status strings ("shipped") as well as Status members; check() reports the rest.
        object.__setattr__(self, "allowed_from", frozenset(_as_status(s) for s in self.allowed_from))
        if self.result_status is not None:
            object.__setattr__(self, "result_status", _as_status(self.result_status))

    def argument(self, name: str) -> ArgumentSpec | None:
        for arg in self.arguments:
            if arg.name == name:
                return arg
        return None


@dataclass(frozen=True)
class CarrierSpec:
    code: str
    label: str
    tracking_url_template: str | None = None  # e.g. "https://carrier.example/track?n={tracking_number}"

    def tracking_url(self, tracking_number: str) -> str | None:
        if not self.tracking_url_template or not tracking_number:
            return None
        return self.tracking_url_template.replace("{tracking_number}", tracking_number)


@dataclass(frozen=True)
class DocumentSpec:
    kind: DocumentKind
    label: str
    available_from: frozenset[Status]


@dataclass(frozen=True)
class StatusMap:
    """Raw marketplace status -> common status.

    ``order`` maps the order-level raw status. Marketplaces that track state per line also give
    ``lines``; with ``derive_from_lines`` the order's status is computed from its lines with
    :func:`~lengow_tui.domain.statuses.aggregate_line_statuses` whenever the lines are known.
    Raw statuses are compared case-sensitively first, then case-insensitively (Zalando mixes cases).
    An unknown raw status maps to ``None``: the order keeps its raw status and is flagged for review.
    """

    order: Mapping[str, Status]
    lines: Mapping[str, Status] = field(default_factory=dict)
    derive_from_lines: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", {k: _as_status(v) for k, v in self.order.items()})
        object.__setattr__(self, "lines", {k: _as_status(v) for k, v in self.lines.items()})

    def order_status(self, raw: str | None) -> Status | None:
        return _lookup(self.order, raw)

    def line_status(self, raw: str | None) -> Status | None:
        return _lookup(self.lines or self.order, raw)

    def resolve(self, raw_order: str | None, raw_lines: list[str | None]) -> Status | None:
        """The common status of an order from its raw order status and raw line statuses."""
        if self.derive_from_lines and raw_lines:
            mapped = [self.line_status(r) for r in raw_lines]
            if all(m is not None for m in mapped):
                return aggregate_line_statuses(m for m in mapped if m is not None)
        return self.order_status(raw_order)


def _lookup(mapping: Mapping[str, Status], raw: str | None) -> Status | None:
    if raw is None:
        return None
    found = mapping.get(raw)
    if found is not None:
        return found
    folded = raw.casefold()
    for key, value in mapping.items():
        if key.casefold() == folded:
            return value
    return None


_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class MarketplaceDeclaration:
    """Everything a marketplace tells the host about its orders."""

    code: str  # slug, unique within its connector, e.g. "fnac_fr"
    name: str  # shown to the merchant, e.g. "Fnac"
    status_map: StatusMap
    actions: tuple[ActionSpec, ...] = ()
    carriers: tuple[CarrierSpec, ...] = ()
    documents: tuple[DocumentSpec, ...] = ()
    delivery_types: tuple[Choice, ...] = ()
    min_poll_interval_seconds: int = 60
    rate_limit_per_minute: int | None = None
    country: str | None = None

    def action(self, kind: ActionKind | str) -> ActionSpec | None:
        for spec in self.actions:
            if spec.kind == kind:
                return spec
        return None

    def carrier(self, code: str) -> CarrierSpec | None:
        for carrier in self.carriers:
            if carrier.code == code:
                return carrier
        return None

    def actions_allowed(self, status: Status | None) -> tuple[ActionSpec, ...]:
        if status is None:
            return ()
        return tuple(a for a in self.actions if status in a.allowed_from)

    def documents_available(self, status: Status | None) -> tuple[DocumentSpec, ...]:
        if status is None:
            return ()
        return tuple(d for d in self.documents if status in d.available_from)

    def check(self) -> list[str]:
        """Every inconsistency in this declaration, as sentences a plugin author can act on."""
        problems: list[str] = []
        where = f"marketplace {self.code!r}"
        if not _SLUG.match(self.code):
            problems.append(f"{where}: code must be a lowercase slug (letters, digits, underscore)")
        if not self.name.strip():
            problems.append(f"{where}: name is empty")
        for label, mapping in (("order", self.status_map.order), ("line", self.status_map.lines)):
            for raw, target in mapping.items():
                if not isinstance(target, Status):
                    try:
                        Status(target)
                    except ValueError:
                        problems.append(
                            f"{where}: {label} status map sends {raw!r} to {target!r}, "
                            "which is not one of the 16 common statuses"
                        )
        if not self.status_map.order and not self.status_map.lines:
            problems.append(f"{where}: the status map is empty")
        seen: set[str] = set()
        for action in self.actions:
            a_where = f"{where}, action {action.kind!s}"
            if action.kind in seen:
                problems.append(f"{a_where}: declared twice")
            seen.add(action.kind)
            if not action.allowed_from:
                problems.append(f"{a_where}: allowed from no status (give at least one in allowed_from)")
            for status in action.allowed_from:
                if not isinstance(status, Status):
                    problems.append(f"{a_where}: allowed_from holds {status!r}, not a common status")
            if action.result_status is not None and not isinstance(action.result_status, Status):
                problems.append(f"{a_where}: result_status {action.result_status!r} is not a common status")
            names: set[str] = set()
            for arg in action.arguments:
                if not arg.name or not re.match(r"^[a-z][a-z0-9_]*$", arg.name):
                    problems.append(f"{a_where}: argument name {arg.name!r} must be a lowercase identifier")
                if arg.name in names:
                    problems.append(f"{a_where}: argument {arg.name!r} declared twice")
                names.add(arg.name)
                if arg.type == ArgType.CHOICE and not arg.valid_values:
                    problems.append(f"{a_where}: choice argument {arg.name!r} has no valid values")
                if arg.default is not None and arg.valid_values and not arg.accept_free_values:
                    if arg.choice_label(arg.default) is None:
                        problems.append(
                            f"{a_where}: default {arg.default!r} of {arg.name!r} is not among its valid values"
                        )
            for arg in action.arguments:
                for cond in arg.required_when:
                    if cond.on == "argument" and cond.name not in names:
                        problems.append(
                            f"{a_where}: {arg.name!r} depends on argument {cond.name!r}, which is not declared"
                        )
                    if cond.on == "order" and cond.name not in ORDER_CONDITION_FIELDS:
                        problems.append(
                            f"{a_where}: {arg.name!r} depends on order field {cond.name!r}; "
                            f"supported: {', '.join(sorted(ORDER_CONDITION_FIELDS))}"
                        )
        for doc in self.documents:
            if not doc.available_from:
                problems.append(f"{where}: document {doc.kind!s} is available from no status")
        if self.min_poll_interval_seconds < 0:
            problems.append(f"{where}: min_poll_interval_seconds is negative")
        return problems


ORDER_CONDITION_FIELDS = frozenset({"delivery_type", "marketplace"})
