"""The data behind the order table: light list rows, a result window paged from SQL (by keyset next to a
cached page or an order whose position is known, else by OFFSET from the nearer end, or from the start
of a day for a list by date: see :mod:`order_positions`) and an order's position in a result (marks: :mod:`order_marks`).

Filters and sort columns are those of :mod:`lengow_tui.services.orders` (``filter_conditions``,
``sort_column``), so the table lists exactly what ``list_orders`` would, in the same order (sort column,
then id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlmodel import Session, col, select
from textual.cache import LRUCache

from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, count_orders, sort_column
from lengow_tui.store.engine import Store
from lengow_tui.store.models import Order
from lengow_tui.tui.order_marks import Marks, matching, where_filters
from lengow_tui.tui.order_positions import (
    REACH, DayCounts, date_scope, day_of, from_day, hinted_day, orders_before_day, remember, within_day,
)
from lengow_tui.tui.order_samples import Samples

Sample = tuple[Any, int, int]  # a sort key (sort value, order id) and its position: ``Samples.origin``

PAGE = 200  # rows per SQL query: 1-2 ms on SQLite, and a screenful several times over
PAGE_CACHE = 64  # pages kept per result: 12,800 rows, a few MB
# Rows an OFFSET may skip before a list by date reads its count per day instead: ~0.3 ms of index steps
# on SQLite, a tenth of reading the counts (3.5 ms at 1M orders), so only deep positions pay for them.
DIRECT = 20_000


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


class OrderQuery:
    """One filter and sort over the store. Every method opens its own short read session."""

    def __init__(self, store: Store, flt: OrderFilter, sort: OrderSort) -> None:
        self.store, self.flt, self.sort = store, flt, sort
        # SQLite (and MySQL) sort NULL below every value, PostgreSQL above: keyset conditions must agree.
        self._nulls_high = store.engine.dialect.name in ("postgresql", "oracle")
        self._column = col(sort_column(sort.key))
        self._where = where_filters(store, flt)
        self.scope = date_scope(flt, sort)  # set when positions can be counted by day (order_positions)

    def _order_by(self, descending: bool) -> list[Any]:
        if descending:
            return [self._column.desc(), col(Order.id).desc()]
        return [self._column.asc(), col(Order.id).asc()]

    def _rows(self, session: Session, stmt: Any) -> list[OrderRow]:
        return [OrderRow(*row) for row in session.exec(stmt)]

    def count(self) -> int:
        with self.store.read() as session:
            return count_orders(session, self.flt)

    def day_counts(self) -> DayCounts | None:
        """The count per day of this list, when it is by date and its filter countable (else None)."""
        if self.scope is None:
            return None
        with self.store.read() as session:
            days = DayCounts.read(session, self.scope, self.sort.descending)
        if days is not None:
            remember(self.store.url, self.scope, days)
        return days

    def origin(self, start: int, days: DayCounts | None = None) -> tuple[str, int] | None:
        """For a list by date: a day at or before position ``start`` and the position of its first order,
        from ``days`` (this result's count per day), else from a day guessed from the count per day last
        read for this filter and checked by one sum; None when there is neither, or the guess is no good
        (the caller then reads the count per day)."""
        if self.scope is None:
            return None
        if days is not None:
            return days.locate(start)
        day = hinted_day(self.store.url, self.scope, self.sort.descending, start)
        if day is None:
            return None
        with self.store.read() as session:
            first = orders_before_day(session, self.scope, day, self.sort.descending)
        return (day, first) if first is not None and 0 <= start - first <= REACH else None

    def deep(self, start: int, limit: int, total: int) -> bool:
        """Whether rows ``start .. start+limit`` are better read from the count per day than by OFFSET."""
        return self.scope is not None and min(start, total - min(start + limit, total)) > DIRECT

    def slice(
        self, start: int, limit: int, total: int, origin: tuple[str, int] | None = None,
        sample: Sample | None = None,
    ) -> list[OrderRow]:
        """Rows ``start .. start+limit``. With ``origin`` (a day at or before ``start`` and the position of
        its first order, see ``origin``), by OFFSET from the start of that day; with ``sample`` (a key at
        or before ``start`` and its position, ``Samples.origin``), by OFFSET from that key; else by OFFSET
        counted from whichever end of the result is nearer: OFFSET costs one index step per skipped row,
        so the last page is as cheap as the first."""
        stop = min(start + limit, total)
        if sample is not None:
            stmt = select(*_COLUMNS).where(*self._where, self._from_key(sample))
            stmt = stmt.order_by(*self._order_by(self.sort.descending)).limit(stop - start)
            with self.store.read() as session:
                return self._rows(session, stmt.offset(start - sample[2]))
        if origin is not None:
            day, first = origin
            stmt = select(*_COLUMNS).where(*self._where, from_day(day, self.sort.descending))
            stmt = stmt.order_by(*self._order_by(self.sort.descending))
            stmt = stmt.limit(stop - start).offset(start - first)
            with self.store.read() as session:
                return self._rows(session, stmt)
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

    def index_of(
        self, order_id: int, days: DayCounts | None = None, samples: Samples | None = None
    ) -> int | None:
        """The position of an order in the result, or None when the filter excludes it."""
        located = self.locate(order_id, days, samples)
        return None if located is None else located[0]

    def locate(
        self, order_id: int, days: DayCounts | None = None, samples: Samples | None = None
    ) -> tuple[int, OrderRow] | None:
        """An order's position in the result and its row, or None when the filter excludes it: a COUNT
        of the rows before it; for a list by date, the orders of the days before its day (``days``
        when given, else a sum over order_count) plus a COUNT within its day; with ``samples`` (this
        result's sparse index), the position of the last sample not after it plus a COUNT from there."""
        with self.store.read() as session:
            found = session.exec(select(*_COLUMNS).where(*self._where, col(Order.id) == order_id)).first()
            if found is None:
                return None
            row = OrderRow(*found)
            preceding = [self._follows(row, not self.sort.descending)]
            before: int | None = None
            if samples is not None:
                sample = samples.before(getattr(row, SORT_FIELD[self.sort.key]), row.id)
                before, preceding = sample[2], [*preceding, self._from_key(sample)]
            elif self.scope is not None:
                day = day_of(row.ordered_at)
                if days is not None:
                    before = days.before(day)
                else:
                    before = orders_before_day(session, self.scope, day, self.sort.descending)
                if before is not None:
                    preceding += within_day(day)
            stmt = select(func.count()).select_from(Order).where(*self._where, *preceding)
            return int(session.exec(stmt).one()) + (before or 0), row

    def ids_slice(
        self, start: int, stop: int, origin: tuple[str, int] | None = None, sample: Sample | None = None
    ) -> list[int]:
        """Order ids at positions ``start .. stop``: by OFFSET from the start of a day (with ``origin``) or
        from a sampled key (with ``sample``, see ``slice``), else from the top."""
        where, offset = self._where, start
        if sample is not None:
            where, offset = [*where, self._from_key(sample)], start - sample[2]
        elif origin is not None:
            where, offset = [*where, from_day(origin[0], self.sort.descending)], start - origin[1]
        stmt = select(Order.id).where(*where).order_by(*self._order_by(self.sort.descending))
        with self.store.read() as session:
            return list(session.exec(stmt.limit(max(0, stop - start)).offset(offset)))

    def _follows(self, row: OrderRow, descending: bool) -> ColumnElement[bool]:
        """Rows strictly after ``row`` in ``ORDER BY sort_column [DESC], id [DESC]``."""
        return self._beyond(getattr(row, SORT_FIELD[self.sort.key]), row.id, descending)

    def _from_key(self, sample: Sample) -> ColumnElement[bool]:
        """The row of a sampled key and every row after it in the list."""
        return self._beyond(sample[0], sample[1], self.sort.descending, inclusive=True)

    def _beyond(
        self, value: Any, order_id: int, descending: bool, inclusive: bool = False
    ) -> ColumnElement[bool]:
        """Rows after the key (value, id) in ``ORDER BY sort_column [DESC], id [DESC]`` (and the key's own
        row with ``inclusive``).

        Written as a one-sided bound plus a tie-break (not ``a < v OR (a = v AND id < i)``) so that SQLite
        turns it into an index range: the OR form scans the index from the top, as slow as OFFSET.
        """
        column, ids = self._column, col(Order.id)
        if inclusive:
            later_id = ids <= order_id if descending else ids >= order_id
        else:
            later_id = ids < order_id if descending else ids > order_id
        nulls_last = descending != self._nulls_high
        if value is None:
            beyond = false() if nulls_last else column.is_not(None)
            return or_(beyond, and_(column.is_(None), later_id))
        bound = column <= value if descending else column >= value
        condition = and_(bound, or_(column != value, later_id))
        if nulls_last and self.sort.key in _NULLABLE:
            condition = or_(condition, column.is_(None))
        return condition


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
        self._days: list[DayCounts | None] = []  # [] until read (read once, when a deep page needs it)
        self._known: dict[int, OrderRow] = {}  # rows whose position was asked of the database, by position
        # The sparse index of this result (order_samples), set by a worker thread once built: one
        # attribute, read once per use, so a reader sees either no index or a whole one.
        self.samples: Samples | None = None

    def _sample(self, start: int, skipped: int) -> Sample | None:
        """The sampled key to read from position ``start`` on, when it skips fewer rows than the plain
        OFFSET would (``skipped``)."""
        samples = self.samples
        if samples is None or samples.count != self.count:
            return None
        sample = samples.origin(start)
        return sample if start - sample[2] < skipped else None

    def day_counts(self) -> DayCounts | None:
        if not self._days:
            self._days.append(self.query.day_counts())
        return self._days[0]

    def _origin(self, start: int) -> tuple[str, int] | None:
        """Where to read position ``start`` from, for a list by date (``OrderQuery.origin``): from this
        result's count per day when read, else from a checked guess, else from the count per day, read now."""
        found = self.query.origin(start, self._days[0] if self._days else None)
        if found is None and not self._days:
            days = self.day_counts()
            found = days.locate(start) if days is not None else None
        return found

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
        """One query or two. Next to a cached page, by keyset from its edge row (cost independent of the
        depth: this is what scrolling does); around a row whose position is known (``find``), by keyset
        both ways from it; otherwise by OFFSET, from the nearer end of the result or, deep in a list by
        date, from the start of a day (``OrderQuery.slice``)."""
        start = number * PAGE
        limit = min(PAGE, self.count - start)
        previous, following = self._pages.get(number - 1), self._pages.get(number + 1)
        if previous is not None and len(previous.rows) == PAGE:
            return self.query.after(previous.rows[-1], limit)
        if following is not None and following.rows:
            return self.query.before(following.rows[0], limit)
        for position, row in self._known.items():
            if start <= position < start + limit:
                before = self.query.before(row, position - start) if position > start else []
                if len(before) == position - start:  # else the data changed since: read by position
                    after = start + limit - position - 1
                    return [*before, row, *(self.query.after(row, after) if after else [])]
        sample = self._sample(start, min(start, self.count - start - limit))
        if sample is not None:
            return self.query.slice(start, limit, self.count, sample=sample)
        deep = self.query.deep(start, limit, self.count)
        return self.query.slice(start, limit, self.count, self._origin(start) if deep else None)

    def find(self, order_id: int, near: int | None = None) -> int | None:
        """An order's index: looked for in the cached pages and, read if need be, the pages around index
        ``near`` (where it was before a refresh) unless reading them would need the count per day, then
        asked of the database (``OrderQuery.locate``), which also gives its row to read its page from."""
        numbers, samples = list(self._pages.keys()), self.samples
        if samples is not None and samples.count != self.count:
            samples = None
        if near is not None and not self.query.deep(near // PAGE * PAGE, 2 * PAGE, self.count):
            numbers = [near // PAGE, near // PAGE + 1, near // PAGE - 1, *numbers]
        for number in numbers:
            if 0 <= number * PAGE < self.count:
                for offset, row in enumerate(self.page(number).rows):
                    if row.id == order_id:
                        return number * PAGE + offset
        located = self.query.locate(order_id, self._days[0] if self._days else None, samples)
        if located is None:
            return None
        self._known[located[0]] = located[1]
        return located[0]

    def ids(self, low: int, high: int) -> list[int]:
        """Order ids at indexes ``low..high`` (included): from the pages when few, else in one query."""
        if high - low < 4 * PAGE:
            return [row.id for i in range(low, high + 1) if (row := self.row(i)) is not None]
        sample = self._sample(low, low)  # the plain query skips ``low`` rows
        if sample is not None:
            return self.query.ids_slice(low, high + 1, sample=sample)
        deep = self.query.scope is not None and low > DIRECT
        return self.query.ids_slice(low, high + 1, self._origin(low) if deep else None)

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
