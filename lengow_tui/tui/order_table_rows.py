"""Columns of the order table: which fit a given width, and the text of every cell.

Everything is measured in terminal cells (``rich.cells``), never in characters: buyer names can hold wide
characters. Text from marketplaces is untrusted: it is cleaned again here before display.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rich.cells import cell_len, set_cell_size

from lengow_tui.domain.statuses import Status
from lengow_tui.services.orders import SortKey
from lengow_tui.text import clean_text
from lengow_tui.tui.order_table_query import OrderRow

OPEN_STATUSES = frozenset(
    {"new", "waiting_acceptance", "accepted", "waiting_shipment", "pickup_to_prepare", "to_pickup"}
)
GAP = 1  # blank cells between columns


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    min: int
    width: int  # preferred width, reached when the terminal is wide enough
    always: bool  # shown at any width; the others only when _STEPS finds room for them
    align: Literal["left", "right"] = "left"
    sort: SortKey | None = None


# In screen order; widths in terminal cells.
COLUMNS = (
    Column("mark", "", 1, 1, True),
    Column("flags", "", 3, 3, False),
    Column("date", "Date", 11, 11, True, sort=SortKey.ORDERED_AT),
    Column("channel", "Channel", 8, 16, False, sort=SortKey.CHANNEL),
    Column("order", "Order", 10, 19, True, sort=SortKey.ORDER_ID),
    Column("buyer", "Buyer", 6, 28, True),
    Column("items", "Qty", 3, 3, False, align="right"),
    Column("total", "Total", 9, 13, True, align="right", sort=SortKey.TOTAL),
    Column("status", "Status", 8, 18, True, sort=SortKey.STATUS),
    Column("deadline", "Ship by", 11, 11, False, sort=SortKey.DEADLINE),
)
_BY_KEY = {c.key: c for c in COLUMNS}
# How spare cells are spent, in order: ("grow", key, up to width) or ("add", key, 0). At 78 cells (80
# minus the scrollbar) this gives status, buyer and order their useful widths before any extra column.
_STEPS: tuple[tuple[str, str, int], ...] = (
    ("grow", "status", 18),
    ("grow", "buyer", 12),
    ("grow", "order", 19),
    ("grow", "total", 13),
    ("add", "flags", 0),
    ("add", "channel", 0),
    ("grow", "buyer", 20),
    ("grow", "channel", 16),
    ("add", "deadline", 0),
    ("add", "items", 0),
    ("grow", "buyer", 28),
)
RAW_EXTRA = 14  # more status width when the raw status is shown


@dataclass(frozen=True)
class Placed:
    column: Column
    x: int
    width: int


def layout(width: int, sort_key: SortKey, show_raw: bool = False) -> list[Placed]:
    """The columns shown at ``width`` cells and their positions. The sorted column is always shown,
    so its sort indicator is never lost."""
    widths = {c.key: c.min for c in COLUMNS if c.always or c.sort == sort_key}
    spare = width - sum(widths.values()) - GAP * (len(widths) - 1)
    for step, key, target in _STEPS:
        if step == "add" and key not in widths and spare >= GAP + _BY_KEY[key].min:
            widths[key] = _BY_KEY[key].min
            spare -= GAP + widths[key]
        elif step == "grow" and key in widths and spare > 0:
            target += RAW_EXTRA if key == "status" and show_raw else 0
            extra = min(spare, max(0, target - widths[key]))
            widths[key] += extra
            spare -= extra
    placed, x = [], 0
    for column in COLUMNS:
        if column.key in widths:
            placed.append(Placed(column, x, widths[column.key]))
            x += widths[column.key] + GAP
    return placed


def safe(text: str | None, ascii: bool = False) -> str:
    """Display-safe text: escape sequences and control characters gone (again: the store's data is
    cleaned at import, but a row written by anything else must not drive the terminal)."""
    if not text:
        return ""
    if not text.isprintable():  # cheap test first: printable text has no control/format characters
        text = clean_text(text)
    if ascii and not text.isascii():  # transliterate what decomposes (é -> e), "?" for the rest
        letters = (ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
        text = "".join(letters).encode("ascii", "replace").decode()
    return text


def fit(text: str, width: int, align: str = "left", ellipsis: str = "…") -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis, or padded."""
    size = cell_len(text)
    if size > width:
        if width <= 1:
            return set_cell_size(text, width)
        return set_cell_size(text, width - 1) + ellipsis
    padding = " " * (width - size)
    return padding + text if align == "right" else text + padding


def short_time(value: datetime | None, now: datetime) -> str:
    """11 cells: month-day and time this year, the full date before."""
    if value is None:
        return ""
    local = value.astimezone()
    return local.strftime("%m-%d %H:%M") if local.year == now.year else local.strftime("%Y-%m-%d")


def money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d} {currency}"


def status_text(row: OrderRow, show_raw: bool) -> str:
    if row.status is None:
        return f"Unknown ({row.raw_status})"  # the raw status is then all there is to show
    try:
        label = Status(row.status).label
    except ValueError:
        label = row.status
    return f"{label} ({row.raw_status})" if show_raw else label


@dataclass(frozen=True)
class Glyphs:
    marked: str
    pending: str
    documents: str
    review: str
    up: str
    down: str
    ellipsis: str

    @classmethod
    def for_mode(cls, ascii: bool) -> Glyphs:
        return cls("x", "*", "D", "!", "^", "v", "~") if ascii else cls("✓", "⟳", "▤", "!", "▲", "▼", "…")


# A cell: (text, accent) pieces whose widths add up to the column width. Accents name component classes.
Piece = tuple[str, str | None]


def cells(
    row: OrderRow,
    placed: list[Placed],
    *,
    marked: bool,
    glyphs: Glyphs,
    channel_names: dict[int, str],
    show_raw: bool,
    now: datetime,
    ascii: bool,
) -> list[list[Piece]]:
    out: list[list[Piece]] = []
    for place in placed:
        key, width = place.column.key, place.width
        if key == "mark":
            out.append([(fit(glyphs.marked if marked else " ", width), None)])
        elif key == "flags":
            flags: list[Piece] = [
                (glyphs.review if row.needs_review else " ", "order-table--review"),
                (glyphs.pending if row.pending_actions > 0 else " ", "order-table--pending"),
                (glyphs.documents if row.has_documents else " ", None),
            ]
            out.append([*flags, (" " * (width - 3), None)] if width > 3 else flags[:width])
        else:
            text, accent = _text(key, row, channel_names, show_raw, now, ascii)
            if key == "total" and cell_len(text) > width:
                text = text.replace(",", "")  # thousands separators go before digits do
            out.append([(fit(text, width, place.column.align, glyphs.ellipsis), accent)])
    return out


def _text(
    key: str, row: OrderRow, channel_names: dict[int, str], show_raw: bool, now: datetime, ascii: bool
) -> tuple[str, str | None]:
    if key == "date":
        return short_time(row.ordered_at, now), None
    if key == "channel":
        channel = safe(channel_names.get(row.channel_id, str(row.channel_id)), ascii)
        market = safe(row.marketplace, ascii)
        if not market or market.startswith(channel):  # "amazon" / "amazon_fr": the marketplace says it all
            return market or channel, None
        return f"{channel}/{market}", None
    if key == "order":
        return safe(row.marketplace_order_id, ascii), None
    if key == "buyer":
        if row.anonymized_at is not None:
            return "anonymized", "order-table--dim"
        return safe(row.buyer_name, ascii), None
    if key == "items":
        return str(row.items_count), None
    if key == "total":
        return money(row.total_cents, safe(row.currency, ascii)), None
    if key == "status":
        accent = "order-table--review" if row.status is None else None
        return safe(status_text(row, show_raw), ascii), accent
    if key == "deadline":
        if row.status not in OPEN_STATUSES or row.shipping_deadline is None:
            return "", None
        late = row.shipping_deadline < now
        return short_time(row.shipping_deadline, now), ("order-table--late" if late else None)
    raise ValueError(key)


def header(placed: list[Placed], sort_key: SortKey, descending: bool, glyphs: Glyphs) -> list[str]:
    out = []
    for place in placed:
        label = place.column.label
        if place.column.sort == sort_key:
            arrow = glyphs.down if descending else glyphs.up
            if cell_len(label) + 2 > place.width:  # keep the arrow, cut the label
                label = set_cell_size(label, max(0, place.width - 2))
            label = f"{label} {arrow}"
        out.append(fit(label, place.width, place.column.align, glyphs.ellipsis))
    return out
