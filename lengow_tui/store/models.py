"""The tables. Personal data lives in ``party`` (and ``orders.buyer_name`` for lists) so that the
retention purge touches few places. Amounts are integer cents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from lengow_tui.store.types import UTCDateTime, utcnow


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Channel(SQLModel, table=True):
    """A configured marketplace account: one connector with one set of credentials."""

    __tablename__ = "channel"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    connector: str = Field(max_length=64)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MarketplaceCache(SQLModel, table=True):
    """Declarations fetched at run time by dynamic connectors, so every host validates alike."""

    __tablename__ = "marketplace_cache"
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    code: str = Field(primary_key=True, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel_id", "marketplace", "marketplace_order_id", name="uq_order_remote"),
        Index("ix_orders_status_ordered", "status", "ordered_at"),
        Index("ix_orders_channel_ordered", "channel_id", "ordered_at"),
        Index("ix_orders_ordered", "ordered_at"),
        Index("ix_orders_review", "needs_review"),
        # Sorting a list by total or deadline, overall or within a status, and finding an order by
        # the marketplace's reference, without scanning the table.
        Index("ix_orders_reference", "marketplace_order_id"),
        Index("ix_orders_total", "total_cents"),
        Index("ix_orders_status_total", "status", "total_cents"),
        Index("ix_orders_deadline", "shipping_deadline"),
        Index("ix_orders_status_deadline", "status", "shipping_deadline"),
        # Sorting by status or channel alone (the row id, implicit in every index, breaks ties).
        Index("ix_orders_status", "status"),
        Index("ix_orders_channel", "channel_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id")
    marketplace: str = Field(max_length=64)
    marketplace_order_id: str = Field(max_length=128)
    status: str | None = Field(default=None, max_length=32)  # common status; None when raw is unknown
    raw_status: str = Field(max_length=128)
    needs_review: bool = False  # raw status not in the marketplace's map
    ordered_at: datetime = Field(sa_type=UTCDateTime)
    remote_updated_at: datetime = Field(sa_type=UTCDateTime)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    synced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    currency: str = Field(default="EUR", max_length=3)
    total_cents: int = 0
    shipping_cents: int = 0
    items_count: int = 0
    delivery_type: str | None = Field(default=None, max_length=64)
    shipping_deadline: datetime | None = _ts()
    carrier: str | None = Field(default=None, max_length=128)
    tracking_number: str | None = Field(default=None, max_length=128)
    tracking_url: str | None = Field(default=None, max_length=1024)
    buyer_name: str | None = Field(default=None, max_length=256)  # personal data (list display)
    search_text: str = Field(default="", max_length=4096)  # lowercased ids, buyer, SKUs, titles, tracking
    has_documents: bool = False
    pending_actions: int = 0  # actions queued or in flight, for the list marker
    # Why auto-accept left this order for a human (None when it was accepted or never considered).
    auto_accept_note: str | None = Field(default=None, max_length=512)
    anonymized_at: datetime | None = _ts()
    raw_payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_id", name="uq_line"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    line_id: str = Field(max_length=128)
    sku: str = Field(default="", max_length=128, index=True)
    title: str = Field(default="", max_length=512)
    quantity: int = 1
    amount_cents: int = 0
    tax_cents: int = 0
    raw_status: str | None = Field(default=None, max_length=128)
    status: str | None = Field(default=None, max_length=32)


class Party(SQLModel, table=True):
    """All personal data of an order: buyer, billing and shipping contacts."""

    __tablename__ = "party"
    __table_args__ = (UniqueConstraint("order_id", "role", name="uq_party_role"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    role: str = Field(max_length=16)
    name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    zipcode: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""


class Document(SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("order_id", "remote_id", name="uq_document"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    remote_id: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    filename: str = Field(max_length=256)
    content_type: str = Field(default="application/octet-stream", max_length=128)
    size: int | None = None
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    fetched_at: datetime | None = _ts()


class Action(SQLModel, table=True):
    """The outbox: a merchant's intent, stored first, delivered later, done when confirmed."""

    __tablename__ = "action"
    __table_args__ = (
        Index("ix_action_due", "state", "next_attempt_at"),
        Index("ix_action_order", "order_id", "id"),
        Index("ix_action_updated", "updated_at"),  # the TUI's live-change signal reads max(updated_at)
        Index("ix_action_lease_owner", "lease_owner"),  # what a worker holds (workers, dead-worker cleanup)
    )
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id")
    channel_id: int = Field(foreign_key="channel.id")
    kind: str = Field(max_length=16)
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    lines: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="queued", max_length=32)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _ts()
    handle: str | None = Field(default=None, max_length=256)  # asynchronous marketplaces: what to poll
    needs_reconcile: bool = False  # outcome unknown (crash, lease expiry, ambiguous): re-read before resend
    last_error: str | None = Field(default=None, max_length=2048)
    source: str = Field(default="cli", max_length=16)  # cli, tui, auto
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = _ts()


class ActionAttempt(SQLModel, table=True):
    __tablename__ = "action_attempt"
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    attempt_no: int
    worker: str = Field(default="", max_length=128)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = _ts()
    outcome: str | None = Field(default=None, max_length=32)
    message: str | None = Field(default=None, max_length=2048)


class OrderEvent(SQLModel, table=True):
    """Status history and action milestones of an order."""

    __tablename__ = "order_event"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=32)  # imported, status, action, review
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    raw_status: str | None = Field(default=None, max_length=128)
    action_id: int | None = Field(default=None, foreign_key="action.id")
    message: str | None = Field(default=None, max_length=2048)


class SyncCursor(SQLModel, table=True):
    __tablename__ = "sync_cursor"
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    cursor: str | None = Field(default=None, max_length=1024)
    last_attempt_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=2048)
    orders_seen: int = 0


class ChannelGate(SQLModel, table=True):
    """A channel's rate gate and failure counter, in the database so that every worker sees it."""

    __tablename__ = "channel_gate"
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    blocked_until: datetime | None = _ts()  # no call to the marketplace before this instant
    reason: str | None = Field(default=None, max_length=512)
    consecutive_failures: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChannelLease(SQLModel, table=True):
    """Which worker imports a channel now. Claimed atomically with an expiry, renewed with every stored
    page (in the page's transaction: a worker that lost its lease cannot commit another page), released
    at the end of a pass, taken over once expired. ``next_import_at`` is the fleet's shared schedule:
    with several workers, a channel is still imported once per interval, not once per worker."""

    __tablename__ = "channel_lease"
    channel_id: int = Field(foreign_key="channel.id", primary_key=True)
    owner: str | None = Field(default=None, max_length=128)  # worker name (host:pid); None = free
    expires_at: datetime | None = _ts()
    acquired_at: datetime | None = _ts()
    next_import_at: datetime | None = _ts()  # no scheduled import before this instant (daemons)


class Stock(SQLModel, table=True):
    __tablename__ = "stock"
    sku: str = Field(primary_key=True, max_length=128)
    quantity: int = 0
    reserved: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StockReservation(SQLModel, table=True):
    """Stock held by an auto-accepted order; the key makes a re-run after a crash reserve nothing twice."""

    __tablename__ = "stock_reservation"
    order_id: int = Field(foreign_key="orders.id", primary_key=True)
    sku: str = Field(primary_key=True, max_length=128)
    quantity: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PurgeRun(SQLModel, table=True):
    """One run of the GDPR retention purge (or its dry run), kept as proof."""

    __tablename__ = "purge_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = _ts()
    dry_run: bool = False
    worker: str = Field(default="", max_length=128)
    orders: int = 0  # orders anonymized (or that would be)
    documents: int = 0  # stored documents deleted
    actions: int = 0  # actions whose arguments were scrubbed
    events: int = 0  # events whose messages were scrubbed
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # per channel
    error: str | None = Field(default=None, max_length=2048)


class Worker(SQLModel, table=True):
    """A running sync process (daemon or TUI background engine), with a heartbeat."""

    __tablename__ = "worker"
    name: str = Field(primary_key=True, max_length=128)  # host:pid
    kind: str = Field(default="daemon", max_length=16)  # daemon, tui
    host: str = Field(default="", max_length=128)
    pid: int = 0
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    holds: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


ALL_TABLES = [
    Channel,
    MarketplaceCache,
    Order,
    OrderLine,
    Party,
    Document,
    Action,
    ActionAttempt,
    OrderEvent,
    SyncCursor,
    ChannelGate,
    ChannelLease,
    Stock,
    StockReservation,
    PurgeRun,
    Worker,
]
