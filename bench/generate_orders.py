"""Fill a SQLite database with N realistic orders, for the benchmarks (TUI at scale, sync).

    python bench/generate_orders.py --orders 1000000 --db bench/data/orders-1m.db [--reuse]

Prints the load rate, the elapsed time, the file size and the row counts. With ``--reuse`` an existing
file that already holds exactly N orders (complete: indexes built and analysed) is kept as it is. Other
benchmarks call :func:`ensure_orders_db`.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlmodel import SQLModel

from lengow_tui.store import open_store
from lengow_tui.store.bulk import generate_orders

DEFAULT_DB = Path(__file__).resolve().parent / "data" / "orders-1m.db"
COUNTED = ("channel", "orders", "order_line", "party", "order_event")


def count_rows(path: Path) -> dict[str, int]:
    store = open_store(f"sqlite:///{path}", migrate=False)
    try:
        with store.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}
    finally:
        store.dispose()


def is_complete(path: Path, orders: int) -> bool:
    """The file holds ``orders`` orders and the load finished (every index rebuilt, statistics gathered)."""
    if not path.exists():
        return False
    store = open_store(f"sqlite:///{path}", migrate=False)
    try:
        with store.engine.connect() as conn:
            found = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
            expected = {i.name for t in SQLModel.metadata.tables.values() for i in t.indexes}
            if not expected <= found or "sqlite_stat1" not in _tables(conn):
                return False
            return conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == orders
    except Exception:  # not a database, or an older schema: build it again
        return False
    finally:
        store.dispose()


def _tables(conn) -> set[str]:  # type: ignore[no-untyped-def]
    return {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}


def ensure_orders_db(
    path: Path = DEFAULT_DB,
    orders: int = 1_000_000,
    *,
    seed: int = 7,
    reuse: bool = True,
    now: datetime | None = None,
    quiet: bool = False,
) -> tuple[Path, float | None]:
    """Build the database at ``path`` (replacing it) unless ``reuse`` and it is complete already.

    Returns the path and the seconds the generation took (None when the file was reused).
    """
    path = Path(path)
    if reuse and is_complete(path, orders):
        return path, None
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{path}")
    started = time.perf_counter()

    def progress(done: int) -> None:
        if not quiet:
            elapsed = time.perf_counter() - started
            print(f"  {done:>10,} orders  {elapsed:7.1f} s  {done / elapsed:9,.0f} orders/s", file=sys.stderr)

    try:
        stats = generate_orders(store, orders, seed=seed, now=now, progress=progress)
    finally:
        store.dispose()
    return path, stats.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="how many orders (default 1,000,000)")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"SQLite file (default {DEFAULT_DB})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--now", type=datetime.fromisoformat, help="end of the two years of orders (UTC)")
    parser.add_argument("--reuse", action="store_true", help="keep the file if it already has N orders")
    args = parser.parse_args(argv)
    now = args.now.replace(tzinfo=args.now.tzinfo or UTC) if args.now else None
    path, seconds = ensure_orders_db(args.db, args.orders, seed=args.seed, reuse=args.reuse, now=now)
    counts = count_rows(path)
    size = path.stat().st_size
    if seconds is None:
        print(f"reused {path}: {counts['orders']:,} orders")
    else:
        print(f"generated {args.orders:,} orders into {path}")
        print(f"elapsed      {seconds:.1f} s")
        print(f"rate         {args.orders / seconds:,.0f} orders/s")
    print(f"file size    {size / 1e6:,.1f} MB ({size / max(counts['orders'], 1):,.0f} bytes per order)")
    for table, count in counts.items():
        print(f"{table:<12} {count:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
