"""Shared fixtures: database URLs for SQLite (a file per test) and PostgreSQL (a schema per test).

PostgreSQL is the machine's server (``LENGOW_TUI_TEST_PG_URL``, by default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each test gets a throwaway schema, selected through
``options=-csearch_path=...`` in the URL and dropped afterwards. When the server cannot be reached the test
is skipped, except under CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:  # the "postgres" marker selects (-m postgres) or deselects the PostgreSQL tests
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of its own (created by ``open_store``)."""
    return f"sqlite:///{tmp_path / 'lengow-tui.db'}"


def _libpq(url: URL) -> str:
    """The libpq form of a SQLAlchemy URL, for connecting with psycopg directly."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped (CASCADE) after the test."""
    import psycopg

    base = make_url(os.environ.get("LENGOW_TUI_TEST_PG_URL") or DEFAULT_PG_URL)
    try:
        admin = psycopg.connect(_libpq(base), autocommit=True, connect_timeout=5)
    except Exception as exc:
        where = base.render_as_string(hide_password=True)
        message = f"PostgreSQL is not reachable at {where}: {exc}".strip()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False
            )
        finally:
            admin.execute("SET lock_timeout = '30s'")  # a connection left in a transaction blocks the drop
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
