"""Bulk actions: which marked orders can take an action, and queueing it on those that can."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import col, select

from lengow_tui.domain import ActionKind, Status
from lengow_tui.services.actions import QueueResult, queue_action
from lengow_tui.store.models import Channel, Order

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

CHUNK = 500


@dataclass(frozen=True)
class Ineligible:
    order_id: int
    reference: str
    reason: str


@dataclass
class BulkPlan:
    kind: ActionKind
    eligible: list[int] = field(default_factory=list)
    ineligible: list[Ineligible] = field(default_factory=list)
    references: dict[int, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.eligible) + len(self.ineligible)


@dataclass
class BulkOutcome:
    kind: ActionKind
    queued: list[QueueResult] = field(default_factory=list)
    refused: list[QueueResult] = field(default_factory=list)
    skipped: list[Ineligible] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.kind}: {len(self.queued)} queued"
        if self.refused:
            text += f", {len(self.refused)} refused by validation"
        if self.skipped:
            text += f", {len(self.skipped)} skipped (not eligible)"
        if self.failed:
            text += f", {len(self.failed)} failed"
        return text


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def plan_bulk(runtime: Runtime, order_ids: Iterable[int], kind: ActionKind | str) -> BulkPlan:
    """Split orders into those whose marketplace allows ``kind`` in their status and the rest."""
    kind = ActionKind(kind)
    plan = BulkPlan(kind)
    ids = sorted(set(order_ids))
    with runtime.store.read() as session:
        channels = {c.id: c for c in session.exec(select(Channel))}
        for chunk in _chunks(ids):
            for order in session.exec(select(Order).where(col(Order.id).in_(chunk))):
                ref = order.marketplace_order_id
                plan.references[order.id] = ref  # type: ignore[index]
                channel = channels.get(order.channel_id)
                declaration = runtime.declaration(channel.name, order.marketplace) if channel else None
                spec = declaration.action(kind) if declaration else None
                reason = None
                if channel is None or not channel.enabled:
                    reason = "channel disabled"
                elif declaration is None:
                    reason = f"marketplace {order.marketplace} unknown to its connector"
                elif spec is None:
                    reason = f"{declaration.name} has no {kind} action"
                elif order.anonymized_at is not None:
                    reason = "anonymized"
                elif order.status is None:
                    reason = f"status {order.raw_status!r} flagged for review"
                elif Status(order.status) not in spec.allowed_from:
                    reason = f"{Status(order.status).label}: {kind} not possible"
                if reason is None:
                    plan.eligible.append(order.id)  # type: ignore[arg-type]
                else:
                    plan.ineligible.append(Ineligible(order.id, ref, reason))  # type: ignore[arg-type]
    return plan


def run_bulk(
    runtime: Runtime,
    plan: BulkPlan,
    arguments: dict[str, str] | None = None,
    per_order: dict[int, dict[str, str]] | None = None,
    *,
    source: str = "tui",
) -> BulkOutcome:
    """Queue the action on every eligible order; each is validated on its own."""
    outcome = BulkOutcome(plan.kind, skipped=list(plan.ineligible))
    for order_id in plan.eligible:
        args = dict(arguments or {}) | dict((per_order or {}).get(order_id, {}))
        try:
            result = queue_action(runtime, order_id, plan.kind, args, source=source)
        except Exception as exc:  # a database error on one order must not lose the report of the others
            outcome.failed.append((order_id, f"{type(exc).__name__}: {exc}"))
            continue
        (outcome.queued if result.ok else outcome.refused).append(result)
    return outcome


class ShipCsvError(ValueError):
    """The shipping CSV cannot be used; the message names the line."""


def read_ship_csv(path: Path, runtime: Runtime) -> dict[int, dict[str, str]]:
    """Read ``order id, carrier, tracking number`` rows (a header row is optional).

    The order id is the local id or the marketplace order id. Returns arguments per local order id.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ShipCsvError(f"cannot read {path}: {exc.strerror}") from None
    rows = list(csv.reader(text.splitlines()))
    result: dict[int, dict[str, str]] = {}
    with runtime.store.read() as session:
        for number, row in enumerate(rows, start=1):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if number == 1 and cells and cells[0].lower() in ("order", "order_id", "id", "order id"):
                continue
            if len(cells) < 3:
                raise ShipCsvError(f"{path}, line {number}: expected order id, carrier, tracking number")
            ref, carrier, tracking = cells[:3]
            order = None
            if ref.isdigit():
                order = session.get(Order, int(ref))
            if order is None:
                matches = list(session.exec(select(Order).where(Order.marketplace_order_id == ref).limit(2)))
                order = matches[0] if len(matches) == 1 else None
            if order is None:
                raise ShipCsvError(f"{path}, line {number}: no order {ref!r}")
            args = {"carrier": carrier}
            if tracking:
                args["tracking_number"] = tracking
            result[order.id] = args  # type: ignore[index]
    if not result:
        raise ShipCsvError(f"{path}: no rows")
    return result
