"""Noticing changes made by this app, another terminal or a daemon, cheaply.

SQLite: a "data version" is read every tick: the newest order event id, the newest action update and the
newest import attempt. Any change means lists and counts should be refreshed.

PostgreSQL: writers send ``NOTIFY lengow_tui_changes`` when they commit (:mod:`lengow_tui.store.notify`);
:class:`ChangeListener` ``LISTEN``s on a connection of its own, in a thread, and calls back on every
notification for this store's schema. The data-version poll stays as the fallback while the listener is
not connected, and (slowly) as a safety net for writers that do not notify.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from lengow_tui.store.engine import Store
from lengow_tui.store.models import Action, OrderEvent, SyncCursor
from lengow_tui.store.notify import CHANNEL, parse

logger = logging.getLogger(__name__)

RECONNECT_FIRST = 1.0  # seconds before the first reconnection attempt, doubling up to RECONNECT_MAX
RECONNECT_MAX = 30.0


def data_version(store: Store) -> tuple[object, ...]:
    with store.read() as session:
        last_event = session.exec(select(func.max(OrderEvent.id))).one()
        last_action = session.exec(select(func.max(Action.updated_at))).one()
        cursors = session.exec(select(func.max(SyncCursor.last_attempt_at))).one()
    return (last_event, last_action, cursors)


class ChangeListener:
    """``LISTEN lengow_tui_changes`` on a dedicated psycopg connection, in a daemon thread.

    ``on_change(body)`` is called from the listener thread for each notification of this store's schema
    (``body`` as sent: channel ids, up to 50 order ids, a count), and once with ``{}`` after every
    (re)connection, since notifications sent while disconnected are lost. ``connected`` says whether
    notifications can currently arrive; callers poll while it is False.
    """

    def __init__(self, store: Store, on_change: Callable[[dict[str, Any]], None]) -> None:
        if store.is_sqlite:
            raise ValueError("LISTEN/NOTIFY needs PostgreSQL")
        url = make_url(store.url)
        # libpq form (keeps ?options=-csearch_path=... so current_schema() is the store's schema).
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self.schema: str | None = None
        self.notifications = 0  # received for this schema (tests, diagnostics)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lengow-tui-listen", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def _run(self) -> None:
        delay = RECONNECT_FIRST
        while not self._stop.is_set():
            try:
                self._listen()
                delay = RECONNECT_FIRST
            except Exception as exc:  # server restart, network cut: poll meanwhile, then reconnect
                logger.debug("LISTEN connection lost: %s", exc)
            finally:
                self._connected.clear()
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, RECONNECT_MAX)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
            self.schema = row[0] if row else None
            conn.execute(f"LISTEN {CHANNEL}")
            self._connected.set()
            self._on_change({})  # whatever changed while we were not listening
            while not self._stop.is_set():
                # Wakes at least every second to notice stop(); a dead connection raises here.
                for notify in conn.notifies(timeout=1.0):
                    schema, body = parse(notify.payload)
                    if schema == self.schema:
                        self.notifications += 1
                        self._on_change(body)
                    if self._stop.is_set():
                        break
                if not conn.closed:  # a cheap liveness check when idle
                    conn.execute("SELECT 1")

