"""The import's fast multi-row INSERT stores exactly what the ORM stores: same timestamps (UTC, with
microseconds), JSON, booleans and NULLs, read back through the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from lengow_tui.store import open_store
from lengow_tui.store.fast_insert import insert_rows
from lengow_tui.store.models import Channel, Order, OrderLine

NOW = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))


def _values(reference: str, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "marketplace": "fnac", "marketplace_order_id": reference, "status": "waiting_acceptance",
        "raw_status": "WAITING_ACCEPTANCE", "needs_review": False,
        "ordered_at": datetime(2026, 11, 19, 23, 59, 59, 999999, tzinfo=PARIS),
        "remote_updated_at": NOW, "imported_at": NOW, "synced_at": NOW, "currency": "EUR",
        "total_cents": 12345, "shipping_cents": 490, "items_count": 3, "delivery_type": None,
        "shipping_deadline": None, "carrier": None, "tracking_number": None, "tracking_url": None,
        "buyer_name": "Zoé Dupré", "search_text": "a b", "has_documents": True, "pending_actions": 0,
        "auto_accept_note": None, "anonymized_at": None,
        "raw_payload": {"order_id": reference, "nested": {"price": 12.5, "list": [1, "€"]}},
    }
    values.update(changes)
    return values


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = open_store(url)
    yield store
    store.dispose()


def test_rows_read_back_as_the_orm_would_have_stored_them(store) -> None:  # type: ignore[no-untyped-def]
    with store.write() as session:
        channel = Channel(name="fnac", connector="mirakl")
        session.add(channel)
        session.flush()
        deadline = NOW + timedelta(days=2)
        fast = [_values("FAST-1"), _values("FAST-2", shipping_deadline=deadline, needs_review=True, status=None,
                                             carrier="Colissimo", has_documents=False)]
        for row in fast:
            row["channel_id"] = channel.id
        insert_rows(session.connection(), Order.__table__, fast)  # type: ignore[attr-defined]
        orm = Order(channel_id=channel.id, **_values("ORM-2", shipping_deadline=deadline, needs_review=True,
                                                     status=None, carrier="Colissimo", has_documents=False))
        session.add(orm)
    with store.read() as session:
        rows = {row.marketplace_order_id: row for row in session.exec(select(Order))}
    first, second, reference = rows["FAST-1"], rows["FAST-2"], rows["ORM-2"]
    assert first.ordered_at == datetime(2026, 11, 19, 22, 59, 59, 999999, tzinfo=UTC)
    assert first.remote_updated_at == NOW and first.synced_at == NOW
    assert first.raw_payload == {"order_id": "FAST-1", "nested": {"price": 12.5, "list": [1, "€"]}}
    assert first.has_documents is True and first.needs_review is False and first.shipping_deadline is None
    assert first.buyer_name == "Zoé Dupré"
    for name in ("status", "needs_review", "ordered_at", "shipping_deadline", "carrier", "has_documents",
                 "total_cents", "anonymized_at", "synced_at"):
        assert getattr(second, name) == getattr(reference, name), name


def test_nothing_to_insert_does_nothing(store) -> None:  # type: ignore[no-untyped-def]
    with store.write() as session:
        insert_rows(session.connection(), Order.__table__, [])  # type: ignore[attr-defined]
    with store.read() as session:
        assert list(session.exec(select(Order))) == []


def test_many_rows_are_all_stored_in_order(store) -> None:  # type: ignore[no-untyped-def]
    """More rows than one multi-row statement holds: every row stored once, each with its own values."""
    with store.write() as session:
        channel = Channel(name="fnac", connector="mirakl")
        session.add(channel)
        session.flush()
        insert_rows(session.connection(), Order.__table__, [_values("R-1", channel_id=channel.id)])  # type: ignore[attr-defined]
        order_id = session.exec(select(Order.id)).one()
        lines = [{"order_id": order_id, "line_id": f"L-{n:04d}", "sku": f"SKU-{n}", "title": "Théière", "quantity": n,
                  "amount_cents": 10 * n, "tax_cents": 0, "raw_status": None, "status": None} for n in range(1234)]
        insert_rows(session.connection(), OrderLine.__table__, lines)  # type: ignore[attr-defined]
    with store.read() as session:
        stored = {line.line_id: (line.quantity, line.amount_cents, line.title) for line in session.exec(select(OrderLine))}
    assert stored == {f"L-{n:04d}": (n, 10 * n, "Théière") for n in range(1234)}
