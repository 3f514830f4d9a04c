"""``GET /v3.0/marketplaces`` definitions -> MarketplaceDeclaration (reference/lengow.md §3).

Per marketplace, ``orders.status`` maps each lengow_status to the marketplace's raw statuses;
``orders.actions.<action>`` lists the lengow statuses it is allowed from, its required ``args``, its
``optional_args`` and ``args_description`` (type, valid_values, default_value, accept_free_values);
``orders.carriers`` lists carrier codes. Conventions Lengow's own plugins apply and that we follow:

* an action is per line when ``line`` is among its args (one Lengow action per order line is sent);
* an optional quantity or amount argument of a per-line action (``refund_quantity``, ``refund_price``...)
  is filled from the merchant's line selection, which makes the action partial;
* ``shipping_date`` / ``delivery_date`` default to now, so they are never required from the merchant;
* ``carrier_name`` / ``custom_carrier`` are required only when ``carrier`` is "Other" (Amazon, ManoMano).

Anything malformed in one marketplace drops that marketplace or that action, never the whole list.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from lengow_tui.connector_api import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    CarrierSpec,
    Choice,
    MarketplaceDeclaration,
    Status,
    StatusMap,
    when_argument,
)

log = logging.getLogger(__name__)

LINE_ARG = "line"
QUANTITY_ARGS = ("refund_quantity", "cancel_quantity", "shipped_quantity", "quantity")
AMOUNT_ARGS = ("refund_price",)
NOW_DATE_ARGS = ("shipping_date", "delivery_date")
OTHER_CARRIER_ARGS = ("carrier_name", "custom_carrier")
_ARG_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Where an action leaves the order once the marketplace applied it (used by the host to reconcile).
# accept (accepted or straight to waiting_shipment) and refund (refunding, partial or full) vary.
# What the order shows once the action went through (or any status reached only after it: the host's
# reconciliation accepts later ones, e.g. an accepted order already waiting for shipment).
RESULT_STATUS = {ActionKind.ACCEPT: Status.ACCEPTED, ActionKind.REFUSE: Status.REFUSED, ActionKind.SHIP: Status.SHIPPED,
                 ActionKind.CANCEL: Status.CANCELED, ActionKind.REFUND: Status.REFUNDING}


def _label(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


def _choices(values: Any) -> tuple[Choice, ...]:
    """``valid_values`` / ``carriers``: an object code -> {label} (a list of codes is accepted too)."""
    found: list[Choice] = []
    if isinstance(values, Mapping):
        for code, info in values.items():
            label = info.get("label") if isinstance(info, Mapping) else info
            found.append(Choice(str(code), str(label or code)))
    elif isinstance(values, list):
        found = [Choice(str(v), str(v)) for v in values if isinstance(v, (str, int))]
    return tuple(found)


def _statuses(values: Any) -> frozenset[Status]:
    found = set()
    for value in values if isinstance(values, list) else ():
        try:
            found.add(Status(str(value)))
        except ValueError:
            continue  # a lengow_status this host does not know yet: the action is not offered from it
    return frozenset(found)


def arg_names(action: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(required, optional) argument names of a raw action definition."""
    required = [str(a) for a in action.get("args") or () if isinstance(a, str)]
    optional = [str(a) for a in action.get("optional_args") or () if isinstance(a, str) and a not in required]
    return required, optional


def is_per_line(action: Mapping[str, Any]) -> bool:
    required, optional = arg_names(action)
    return LINE_ARG in required or LINE_ARG in optional


def _argument(name: str, required: bool, description: Any, carriers: tuple[Choice, ...]) -> ArgumentSpec:
    info = description if isinstance(description, Mapping) else {}
    raw_type = str(info.get("type") or "string").lower()
    valid = _choices(info.get("valid_values"))
    if name == "carrier" and not valid:
        valid = carriers
    accept_free = info.get("accept_free_values")
    accept_free = True if accept_free is None else bool(accept_free)  # Lengow's default when absent
    default = info.get("default_value")
    default = None if default in (None, "") else str(default)
    if default is not None and valid and not accept_free and default not in {c.code for c in valid}:
        default = None  # a default the marketplace would refuse is no default
    help_text = ""
    if name in NOW_DATE_ARGS:
        arg_type, required, help_text = ArgType.DATE, False, "Defaults to now."
    elif raw_type == "quantity":
        arg_type = ArgType.QUANTITY
    elif raw_type in ("date", "datetime"):
        arg_type = ArgType.DATE
    elif raw_type in ("float", "decimal", "price", "amount"):
        arg_type = ArgType.AMOUNT
    elif valid:
        arg_type = ArgType.CHOICE
    else:
        arg_type = ArgType.TEXT
    if name == "tracking_url" and not help_text:
        help_text = "The carrier's tracking page for this parcel."
    return ArgumentSpec(name=name, label=_label(name), type=arg_type, required=required, valid_values=valid,
                        accept_free_values=accept_free, default=default, help=help_text)


def _action(kind: ActionKind, raw: Mapping[str, Any], carriers: tuple[Choice, ...]) -> ActionSpec | None:
    allowed = _statuses(raw.get("status"))
    if not allowed:
        return None
    required, optional = arg_names(raw)
    per_line = LINE_ARG in required or LINE_ARG in optional
    descriptions = raw.get("args_description") if isinstance(raw.get("args_description"), Mapping) else {}
    partial = False
    arguments: list[ArgumentSpec] = []
    for name in required + optional:
        if name == LINE_ARG:
            continue  # carried by the line selection: one Lengow action per selected line
        if per_line and name in optional and name in QUANTITY_ARGS + AMOUNT_ARGS:
            partial = True  # filled from the selection's quantity / amount
            continue
        if not _ARG_NAME.match(name):
            log.warning("Lengow action %s: argument %r ignored (not an identifier)", kind, name[:40])
            continue
        arguments.append(_argument(name, name in required, descriptions.get(name), carriers))
    names = {a.name for a in arguments}
    carrier = next((a for a in arguments if a.name == "carrier"), None)
    other = next((c.code for c in carrier.valid_values if c.code.casefold() == "other"), None) if carrier else None
    if other is not None:
        # "Other" carrier: the carrier's name is required then, and only then (Amazon rejects it otherwise).
        arguments = [
            ArgumentSpec(a.name, a.label, a.type, False, a.valid_values, a.accept_free_values, a.default,
                         (when_argument("carrier", other),), "Required when the carrier is Other.", a.max_length)
            if a.name in OTHER_CARRIER_ARGS and "carrier" in names else a
            for a in arguments
        ]
    return ActionSpec(kind=kind, allowed_from=allowed, per_line=per_line, arguments=tuple(arguments),
                      result_status=RESULT_STATUS.get(kind), partial=partial,
                      help=f"Lengow action {kind.value!r} (POST /v3.0/orders/actions/)")


def declaration(code: str, raw: Any) -> MarketplaceDeclaration | None:
    """One marketplace's declaration, or None when its definition is unusable (logged)."""
    if not isinstance(raw, Mapping) or not _CODE.match(code):
        log.warning("Lengow marketplace %r ignored: malformed definition or code", code[:64])
        return None
    orders = raw.get("orders") if isinstance(raw.get("orders"), Mapping) else {}
    status_map: dict[str, Status] = {}
    for lengow_status, raws in (orders.get("status") or {}).items() if isinstance(orders.get("status"), Mapping) else ():
        try:
            common = Status(str(lengow_status))
        except ValueError:
            continue  # an unknown lengow_status: its raw statuses stay unmapped (orders flagged for review)
        for raw_status in raws if isinstance(raws, list) else ():
            status_map.setdefault(str(raw_status), common)
    if not status_map:
        log.warning("Lengow marketplace %r ignored: no status map", code)
        return None
    for common in Status:
        # Fallback: an order whose marketplace_status the definition does not list yet is imported with
        # its lengow_status as raw status (see convert.raw_status); the marketplace's own words win.
        status_map.setdefault(common.value, common)
    carriers = _choices(orders.get("carriers"))
    actions = []
    for kind in ActionKind:
        raw_action = (orders.get("actions") or {}).get(kind.value) if isinstance(orders.get("actions"), Mapping) else None
        if isinstance(raw_action, Mapping):
            spec = _action(kind, raw_action, carriers)
            if spec is not None:
                actions.append(spec)
    country = raw.get("country_iso_a2")
    return MarketplaceDeclaration(
        code=code,
        name=str(raw.get("name") or code),
        status_map=StatusMap(order=status_map),
        actions=tuple(actions),
        carriers=tuple(CarrierSpec(c.code, c.label) for c in carriers),
        # Lengow reads orders from marketplaces every 15 minutes; polling it every minute is plenty.
        min_poll_interval_seconds=60,
        rate_limit_per_minute=None,
        country=str(country).upper() if isinstance(country, str) and len(country) == 2 else None,
    )


def declarations(payload: Any) -> list[MarketplaceDeclaration]:
    """Every usable declaration of a ``/v3.0/marketplaces`` answer (an object keyed by code)."""
    if not isinstance(payload, Mapping):
        return []
    found = []
    for code, raw in payload.items():
        built = declaration(str(code), raw)
        if built is not None and not built.check():
            found.append(built)
        elif built is not None:
            log.warning("Lengow marketplace %r ignored: %s", code, "; ".join(built.check())[:300])
    return found
