"""Positions in a list sorted by date, from the ``order_count`` table instead of OFFSET or COUNT.

OFFSET and "COUNT of the rows before this key" cost one index step per row skipped or counted: 7 ms at
the middle of 1M orders on SQLite, 10 times what they cost at 100k. When the list is sorted by
``ordered_at`` (then id) and its filter is one the ``order_count`` table can answer (channels, statuses,
review flag, dates on UTC midnights: see ``count_scope``), the orders of the days before a given day
in the list are a sum over that table, and the rest is a COUNT or an OFFSET within a single day:

- the position of an order = the orders of the days before its day (a sum over ``order_count``, no
  sort) + a COUNT within its day, from the index range ``[its key, end of its day)``;
- the rows at position P = a day D at or before P, the exact position of its first order (the same sum
  as above), then the rows from the start of D on, with ``OFFSET P - (orders before D)``. D comes from
  the count per day of the list (one grouped query, which sorts the table's rows: 3.5 ms at 1M, read
  once per result), or, when a result is new, from the count per day last read for the same filter
  (kept per database, ``HINTS``): only a guess, checked by the exact sum, so a stale one costs at most
  a longer OFFSET (up to ``REACH``) or a read of the count per day.

Both cost O(days + orders of one day): about the same for 100k and 1M orders over the same two years.
Other sorts and filters keep OFFSET and COUNT (``OrderQuery``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col
from textual.cache import LRUCache

from lengow_tui.services.orders import CountScope, OrderFilter, OrderSort, SortKey, count_scope
from lengow_tui.store.models import Order
from lengow_tui.store.order_counts import day_counts_query, days_sum_query

DAY = timedelta(days=1)
SLACK = 1_000  # rows a guessed day is taken before the position: room for orders added since the guess
REACH = 20_000  # the longest OFFSET from a guessed day (~0.3 ms on SQLite) before the count per day is read
HINTS: LRUCache[tuple[str, CountScope, bool], DayCounts] = LRUCache(32)  # (database URL, scope, desc)


def date_scope(flt: OrderFilter, sort: OrderSort) -> CountScope | None:
    """The order_count conditions for this list when its positions can be counted by day, else None."""
    return count_scope(flt) if sort.key is SortKey.ORDERED_AT else None


def day_of(moment: datetime) -> str:
    """The ``order_count`` key of the UTC day holding ``moment`` (what its triggers store)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _midnight(day: str) -> datetime:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)


def from_day(day: str, descending: bool) -> ColumnElement[bool]:
    """The orders of ``day`` and of every day after it in the list."""
    if descending:
        return col(Order.ordered_at) < _midnight(day) + DAY
    return col(Order.ordered_at) >= _midnight(day)


def within_day(day: str) -> list[ColumnElement[bool]]:
    """The orders of ``day`` only."""
    midnight = _midnight(day)
    return [col(Order.ordered_at) >= midnight, col(Order.ordered_at) < midnight + DAY]


@dataclass(frozen=True)
class DayCounts:
    """How many orders of the list each UTC day holds: ``days`` ascending, ``cumulative[i]`` the orders of
    the days before ``days[i]`` (one more entry: the total)."""

    days: list[str]
    cumulative: list[int]
    descending: bool

    @property
    def total(self) -> int:
        return self.cumulative[-1]

    @classmethod
    def read(cls, session: Session, scope: CountScope, descending: bool) -> DayCounts | None:
        stmt = day_counts_query(**scope.kwargs())
        if stmt is None:
            return None
        days, cumulative = [], [0]
        for day, n in session.execute(stmt):
            if n and n > 0:  # a day that lost all its orders keeps a row with 0
                days.append(day)
                cumulative.append(cumulative[-1] + int(n))
        return cls(days, cumulative, descending)

    def before(self, day: str) -> int:
        """How many orders come before the first order of ``day`` in the list."""
        if self.descending:  # the later days
            return self.total - self.cumulative[bisect_right(self.days, day)]
        return self.cumulative[bisect_left(self.days, day)]

    def locate(self, position: int) -> tuple[str, int] | None:
        """The day holding list position ``position`` and the position of that day's first order, or None
        beyond the end."""
        if not 0 <= position < self.total:
            return None
        ascending = self.total - 1 - position if self.descending else position
        day = self.days[bisect_right(self.cumulative, ascending) - 1]
        return day, self.before(day)


def orders_before_day(session: Session, scope: CountScope, day: str, descending: bool) -> int | None:
    """How many orders of the list come before the first order of ``day`` (one sum over order_count)."""
    bound = {"after": day} if descending else {"before": day}
    stmt = days_sum_query(**scope.kwargs(), **bound)
    return None if stmt is None else int(session.execute(stmt).scalar_one())


def hinted_day(url: str, scope: CountScope, descending: bool, position: int) -> str | None:
    """A day that was at or a little before ``position`` in this list when its count per day was last read
    (None when it never was). A guess: the caller counts the orders before it."""
    days = HINTS.get((url, scope, descending))
    located = days.locate(max(0, position - SLACK)) if days is not None else None
    return None if located is None else located[0]


def remember(url: str, scope: CountScope, days: DayCounts) -> None:
    HINTS[(url, scope, days.descending)] = days
