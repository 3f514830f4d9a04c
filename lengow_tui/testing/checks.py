"""The conformance kit's checks as plain functions: each returns the problems it found, as sentences
that say what is wrong and what to change. :class:`~lengow_tui.testing.ConnectorConformance` turns
them into pytest tests; they are usable on their own too (a script, another test framework).

Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from lengow_tui.connector_api import (
    ActionKind,
    ActionSpec,
    ArgType,
    ConnectorSpec,
    LineSelection,
    MarketplaceDeclaration,
    PartyRole,
    RemoteOrder,
    Status,
    StatusMap,
)
from lengow_tui.domain import LineFacts, OrderFacts, validate_action

__all__ = [
    "STATUS_VALUES",
    "ActionCase",
    "action_problems",
    "argument_problems",
    "build_arguments",
    "config_field_problems",
    "fetched_declaration_problems",
    "order_facts",
    "personal_data",
    "record_problems",
    "resolve_status",
    "status_map_problems",
]

STATUS_VALUES: tuple[str, ...] = tuple(s.value for s in Status)
"""The 16 common statuses, as their string values."""

_SECRET_NAME = re.compile(r"(secret|password|passwd|token|api_?key|private|credential|auth)", re.I)
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def _one_of() -> str:
    return ", ".join(STATUS_VALUES)


def _is_status(value: object) -> bool:
    if isinstance(value, Status):
        return True
    try:
        Status(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


# --- declarations ------------------------------------------------------------------------------------


def _declared(spec: ConnectorSpec, declarations: Sequence[MarketplaceDeclaration] | None
              ) -> Sequence[MarketplaceDeclaration]:
    return spec.marketplaces if declarations is None else declarations


def status_map_problems(spec: ConnectorSpec,
                        declarations: Sequence[MarketplaceDeclaration] | None = None) -> list[str]:
    """Every status-map target (order and line level) must be one of the 16 common statuses.

    ``declarations``: the marketplaces to check, when not ``spec.marketplaces`` (a connector with
    ``dynamic_marketplaces`` gives what its ``fetch_marketplaces()`` returned)."""
    problems: list[str] = []
    for declaration in _declared(spec, declarations):
        sm: StatusMap = declaration.status_map
        if not sm.order and not sm.lines:
            problems.append(f"status map of marketplace {declaration.code!r} is empty: map every raw status the "
                            "marketplace sends to one of the 16 common statuses")
        for level, mapping in (("order", sm.order), ("line", sm.lines)):
            for raw, target in mapping.items():
                if not _is_status(target):
                    problems.append(
                        f"status map of marketplace {declaration.code!r} maps raw {raw!r} ({level} level) to "
                        f"{str(target)!r}, which is not one of the 16 statuses: use one of {_one_of()} "
                        "(lengow_tui.connector_api.Status)"
                    )
        if sm.derive_from_lines and not sm.lines:
            problems.append(f"marketplace {declaration.code!r} sets derive_from_lines=True but gives no line "
                            "status map: add StatusMap(lines={...}) or drop derive_from_lines")
    return problems


def action_problems(spec: ConnectorSpec,
                    declarations: Sequence[MarketplaceDeclaration] | None = None) -> list[str]:
    """Every action is allowed from at least one valid status, and its result status is valid."""
    problems: list[str] = []
    for declaration in _declared(spec, declarations):
        seen: set[str] = set()
        for action in declaration.actions:
            where = f"action {str(action.kind)!r} of marketplace {declaration.code!r}"
            if action.kind in seen:
                problems.append(f"{where} is declared twice: keep one ActionSpec per action kind")
            seen.add(action.kind)
            if not action.allowed_from:
                problems.append(
                    f"{where} is allowed from no status, so the merchant can never use it: list the statuses "
                    "it is possible from in allowed_from, e.g. frozenset({Status.WAITING_SHIPMENT}), or remove "
                    "the action"
                )
            for status in sorted(map(str, action.allowed_from)):
                if not _is_status(status):
                    problems.append(f"{where} is allowed from {status!r}, which is not one of the 16 statuses: "
                                    f"use one of {_one_of()}")
            if action.result_status is None:
                problems.append(
                    f"{where} declares no result_status: set the common status the order reaches once the "
                    "marketplace applied it (the host compares it to tell, after a crash, whether it was applied)"
                )
            elif not _is_status(action.result_status):
                problems.append(f"{where} has result_status {str(action.result_status)!r}, which is not one of the "
                                f"16 statuses: use one of {_one_of()}")
            if action.partial and not action.per_line:
                problems.append(f"{where} is partial but not per_line: partial=True needs per_line=True")
        for document in declaration.documents:
            if not document.available_from:
                problems.append(f"document {str(document.kind)!r} of marketplace {declaration.code!r} is available "
                                "from no status: list the statuses in available_from")
            for status in sorted(map(str, document.available_from)):
                if not _is_status(status):
                    problems.append(f"document {str(document.kind)!r} of marketplace {declaration.code!r} is "
                                    f"available from {status!r}, not one of the 16 statuses")
    return problems


def argument_problems(spec: ConnectorSpec,
                      declarations: Sequence[MarketplaceDeclaration] | None = None) -> list[str]:
    """Action arguments: identifier names, labels, choices with values, defaults among them, conditions
    that refer to something that exists."""
    problems: list[str] = []
    for declaration in _declared(spec, declarations):
        for action in declaration.actions:
            names = [arg.name for arg in action.arguments]
            for arg in action.arguments:
                where = f"argument {arg.name!r} of action {str(action.kind)!r} on marketplace {declaration.code!r}"
                if not _IDENTIFIER.match(arg.name or ""):
                    problems.append(f"{where}: the name must be a lowercase identifier (a-z, 0-9, _)")
                if names.count(arg.name) > 1:
                    problems.append(f"{where} is declared {names.count(arg.name)} times: keep one")
                if not (arg.label or "").strip():
                    problems.append(f"{where} has no label: give the text shown next to the field")
                if not isinstance(arg.type, ArgType):
                    problems.append(f"{where} has type {arg.type!r}: use an ArgType member")
                if arg.type == ArgType.CHOICE and not arg.valid_values:
                    problems.append(f"{where} is a choice with no valid_values: list them as Choice(code, label)")
                codes = [c.code for c in arg.valid_values]
                duplicates = sorted({c for c in codes if codes.count(c) > 1})
                if duplicates:
                    problems.append(f"{where} lists valid value(s) {', '.join(map(repr, duplicates))} twice")
                if arg.default is not None and arg.valid_values and not arg.accept_free_values \
                        and arg.default not in codes:
                    problems.append(f"{where}: default {arg.default!r} is not among its valid values "
                                    f"({', '.join(codes[:8])})")
                if arg.required and arg.required_when:
                    problems.append(f"{where} is required and also has required_when: keep one of the two")
                for cond in arg.required_when:
                    if cond.on == "argument" and cond.name not in names:
                        problems.append(f"{where} is required when argument {cond.name!r} has some value, but the "
                                        "action declares no such argument")
                    if cond.on == "order" and cond.name not in ("delivery_type", "marketplace"):
                        problems.append(f"{where} depends on order field {cond.name!r}; only delivery_type and "
                                        "marketplace are provided")
                    if not cond.values:
                        problems.append(f"{where} has a required_when condition with no values")
                if arg.max_length is not None and arg.max_length <= 0:
                    problems.append(f"{where}: max_length must be positive")
    return problems


def fetched_declaration_problems(fetched: object) -> list[str]:
    """What is wrong with the answer of ``MarketplaceClient.fetch_marketplaces()`` (connectors with
    ``dynamic_marketplaces``): it must be a non-empty list of :class:`MarketplaceDeclaration`, one per
    code, each passing ``MarketplaceDeclaration.check()`` -- the host leaves out a declaration with
    problems, and with it every action on that marketplace's orders."""
    if not isinstance(fetched, (list, tuple)):
        return [f"fetch_marketplaces() returned {type(fetched).__name__}: return a list of MarketplaceDeclaration "
                "(the host refuses anything else and imports nothing)"]
    if not fetched:
        return ["fetch_marketplaces() returned no declaration: the host would import every order as of an "
                "undeclared marketplace; make the emulator serve the marketplace definitions"]
    problems: list[str] = []
    seen: set[str] = set()
    for n, declaration in enumerate(fetched, 1):
        if not isinstance(declaration, MarketplaceDeclaration):
            problems.append(f"fetch_marketplaces() item {n} is a {type(declaration).__name__}, not a "
                            "MarketplaceDeclaration: the host ignores it")
            continue
        if declaration.code in seen:
            problems.append(f"fetch_marketplaces() returned marketplace {declaration.code!r} twice: the host keeps "
                            "the first; return one declaration per code")
        seen.add(declaration.code)
        problems.extend(f"fetched marketplace {declaration.code!r}: {p} (the host leaves this marketplace out)"
                        for p in declaration.check())
    return problems


def config_field_problems(spec: ConnectorSpec) -> list[str]:
    """Config fields: a field that looks like a credential is marked ``secret=True`` and has no default."""
    problems: list[str] = []
    for cfg in spec.config_fields:
        if _SECRET_NAME.search(cfg.name) and not cfg.secret:
            problems.append(
                f"config field {cfg.name!r} looks like a credential but is not marked secret: declare it "
                f"ConfigField({cfg.name!r}, ..., secret=True) so it is never logged, shown or exported"
            )
        if cfg.secret and cfg.default not in (None, ""):
            problems.append(f"secret config field {cfg.name!r} has a default value: a secret must come from the "
                            "merchant's config or environment, never from the package")
        if not (cfg.label or "").strip():
            problems.append(f"config field {cfg.name!r} has no label")
    return problems


# --- records -----------------------------------------------------------------------------------------


def resolve_status(declaration: MarketplaceDeclaration, order: RemoteOrder) -> Status | None:
    """The common status of ``order``, as the host computes it (``None``: unknown raw status)."""
    raw_lines = [line.raw_status for line in order.lines if line.raw_status is not None]
    status = declaration.status_map.resolve(order.raw_status, raw_lines)
    return status if isinstance(status, Status) else None


def order_facts(declaration: MarketplaceDeclaration, order: RemoteOrder) -> OrderFacts:
    """What the host's action validation knows about ``order``."""
    sm = declaration.status_map
    lines = []
    for line in order.lines:
        status = sm.line_status(line.raw_status) if line.raw_status else None
        lines.append(LineFacts(line.line_id, line.quantity, line.amount_cents,
                               status if isinstance(status, Status) else None))
    return OrderFacts(status=resolve_status(declaration, order), raw_status=order.raw_status,
                      delivery_type=order.delivery_type, marketplace=order.marketplace,
                      lines=tuple(lines), total_cents=order.total_cents)


def record_problems(spec: ConnectorSpec, order: RemoteOrder,
                    declarations: Sequence[MarketplaceDeclaration] | None = None) -> list[str]:
    """What is wrong with one pulled order, field by field.

    ``declarations``: the marketplaces the host knows, when not ``spec.marketplaces`` (for a connector
    with ``dynamic_marketplaces``: the static ones plus those ``fetch_marketplaces()`` returned)."""
    where = f"order {getattr(order, 'order_id', '?')!r}"
    if not isinstance(order, RemoteOrder):
        return [f"fetch_orders yielded a {type(order).__name__} in a page: pages hold RemoteOrder objects"]
    problems: list[str] = []
    known = _declared(spec, declarations)
    declaration = next((d for d in known if d.code == order.marketplace), None)
    if declaration is None and declarations is not None and spec.dynamic_marketplaces:
        codes = ", ".join(m.code for m in known) or "none"
        problems.append(f"{where} has marketplace {order.marketplace!r}, which fetch_marketplaces() did not return "
                        f"({codes}): the host would import it flagged as of an undeclared marketplace, with no "
                        "action possible; return a declaration for every marketplace the orders name")
    elif declaration is None and not spec.dynamic_marketplaces:
        codes = ", ".join(m.code for m in known)
        problems.append(f"{where} has marketplace {order.marketplace!r}, which the connector does not declare "
                        f"({codes}): set RemoteOrder.marketplace to a declared code")
    if not isinstance(order.order_id, str) or not order.order_id.strip():
        problems.append(f"{where}: order_id must be a non-empty string")
    if not isinstance(order.raw_status, str):
        problems.append(f"{where}: raw_status must be the marketplace's status as a string")
    for name in ("updated_at", "ordered_at"):
        value = getattr(order, name)
        if value is None or getattr(value, "tzinfo", None) is None or value.utcoffset() is None:
            problems.append(f"{where}: {name} must be a timezone-aware datetime (UTC), got {value!r}")
    if not isinstance(order.currency, str) or not re.fullmatch(r"[A-Z]{3}", order.currency):
        problems.append(f"{where}: currency must be an ISO 4217 code such as 'EUR', got {order.currency!r}")
    for name in ("total_cents", "shipping_cents"):
        value = getattr(order, name)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: {name} must be an integer number of cents, got {value!r}")
        elif value < 0:
            problems.append(f"{where}: {name} is negative ({value})")
    line_ids = [line.line_id for line in order.lines]
    duplicates = sorted({i for i in line_ids if line_ids.count(i) > 1})
    if duplicates:
        problems.append(f"{where}: line id(s) {', '.join(map(repr, duplicates))} appear twice in the order")
    for line in order.lines:
        if not isinstance(line.line_id, str) or not line.line_id:
            problems.append(f"{where}: a line has an empty line_id")
        if not isinstance(line.quantity, int) or line.quantity < 0:
            problems.append(f"{where}, line {line.line_id!r}: quantity must be a whole number >= 0")
        if not isinstance(line.amount_cents, int) or isinstance(line.amount_cents, bool):
            problems.append(f"{where}, line {line.line_id!r}: amount_cents must be an integer number of cents")
    for party in order.parties:
        try:
            PartyRole(party.role)
        except ValueError:
            problems.append(f"{where}: party role {party.role!r} is not a PartyRole")
    if declaration is not None:
        declared_docs = {d.kind for d in declaration.documents}
        for document in order.documents:
            if document.kind not in declared_docs:
                problems.append(f"{where} lists a {str(document.kind)!r} document, which marketplace "
                                f"{declaration.code!r} does not declare: add a DocumentSpec for it")
        sm = declaration.status_map
        for raw, target in ((order.raw_status, sm.order_status(order.raw_status)),):
            if target is not None and not isinstance(target, Status):
                problems.append(f"{where}: raw status {raw!r} maps to {str(target)!r}, not a common status")
    return problems


def personal_data(orders: Iterable[RemoteOrder], min_length: int = 6) -> set[str]:
    """Values of the orders' parties (names, e-mails, phones, addresses) long enough to be searched for
    in logs without false alarms."""
    found: set[str] = set()
    for order in orders:
        for party in order.parties:
            for value in (party.name, party.email, party.phone, party.address1, party.address2, party.company):
                if isinstance(value, str) and len(value.strip()) >= min_length:
                    found.add(value.strip())
    return found


# --- actions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionCase:
    """An action the kit will send: the declaration, the action, the order and well-formed arguments."""

    declaration: MarketplaceDeclaration
    action: ActionSpec
    order: RemoteOrder
    arguments: Mapping[str, str]
    lines: tuple[LineSelection, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.action.kind} on order {self.order.order_id!r} of {self.declaration.code!r}"


def _sample(arg: Any, order: RemoteOrder) -> str:
    if arg.valid_values:
        # the first code that needs no companion argument ("other" carriers usually do)
        plain = [c.code for c in arg.valid_values if c.code.casefold() not in ("other", "autre", "others")]
        return (plain or [arg.valid_values[0].code])[0]
    if arg.default:
        return str(arg.default)
    kind = arg.type
    if kind == ArgType.QUANTITY:
        return "1"
    if kind == ArgType.AMOUNT:
        return "1.00"
    if kind == ArgType.DATE:
        return date.today().isoformat()
    if kind == ArgType.LINE:
        return order.lines[0].line_id if order.lines else "1"
    value = "KIT" + "".join(ch for ch in arg.name.upper() if ch.isalnum())[:8] + "42"
    if "url" in arg.name:
        value = "https://tracking.example/KIT42"
    return value[: arg.max_length] if arg.max_length else value


def build_arguments(declaration: MarketplaceDeclaration, action: ActionSpec, order: RemoteOrder,
                    *, ignore_state: bool = False) -> tuple[dict[str, str], tuple[LineSelection, ...]] | None:
    """Arguments the host's validation accepts for ``action`` on ``order``, or ``None`` if there are none.

    Required (and conditionally required) arguments get a plausible value: the first valid value of a
    choice, ``1`` for a quantity, a tracking-like text otherwise. ``ignore_state`` builds them even when
    the order's status does not allow the action (to check that the marketplace refuses it).
    """
    facts = order_facts(declaration, order)
    if ignore_state:
        status = next(iter(sorted(action.allowed_from, key=str)), None)
        lines = tuple(LineFacts(line.line_id, line.quantity, line.amount_cents, None) for line in facts.lines)
        facts = OrderFacts(status=status, raw_status=facts.raw_status, delivery_type=facts.delivery_type,
                           marketplace=facts.marketplace, lines=lines, total_cents=facts.total_cents)
    arguments: dict[str, str] = {a.name: _sample(a, order) for a in action.arguments if a.required}
    for _ in range(4):  # each round may make another argument required (carrier "Other" -> carrier name)
        result = validate_action(declaration, facts, action.kind, arguments)
        if result.ok:
            return dict(result.arguments), tuple(result.lines)
        missing = [p.field for p in result.problems if action.argument(p.field) is not None
                   and p.field not in arguments]
        if not missing:
            return None
        for name in missing:
            arg = action.argument(name)
            if arg is not None:
                arguments[name] = _sample(arg, order)
    return None


def lifecycle_rank(status: Status) -> int:
    return list(Status).index(status)


def undeclared_kinds(declaration: MarketplaceDeclaration) -> list[ActionKind]:
    declared = {a.kind for a in declaration.actions}
    return [kind for kind in ActionKind if kind not in declared]


def marketplaces_of(orders: Sequence[RemoteOrder]) -> list[str]:
    return list(dict.fromkeys(o.marketplace for o in orders))
