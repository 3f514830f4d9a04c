"""Data a connector hands to the host: remote orders, pages, action requests and results, documents.

These are plain frozen dataclasses with no behaviour that touches the network or the database (a
listing page's ``load_listed`` calls back into the connector that made it).
Amounts are integer minor units (cents) to avoid float rounding; times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lengow_tui.domain import ActionKind, DocumentKind, LineSelection


@dataclass(frozen=True)
class RemoteLine:
    """One line of an order: a product, its quantity and its total (taxes included) in cents."""

    line_id: str
    sku: str
    title: str
    quantity: int
    amount_cents: int  # line total, taxes included
    raw_status: str | None = None  # only for marketplaces that track status per line
    tax_cents: int = 0


class PartyRole(StrEnum):
    """Who a :class:`RemoteParty` is on the order: the buyer, the billing or the shipping address."""

    BUYER = "buyer"
    BILLING = "billing"
    SHIPPING = "shipping"


@dataclass(frozen=True)
class RemoteParty:
    """A person or company on an order. All of it is personal data, erased after the retention period."""

    role: PartyRole
    name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    zipcode: str = ""
    city: str = ""
    state: str = ""
    country: str = ""  # ISO 3166 alpha-2
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class RemoteTracking:
    """The shipment of an order: carrier, tracking number and URL, when it left."""

    carrier_code: str = ""
    carrier_name: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class RemoteDocument:
    """A document the marketplace offers for an order (metadata only; content is fetched on demand)."""

    document_id: str
    kind: DocumentKind
    filename: str
    content_type: str = "application/pdf"
    size: int | None = None


@dataclass(frozen=True)
class RemoteOrder:
    """One order as the marketplace reports it now."""

    marketplace: str  # code of a MarketplaceDeclaration of this connector
    order_id: str  # the marketplace's order reference, unique within the marketplace
    raw_status: str
    updated_at: datetime  # the marketplace's last change; a newer one wins on import
    ordered_at: datetime
    currency: str
    total_cents: int
    shipping_cents: int = 0
    lines: tuple[RemoteLine, ...] = ()
    parties: tuple[RemoteParty, ...] = ()
    tracking: RemoteTracking | None = None
    documents: tuple[RemoteDocument, ...] = ()
    delivery_type: str | None = None
    shipping_deadline: datetime | None = None
    anonymized: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)  # the payload as received, for the raw view


@dataclass(frozen=True)
class ListedOrder:
    """An order a page names without converting it yet: its key and the marketplace's last change."""

    marketplace: str
    order_id: str
    updated_at: datetime


LoadOrders = Callable[[Sequence[ListedOrder]], Awaitable[Sequence[RemoteOrder]]]


@dataclass(frozen=True)
class OrderPage:
    """A page of orders and the cursor that is safe to store once the page is committed.

    Optionally (a connector's choice), a page may *list* orders instead of converting them: ``listed``
    names each one (key and update time) and ``load`` converts the ones the host asks for. The host
    asks, at most once per page and before committing its cursor, for the listed orders it does not
    already hold at that update time, so a re-read of unchanged orders costs no conversion and no
    follow-up calls (documents...). ``orders`` and ``listed`` may both be used in one page.
    """

    orders: tuple[RemoteOrder, ...]
    cursor: str | None
    listed: tuple[ListedOrder, ...] = ()
    load: LoadOrders | None = None

    def __post_init__(self) -> None:
        if self.listed and self.load is None:
            raise ValueError("an OrderPage that lists orders needs a load function")

    async def load_listed(self, wanted: Sequence[ListedOrder]) -> tuple[RemoteOrder, ...]:
        """The listed orders ``wanted``, converted by the connector and checked: exactly one order per
        one asked for, with the same marketplace and id, not older than listed."""
        # Each order once (a page may list one twice if it moved while being read): its newest listing.
        newest = {(o.marketplace, o.order_id): o for o in sorted(wanted, key=lambda o: o.updated_at)}
        if not newest:
            return ()
        assert self.load is not None
        loaded = tuple(await self.load(tuple(newest.values())))
        asked = {key: o.updated_at for key, o in newest.items()}
        got = {(o.marketplace, o.order_id): o for o in loaded if isinstance(o, RemoteOrder)}
        if len(loaded) != len(asked) or got.keys() != asked.keys() or any(
                got[key].updated_at < updated_at for key, updated_at in asked.items()):
            from lengow_tui.connector_api.errors import MalformedResponseError

            raise MalformedResponseError(
                f"the connector's load returned {len(loaded)} order(s) for {len(asked)} asked for, or other "
                "orders than those listed (a connector bug: load must return each listed order asked for)")
        return loaded

    async def all_orders(self) -> tuple[RemoteOrder, ...]:
        """Every order of the page: ``orders`` and, loaded, every listed one."""
        return self.orders + await self.load_listed(self.listed) if self.listed else self.orders

    @property
    def size(self) -> int:
        """How many orders the page holds, converted or listed."""
        return len(self.orders) + len(self.listed)


@dataclass(frozen=True)
class ActionRequest:
    """An action the host asks the connector to deliver.

    ``action_id`` is stable across retries of the same intent: connectors that can pass an idempotency
    key to the marketplace should use it.
    """

    action_id: str
    kind: ActionKind
    marketplace: str
    order_id: str
    arguments: Mapping[str, str] = field(default_factory=dict)
    lines: tuple[LineSelection, ...] = ()
    attempt: int = 1


class ActionOutcome(StrEnum):
    """What happened to an action; decides what the host does next (see docs/connector-guide.md)."""

    APPLIED = "applied"  # the marketplace accepted it
    ALREADY_APPLIED = "already_applied"  # it was applied before (a replay); nothing new happened
    REJECTED = "rejected"  # terminal: the marketplace refused, ``message`` says why
    RETRYABLE = "retryable"  # a transient failure (5xx, timeout before sending); try again later
    RATE_LIMITED = "rate_limited"  # try again after ``retry_after`` seconds; the channel waits too
    AMBIGUOUS = "ambiguous"  # may or may not have been applied; the host re-reads the order first
    PENDING = "pending"  # accepted for asynchronous processing; poll ``handle``
    NOT_SUPPORTED = "not_supported"  # the connector does not implement this action


@dataclass(frozen=True)
class ActionResult:
    """The answer of ``perform``/``poll``. Build it with the class methods (``ActionResult.applied()``...).

    ``retry_after`` (seconds) goes with ``rate_limited`` and optionally ``retryable``; ``handle`` with
    ``pending``. ``message`` is shown to the merchant: no secrets, no customer data.
    """

    outcome: ActionOutcome
    message: str = ""
    retry_after: float | None = None
    handle: str | None = None

    @classmethod
    def applied(cls, message: str = "") -> ActionResult:
        """The marketplace accepted the action."""
        return cls(ActionOutcome.APPLIED, message)

    @classmethod
    def already_applied(cls, message: str = "") -> ActionResult:
        """A replay: the marketplace had applied this action before; nothing new happened."""
        return cls(ActionOutcome.ALREADY_APPLIED, message)

    @classmethod
    def rejected(cls, message: str) -> ActionResult:
        """Refused for good (wrong state, invalid data); ``message`` tells the merchant why."""
        return cls(ActionOutcome.REJECTED, message)

    @classmethod
    def retryable(cls, message: str, retry_after: float | None = None) -> ActionResult:
        """A transient failure (5xx, nothing sent); the host retries with backoff."""
        return cls(ActionOutcome.RETRYABLE, message, retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: float, message: str = "rate limited") -> ActionResult:
        """The marketplace asked to slow down: retry after ``retry_after`` seconds."""
        return cls(ActionOutcome.RATE_LIMITED, message, retry_after=retry_after)

    @classmethod
    def ambiguous(cls, message: str) -> ActionResult:
        """It may or may not have been applied; the host re-reads the order before any resend."""
        return cls(ActionOutcome.AMBIGUOUS, message)

    @classmethod
    def pending(cls, handle: str, message: str = "") -> ActionResult:
        """Accepted for asynchronous processing; the host calls ``poll(handle)`` until final."""
        return cls(ActionOutcome.PENDING, message, handle=handle)

    @classmethod
    def not_supported(cls, message: str) -> ActionResult:
        """The connector does not implement this action (answer it without any HTTP call)."""
        return cls(ActionOutcome.NOT_SUPPORTED, message)

    @property
    def final(self) -> bool:
        """True for outcomes that end the action (applied, already applied, rejected, not supported)."""
        return self.outcome in (
            ActionOutcome.APPLIED,
            ActionOutcome.ALREADY_APPLIED,
            ActionOutcome.REJECTED,
            ActionOutcome.NOT_SUPPORTED,
        )


@dataclass(frozen=True)
class DocumentContent:
    """The bytes of a document, as ``fetch_document`` returns them."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class CheckResult:
    """The answer of ``MarketplaceClient.check()``: can we talk to the marketplace with this config?"""

    ok: bool
    message: str = ""
