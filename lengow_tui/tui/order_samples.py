"""Positions in a list sorted by something other than the date (or filtered so that ``order_count``
cannot count it), from a sparse index of sort keys built in the background.

OFFSET and "COUNT of the rows before this key" cost one index step per row skipped or counted: 15 ms at
the middle of 1M orders on SQLite, four times what they cost at 100k. ``Samples`` holds the sort key
(sort column value, id) of every ``STEP``-th row of one result, read by one query the database evaluates
on its own (``row_number()`` over the list order, every ``STEP``-th kept: a few hundred rows come back).
Then:

- the rows at position P = the rows from sample ``P // STEP`` on (a keyset range), ``OFFSET P % STEP``;
- the position of an order = ``STEP * i + COUNT`` of the rows from sample ``i`` (the last sample not
  after it) up to it: fewer than ``STEP`` rows counted.

Both cost O(STEP) whatever the size of the result. The index is exact only for the data it was read
from: it belongs to one ``Window`` (one result, replaced whenever the data may have changed) and is
thrown away with it; a build that saw the data change while it ran is discarded (``build``).

Finding ``i`` compares sort keys in Python, which must order them as the database does: integers and
datetimes always do; strings only under a byte-order collation (SQLite's BINARY default, PostgreSQL's
"C"/"POSIX"/"C.UTF-8"). Elsewhere string sorts keep OFFSET and COUNT (``usable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, func, select, text
from sqlmodel import col

from lengow_tui.services.orders import SortKey, count_orders, sort_column
from lengow_tui.store.engine import Store
from lengow_tui.store.models import Order

if TYPE_CHECKING:
    from lengow_tui.tui.order_table_query import OrderQuery

# Rows between two samples: the longest OFFSET or COUNT a jump still pays (~0.1 ms on SQLite), against
# 500 samples (a few tens of KB) for 1M rows.
STEP = 2_000
# Results at least this long get an index: below, OFFSET from the nearer end skips at most half of it,
# as little as a jump from a sample (and the build would cost more than it saves).
THRESHOLD = 20_000
SETTLE = 0.4  # seconds a result must stay on screen before its index is built: no build per key press
_BYTE_ORDER = {"c", "posix", "c.utf-8", "c.utf8", "ucs_basic"}
_COLLATIONS: dict[str, bool] = {}  # database URL -> strings compare as in Python


@dataclass(frozen=True)
class Samples:
    """``keys[i]``: (sort value, order id) of the row at position ``STEP * i`` of a result of ``count``
    rows; ``ranks[i]``: the same key as a tuple that Python orders as the list does (``rank``)."""

    keys: list[tuple[Any, int]]
    ranks: list[tuple[Any, ...]]
    count: int
    descending: bool
    nulls_high: bool

    def origin(self, position: int) -> tuple[Any, int, int]:
        """The sample at or before ``position``: (sort value, id, its position)."""
        i = min(position // STEP, len(self.keys) - 1)
        value, order_id = self.keys[i]
        return value, order_id, i * STEP

    def before(self, value: Any, order_id: int) -> tuple[Any, int, int]:
        """The last sample not after the key (value, id) in the list, as ``origin`` gives it."""
        wanted = rank(value, order_id, self.nulls_high)
        low, high = 0, len(self.ranks)  # first sample after the key, by bisection in list order
        while low < high:
            mid = (low + high) // 2
            later = self.ranks[mid] < wanted if self.descending else self.ranks[mid] > wanted
            if later:
                high = mid
            else:
                low = mid + 1
        return self.origin(max(0, low - 1) * STEP)


def rank(value: Any, order_id: int, nulls_high: bool) -> tuple[Any, ...]:
    """A key in ascending list order: NULL below every value (SQLite) or above (PostgreSQL), then the
    value, then the id. A descending list is exactly the reverse on both databases."""
    if value is None:
        return (1 if nulls_high else 0, order_id)
    return (0 if nulls_high else 1, value, order_id)


def usable(store: Store, key: SortKey) -> bool:
    """Whether a list sorted by ``key`` can be sampled: Python orders its keys as this database does."""
    if not isinstance(sort_column(key).type, String):
        return True
    if store.is_sqlite:
        return True  # BINARY: byte order of UTF-8, which is code point order
    found = _COLLATIONS.get(store.url)
    if found is None:
        found = False
        if store.engine.dialect.name == "postgresql":
            with store.engine.connect() as conn:
                stmt = text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
                found = str(conn.execute(stmt).scalar_one()).lower() in _BYTE_ORDER
        _COLLATIONS[store.url] = found
    return found


def wanted(query: OrderQuery, count: int) -> bool:
    """Whether this result is worth an index: long, and not countable by day (``order_positions``)."""
    return count >= THRESHOLD and query.scope is None and usable(query.store, query.sort.key)


def build(query: OrderQuery, count: int, version: Callable[[], object]) -> Samples | None:
    """Read the index of a result of ``count`` rows (in a worker thread: 0.4-1 s at 1M on SQLite).
    None when the data changed meanwhile: ``version()`` (the app's data version) differs before and
    after, or the result no longer has ``count`` rows (a change since the window was counted)."""
    before = version()
    descending = query.sort.descending
    column, ids = sort_column(query.sort.key), col(Order.id)
    order = [column.desc(), ids.desc()] if descending else [column.asc(), ids.asc()]
    number = func.row_number().over(order_by=order).label("rn")
    # (not ``count(*) OVER ()`` for the count: SQLite then buffers the whole result, twice the time)
    inner = select(column.label("k"), ids.label("id"), number).where(*query._where).subquery()
    stmt = select(inner.c.k, inner.c.id).where((inner.c.rn - 1) % STEP == 0).order_by(inner.c.rn)
    with query.store.read() as session:
        rows = session.execute(stmt).all()
        counted = count_orders(session, query.flt)
    if not rows or counted != count or version() != before:
        return None
    nulls_high = query._nulls_high
    keys = [(value, int(order_id)) for value, order_id in rows]
    ranks = [rank(value, order_id, nulls_high) for value, order_id in keys]
    return Samples(keys, ranks, count, descending, nulls_high)
