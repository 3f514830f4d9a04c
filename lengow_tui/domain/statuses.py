"""The 16 common order statuses (Lengow's ``lengow_status`` vocabulary) and their UI groups."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    """A common order (or order line) status, the same for every marketplace."""

    NEW = "new"
    WAITING_ACCEPTANCE = "waiting_acceptance"
    ACCEPTED = "accepted"
    WAITING_SHIPMENT = "waiting_shipment"
    SHIPPED = "shipped"
    CLOSED = "closed"
    REFUSED = "refused"
    CANCELED = "canceled"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    PARTIAL_REFUNDED = "partial_refunded"
    PICKUP_TO_PREPARE = "pickup_to_prepare"
    TO_PICKUP = "to_pickup"
    PICKUP_COMPLETED = "pickup_completed"
    PICKUP_CANCELED = "pickup_canceled"
    TO_REFUND = "to_refund"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.NEW: "New",
    Status.WAITING_ACCEPTANCE: "Waiting Acceptance",
    Status.ACCEPTED: "Accepted",
    Status.WAITING_SHIPMENT: "Waiting Shipment",
    Status.SHIPPED: "Shipped",
    Status.CLOSED: "Closed",
    Status.REFUSED: "Refused",
    Status.CANCELED: "Canceled",
    Status.REFUNDING: "Refunding",
    Status.REFUNDED: "Refunded",
    Status.PARTIAL_REFUNDED: "Partial refunded",
    Status.PICKUP_TO_PREPARE: "Pickup to Prepare",
    Status.TO_PICKUP: "To Pickup",
    Status.PICKUP_COMPLETED: "Pickup completed",
    Status.PICKUP_CANCELED: "Pickup canceled",
    Status.TO_REFUND: "To refund",
}


class StatusGroup(StrEnum):
    """How the UI groups statuses: what needs the merchant first."""

    TO_DO = "to_do"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        return {
            StatusGroup.TO_DO: "To do",
            StatusGroup.IN_PROGRESS: "In progress",
            StatusGroup.DONE: "Done",
            StatusGroup.STOPPED: "Stopped",
        }[self]


STATUS_GROUPS: dict[StatusGroup, tuple[Status, ...]] = {
    StatusGroup.TO_DO: (
        Status.WAITING_ACCEPTANCE,
        Status.WAITING_SHIPMENT,
        Status.TO_REFUND,
        Status.PICKUP_TO_PREPARE,
    ),
    StatusGroup.IN_PROGRESS: (
        Status.NEW,
        Status.ACCEPTED,
        Status.SHIPPED,
        Status.REFUNDING,
        Status.TO_PICKUP,
    ),
    StatusGroup.DONE: (
        Status.CLOSED,
        Status.REFUNDED,
        Status.PARTIAL_REFUNDED,
        Status.PICKUP_COMPLETED,
    ),
    StatusGroup.STOPPED: (Status.REFUSED, Status.CANCELED, Status.PICKUP_CANCELED),
}

_GROUP_OF = {status: group for group, members in STATUS_GROUPS.items() for status in members}


def group_of(status: Status) -> StatusGroup:
    return _GROUP_OF[status]


# Progress order used to find the "least advanced" open line. Lower is earlier in the lifecycle.
_PROGRESS: dict[Status, int] = {
    Status.NEW: 0,
    Status.WAITING_ACCEPTANCE: 1,
    Status.ACCEPTED: 2,
    Status.WAITING_SHIPMENT: 3,
    Status.PICKUP_TO_PREPARE: 3,
    Status.TO_PICKUP: 4,
    Status.SHIPPED: 5,
    Status.PICKUP_COMPLETED: 6,
    Status.TO_REFUND: 6,
    Status.REFUNDING: 7,
    Status.CLOSED: 8,
    Status.PARTIAL_REFUNDED: 8,
    Status.REFUNDED: 9,
}
_STOPPED = {Status.REFUSED, Status.CANCELED, Status.PICKUP_CANCELED}
_REFUNDED = {Status.REFUNDED}


def aggregate_line_statuses(line_statuses: Iterable[Status]) -> Status | None:
    """Derive an order's status from its lines' statuses.

    The rule most line-level marketplaces (Mirakl, Bol, Cdiscount) need:
    - no lines -> None (unknown);
    - every line stopped (refused / canceled / pickup canceled) -> the most common of those;
    - every line refunded -> refunded; some refunded and the rest done or stopped -> partial_refunded;
    - a line waiting for a refund decision (to_refund, refunding) wins over the rest, since the merchant
      must act or is waiting on the marketplace;
    - otherwise the least advanced line among those not stopped.
    """
    statuses = list(line_statuses)
    if not statuses:
        return None
    live = [s for s in statuses if s not in _STOPPED]
    if not live:
        return max(set(statuses), key=statuses.count)
    if all(s in _REFUNDED for s in live):
        return Status.REFUNDED if len(live) == len(statuses) else Status.PARTIAL_REFUNDED
    for urgent in (Status.TO_REFUND, Status.REFUNDING):
        if urgent in live:
            return urgent
    if any(s in _REFUNDED for s in live):
        return Status.PARTIAL_REFUNDED
    return min(live, key=lambda s: _PROGRESS[s])


def shows_effect(result_status: Status, status: Status | None) -> bool:
    """Whether an order now in ``status`` shows the effect of an action whose declared result is
    ``result_status`` — the status itself, or one the marketplace can only have reached through it.

    Reconciliation (is it safe to send again?) asks this: an accepted order may already be waiting for
    shipment when it is re-read, a refunded line may already be paid. Stopped statuses only follow
    themselves: a cancelled order does not show that a shipment went through.
    """
    if status is None:
        return False
    if status == result_status:
        return True
    if result_status in _STOPPED or status in _STOPPED:
        return status in _STOPPED and result_status in _STOPPED and status == Status.CANCELED
    if result_status in (Status.REFUNDING, Status.TO_REFUND, Status.PARTIAL_REFUNDED, Status.REFUNDED):
        return status in (Status.REFUNDING, Status.PARTIAL_REFUNDED, Status.REFUNDED)
    shipping = {Status.WAITING_SHIPMENT, Status.SHIPPED}
    pickup = {Status.PICKUP_TO_PREPARE, Status.TO_PICKUP, Status.PICKUP_COMPLETED}
    if (result_status in shipping and status in pickup) or (result_status in pickup and status in shipping):
        return False  # the pick-up path and the shipping path do not follow each other
    return _PROGRESS.get(status, -1) > _PROGRESS.get(result_status, 99)
