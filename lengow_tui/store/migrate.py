"""Alembic migrations, run from code: on start and by ``lengow-tui db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from lengow_tui.store.engine import Store, StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# PostgreSQL: the transaction-level advisory lock every migrator takes first, so that workers starting
# together on an old schema migrate one at a time (the first does the work, the others then find none).
MIGRATION_LOCK_KEY = 7286335401


def alembic_config(store: Store | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if store is not None:
        config.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(store: Store, revision: str = "head") -> None:
    config = alembic_config(store)
    try:
        if revision == "head" and store.is_sqlite and current_revision(store) == head_revision():
            return  # the common start: nothing to do, and no write transaction to wait for
        # SQLite: BEGIN IMMEDIATE takes the write lock up front (waiting the busy timeout behind a
        # daemon's writes); a deferred transaction that reads the version and then writes the schema
        # fails at once with "database is locked" when someone wrote in between.
        with store._write_engine.begin() as conn:
            if store.engine.dialect.name == "postgresql":
                # One migrator at a time: others wait here, then find nothing left to do.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StoreError(f"cannot open or migrate the database {store.safe_url}: {exc.orig}") from None
