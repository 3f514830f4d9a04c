"""Import throughput over loopback HTTP: the Mirakl emulator serves N orders, the sync engine imports them.

    python bench/sync_throughput.py [--orders 100000] [--seed 1] [--keep DIR]

The emulator runs as its own process (as a marketplace would: its serving cost is not ours) and is
warmed first, so that every order's JSON is already built when timing starts. Then, in this order:

1. floor, fetch and parse: the connector's ``fetch_orders`` over every page, every order parsed into
   ``RemoteOrder`` (the Mirakl connector lists its pages: all listed orders are loaded) and thrown away
   (HTTP, JSON, conversion; the documents call per page included);
2. floor, raw inserts: the same orders' rows (orders, lines, parties, events) written into an empty
   SQLite file with plain ``executemany``, one transaction per page — no checks, no search index;
3. first import: ``import_channel`` into an empty SQLite database (the real path: cursor committed with
   each page, upsert, search index, events);
4. unchanged re-sync: the cursor reset and the whole set imported again; nothing changed, so every
   order is read (OR11 pages), compared with the store by its update time and left alone: nothing is
   converted, no documents call is made (see "Listing pages" in docs/connector-api.md).

Prints orders/s for each and the ratio of the first import to the floor (1 + 2). Targets (issue 4):
first import >= 3,000 orders/s; unchanged re-sync >= 10,000 orders/s; first import within 3x of the
floor. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

API_KEY = "bench-api-key"
CHANNEL = "fnac"


def start_emulator(orders: int, seed: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lengow_tui_mirakl.emulator", "--orders", str(orders), "--seed", str(seed),
         "--api-key", API_KEY, "--operator", "fnac_darty"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    url = process.stdout.readline().strip()  # type: ignore[union-attr]
    if not url.startswith("http"):
        process.kill()
        sys.exit(f"the emulator did not start (printed {url!r})")
    return process, url


def warm(url: str, orders: int) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        for offset in range(0, orders, 100):
            client.get(f"{url}/api/orders", params={"max": 100, "offset": offset, "sort": "dateCreated",
                                                    "order": "asc"},
                       headers={"Authorization": API_KEY}).raise_for_status()
    return time.perf_counter() - started


def make_runtime(folder: Path, url: str) -> Any:
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime

    path = folder / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{folder / "orders.db"}"\n[paths]\ndata_dir = "{folder / "data"}"\n'
        f'[channels.{CHANNEL}]\nconnector = "mirakl"\nbase_url = "{url}"\napi_key = "{API_KEY}"\n'
        'operator = "fnac_darty"\n'
    )
    registry = load_registry()
    config = load_config(path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config)


async def fetch_all(runtime: Any) -> tuple[float, list[list[Any]]]:
    from lengow_tui.sync.clients import open_client

    pages: list[list[Any]] = []
    started = time.perf_counter()
    async with open_client(runtime, CHANNEL) as client:
        async for page in client.fetch_orders(None):
            pages.append(list(await page.all_orders()))  # listed orders loaded: every order converted
    return time.perf_counter() - started, pages


def raw_inserts(folder: Path, pages: list[list[Any]]) -> float:
    """The least any store must do: the rows, one transaction per page, nothing else."""
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, ref TEXT UNIQUE, status TEXT, ordered_at TEXT,"
        " updated_at TEXT, total INTEGER, currency TEXT, buyer TEXT, payload TEXT);"
        "CREATE TABLE order_line (id INTEGER PRIMARY KEY, order_id INTEGER, line_id TEXT, sku TEXT, title TEXT,"
        " quantity INTEGER, amount INTEGER, UNIQUE (order_id, line_id));"
        "CREATE TABLE party (id INTEGER PRIMARY KEY, order_id INTEGER, role TEXT, name TEXT, address TEXT,"
        " city TEXT, zipcode TEXT, country TEXT, email TEXT, phone TEXT);"
        "CREATE TABLE order_event (id INTEGER PRIMARY KEY, order_id INTEGER, kind TEXT, status TEXT);"
    )
    started = time.perf_counter()
    next_id = 1
    for page in pages:
        db.execute("BEGIN")
        orders, lines, parties, events = [], [], [], []
        for remote in page:
            orders.append((next_id, remote.order_id, remote.raw_status, remote.ordered_at.isoformat(),
                           remote.updated_at.isoformat(), remote.total_cents, remote.currency,
                           remote.parties[0].name if remote.parties else "", json.dumps(remote.raw)))
            lines.extend((next_id, l.line_id, l.sku, l.title, l.quantity, l.amount_cents) for l in remote.lines)
            parties.extend((next_id, p.role.value, p.name, p.address1, p.city, p.zipcode, p.country, p.email,
                            p.phone) for p in remote.parties)
            events.append((next_id, "imported", remote.raw_status))
            next_id += 1
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", orders)
        db.executemany("INSERT INTO order_line (order_id, line_id, sku, title, quantity, amount) "
                       "VALUES (?, ?, ?, ?, ?, ?)", lines)
        db.executemany("INSERT INTO party (order_id, role, name, address, city, zipcode, country, email, phone) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", parties)
        db.executemany("INSERT INTO order_event (order_id, kind, status) VALUES (?, ?, ?)", events)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


async def import_once(runtime: Any) -> tuple[float, Any]:
    from lengow_tui.sync.clients import open_client
    from lengow_tui.sync.importer import import_channel

    started = time.perf_counter()
    async with open_client(runtime, CHANNEL) as client:
        result = await import_channel(runtime, CHANNEL, client)
    return time.perf_counter() - started, result


def reset_cursor(runtime: Any) -> None:
    from lengow_tui.store.models import SyncCursor

    with runtime.store.write() as session:
        row = session.get(SyncCursor, runtime.channel_id(CHANNEL))
        row.cursor = None
        session.add(row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the databases in this folder")
    args = parser.parse_args(argv)
    emulator, url = start_emulator(args.orders, args.seed)
    try:
        print(f"emulator: {args.orders:,} orders at {url}; warm-up pass {warm(url, args.orders):.1f} s")
        with tempfile.TemporaryDirectory(prefix="lengow-throughput-") as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            runtime = make_runtime(folder, url)
            fetch_s, pages = asyncio.run(fetch_all(runtime))
            fetched = sum(len(p) for p in pages)
            lines = sum(len(o.lines) for p in pages for o in p)
            insert_s = raw_inserts(folder, pages)
            del pages
            first_s, first = asyncio.run(import_once(runtime))
            reset_cursor(runtime)
            again_s, again = asyncio.run(import_once(runtime))
            runtime.close()
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    floor_s = fetch_s + insert_s
    figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "orders": fetched,
        "lines per order": round(lines / max(1, fetched), 2),
        "floor: fetch and parse (orders/s)": round(fetched / fetch_s),
        "floor: raw inserts (orders/s)": round(fetched / insert_s),
        "floor: both (orders/s)": round(fetched / floor_s),
        "first import (orders/s)": round(first.created / first_s),
        "first import: created / error": f"{first.created} / {first.error}",
        "unchanged re-sync (orders/s)": round(again.orders / again_s),
        "unchanged re-sync: unchanged / updated / error": f"{again.unchanged} / {again.updated} / {again.error}",
        "first import time / floor time": round(first_s / floor_s, 2),
    }
    for key, value in figures.items():
        print(f"{key:<50} {value:>14,}" if isinstance(value, int) else f"{key:<50} {value!s:>14}")
    missed = []
    if figures["first import (orders/s)"] < 3000:
        missed.append("first import < 3,000 orders/s")
    if figures["unchanged re-sync (orders/s)"] < 10_000:
        missed.append("unchanged re-sync < 10,000 orders/s")
    if figures["first import time / floor time"] > 3:
        missed.append("first import slower than 3x the floor")
    if first.error or again.error or first.created != fetched or again.unchanged != fetched:
        missed.append("the imports did not see every order exactly once")
    print("targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
