"""The stock table the auto-accept stock rule reads: importing it from a CSV file and listing it.

The merchant's own system (ERP, warehouse) is the source of truth for quantities: an import *sets* the
quantity of every SKU it lists and leaves the others alone. ``reserved`` belongs to auto-accept (units
held by accepted orders not yet shipped) and is never touched by an import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from lengow_tui.store.models import Stock
from lengow_tui.store.types import utcnow

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

SKU_MAX_LENGTH = 128  # Stock.sku
_IN_CHUNK = 500  # SKUs per IN (...) query: well under every database's parameter limit


class StockFileError(Exception):
    """The stock file cannot be imported; ``str()`` names the file, the line when known, and the problem."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class StockRow:
    sku: str
    quantity: int
    line: int  # where it was read, for messages


@dataclass(frozen=True)
class StockLevel:
    """One SKU's stock as the rules see it."""

    sku: str
    quantity: int
    reserved: int

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


@dataclass
class StockImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def parse_stock_csv(path: Path | str) -> list[StockRow]:
    """Read a ``sku,quantity`` CSV file (``;`` also accepted as separator, UTF-8 with or without BOM).

    Other columns are ignored, so an export from another tool can be used as it is. Any bad row raises
    :class:`StockFileError` naming its line: nothing is half-imported.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StockFileError(path, "file not found") from None
    except IsADirectoryError:
        raise StockFileError(path, "is a directory, not a CSV file") from None
    except OSError as exc:
        raise StockFileError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets often write a byte order mark
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StockFileError(path, "not UTF-8 text (save the file as CSV UTF-8)", line) from None
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise StockFileError(path, "empty file: expected a header line sku,quantity", 1)
    # The header decides the separator: French spreadsheets write ";" because "," is their decimal mark.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().casefold() for name in next(reader)]
        columns = {name: index for index, name in reversed(list(enumerate(header)))}
        missing = [name for name in ("sku", "quantity") if name not in columns]
        if missing:
            raise StockFileError(path, f"header must name the columns sku and quantity (missing: {', '.join(missing)}; "
                                       f"found: {', '.join(header) or 'nothing'})", 1)
        sku_at, quantity_at = columns["sku"], columns["quantity"]
        rows: list[StockRow] = []
        seen: dict[str, int] = {}
        line = reader.line_num
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines, e.g. at the end of the file
            if len(record) <= max(sku_at, quantity_at):
                raise StockFileError(path, f"expected {len(header)} columns separated by {delimiter!r}, "
                                           f"found {len(record)}", start)
            sku, quantity_text = record[sku_at].strip(), record[quantity_at].strip()
            if not sku:
                raise StockFileError(path, "the SKU is empty", start)
            if len(sku) > SKU_MAX_LENGTH:
                raise StockFileError(path, f"SKU longer than {SKU_MAX_LENGTH} characters", start)
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in sku):
                raise StockFileError(path, "the SKU contains control characters", start)
            try:
                quantity = int(quantity_text)
            except ValueError:
                raise StockFileError(path, f"quantity {quantity_text!r} of SKU {sku} is not a whole number",
                                     start) from None
            if quantity < 0:
                raise StockFileError(path, f"quantity of SKU {sku} is negative ({quantity})", start)
            if sku in seen:
                # Two quantities for one SKU: which one is right is the merchant's call, not ours.
                raise StockFileError(path, f"SKU {sku} is listed twice (lines {seen[sku]} and {start})", start)
            seen[sku] = start
            rows.append(StockRow(sku, quantity, start))
    except csv.Error as exc:
        raise StockFileError(path, f"malformed CSV: {exc}", reader.line_num or 1) from None
    return rows


def import_stock(runtime: Runtime, rows: Sequence[StockRow], *, now: datetime | None = None) -> StockImportResult:
    """Set the quantity of every listed SKU (creating unknown ones), in ONE transaction: all or nothing."""
    now = now or utcnow()
    result = StockImportResult()
    wanted = {row.sku: row.quantity for row in rows}
    skus = list(wanted)
    with runtime.store.write() as session:
        for start in range(0, len(skus), _IN_CHUNK):
            chunk = skus[start : start + _IN_CHUNK]
            existing = {s.sku: s for s in session.exec(select(Stock).where(col(Stock.sku).in_(chunk)).with_for_update())}
            for sku in chunk:
                stock = existing.get(sku)
                if stock is None:
                    session.add(Stock(sku=sku, quantity=wanted[sku], reserved=0, updated_at=now))
                    result.created += 1
                elif stock.quantity != wanted[sku]:
                    stock.quantity, stock.updated_at = wanted[sku], now
                    session.add(stock)
                    result.updated += 1
                else:
                    result.unchanged += 1
            session.flush()
    return result


def _like_pattern(pattern: str) -> str:
    """A shell-style pattern (``*``, ``?``) as a LIKE pattern with ``\\`` as escape."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def list_stock(session: Session, pattern: str | None = None, *, limit: int | None = None) -> list[StockLevel]:
    """Stock levels by SKU, optionally only SKUs matching a ``*``/``?`` pattern."""
    stmt = select(Stock)
    if pattern:
        stmt = stmt.where(col(Stock.sku).like(_like_pattern(pattern), escape="\\"))
    stmt = stmt.order_by(Stock.sku)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [StockLevel(s.sku, s.quantity, s.reserved) for s in session.exec(stmt)]


def stock_levels(session: Session, skus: Sequence[str], *, lock: bool = False) -> dict[str, StockLevel]:
    """The stock of ``skus`` (missing SKUs are absent). ``lock`` takes row locks in SKU order (PostgreSQL),
    so that two workers reserving the same SKUs queue up instead of deadlocking or both taking the units."""
    levels: dict[str, StockLevel] = {}
    ordered = sorted(set(skus))
    for start in range(0, len(ordered), _IN_CHUNK):
        stmt = select(Stock).where(col(Stock.sku).in_(ordered[start : start + _IN_CHUNK])).order_by(Stock.sku)
        if lock:
            stmt = stmt.with_for_update()
        for stock in session.exec(stmt):
            levels[stock.sku] = StockLevel(stock.sku, stock.quantity, stock.reserved)
    return levels
