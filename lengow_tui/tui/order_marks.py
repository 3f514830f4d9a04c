"""Marks of the order table: single orders by id, and "every order in a filter" kept symbolic, so that
marking a million orders costs a filter and a COUNT, not a million ids."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from lengow_tui.services.orders import OrderFilter, count_orders, filter_conditions
from lengow_tui.store.engine import Store
from lengow_tui.store.models import Order

CHUNK = 5_000  # ids per ``IN (...)``: well under SQLite's limit of bound parameters (32,766)
ID_CHUNK = 50_000  # marked ids read at a time (``Marks.chunks``): ~2 MB, one 20-50 ms query at 1M


def where_filters(store: Store, *filters: OrderFilter) -> list[ColumnElement[bool]]:
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


def matching(store: Store, filters: Iterable[OrderFilter], ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that match any of ``filters``."""
    filters = list(filters)
    if not filters:
        return set()
    conditions = where_filters(store, *filters)
    found: set[int] = set()
    with store.read() as session:
        for chunk in _chunks(ids):
            stmt = select(Order.id).where(*conditions, col(Order.id).in_(chunk))
            found.update(session.exec(stmt))
    return found


@dataclass
class Marks:
    """Marked orders, by id: ``(every order matching one of all_filters, minus excluded) plus ids``.

    "Mark all in filter" stays symbolic: at 1M orders a set of ids costs 70 MB and reading it 0.6 s,
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
        """The marked ids of the moment, as one set (built from ``chunks``: no list of rows and no
        intermediate sets, so 1M ids add ~70 MB to the peak RSS instead of ~190)."""
        return frozenset(chain.from_iterable(self.chunks(store)))

    def chunks(self, store: Store, size: int = ID_CHUNK) -> Iterator[list[int]]:
        """The marked ids in ascending order, ``size`` at a time: a bulk action can stream them instead
        of holding a million. Each chunk is one short read (keyset on id), so no read transaction stays
        open while the caller works; an order that enters or leaves a filter meanwhile is taken as it is
        when its chunk is read."""
        extra = sorted(self.ids)  # marked by hand outside the filters (they may match one by now)
        if not self.all_filters:
            for at in range(0, len(extra), size):
                yield extra[at:at + size]
            return
        conditions = where_filters(store, *self.all_filters)
        last, taken = 0, 0  # ids are positive; ``taken``: how many of ``extra`` are merged in already
        while True:
            stmt = select(Order.id).where(*conditions, col(Order.id) > last)
            stmt = stmt.order_by(col(Order.id)).limit(size)
            with store.read() as session:  # Core, not ORM, rows: a third of the time for plain ids
                batch = list(session.connection().execute(stmt).scalars())
            done = len(batch) < size
            if not done:
                last = batch[-1]
            found = [order_id for order_id in batch if order_id not in self.excluded]
            upto = len(extra) if done else bisect_right(extra, last, taken)
            if upto > taken:  # merge, without duplicates
                found = sorted(set(found).union(extra[taken:upto]))
                taken = upto
            if found:
                yield found
            if done:
                return
