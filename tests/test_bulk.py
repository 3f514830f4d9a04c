"""The bulk order generator (benchmark data): counts, determinism, spread, consistency, ORM round trip.

Runs on SQLite and on the machine's PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import String, func, text
from sqlmodel import col, select

from lengow_tui.domain.statuses import Status
from lengow_tui.store import Store, bulk, open_store
from lengow_tui.store.models import Channel, Order, OrderEvent, OrderLine, Party

N = 2_000
NOW = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
OPEN = {"new", "waiting_acceptance", "accepted", "waiting_shipment", "pickup_to_prepare", "to_pickup"}


def scalar(store: Store, sql: str) -> object:
    with store.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def rows(store: Store, sql: str) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def first_orders(store: Store, limit: int = 50) -> list[tuple]:
    with store.read() as session:
        orders = session.exec(select(Order).order_by(col(Order.id)).limit(limit)).all()
        return [tuple(o.model_dump().items()) for o in orders]


def check_generated(store: Store, stats: bulk.GenerateStats) -> None:
    """Everything that must hold for a freshly generated database of N orders."""
    assert (stats.orders, stats.parties, stats.events) == (N, 3 * N, N)
    assert scalar(store, "SELECT count(*) FROM orders") == N
    assert scalar(store, "SELECT count(*) FROM order_line") == stats.lines
    assert 2.2 * N <= stats.lines <= 2.9 * N  # ~2.5 lines per order
    assert rows(
        store, "SELECT min(c), max(c) FROM (SELECT count(*) AS c FROM order_line GROUP BY order_id) t"
    ) == [(1, 6)]
    assert sorted(rows(store, "SELECT role, count(*) FROM party GROUP BY role")) == [
        ("billing", N),
        ("buyer", N),
        ("shipping", N),
    ]
    assert scalar(store, "SELECT count(*) FROM order_event WHERE kind = 'imported'") == N
    assert sorted(stats.channels) == ["amazon", "cdiscount", "fnac", "manomano"]
    assert scalar(store, "SELECT count(*) FROM channel WHERE connector = 'sandbox'") == 4

    # statuses: the 16 common values, or NULL (unknown raw status) exactly when flagged for review
    spread = Counter(dict(rows(store, "SELECT status, count(*) FROM orders GROUP BY status")))
    assert set(spread) - {None} == {s.value for s in Status}
    assert spread[None] == scalar(store, "SELECT count(*) FROM orders WHERE needs_review")
    assert 0 < spread[None] < N * 0.01
    share = {status: count / N for status, count in spread.items()}
    assert 0.50 <= share["closed"] <= 0.60
    assert 0.12 <= share["shipped"] <= 0.18
    assert 0.06 <= share["waiting_shipment"] <= 0.10
    assert 0.03 <= share["canceled"] <= 0.07
    assert 0.02 <= share["waiting_acceptance"] <= 0.06
    # one raw status means one common status, per channel
    assert not rows(
        store,
        "SELECT channel_id, raw_status FROM orders GROUP BY channel_id, raw_status "
        "HAVING count(DISTINCT coalesce(status, '-')) > 1",
    )
    # amounts: totals are the lines plus shipping; items are the quantities
    assert not rows(
        store,
        "SELECT o.id FROM orders o JOIN order_line l ON l.order_id = o.id GROUP BY o.id, o.total_cents, "
        "o.shipping_cents, o.items_count HAVING o.total_cents <> sum(l.amount_cents) + o.shipping_cents "
        "OR o.items_count <> sum(l.quantity)",
    )
    assert (
        scalar(store, "SELECT count(*) FROM order_line WHERE tax_cents <= 0 OR tax_cents >= amount_cents")
        == 0
    )
    currencies = Counter(dict(rows(store, "SELECT currency, count(*) FROM orders GROUP BY currency")))
    assert set(currencies) == {"EUR", "GBP", "PLN"} and currencies["EUR"] > 0.85 * N
    # open orders have a deadline and no tracking; parcels that left have a carrier and a tracking number
    open_list = ", ".join(f"'{s}'" for s in OPEN)
    assert (
        scalar(
            store, f"SELECT count(*) FROM orders WHERE status IN ({open_list}) AND shipping_deadline IS NULL"
        )
        == 0
    )
    assert (
        scalar(
            store,
            f"SELECT count(*) FROM orders WHERE status IN ({open_list}) AND tracking_number IS NOT NULL",
        )
        == 0
    )
    assert (
        scalar(
            store,
            "SELECT count(*) FROM orders WHERE status IN ('shipped', 'closed') AND delivery_type IN "
            "('PARCEL', 'EXPRESS', 'RELAY') "
            "AND (carrier IS NULL OR tracking_number IS NULL OR tracking_url IS NULL)",
        )
        == 0
    )
    assert 0 < scalar(store, "SELECT count(*) FROM orders WHERE has_documents") < N  # type: ignore[operator]
    # search_text: lowercased reference, buyer, SKUs and titles
    for ref, buyer, search in rows(
        store, "SELECT marketplace_order_id, buyer_name, search_text FROM orders LIMIT 200"
    ):
        assert search == search.lower() and search.startswith(f"{ref.lower()} {buyer.casefold()} ")
    assert not rows(
        store,
        "SELECT l.id FROM order_line l JOIN orders o ON o.id = l.order_id "
        "WHERE o.search_text NOT LIKE '%' || lower(l.sku) || '%'",
    )
    # every text value fits its column
    for table in (Order, OrderLine, Party, OrderEvent):
        for column in table.__table__.columns:  # type: ignore[attr-defined]
            if isinstance(column.type, String) and column.type.length:
                longest = scalar(store, f"SELECT max(length({column.name})) FROM {table.__tablename__}")
                assert (longest or 0) <= column.type.length, (table.__tablename__, column.name, longest)

    # read back through the ORM: aware UTC timestamps, consistent dates, the small payload
    with store.read() as session:
        orders = session.exec(select(Order).order_by(col(Order.id))).all()
        assert [o.id for o in orders[:3]] == [stats.first_order_id + k for k in range(3)]
        oldest = NOW - timedelta(days=bulk.HISTORY_DAYS + 1)
        for order in orders:
            assert order.ordered_at.tzinfo is not None and order.ordered_at.utcoffset() == timedelta(0)
            assert oldest <= order.ordered_at <= order.remote_updated_at <= NOW
            assert order.ordered_at <= order.imported_at <= NOW and order.synced_at <= NOW
            assert order.raw_payload == {"generated": True}
            assert order.needs_review is (order.status is None)
            if order.status in OPEN:
                assert order.shipping_deadline is not None and order.shipping_deadline > order.ordered_at
        recent = [o.ordered_at for o in orders[-N // 10 :]]
        assert sorted(recent) == recent  # ids follow time
        open_ages = [NOW - o.ordered_at for o in orders if o.status in OPEN]
        assert max(open_ages) < timedelta(days=120)  # open orders are the recent ones
        assert orders[0].ordered_at < NOW - timedelta(days=700)
        parties = session.exec(select(Party).where(Party.order_id == orders[0].id)).all()
        assert {p.role for p in parties} == {"buyer", "billing", "shipping"}
        assert all(p.name and p.email and "@" in p.email and p.phone.startswith("+") for p in parties)
        buyer = next(p for p in parties if p.role == "buyer")
        assert orders[0].buyer_name == buyer.name
        event = session.exec(select(OrderEvent).where(OrderEvent.order_id == orders[0].id)).one()
        assert event.at == orders[0].imported_at and event.to_status == orders[0].status
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == orders[0].id)).all()
        assert lines and all(line.sku and line.title and line.quantity >= 1 for line in lines)


def test_generate_on_sqlite(sqlite_url: str):
    store = open_store(sqlite_url)
    progress: list[int] = []
    stats = bulk.generate_orders(store, N, now=NOW, progress=progress.append)
    assert progress == [N]
    check_generated(store, stats)
    # the indexes are all there and analysed, the connection settings are back to the engine's
    names = {r[0] for r in rows(store, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    for table in (Order, OrderLine, Party, OrderEvent):
        assert {index.name for index in table.__table__.indexes} <= names  # type: ignore[attr-defined]
    assert scalar(store, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'orders'")
    assert scalar(store, "PRAGMA foreign_keys") == 1 and scalar(store, "PRAGMA synchronous") == 1
    # timestamps are stored in SQLAlchemy's own SQLite format, so SQL comparisons with bound datetimes work
    assert rows(store, "SELECT ordered_at FROM orders LIMIT 1")[0][0].endswith(".000000")
    with store.read() as session:
        since = NOW - timedelta(days=30)
        via_sql = session.exec(
            select(func.count()).select_from(Order).where(col(Order.ordered_at) >= since)
        ).one()
        via_python = sum(1 for o in session.exec(select(Order)).all() if o.ordered_at >= since)
        assert via_sql == via_python > 0
    store.dispose()


@pytest.mark.postgres
def test_generate_on_postgres(pg_url: str):
    store = open_store(pg_url)
    try:
        stats = bulk.generate_orders(store, N, now=NOW)
        check_generated(store, stats)
        assert scalar(store, "SELECT count(*) FROM pg_stats WHERE tablename = 'orders'")  # analysed
        # the order id sequence moved past the ids the generator gave: the ORM can insert again
        with store.write() as session:
            channel = session.exec(select(Channel).where(Channel.name == "fnac")).one()
            order = Order(
                channel_id=channel.id,
                marketplace="fnac_fr",
                marketplace_order_id="ORM-1",
                raw_status="SHIPPING",
                status="waiting_shipment",
                ordered_at=NOW,
                remote_updated_at=NOW,
            )
            session.add(order)
            session.flush()
            assert order.id == N + 1
    finally:
        store.dispose()


def test_same_seed_same_orders_and_ids_follow_existing_rows(tmp_path):
    first = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    second = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    other = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    for store in (first, second):
        bulk.generate_orders(store, 500, seed=11, now=NOW)
    bulk.generate_orders(other, 500, seed=12, now=NOW)
    assert first_orders(first) == first_orders(second)
    assert first_orders(first) != first_orders(other)
    # a second run appends after the existing ids, without clashing with the first run's references
    stats = bulk.generate_orders(first, 300, seed=11, now=NOW, channels=("amazon", "boulanger"))
    assert (stats.first_order_id, stats.last_order_id) == (501, 800)
    assert scalar(first, "SELECT count(*) FROM orders") == 800
    assert scalar(first, "SELECT count(*) FROM channel") == 5
    # channels without an acceptance step get no acceptance statuses; an unknown channel speaks Mirakl
    amazon = rows(
        first,
        "SELECT DISTINCT o.status FROM orders o JOIN channel c ON c.id = o.channel_id "
        "WHERE c.name = 'amazon'",
    )
    assert ("waiting_acceptance",) not in amazon and ("accepted",) not in amazon
    assert rows(
        first,
        "SELECT DISTINCT marketplace FROM orders o JOIN channel c ON c.id = o.channel_id "
        "WHERE c.name = 'boulanger'",
    ) == [("boulanger_fr",)]
    for store in (first, second, other):
        store.dispose()


def test_the_child_process_builds_the_same_batches():
    args = (5, 1200, {"fnac": 1, "amazon": 2}, NOW, 1)
    assert list(bulk._batches_in_subprocess(*args)) == [
        tuple([list(part) for part in batch]) for batch in bulk._batches(*args)
    ]
