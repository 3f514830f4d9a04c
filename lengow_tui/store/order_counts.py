"""Order counts by channel, status and day, kept by triggers, so that the status sidebar and list
lengths are sums over a few thousand rows instead of a scan of the orders.

At a million orders, ``GROUP BY status`` over the whole table takes 150-200 ms on SQLite: too slow for
a sidebar that is recounted at every filter change and live refresh. The ``order_count`` table holds one
row per (channel, status, UTC day of ``ordered_at``) — some tens of thousands of rows for years of orders; triggers on ``orders`` keep it right whoever
writes (importer, purge, bulk generator, another host), like the search index. A filter of channels,
statuses and dates on UTC midnights is answered from it; anything else (a search, review flag, marketplace,
an odd date) by the real query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, column, func, select, table

ORDER_COUNT = table("order_count", column("channel_id"), column("status"), column("day"), column("n"))

# The status column holds '' for an order whose raw status is unknown (needs review): NULL is not a key.
_SQLITE_HOUR = "substr({row}.ordered_at, 1, 10)"  # 'YYYY-MM-DD' of the stored UTC timestamp
_SQLITE_UPSERT = (
    "INSERT INTO order_count (channel_id, status, day, n) VALUES ({row}.channel_id, coalesce({row}.status, ''), "
    f"{_SQLITE_HOUR}, {{delta}}) ON CONFLICT (channel_id, status, day) DO UPDATE SET n = n + {{delta}}"
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS order_count_ai AFTER INSERT ON orders BEGIN "
    + _SQLITE_UPSERT.format(row="new", delta=1) + "; END",
    "CREATE TRIGGER IF NOT EXISTS order_count_ad AFTER DELETE ON orders BEGIN "
    + _SQLITE_UPSERT.format(row="old", delta=-1) + "; END",
    "CREATE TRIGGER IF NOT EXISTS order_count_au AFTER UPDATE OF status, ordered_at, channel_id ON orders "
    "WHEN coalesce(old.status, '') IS NOT coalesce(new.status, '') OR old.channel_id IS NOT new.channel_id "
    f"OR {_SQLITE_HOUR.format(row='old')} IS NOT {_SQLITE_HOUR.format(row='new')} BEGIN "
    + _SQLITE_UPSERT.format(row="old", delta=-1) + "; " + _SQLITE_UPSERT.format(row="new", delta=1) + "; END",
)
SQLITE_TRIGGER_NAMES = ("order_count_ai", "order_count_ad", "order_count_au")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION order_count_keep() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO order_count (channel_id, status, day, n)
    VALUES (OLD.channel_id, coalesce(OLD.status, ''), to_char(OLD.ordered_at, 'YYYY-MM-DD'), -1)
    ON CONFLICT (channel_id, status, day) DO UPDATE SET n = order_count.n - 1;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO order_count (channel_id, status, day, n)
    VALUES (NEW.channel_id, coalesce(NEW.status, ''), to_char(NEW.ordered_at, 'YYYY-MM-DD'), 1)
    ON CONFLICT (channel_id, status, day) DO UPDATE SET n = order_count.n + 1;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""
PG_TRIGGERS = (
    "CREATE TRIGGER order_count_ins AFTER INSERT OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION order_count_keep()",
    "CREATE TRIGGER order_count_upd AFTER UPDATE OF status, ordered_at, channel_id ON orders FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.channel_id IS DISTINCT FROM NEW.channel_id "
    "OR date_trunc('day', OLD.ordered_at) IS DISTINCT FROM date_trunc('day', NEW.ordered_at)) "
    "EXECUTE FUNCTION order_count_keep()",
)

SQLITE_REBUILD = (
    "INSERT INTO order_count (channel_id, status, day, n) SELECT channel_id, coalesce(status, ''), "
    "substr(ordered_at, 1, 10), count(*) FROM orders GROUP BY 1, 2, 3"
)
_REBUILD = {
    "sqlite": SQLITE_REBUILD,
    "postgresql": "INSERT INTO order_count (channel_id, status, day, n) SELECT channel_id, coalesce(status, ''), "
                  "to_char(ordered_at, 'YYYY-MM-DD'), count(*) FROM orders GROUP BY 1, 2, 3",
}


def create_order_counts(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS order_count (channel_id INTEGER NOT NULL, status VARCHAR(32) NOT NULL, "
        "day VARCHAR(10) NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (channel_id, status, day))"
    )
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_FUNCTION)
        for statement in PG_TRIGGERS:
            conn.exec_driver_sql(statement)
    rebuild_order_counts(conn)


def drop_order_counts(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS order_count_ins ON orders")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS order_count_upd ON orders")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS order_count_keep()")
    conn.exec_driver_sql("DROP TABLE IF EXISTS order_count")


def rebuild_order_counts(conn: Connection) -> None:
    """Recount from the orders (after a bulk load that ran without the triggers)."""
    conn.exec_driver_sql("DELETE FROM order_count")
    statement = _REBUILD.get(conn.dialect.name)
    if statement:
        conn.exec_driver_sql(statement)


def day_key(moment: datetime) -> str | None:
    """The table's key for a UTC midnight, or None when ``moment`` is not one."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if (utc.hour, utc.minute, utc.second, utc.microsecond) != (0, 0, 0, 0):
        return None
    return utc.strftime("%Y-%m-%d")


def _where(
    stmt: Any, channel_ids: tuple[int, ...], statuses: tuple[str, ...] | None, since: datetime | None,
    until: datetime | None, known_only: bool,
) -> Any | None:
    """``stmt`` restricted to these conditions, or None when a date is not a UTC midnight."""
    if channel_ids:
        stmt = stmt.where(ORDER_COUNT.c.channel_id.in_(channel_ids))
    if statuses is not None:
        stmt = stmt.where(ORDER_COUNT.c.status.in_(statuses))
    if known_only:
        stmt = stmt.where(ORDER_COUNT.c.status != "")
    for bound, op in ((since, "ge"), (until, "lt")):
        if bound is None:
            continue
        key = day_key(bound)
        if key is None:
            return None
        stmt = stmt.where(ORDER_COUNT.c.day >= key if op == "ge" else ORDER_COUNT.c.day < key)
    return stmt


def counts_query(
    *, channel_ids: tuple[int, ...] = (), statuses: tuple[str, ...] | None = None,
    since: datetime | None = None, until: datetime | None = None, known_only: bool = False,
) -> Any | None:
    """``SELECT status, sum(n) ... GROUP BY status`` for these conditions, or None when a date is not a
    UTC midnight (the caller then counts the orders). ``known_only``: leave out the orders of unknown
    status (kept under '')."""
    stmt = select(ORDER_COUNT.c.status, func.sum(ORDER_COUNT.c.n)).group_by(ORDER_COUNT.c.status)
    return _where(stmt, channel_ids, statuses, since, until, known_only)


def day_counts_query(
    *, channel_ids: tuple[int, ...] = (), statuses: tuple[str, ...] | None = None,
    since: datetime | None = None, until: datetime | None = None, known_only: bool = False,
) -> Any | None:
    """``SELECT day, sum(n) ... GROUP BY day ORDER BY day``: how many orders each UTC day holds, for the
    position of an order in a list sorted by date. A scan of the table plus a sort of its rows (3.5 ms
    for the ~18,000 rows of 1M orders on SQLite): the same for any position, unlike an OFFSET."""
    stmt = select(ORDER_COUNT.c.day, func.sum(ORDER_COUNT.c.n)).group_by(ORDER_COUNT.c.day)
    stmt = _where(stmt, channel_ids, statuses, since, until, known_only)
    return None if stmt is None else stmt.order_by(ORDER_COUNT.c.day)


def days_sum_query(
    *, channel_ids: tuple[int, ...] = (), statuses: tuple[str, ...] | None = None,
    since: datetime | None = None, until: datetime | None = None, known_only: bool = False,
    after: str | None = None, before: str | None = None,
) -> Any | None:
    """``SELECT sum(n)`` over the days strictly after ``after`` and/or before ``before`` (day keys): the
    orders of a list sorted by date that come before a given day; with neither, the total. A scan
    without a sort (0.8 ms at 1M)."""
    stmt = select(func.coalesce(func.sum(ORDER_COUNT.c.n), 0))
    if after is not None:
        stmt = stmt.where(ORDER_COUNT.c.day > after)
    if before is not None:
        stmt = stmt.where(ORDER_COUNT.c.day < before)
    return _where(stmt, channel_ids, statuses, since, until, known_only)
