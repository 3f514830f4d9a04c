"""Opening the database: engine set-up for SQLite and PostgreSQL, sessions, migrations on start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from lengow_tui.store import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from lengow_tui.store import notify  # noqa: F401  (NOTIFY on commit, PostgreSQL)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _json_dumps(value: object) -> str:
    """JSON columns (raw payloads) with orjson: an import serialises one per order, and json.dumps
    was a tenth of the import's time. Anything orjson does not know becomes its str()."""
    return orjson.dumps(value, default=str).decode()


class StoreError(Exception):
    """The database cannot be opened or migrated; the message says which and why (no credentials)."""


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid database URL>"


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot do BEGIN IMMEDIATE; take it over
    # (SQLAlchemy's documented recipe) so that write sessions lock up front instead of failing with
    # "database is locked" when a deferred read transaction later tries to write.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA secure_delete = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """The application's database. ``read()`` and ``write()`` give short-lived sessions."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine

    @property
    def safe_url(self) -> str:
        return _safe_url(self.url)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success and rolled back on error. Keep it short."""
        with Session(self._write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def dispose(self) -> None:
        self.engine.dispose()


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StoreError(f"invalid database URL {_safe_url(url)!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               json_serializer=_json_dumps)
        _configure_sqlite(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps)
    except Exception as exc:  # e.g. missing driver
        raise StoreError(f"cannot open {_safe_url(url)}: {exc}") from None


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open (and by default migrate to the latest schema) the database at ``url``."""
    engine = create_store_engine(url)
    store = Store(url, engine)
    if migrate:
        from lengow_tui.store.migrate import upgrade

        upgrade(store)
    return store
