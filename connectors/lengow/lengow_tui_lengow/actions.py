"""Lengow actions (``/v3.0/orders/actions/``): request parameters, the poll handle, action record states.

One host action becomes one Lengow action per target: the order, or each selected line when the
marketplace's definition has a ``line`` argument (what Lengow's plugins do, reference/lengow.md §2.3).
Lengow has no idempotency key; before creating an action we look for an identical one already at Lengow
(plugins do the same with ``queued=True``), so a resend after a crash or an ambiguous answer reuses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lengow_tui.connector_api import ActionRequest, LineSelection
from lengow_tui_lengow.marketplaces import (
    AMOUNT_ARGS,
    LINE_ARG,
    NOW_DATE_ARGS,
    OTHER_CARRIER_ARGS,
    QUANTITY_ARGS,
    arg_names,
)

HANDLE_VERSION = "lg1"
HANDLE_MAX = 256  # the outbox's handle column
# Arguments that differ between two sends of the same intent: not compared when looking for duplicates.
VOLATILE_ARGS = frozenset(NOW_DATE_ARGS)
BASE_PARAMS = frozenset({"id", "account_id", "marketplace", "marketplace_order_id", "action_type", "queued",
                         "processed", "errors", "created_at", "updated_at", "state"})


@dataclass(frozen=True)
class Target:
    """One Lengow action to create: its parameters (without account_id, added by the transport)."""

    params: dict[str, str]
    line: str | None = None

    @property
    def label(self) -> str:
        return f"line {self.line}" if self.line else "the order"


def _amount(value_cents: int) -> str:
    return f"{value_cents // 100}.{value_cents % 100:02d}"


def build_targets(request: ActionRequest, definition: Mapping[str, Any], now: datetime) -> list[Target] | str:
    """The Lengow actions to create for ``request``, or a reason to refuse it (the definition changed)."""
    required, optional = arg_names(definition)
    allowed = set(required) | set(optional)
    descriptions = definition.get("args_description") if isinstance(definition.get("args_description"), Mapping) else {}
    arguments = {k: v for k, v in request.arguments.items() if k in allowed and v not in (None, "")}
    carrier = arguments.get("carrier", "")
    if carrier and carrier.casefold() != "other":
        for name in OTHER_CARRIER_ARGS:  # Amazon rejects a carrier_name sent with a listed carrier
            arguments.pop(name, None)
    for name in NOW_DATE_ARGS:
        if name in required and name not in arguments:
            arguments[name] = now.isoformat(timespec="seconds")
    for name in required:
        if name not in arguments and name != LINE_ARG:
            info = descriptions.get(name) if isinstance(descriptions.get(name), Mapping) else {}
            default = info.get("default_value")
            if default in (None, "") and name not in QUANTITY_ARGS + AMOUNT_ARGS:
                return f"{name} is required by the marketplace"
            if default not in (None, ""):
                arguments[name] = str(default)
    base = {"marketplace": request.marketplace, "marketplace_order_id": request.order_id,
            "action_type": request.kind.value}
    if LINE_ARG not in allowed:
        return [Target({**base, **arguments})]
    if not request.lines:
        return "select the order lines this action applies to"
    quantity_arg = next((n for n in QUANTITY_ARGS if n in optional), None)
    amount_arg = next((n for n in AMOUNT_ARGS if n in optional), None)
    targets = []
    for selection in request.lines:
        params = {**base, **arguments, LINE_ARG: selection.line_id}
        params.update(_partial(selection, quantity_arg, amount_arg))
        targets.append(Target(params, selection.line_id))
    return targets


def _partial(selection: LineSelection, quantity_arg: str | None, amount_arg: str | None) -> dict[str, str]:
    extra = {}
    if quantity_arg and selection.quantity is not None:
        extra[quantity_arg] = str(selection.quantity)
    if amount_arg and selection.amount_cents is not None:
        extra[amount_arg] = _amount(selection.amount_cents)
    return extra


# --- action records -------------------------------------------------------------------------------

def record_state(record: Mapping[str, Any]) -> str:
    """``queued`` | ``sent`` (at the marketplace, no answer yet) | ``processed`` | ``error``
    (the plugins' reading of queued/processed/errors, reference/lengow.md §2.2)."""
    if record.get("errors"):
        return "error"
    if record.get("queued"):
        return "queued"
    return "processed" if record.get("processed") else "sent"


def error_text(record: Mapping[str, Any]) -> str:
    errors = record.get("errors")
    items = errors if isinstance(errors, list) else [errors]
    texts = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("message") or item.get("detail") or json.dumps(item)[:200]
        if item:
            texts.append(str(item))
    return "; ".join(texts) or "no reason given"


def same_action(record: Mapping[str, Any], params: Mapping[str, str]) -> bool:
    """Does this Lengow action record carry the same intent as ``params``?"""
    for key in ("marketplace", "marketplace_order_id", "action_type"):
        if str(record.get(key) or "") != params.get(key, ""):
            return False
    for key, value in params.items():
        if key in VOLATILE_ARGS or key in BASE_PARAMS:
            continue
        if str(record.get(key) if record.get(key) is not None else "") != value:
            return False
    return True


# --- the poll handle ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Handle:
    """What ``poll`` needs: where to list the actions, which ids are ours, and a note about targets that
    could not be created (the outcome is then a rejection once the others are final)."""

    marketplace: str
    order_id: str
    action_type: str
    ids: tuple[int, ...]
    failed: str = ""

    def encode(self) -> str:
        ids = ",".join(str(i) for i in self.ids)
        if len(ids) > 120:  # many lines: the ids of one perform are a contiguous range in practice
            ids = f"{min(self.ids)}-{max(self.ids)}~{len(self.ids)}"
        text = json.dumps([HANDLE_VERSION, self.marketplace, self.order_id, self.action_type, ids, self.failed],
                          separators=(",", ":"), ensure_ascii=False)
        if len(text) > HANDLE_MAX:
            room = max(0, len(self.failed) - (len(text) - HANDLE_MAX) - 1)
            return Handle(self.marketplace, self.order_id, self.action_type, self.ids,
                          self.failed[:room] + "…" if room else "").encode()
        return text

    @classmethod
    def decode(cls, raw: str) -> Handle:
        data = json.loads(raw)
        if not isinstance(data, list) or len(data) != 6 or data[0] != HANDLE_VERSION:
            raise ValueError("not a Lengow action handle")
        _, marketplace, order_id, action_type, ids, failed = data
        if "-" in ids:
            span, _, _count = ids.partition("~")
            low, _, high = span.partition("-")
            numbers = tuple(range(int(low), int(high) + 1))
        else:
            numbers = tuple(int(i) for i in ids.split(",") if i)
        return cls(str(marketplace), str(order_id), str(action_type), numbers, str(failed))

    def matches(self, record_id: int) -> bool:
        return record_id in self.ids

