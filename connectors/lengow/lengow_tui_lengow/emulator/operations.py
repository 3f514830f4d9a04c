"""The Lengow API v3 operations the emulator serves, on an :class:`EmulatorState`.

Validation answers like Lengow (``{"error": {"message", "code"}}``, 400 for bad input, 404 for an unknown
order); exact wording differs from the real API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from lengow_tui_lengow.emulator import catalog
from lengow_tui_lengow.emulator.generate import DAY
from lengow_tui_lengow.emulator.machine import lines
from lengow_tui_lengow.emulator.state import EmulatorState, LengowError

MAX_PAGE_SIZE = 100
DEFAULT_WINDOW_DAYS = 7  # no valid date filter: orders of the last 7 days (Lengow, since 2023-07-25)
ORDERINGS = {"marketplace_order_date", "-marketplace_order_date", "updated_at", "-updated_at"}


def _date(params: Mapping[str, str], name: str) -> float | None:
    """A date filter, or None when absent or invalid (Lengow ignores an invalid date filter)."""
    raw = params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return value.timestamp()


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LengowError(400, f"{name}: a valid integer is required") from None
    if value < low or (high is not None and value > high):
        raise LengowError(400, f"{name}: must be between {low} and {high}" if high else f"{name}: invalid page")
    return value


def _page_links(base: str, params: Mapping[str, str], page: int, more: bool) -> tuple[str | None, str | None]:
    def link(number: int) -> str:
        return base + "?" + urlencode({**params, "page": number})

    return (link(page + 1) if more else None), (link(page - 1) if page > 1 else None)


def list_orders(state: EmulatorState, params: Mapping[str, str], base: str) -> bytes:
    """``GET /v3.0/orders``: filters, ordering, page/page_size paging with next/previous links."""
    page_size = _int(params, "page_size", 100, 1, MAX_PAGE_SIZE)
    page = _int(params, "page", 1, 1, None)
    ordering = params.get("ordering") or "marketplace_order_date"
    if ordering not in ORDERINGS:
        raise LengowError(400, f"ordering: {ordering[:40]!r} is not a valid ordering")
    updated_from, updated_to = _date(params, "updated_from"), _date(params, "updated_to")
    date_from, date_to = _date(params, "marketplace_order_date_from"), _date(params, "marketplace_order_date_to")
    marketplace = params.get("marketplace")
    order_id = params.get("marketplace_order_id")
    statuses = {s for s in (params.get("lengow_status") or "").split(",") if s}
    with state.lock:
        world = state.world
        if not any(v is not None for v in (updated_from, updated_to, date_from, date_to)):
            date_from = state.now() - DEFAULT_WINDOW_DAYS * DAY
        if order_id is not None:
            candidates = [i for (mp, oid), i in world.index.items() if oid == order_id]
        else:
            candidates = range(len(world))
        found = []
        for i in candidates:
            order = world.orders[i]
            if marketplace and order["marketplace"] != marketplace:
                continue
            if statuses and order["lengow_status"] not in statuses:
                continue
            if updated_from is not None and world.updated[i] < updated_from:
                continue
            if updated_to is not None and world.updated[i] > updated_to:
                continue
            if date_from is not None and world.ordered[i] < date_from:
                continue
            if date_to is not None and world.ordered[i] > date_to:
                continue
            found.append(i)
        key = world.updated if "updated_at" in ordering else world.ordered
        found.sort(key=lambda i: (key[i], i), reverse=ordering.startswith("-"))
        chunk = found[(page - 1) * page_size: page * page_size]
        if page > 1 and not chunk:
            raise LengowError(404, "Invalid page.")
        following, previous = _page_links(base, params, page, page * page_size < len(found))
        head = json.dumps({"count": len(found), "next": following, "previous": previous})[:-1]
        body = b",".join(state.order_bytes(i) for i in chunk)
        return head.encode() + b',"results":[' + body + b"]}"


def create_action(state: EmulatorState, params: Mapping[str, str]) -> dict[str, Any]:
    """``POST /v3.0/orders/actions/``: validated now, processed later (see EmulatorState)."""
    for name in ("marketplace", "marketplace_order_id", "action_type"):
        if not params.get(name):
            raise LengowError(400, f"{name}: this field is required")
    marketplace, action_type = params["marketplace"], params["action_type"]
    if marketplace not in state.options.marketplaces:
        raise LengowError(400, f"marketplace: {marketplace[:40]!r} is not a marketplace of this account")
    index = state.lookup(params["marketplace_order_id"], marketplace)
    definition = catalog.action_def(marketplace, action_type)
    if definition is None:
        raise LengowError(400, f"action_type: {action_type[:20]!r} is not available on {marketplace}")
    descriptions = definition.get("args_description") or {}
    clean: dict[str, str] = {"action_type": action_type}
    known = set(definition["args"]) | set(definition["optional_args"])
    for name in definition["args"]:
        if not params.get(name):
            raise LengowError(400, f"{name}: this argument is required for {action_type} on {marketplace}")
    for name in known:
        value = params.get(name)
        if value in (None, ""):
            continue
        info = descriptions.get(name) or {}
        valid = info.get("valid_values") or (catalog.MARKETPLACES[marketplace]["orders"].get("carriers")
                                             if name == "carrier" else None)
        if valid and info.get("accept_free_values", True) is False and value not in valid:
            raise LengowError(400, f"{name}: {value[:40]!r} is not a valid value")
        if info.get("type") == "quantity" and not value.isdigit():
            raise LengowError(400, f"{name}: a whole number is required")
        clean[name] = value
    order = state.world.orders[index]
    if "line" in clean and clean["line"] not in {line["marketplace_order_line_id"] for line in lines(order)}:
        raise LengowError(400, f"line: {clean['line'][:60]!r} is not a line of this order")
    return state.create_action(index, clean)


def list_actions(state: EmulatorState, params: Mapping[str, str], base: str) -> dict[str, Any]:
    """``GET /v3.0/orders/actions/``: the account's action records, filtered, paged by 100."""
    page = _int(params, "page", 1, 1, None)
    queued = params.get("queued")
    updated_from = _date(params, "updated_from")
    with state.lock:
        found = []
        for record in state.actions:
            if any(params.get(k) and str(record.get(k)) != params[k]
                   for k in ("marketplace", "marketplace_order_id", "action_type", "line")):
                continue
            if queued is not None and bool(record["queued"]) != (queued.lower() in ("true", "1")):
                continue
            if updated_from is not None and datetime.fromisoformat(record["updated_at"]).timestamp() < updated_from:
                continue
            found.append(dict(record))
    chunk = found[(page - 1) * MAX_PAGE_SIZE: page * MAX_PAGE_SIZE]
    following, previous = _page_links(base, params, page, page * MAX_PAGE_SIZE < len(found))
    return {"count": len(found), "next": following, "previous": previous, "results": chunk}


def marketplaces(state: EmulatorState, params: Mapping[str, str]) -> dict[str, Any]:
    """``GET /v3.0/marketplaces`` (optionally ``?marketplace=<code>``): definitions keyed by code."""
    wanted = params.get("marketplace")
    return {code: catalog.MARKETPLACES[code] for code in state.options.marketplaces if wanted in (None, code)}
