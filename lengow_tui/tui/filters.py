"""Filter state of the orders view and its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from lengow_tui.domain import Status
from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey

DATE_RANGES = ("all", "today", "7d", "30d")
DATE_LABELS = {"all": "any date", "today": "today", "7d": "last 7 days", "30d": "last 30 days", "custom": "custom"}
SORT_CYCLE = (SortKey.ORDERED_AT, SortKey.TOTAL, SortKey.STATUS, SortKey.CHANNEL, SortKey.ORDER_ID, SortKey.DEADLINE)


@dataclass(frozen=True)
class ViewFilter:
    statuses: tuple[Status, ...] = ()
    needs_review: bool | None = None
    date_range: str = "all"
    since: datetime | None = None  # custom range
    until: datetime | None = None
    channel_id: int | None = None
    search: str = ""
    sort: OrderSort = OrderSort()

    def to_order_filter(self, now: datetime | None = None) -> OrderFilter:
        now = now or datetime.now(UTC)
        since, until = self.since, self.until
        if self.date_range == "today":
            since, until = now.replace(hour=0, minute=0, second=0, microsecond=0), None
        elif self.date_range == "7d":
            since, until = now - timedelta(days=7), None
        elif self.date_range == "30d":
            since, until = now - timedelta(days=30), None
        elif self.date_range == "all":
            since, until = None, None
        return OrderFilter(
            statuses=self.statuses,
            needs_review=self.needs_review,
            channel_ids=(self.channel_id,) if self.channel_id is not None else (),
            since=since,
            until=until,
            search=self.search,
        )

    def next_date_range(self) -> ViewFilter:
        index = DATE_RANGES.index(self.date_range) if self.date_range in DATE_RANGES else -1
        return replace(self, date_range=DATE_RANGES[(index + 1) % len(DATE_RANGES)], since=None, until=None)

    def next_sort(self) -> ViewFilter:
        index = SORT_CYCLE.index(self.sort.key)
        return replace(self, sort=OrderSort(SORT_CYCLE[(index + 1) % len(SORT_CYCLE)], self.sort.descending))

    def reversed_sort(self) -> ViewFilter:
        return replace(self, sort=OrderSort(self.sort.key, not self.sort.descending))

    def describe(self, channel_names: dict[int, str]) -> str:
        parts = []
        if self.date_range == "custom":
            start = self.since.strftime("%Y-%m-%d") if self.since else "…"
            end = (self.until - timedelta(days=1)).strftime("%Y-%m-%d") if self.until else "…"
            parts.append(f"{start} to {end}")
        else:
            parts.append(DATE_LABELS[self.date_range])
        parts.append(channel_names.get(self.channel_id, "?") if self.channel_id is not None else "all channels")
        if self.search:
            parts.append(f"search {self.search!r}")
        return " · ".join(parts)
