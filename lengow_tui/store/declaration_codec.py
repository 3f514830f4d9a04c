"""MarketplaceDeclaration <-> JSON, for the ``marketplace_cache`` table.

Declarations fetched by dynamic connectors are cached in the database so that every host (the daemon,
a terminal, another worker) validates actions alike, even when the platform is unreachable. The
encoding is exact: ``declaration_from_json(declaration_to_json(d)) == d``. Ordered mappings (the status
map) are stored as lists of pairs because raw statuses are matched case-insensitively in map order,
and frozensets as sorted lists so equal declarations give equal JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lengow_tui.domain import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    CarrierSpec,
    Choice,
    Condition,
    DocumentKind,
    DocumentSpec,
    MarketplaceDeclaration,
    Status,
    StatusMap,
)

FORMAT = 1


class DeclarationCodecError(ValueError):
    """A cached payload cannot be read back (another format version or a damaged row)."""


def _statuses(values: frozenset[Status]) -> list[str]:
    return sorted(str(s) for s in values)


def _choices(values: tuple[Choice, ...]) -> list[list[str]]:
    return [[c.code, c.label] for c in values]


def _argument_to_json(arg: ArgumentSpec) -> dict[str, Any]:
    return {
        "name": arg.name, "label": arg.label, "type": str(arg.type), "required": arg.required,
        "valid_values": _choices(arg.valid_values), "accept_free_values": arg.accept_free_values,
        "default": arg.default,
        "required_when": [{"on": c.on, "name": c.name, "values": list(c.values)} for c in arg.required_when],
        "help": arg.help, "max_length": arg.max_length,
    }


def _action_to_json(action: ActionSpec) -> dict[str, Any]:
    return {
        "kind": str(action.kind), "allowed_from": _statuses(action.allowed_from), "per_line": action.per_line,
        "arguments": [_argument_to_json(a) for a in action.arguments],
        "result_status": None if action.result_status is None else str(action.result_status),
        "partial": action.partial, "help": action.help,
    }


def declaration_to_json(declaration: MarketplaceDeclaration) -> dict[str, Any]:
    """A JSON-ready dict holding every field of ``declaration``."""
    status_map = declaration.status_map
    return {
        "format": FORMAT,
        "code": declaration.code,
        "name": declaration.name,
        "status_map": {
            "order": [[raw, str(status)] for raw, status in status_map.order.items()],
            "lines": [[raw, str(status)] for raw, status in status_map.lines.items()],
            "derive_from_lines": status_map.derive_from_lines,
        },
        "actions": [_action_to_json(a) for a in declaration.actions],
        "carriers": [[c.code, c.label, c.tracking_url_template] for c in declaration.carriers],
        "documents": [{"kind": str(d.kind), "label": d.label, "available_from": _statuses(d.available_from)}
                      for d in declaration.documents],
        "delivery_types": _choices(declaration.delivery_types),
        "min_poll_interval_seconds": declaration.min_poll_interval_seconds,
        "rate_limit_per_minute": declaration.rate_limit_per_minute,
        "country": declaration.country,
    }


def _argument_from_json(data: Mapping[str, Any]) -> ArgumentSpec:
    return ArgumentSpec(
        name=data["name"], label=data["label"], type=ArgType(data["type"]), required=bool(data["required"]),
        valid_values=tuple(Choice(code, label) for code, label in data["valid_values"]),
        accept_free_values=bool(data["accept_free_values"]), default=data["default"],
        required_when=tuple(Condition(c["on"], c["name"], tuple(c["values"])) for c in data["required_when"]),
        help=data["help"], max_length=data["max_length"],
    )


def _action_from_json(data: Mapping[str, Any]) -> ActionSpec:
    result = data["result_status"]
    return ActionSpec(
        kind=ActionKind(data["kind"]), allowed_from=frozenset(Status(s) for s in data["allowed_from"]),
        per_line=bool(data["per_line"]), arguments=tuple(_argument_from_json(a) for a in data["arguments"]),
        result_status=None if result is None else Status(result), partial=bool(data["partial"]), help=data["help"],
    )


def declaration_from_json(data: Mapping[str, Any]) -> MarketplaceDeclaration:
    """The declaration encoded by :func:`declaration_to_json`; DeclarationCodecError when unreadable."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        version = data.get("format") if isinstance(data, Mapping) else None
        raise DeclarationCodecError(f"cached declaration has format {version!r}, expected {FORMAT}")
    try:
        status_map = data["status_map"]
        return MarketplaceDeclaration(
            code=data["code"],
            name=data["name"],
            status_map=StatusMap(
                order={raw: Status(status) for raw, status in status_map["order"]},
                lines={raw: Status(status) for raw, status in status_map["lines"]},
                derive_from_lines=bool(status_map["derive_from_lines"]),
            ),
            actions=tuple(_action_from_json(a) for a in data["actions"]),
            carriers=tuple(CarrierSpec(code, label, template) for code, label, template in data["carriers"]),
            documents=tuple(
                DocumentSpec(DocumentKind(d["kind"]), d["label"], frozenset(Status(s) for s in d["available_from"]))
                for d in data["documents"]
            ),
            delivery_types=tuple(Choice(code, label) for code, label in data["delivery_types"]),
            min_poll_interval_seconds=int(data["min_poll_interval_seconds"]),
            rate_limit_per_minute=data["rate_limit_per_minute"],
            country=data["country"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        code = data.get("code") if isinstance(data, Mapping) else None
        raise DeclarationCodecError(f"cached declaration {code!r} is damaged: {type(exc).__name__}: {exc}") from None
