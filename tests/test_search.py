"""Free-text search through the search index (FTS5 on SQLite, pg_trgm on PostgreSQL): what a merchant
types finds the order, and the index follows every change of the orders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from lengow_tui.services.orders import OrderFilter, count_orders, list_orders
from lengow_tui.store import open_store
from lengow_tui.store.bulk import generate_orders
from lengow_tui.store.models import Order

NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = open_store(url)
    generate_orders(store, 400, seed=3, now=NOW)
    yield store
    store.dispose()


def _found(store, search: str, **kw) -> set[int]:  # type: ignore[no-untyped-def]
    with store.read() as session:
        return {o.id for o in list_orders(session, OrderFilter(search=search, **kw), limit=1000)}


def _count(store, search: str) -> int:  # type: ignore[no-untyped-def]
    with store.read() as session:
        return count_orders(session, OrderFilter(search=search))


def test_reference_surname_sku_and_title_find_the_order(store):
    with store.read() as session:
        order = session.exec(select(Order).where(Order.buyer_name.is_not(None)).limit(1)).one()  # type: ignore[union-attr]
    surname = order.buyer_name.split()[-1]  # type: ignore[union-attr]
    assert _found(store, order.marketplace_order_id) == {order.id}
    assert _count(store, order.marketplace_order_id) == 1
    by_name = _found(store, surname)
    assert order.id in by_name and len(by_name) == _count(store, surname)
    assert order.id in _found(store, surname.upper())  # case does not matter
    assert order.id in _found(store, surname[:3])  # the start of a word is enough
    assert order.id in _found(store, f"{surname} {order.marketplace_order_id}")  # every term must match
    assert _found(store, f"{surname} no-such-thing-zz") == set()


def test_the_index_follows_updates_and_deletes(store):
    with store.write() as session:
        order = session.exec(select(Order).where(Order.buyer_name.is_not(None)).limit(1)).one()  # type: ignore[union-attr]
        order.search_text = order.search_text.replace((order.buyer_name or "").casefold(), "zorglub quixotic")
        order.buyer_name = "Zorglub Quixotic"
        session.add(order)
    assert _found(store, "quixotic") == {order.id}
    assert _found(store, "Hélène-Zorglub") == set()  # one word missing: no match
    assert _found(store, "zorglub quixo") == {order.id}
    with store.write() as session:
        order.search_text = order.marketplace_order_id.casefold()
        session.add(session.merge(order))
    assert _found(store, "quixotic") == set() and _count(store, "quixotic") == 0


def test_accents_and_punctuation(store, request):
    with store.write() as session:
        order = session.exec(select(Order).limit(1)).one()
        order.search_text += " hélène d'artagnan"
        session.add(order)
    assert order.id in _found(store, "hélène")
    assert order.id in _found(store, "artagnan")
    if "sqlite" in request.node.callspec.id:
        assert order.id in _found(store, "helene")  # SQLite's index also folds accents
