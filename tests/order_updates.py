"""Changing stored orders behind the app's back, with plain SQL updates (the store's triggers keep the
order counts and the search index), for tests that shape generated data."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlmodel import col

from lengow_tui.store.engine import Store
from lengow_tui.store.models import Order, OrderEvent, OrderLine, Party


def set_orders(store: Store, ids: list[int], **values: object) -> None:
    with store.write() as session:
        stmt = update(Order).where(col(Order.id).in_(ids)).values(**values)
        session.exec(stmt)  # type: ignore[call-overload]


def delete_orders(store: Store, ids: list[int]) -> None:
    """Delete orders and the rows that hang on them."""
    with store.write() as session:
        for table in (OrderLine, Party, OrderEvent):
            session.exec(delete(table).where(col(table.order_id).in_(ids)))  # type: ignore[call-overload]
        session.exec(delete(Order).where(col(Order.id).in_(ids)))  # type: ignore[call-overload]
