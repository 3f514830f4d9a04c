"""Concurrency on one SQLite file: TUI-like readers and a user-like writer while ``sync --watch`` writes.

    python bench/concurrency_sqlite.py [--minutes 5] [--orders 20000] [--readers 3] [--seed 1] [--keep DIR]

A Mirakl emulator process serves many orders and keeps getting new ones and moving others on; a real
``lengow-tui sync --watch --interval 1`` daemon imports them and delivers the merchant's actions, on one
SQLite file. Meanwhile 3+ reader processes do what the TUI does (order list pages, sidebar counts,
searches, the live-change probe every 1.5 s, an order's detail) in tight loops, a writer process does what
a merchant does (accepts, shipments, bulk accepts, an export, a stock import, a purge dry run) and a CLI
process runs ``lengow-tui actions list`` / ``export`` / ``stock import`` / ``purge --dry-run``.

Prints the duration, operations per process kind, read and write latency (p50/p99/max), orders imported,
actions delivered and the "database is locked" errors; exits 1 unless there were none (and no other error).
The harness lives in ``lengow_tui/testing_support/sqlite_concurrency.py`` (the test suite runs it briefly).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lengow_tui.testing_support.sqlite_concurrency import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--orders", type=int, default=20000, help="orders at the marketplace at the start")
    parser.add_argument("--readers", type=int, default=3, help="TUI-like reader processes (3 or more)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (logs, database)")
    args = parser.parse_args(argv)
    if args.readers < 1:
        parser.error("--readers must be 1 or more")
    report = run(seconds=args.minutes * 60, orders=args.orders, readers=args.readers, seed=args.seed,
                 folder=args.keep, progress=lambda text: print(text, file=sys.stderr, flush=True))
    for line in report.lines():
        print(line)
    if not report.ok:
        print("FAILED: " + ("'database is locked' errors reached users" if report.locked_errors
                            else "errors (see above)"), file=sys.stderr)
        return 1
    print("OK: no 'database is locked' error reached a user")
    return 0


if __name__ == "__main__":
    sys.exit(main())
