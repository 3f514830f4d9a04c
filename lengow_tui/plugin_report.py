"""Plain-data views of the plugin registry: the JSON of ``lengow-tui plugins`` and anything that
describes connectors (CLI, TUI, docs)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from lengow_tui.domain import MarketplaceDeclaration, Status
from lengow_tui.plugins import LoadedConnector, PluginFailure, Registry

_STATUS_ORDER = {status: index for index, status in enumerate(Status)}


def _status(value: Any) -> str:
    try:
        return Status(value).value
    except ValueError:
        return str(value)


def _statuses(values: Collection[Any]) -> list[str]:
    return sorted((_status(v) for v in values), key=lambda s: (_STATUS_ORDER.get(s, len(_STATUS_ORDER)), s))


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def marketplace_to_dict(declaration: MarketplaceDeclaration) -> dict[str, Any]:
    sm = declaration.status_map
    return {
        "code": declaration.code,
        "name": declaration.name,
        "country": declaration.country,
        "min_poll_interval_seconds": declaration.min_poll_interval_seconds,
        "rate_limit_per_minute": declaration.rate_limit_per_minute,
        "status_map": {
            "order": {str(raw): _status(target) for raw, target in sm.order.items()},
            "lines": {str(raw): _status(target) for raw, target in sm.lines.items()},
            "derive_from_lines": bool(sm.derive_from_lines),
        },
        "actions": [
            {
                "kind": str(action.kind),
                "per_line": action.per_line,
                "partial": action.partial,
                "allowed_from": _statuses(action.allowed_from),
                "result_status": None if action.result_status is None else _status(action.result_status),
                "help": action.help,
                "arguments": [
                    {
                        "name": arg.name,
                        "label": arg.label,
                        "type": str(arg.type),
                        "required": arg.required,
                        "required_when": [
                            {
                                "on": c.on,
                                "name": c.name,
                                "values": list(c.values),
                                "description": c.describe(),
                            }
                            for c in arg.required_when
                        ],
                        "valid_values": [{"code": c.code, "label": c.label} for c in arg.valid_values],
                        "accept_free_values": arg.accept_free_values,
                        "default": arg.default,
                        "max_length": arg.max_length,
                        "help": arg.help,
                    }
                    for arg in action.arguments
                ],
            }
            for action in declaration.actions
        ],
        "carriers": [
            {"code": c.code, "label": c.label, "tracking_url_template": c.tracking_url_template}
            for c in declaration.carriers
        ],
        "documents": [
            {"kind": str(d.kind), "label": d.label, "available_from": _statuses(d.available_from)}
            for d in declaration.documents
        ],
        "delivery_types": [{"code": c.code, "label": c.label} for c in declaration.delivery_types],
    }


def connector_to_dict(loaded: LoadedConnector) -> dict[str, Any]:
    spec = loaded.spec
    return {
        "name": spec.name,
        "title": spec.title,
        "plugin": loaded.plugin,
        "distribution": loaded.distribution,
        "version": loaded.version,
        "first_party": loaded.first_party,
        "api_version": spec.api_version,
        "description": spec.description,
        "docs_url": spec.docs_url,
        "dynamic_marketplaces": spec.dynamic_marketplaces,
        "config_fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "secret": f.secret,
                "required": f.required,
                # never show a secret, not even a default one
                "default": ("***" if f.default is not None else None) if f.secret else _jsonable(f.default),
                "help": f.help,
            }
            for f in spec.config_fields
        ],
        "marketplaces": [marketplace_to_dict(m) for m in spec.marketplaces],
    }


def failure_to_dict(failure: PluginFailure) -> dict[str, Any]:
    return {
        "plugin": failure.plugin,
        "distribution": failure.distribution,
        "version": failure.version,
        "stage": failure.stage,
        "connector": failure.connector or None,
        "error": failure.error,
    }


def registry_to_dict(registry: Registry) -> dict[str, Any]:
    return {
        "connectors": [connector_to_dict(registry.connectors[name]) for name in sorted(registry.connectors)],
        "failed": [failure_to_dict(f) for f in registry.failures],
        "disabled": list(registry.disabled),
    }
