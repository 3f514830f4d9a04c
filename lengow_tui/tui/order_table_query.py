"""The data behind the order table: light list rows, a result window paged from SQL (by keyset next to a
cached page, else by OFFSET from the nearer end), an order's position in a result, and marks that can
stand for "every order in a filter" without loading a million ids.

Filters and sort columns are those of :mod:`lengow_tui.services.orders` (``filter_conditions``,
``sort_column``), so the table lists exactly what ``list_orders`` would, in the same order (sort column,
then id).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlmodel import Session, col, select
from textual.cache import LRUCache

from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, count_orders, filter_conditions, sort_column
from lengow_tui.store.engine import Store
from lengow_tui.store.models import Order

PAGE = 200  # rows per SQL query: 1-2 ms on SQLite, and a screenful several times over
PAGE_CACHE = 64  # pages kept per result: 12,800 rows, a few MB
CHUNK = 5_000  # ids per ``IN (...)``: well under SQLite's limit of bound parameters (32,766)


class OrderRow(NamedTuple):
    """What one list line needs, and nothing else: no payload, no search text, no ORM object."""

    id: int
    channel_id: int
    marketplace: str
    marketplace_order_id: str
    status: str | None
    raw_status: str
    needs_review: bool
    ordered_at: datetime
    total_cents: int
    currency: str
    items_count: int
    buyer_name: str | None
    anonymized_at: datetime | None
    has_documents: bool
    pending_actions: int
    shipping_deadline: datetime | None


_COLUMNS = [getattr(Order, name) for name in OrderRow._fields]
SORT_FIELD = {
    SortKey.ORDERED_AT: "ordered_at",
    SortKey.TOTAL: "total_cents",
    SortKey.STATUS: "status",
    SortKey.CHANNEL: "channel_id",
    SortKey.ORDER_ID: "marketplace_order_id",
    SortKey.DEADLINE: "shipping_deadline",
}
_TABLE = Order.__table__  # type: ignore[attr-defined]
_NULLABLE = {key for key, name in SORT_FIELD.items() if _TABLE.c[name].nullable}


def _conditions(store: Store, *filters: OrderFilter) -> list[ColumnElement[bool]]:
    with store.read() as session:
        return filter_conditions(session, *filters)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for order_id in ids:
        chunk.append(order_id)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class OrderQuery:
    """One filter and sort over the store. Every method opens its own short read session."""

    def __init__(self, store: Store, flt: OrderFilter, sort: OrderSort) -> None:
        self.store, self.flt, self.sort = store, flt, sort
        # SQLite (and MySQL) sort NULL below every value, PostgreSQL above: keyset conditions must agree.
        self._nulls_high = store.engine.dialect.name in ("postgresql", "oracle")
        self._column = col(sort_column(sort.key))
        self._where = _conditions(store, flt)

    def _order_by(self, descending: bool) -> list[Any]:
        if descending:
            return [self._column.desc(), col(Order.id).desc()]
        return [self._column.asc(), col(Order.id).asc()]

    def _rows(self, session: Session, stmt: Any) -> list[OrderRow]:
        return [OrderRow(*row) for row in session.exec(stmt)]

    def count(self) -> int:
        with self.store.read() as session:
            return count_orders(session, self.flt)

    def slice(self, start: int, limit: int, total: int) -> list[OrderRow]:
        """Rows ``start .. start+limit`` by OFFSET, counted from whichever end of the result is nearer:
        OFFSET costs one index step per skipped row, so the last page is as cheap as the first."""
        stop = min(start + limit, total)
        reverse = start > total - stop
        offset, order = (total - stop, not self.sort.descending) if reverse else (start, self.sort.descending)
        stmt = select(*_COLUMNS).where(*self._where).order_by(*self._order_by(order))
        with self.store.read() as session:
            rows = self._rows(session, stmt.limit(stop - start).offset(offset))
        return rows[::-1] if reverse else rows

    def after(self, row: OrderRow, limit: int) -> list[OrderRow]:
        """The ``limit`` rows that follow ``row`` (keyset paging: cost independent of the position)."""
        stmt = select(*_COLUMNS).where(*self._where, self._follows(row, self.sort.descending))
        with self.store.read() as session:
            return self._rows(session, stmt.order_by(*self._order_by(self.sort.descending)).limit(limit))

    def before(self, row: OrderRow, limit: int) -> list[OrderRow]:
        """The ``limit`` rows that precede ``row``, in list order."""
        stmt = select(*_COLUMNS).where(*self._where, self._follows(row, not self.sort.descending))
        with self.store.read() as session:
            rows = self._rows(session, stmt.order_by(*self._order_by(not self.sort.descending)).limit(limit))
        return rows[::-1]

    def index_of(self, order_id: int) -> int | None:
        """The position of an order in the result, or None when the filter excludes it."""
        with self.store.read() as session:
            found = session.exec(select(*_COLUMNS).where(*self._where, col(Order.id) == order_id)).first()
            if found is None:
                return None
            preceding = self._follows(OrderRow(*found), not self.sort.descending)
            stmt = select(func.count()).select_from(Order).where(*self._where, preceding)
            return int(session.exec(stmt).one())

    def ids_slice(self, start: int, stop: int) -> list[int]:
        stmt = select(Order.id).where(*self._where).order_by(*self._order_by(self.sort.descending))
        with self.store.read() as session:
            return list(session.exec(stmt.limit(max(0, stop - start)).offset(start)))

    def _follows(self, row: OrderRow, descending: bool) -> ColumnElement[bool]:
        """Rows strictly after ``row`` in ``ORDER BY sort_column [DESC], id [DESC]``.

        Written as a one-sided bound plus a tie-break (not ``a < v OR (a = v AND id < i)``) so that SQLite
        turns it into an index range: the OR form scans the index from the top, as slow as OFFSET.
        """
        column, value = self._column, getattr(row, SORT_FIELD[self.sort.key])
        later_id = col(Order.id) < row.id if descending else col(Order.id) > row.id
        nulls_last = descending != self._nulls_high
        if value is None:
            beyond = false() if nulls_last else column.is_not(None)
            return or_(beyond, and_(column.is_(None), later_id))
        bound = column <= value if descending else column >= value
        condition = and_(bound, or_(column != value, later_id))
        if nulls_last and self.sort.key in _NULLABLE:
            condition = or_(condition, column.is_(None))
        return condition


def matching(store: Store, filters: Iterable[OrderFilter], ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that match any of ``filters``."""
    filters = list(filters)
    if not filters:
        return set()
    conditions = _conditions(store, *filters)
    found: set[int] = set()
    with store.read() as session:
        for chunk in _chunks(ids):
            stmt = select(Order.id).where(*conditions, col(Order.id).in_(chunk))
            found.update(session.exec(stmt))
    return found


@dataclass
class Marks:
    """Marked orders, by id: ``(every order matching one of all_filters, minus excluded) plus ids``.

    "Mark all in filter" stays symbolic: at 1M orders a set of ids costs 65 MB and the SELECT about 2 s,
    while a filter costs nothing and one COUNT. It is live: an order that enters the filter later is
    marked too, one that leaves it is not (``materialise`` gives the ids of the moment, for an action).
    ``ids`` and ``excluded`` hold only exceptions to the filters; ``count`` is kept up to date.
    """

    all_filters: list[OrderFilter] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)
    ids: set[int] = field(default_factory=set)
    count: int = 0
    generation: int = 0  # bumped when all_filters change: cached "matches a filter" answers are stale

    def __bool__(self) -> bool:
        return bool(self.count)

    def is_marked(self, order_id: int, in_filters: bool) -> bool:
        if in_filters:
            return order_id not in self.excluded
        return order_id in self.ids

    def set(self, order_id: int, in_filters: bool, marked: bool) -> bool:
        """Mark or unmark one order; True when that changed anything."""
        if self.is_marked(order_id, in_filters) == marked:
            return False
        if in_filters:
            (self.excluded.discard if marked else self.excluded.add)(order_id)
        else:
            (self.ids.add if marked else self.ids.discard)(order_id)
        self.count += 1 if marked else -1
        return True

    def mark_many(self, store: Store, ids: list[int], current: OrderFilter) -> None:
        """Mark these orders, all from the result of the ``current`` filter."""
        if not self.all_filters:
            covered: set[int] = set()
        elif current in self.all_filters:
            covered = set(ids)
        else:
            covered = matching(store, self.all_filters, ids)
        for order_id in ids:
            self.set(order_id, order_id in covered, True)

    def add_filter(self, store: Store, flt: OrderFilter, count: int | None = None) -> None:
        """Mark every order of ``flt``. ``count``: how many orders match it, when the caller knows
        (the list on screen does): with no other marks, nothing is counted again."""
        if flt not in self.all_filters:
            self.all_filters.append(flt)
            self.generation += 1
        self.excluded -= matching(store, [flt], self.excluded)  # unmarked by hand, marked again now
        if count is not None and self.all_filters == [flt] and not self.excluded:
            self.ids -= matching(store, [flt], self.ids)  # marked through the filter now
            self.count = count + len(self.ids)
            return
        self.recount(store)

    def clear(self) -> None:
        self.generation += bool(self.all_filters)
        self.all_filters.clear()
        self.excluded.clear()
        self.ids.clear()
        self.count = 0

    def recount(self, store: Store) -> None:
        """Exact count after the data changed, exceptions pruned to those that still matter."""
        if not self.all_filters:
            self.count = len(self.ids)
            return
        covered = matching(store, self.all_filters, self.ids | self.excluded)
        self.ids -= covered  # marked through a filter now
        self.excluded &= covered  # left every filter: unmarked anyway
        with store.read() as session:
            self.count = count_orders(session, *self.all_filters) - len(self.excluded) + len(self.ids)

    def materialise(self, store: Store) -> frozenset[int]:
        if not self.all_filters:
            return frozenset(self.ids)
        conditions = _conditions(store, *self.all_filters)
        with store.read() as session:
            stmt = select(Order.id).where(*conditions)
            return frozenset((set(session.exec(stmt)) - self.excluded) | self.ids)


@dataclass
class Page:
    rows: list[OrderRow]
    covered: frozenset[int] = frozenset()  # ids matching a "mark all" filter other than the current one
    covered_for: int = -1  # the marks generation ``covered`` was computed for


class Window:
    """One query's result as the table reads it: a count, and pages fetched on demand into an LRU cache.
    Replaced, not updated, when the data changes."""

    def __init__(self, query: OrderQuery, count: int | None = None) -> None:
        self.query = query
        self.count = query.count() if count is None else count
        self._pages: LRUCache[int, Page] = LRUCache(PAGE_CACHE)

    def row(self, index: int) -> OrderRow | None:
        if not 0 <= index < self.count:
            return None
        rows = self.page(index // PAGE).rows
        return rows[index % PAGE] if index % PAGE < len(rows) else None

    def page(self, number: int) -> Page:
        page = self._pages.get(number)
        if page is None:
            page = self._pages[number] = Page(self._fetch(number))
        return page

    def _fetch(self, number: int) -> list[OrderRow]:
        """One query. Next to a cached page, by keyset from its edge row (cost independent of the depth:
        this is what scrolling does); otherwise by OFFSET from the nearer end of the result."""
        start = number * PAGE
        limit = min(PAGE, self.count - start)
        previous, following = self._pages.get(number - 1), self._pages.get(number + 1)
        if previous is not None and len(previous.rows) == PAGE:
            return self.query.after(previous.rows[-1], limit)
        if following is not None and following.rows:
            return self.query.before(following.rows[0], limit)
        return self.query.slice(start, limit, self.count)

    def find(self, order_id: int, near: int | None = None) -> int | None:
        """An order's index: looked for in the cached pages and, read if need be, the pages around index
        ``near`` (where it was before a refresh), then asked of the database (a COUNT up to it)."""
        numbers = list(self._pages.keys())
        if near is not None:
            numbers = [near // PAGE, near // PAGE + 1, near // PAGE - 1, *numbers]
        for number in numbers:
            if 0 <= number * PAGE < self.count:
                for offset, row in enumerate(self.page(number).rows):
                    if row.id == order_id:
                        return number * PAGE + offset
        return self.query.index_of(order_id)

    def ids(self, low: int, high: int) -> list[int]:
        """Order ids at indexes ``low..high`` (included): from the pages when few, else in one query."""
        if high - low < 4 * PAGE:
            return [row.id for i in range(low, high + 1) if (row := self.row(i)) is not None]
        return self.query.ids_slice(low, high + 1)

    def covered(self, index: int, marks: Marks) -> bool:
        """Whether the row at ``index`` matches one of the marks' "all in filter" filters."""
        if not marks.all_filters:
            return False
        if self.query.flt in marks.all_filters:
            return True
        page, row = self.page(index // PAGE), self.row(index)
        if page.covered_for != marks.generation:
            page.covered = frozenset(matching(self.query.store, marks.all_filters, [r.id for r in page.rows]))
            page.covered_for = marks.generation
        return row is not None and row.id in page.covered
