"""Noticing changes made by this app, another terminal or a daemon, cheaply.

A "data version" is read every tick: the newest order event id, the newest action update and the
order count. Any change means lists and counts should be refreshed.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from lengow_tui.store.engine import Store
from lengow_tui.store.models import Action, OrderEvent, SyncCursor


def data_version(store: Store) -> tuple[object, ...]:
    with store.read() as session:
        last_event = session.exec(select(func.max(OrderEvent.id))).one()
        last_action = session.exec(select(func.max(Action.updated_at))).one()
        cursors = session.exec(select(func.max(SyncCursor.last_attempt_at))).one()
    return (last_event, last_action, cursors)
