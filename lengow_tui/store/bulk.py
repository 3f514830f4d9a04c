"""Bulk generation of realistic orders for benchmarks and demos: 1,000,000 orders in about a minute.

Rows are plain tuples built from small precomputed pools (people, products, timestamp strings; the data is
in :mod:`lengow_tui.store.bulk_data`) and written with the driver directly: multi-row ``INSERT`` on SQLite,
``COPY`` on PostgreSQL. Past two batches, a child Python builds the rows while this process writes them.
Everything is drawn from one seeded ``random.Random``: the same seed, ``n``, ``now`` and first id give the
same orders.

Timestamps are written as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``: exactly what SQLAlchemy's
``DateTime`` stores on SQLite (so comparisons in SQL keep working) and valid input for PostgreSQL.
"""

from __future__ import annotations

import marshal
import math
import pickle
import random
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from lengow_tui.store.order_counts import SQLITE_REBUILD as ORDER_COUNT_REBUILD
from lengow_tui.store.search_index import FTS_TABLE
from lengow_tui.store import bulk_data as data
from lengow_tui.store.engine import Store
from lengow_tui.store.models import Channel, Order

BATCH = 50_000  # orders per transaction
HISTORY_DAYS = 730
PAYLOAD = '{"generated": true}'

OPEN = {"new", "waiting_acceptance", "accepted", "waiting_shipment", "pickup_to_prepare", "to_pickup"}
UNSHIPPED = OPEN | {"refused", "canceled", "pickup_canceled", "pickup_completed", None}
NO_DOCS = {None, "new", "waiting_acceptance", "refused", "canceled", "pickup_canceled"}
PICKUP = {"pickup_to_prepare", "to_pickup", "pickup_completed", "pickup_canceled"}


@dataclass
class GenerateStats:
    orders: int
    lines: int
    parties: int
    events: int
    first_order_id: int
    last_order_id: int
    seconds: float
    channels: dict[str, int]


def _table(weighted: Sequence[tuple[Any, int]], size: int) -> list[Any]:
    """A list where each value appears in proportion to its weight: pick with ``table[bits % size]``."""
    total, out, acc = sum(w for _, w in weighted), [], 0
    for value, weight in weighted:
        acc += weight
        out.extend([value] * (round(acc * size / total) - len(out)))
    return out


class _Plan:
    """Everything precomputed for one run: pools, lookup tables, timestamp strings, the status sequence."""

    def __init__(self, rng: random.Random, channel_ids: dict[str, int], now: datetime, n: int) -> None:
        now = now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        t0 = datetime(now.year, now.month, now.day) - timedelta(days=HISTORY_DAYS)
        self.now_sec = int((now - t0).total_seconds())  # timestamps are seconds since t0 until formatted
        days = [t0 + timedelta(days=d) for d in range(HISTORY_DAYS + 10)]
        self.day_str, self.ymd = [d.strftime("%Y-%m-%d ") for d in days], [d.strftime("%y%m%d") for d in days]
        self.tod_str = [
            f"{h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)
        ]
        # time of day: few orders at night, peaks at lunch time and in the evening (inverse CDF, interpolated)
        hours = [2, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 10, 11, 10, 9, 9, 9, 10, 11, 12, 13, 12, 9, 5]
        cum = [sum(hours[:h]) / sum(hours) for h in range(25)]
        self.warp = []
        for k in range(1024):
            h = next(i for i in range(24) if cum[i + 1] > k / 1024)
            self.warp.append(3600 * (h + (k / 1024 - cum[h]) / (cum[h + 1] - cum[h])))
        self.warp.append(86399.0)
        self.catalog = data.catalog(rng)
        self.popular = [int(4096 * (k / 4096) ** 2.2) for k in range(4096)]  # a few best sellers
        self.people = {c: data.people(rng, c) for c in data.COUNTRIES}
        channels = [self._channel(name, cid) for name, cid in channel_ids.items()]
        # per status code: (status, raw-vocabulary key, channel pick table)
        self.status_info = []
        for status, *_ in data.STATUSES:
            while status in data.FALLBACK and not any(status in ch[4] for ch in channels):
                status = data.FALLBACK[status]
            key = status or "review"
            self.status_info.append((status, key, _table([(c, c[1]) for c in channels if key in c[4]], 256)))
        # each order's status, sorted by where it sits in time (open orders are the recent ones)
        pick = _table(
            [((code, lo, hi - lo), share) for code, (_, share, lo, hi) in enumerate(data.STATUSES)], 1 << 14
        )
        keys, rand = [], rng.random
        for _ in range(n):
            code, lo, width = pick[int(rand() * (1 << 14))]
            keys.append(int((lo + width * rand()) * (1 << 24)) << 5 | code)
        keys.sort()
        self.sequence = bytes(k & 31 for k in keys)

    def _channel(self, name: str, cid: int) -> tuple[Any, ...]:
        share, line_level, specs, docs = data.CHANNELS.get(name, (15, True, f"{name}_fr:FR:EUR:1", 50))
        kind = {"amazon": 1, "cdiscount": 2, "manomano": 3}.get(name, 0)  # order reference style
        markets: list[tuple[tuple[Any, ...], int]] = []
        for spec in specs.split():
            code, country, currency, weight = spec.split(":")
            rate, relay = data.CURRENCY_RATE[currency], data.RELAY_CARRIER.get(country, "Mondial Relay")
            carriers = [(c, *data.CARRIERS[c]) for c in data.COUNTRY_CARRIERS[country].split("|")]
            prices = [p[2] * rate // 100 for p in self.catalog]
            fees = {k: v * rate // 100 for k, v in data.SHIPPING_FEE.items()}
            vat, free = int(data.COUNTRIES[country][6]), data.FREE_SHIPPING_FROM * rate // 100
            amazon = f"{(171 + 131 * len(markets)) % 1000:03d}-"  # Amazon ids start with a per-site number
            relay_carrier, people = (relay, *data.CARRIERS[relay]), self.people[country]
            market = (code, currency, vat, people, carriers, relay_carrier, prices, fees, free, kind, amazon)
            markets.append((market, int(weight)))
        raw = {k: v.split() for k, v in data.RAW.get(name, data.MIRAKL).items()}
        return cid, share, line_level, docs * 128 // 100, raw, _table(markets, 256)


def _batch(plan: _Plan, rng: random.Random, n: int, first_id: int, start: int, stop: int, seed: int) -> tuple:
    """Rows for orders ``start..stop`` of the run: orders, lines, buyers, and shipping contacts that differ.

    NULL is written as '' (SQL ``NULLIF`` / COPY ``NULL ''``) and booleans as 0/1: binding None or bool costs
    pysqlite a failed adapter lookup each, which doubles the insert time.
    """
    orders, lines, buyers, recipients = [], [], [], []
    rb, seq, info = rng.getrandbits, plan.sequence, plan.status_info
    catalog, popular = plan.catalog, plan.popular
    day_str, tod_str, now_sec, warp, ymd = plan.day_str, plan.tod_str, plan.now_sec, plan.warp, plan.ymd
    start_sec = now_sec - HISTORY_DAYS * 86400
    span, last_sec = now_sec - 60 - start_sec, now_sec - 60
    now = day_str[now_sec // 86400] + tod_str[now_sec % 86400]
    n_lines = _table([(1, 30), (2, 25), (3, 20), (4, 12), (5, 8), (6, 5)], 64)  # 2.5 lines per order
    quantity = _table([(1, 85), (2, 10), (3, 4), (4, 1)], 64)
    suffixes = [f"-{k}" for k in range(7)]
    delivery_t, sqrt = data.DELIVERY.split(), math.sqrt
    for i in range(start, stop):
        oid = first_id + i
        # a bijection of the id: unique, random-looking references and tracking numbers
        x = (oid * 61_803_398_874_989 + seed * 40_503) % 10**14
        status, key, ch_table = info[seq[i]]
        r, r2 = rb(64), rb(64)
        cid, _, line_level, docs, raw_words, markets = ch_table[r & 255]
        market = markets[(r >> 8) & 255]
        code, currency, vat, people, carriers, relay, prices, fees, free, kind, amazon = market
        raws = raw_words[key]
        raw = raws[((r >> 16) & 15) % len(raws)]
        # ordered_at: the density grows linearly over the two years (3x more orders now than back then)
        day, frac = divmod(start_sec + span * (sqrt(1 + 8 * (i + 0.5) / n) - 1) / 2, 86400)
        f = frac * (1024 / 86400)
        j = int(f)
        osec = int(day) * 86400 + int(warp[j] + (f - j) * (warp[j + 1] - warp[j]))
        if osec > last_sec:
            osec = last_sec
        lo, spread = data.UPDATE_DELAY.get(status, (432000, 1728000))  # type: ignore[arg-type]
        usec = osec + lo + (r >> 20) % spread
        if usec > now_sec:
            usec = now_sec
        isec = osec + 120 + (r >> 44) % 1800
        ssec = usec + 300
        ordered = day_str[osec // 86400] + tod_str[osec % 86400]
        if kind == 1:
            ref = f"{amazon}{x // 10**7:07d}-{x % 10**7:07d}"
        elif kind == 2:
            ref = f"{ymd[osec // 86400]}{x % 10**10:010d}"
        elif kind == 3:
            ref = f"M{x % 10**12:012d}"
        else:
            ref = f"{x % 10**12:010X}-A"  # Mirakl: commercial id + shop suffix
        count = n_lines[r2 & 63]
        line_status, line_raw = (status or "", raw) if line_level else ("", "")
        search, subtotal, items, seen = [ref.lower(), ""], 0, 0, []
        for k in range(1, count + 1):
            rl = rb(20)
            p = popular[rl & 4095]
            while p in seen:  # one line per product
                p = (p + 1) & 4095
            seen.append(p)
            qty = quantity[rl >> 14]
            amount = prices[p] * qty
            sku, title, _, words = catalog[p]
            tax = amount * vat // (100 + vat)
            lines.append((oid, ref + suffixes[k], sku, title, qty, amount, tax, line_raw, line_status))
            subtotal += amount
            items += qty
            search.append(words)
        delivery = "CLICK_AND_COLLECT" if status in PICKUP else delivery_t[(r2 >> 6) % 20]
        fee = 0 if subtotal >= free and (delivery == "PARCEL" or delivery == "RELAY") else fees[delivery]
        carrier = tracking = url = deadline = ""
        if status in OPEN:
            dsec = (osec // 86400 + 2 + ((r2 >> 11) & 1)) * 86400 + 86399
            deadline = day_str[dsec // 86400] + tod_str[dsec % 86400]
        elif status not in UNSHIPPED and delivery != "CLICK_AND_COLLECT":
            picked = relay if delivery == "RELAY" else carriers[(r2 >> 12) % len(carriers)]
            carrier, prefix, digits, suffix, link = picked
            if delivery != "LETTER":
                tracking = f"{prefix}{x % 10**digits:0{digits}d}{suffix}"
                url = link + tracking
                search.append(tracking.lower())
        buyer = people[(r2 >> 16) & 511]
        buyers.append((oid, *buyer[:9]))
        if (r2 >> 34) & 7 == 0:  # the parcel goes to someone else (a gift, an office)
            recipients.append((oid, *people[(r2 >> 25) & 511][:9]))
        search[1] = buyer[9]
        orders.append(
            (
                oid,
                cid,
                code,
                ref,
                status or "",
                raw,
                ordered,
                day_str[usec // 86400] + tod_str[usec % 86400],
                day_str[isec // 86400] + tod_str[isec % 86400] if isec < now_sec else now,
                day_str[ssec // 86400] + tod_str[ssec % 86400] if ssec < now_sec else now,
                currency,
                subtotal + fee,
                fee,
                items,
                delivery,
                deadline,
                carrier,
                tracking,
                url,
                buyer[0],
                " ".join(search)[:4000],
                1 if status not in NO_DOCS and (r2 >> 37) & 127 < docs else 0,
            )
        )
    return orders, lines, buyers, recipients


_ORDER = (
    "id channel_id marketplace marketplace_order_id status raw_status ordered_at remote_updated_at"
    " imported_at synced_at currency total_cents shipping_cents items_count delivery_type shipping_deadline"
    " carrier tracking_number tracking_url buyer_name search_text has_documents"
).split()
_LINE = "order_id line_id sku title quantity amount_cents tax_cents raw_status status".split()
_PARTY = "order_id name company address1 address2 zipcode city country email phone".split()
_ORDER_NULLS = {"status", "shipping_deadline", "carrier", "tracking_number", "tracking_url"}
# what _batch returns, table by table: bound columns, those where '' means NULL, constant columns
# (and orders.needs_review, computed from the status)
TABLES: list[tuple[str, list[str], set[str], dict[str, str | int]]] = [
    ("orders", _ORDER, _ORDER_NULLS, {"pending_actions": 0, "raw_payload": PAYLOAD}),
    ("order_line", _LINE, {"raw_status", "status"}, {}),
    ("party", _PARTY, set(), {"role": "buyer", "state": ""}),
    ("party", _PARTY, set(), {"role": "shipping", "state": ""}),
]
# then, in SQL, for the batch's orders :lo..:hi: billing = buyer, shipping = buyer unless given, events
_COPY_BUYER = (
    f"INSERT INTO party (role, state, {', '.join(_PARTY)}) SELECT '{{}}', state, {', '.join(_PARTY)} "
    "FROM party b WHERE b.role = 'buyer' AND b.order_id BETWEEN :lo AND :hi"
)
FOLLOW_UP = [
    _COPY_BUYER.format("billing"),
    _COPY_BUYER.format("shipping") + " AND NOT EXISTS (SELECT 1 FROM party s WHERE s.order_id = b.order_id "
    "AND s.role = 'shipping')",
    "INSERT INTO order_event (order_id, at, kind, to_status, raw_status) "
    "SELECT id, imported_at, 'imported', status, raw_status FROM orders WHERE id BETWEEN :lo AND :hi",
]


def _names(table: str, columns: list[str], constants: dict[str, str | int]) -> list[str]:
    return [*columns, *constants] + (["needs_review"] if table == "orders" else [])


def _values(table: str, columns: list[str], nullable: set[str], constants: dict[str, Any], at: int) -> str:
    """One row of a multi-row INSERT on SQLite, its parameters numbered from ``at + 1``."""
    values = [f"NULLIF(?{at + i}, '')" if c in nullable else f"?{at + i}" for i, c in enumerate(columns, 1)]
    values += [str(v) if isinstance(v, int) else f"'{v}'" for v in constants.values()]
    if table == "orders":
        values.append(f"?{at + 5} = ''")  # needs_review: the status (5th value) is NULL
    return f"({', '.join(values)})"


def _ensure_channels(store: Store, names: Sequence[str]) -> dict[str, int]:
    with store.write() as session:
        query = select(Channel).where(col(Channel.name).in_(list(names)))
        existing = {c.name: c for c in session.exec(query)}
        for name in names:
            if name not in existing:
                existing[name] = Channel(name=name, connector="sandbox")
                session.add(existing[name])
        session.flush()
        return {name: existing[name].id for name in names}  # type: ignore[misc]


def generate_orders(
    store: Store,
    n: int,
    *,
    seed: int = 7,
    channels: Sequence[str] = ("fnac", "amazon", "cdiscount", "manomano"),
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateStats:
    """Insert ``n`` orders with ~2.5 lines, buyer/billing/shipping parties and an "imported" event each.

    Creates the channels that are missing (connector "sandbox"). Order ids follow the current maximum: run
    it while nothing else writes orders. Deterministic for a given ``seed``, ``n``, ``now`` and first id.
    Commits every 50,000 orders (``progress`` gets the count done) and ANALYZEs the tables at the end.
    """
    if not channels:
        raise ValueError("generate_orders needs at least one channel")
    started = time.perf_counter()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    channel_ids = _ensure_channels(store, channels)
    with store.read() as session:
        first_id = (session.exec(select(func.max(Order.id))).one() or 0) + 1
    lines = done = 0
    raw = store.engine.raw_connection()
    try:
        writer_class = _SQLiteWriter if store.is_sqlite else _PostgresWriter
        writer = writer_class(raw.driver_connection)
        produce = _batches if n <= 2 * BATCH else _batches_in_subprocess
        batches = produce(seed, n, channel_ids, now, first_id)
        try:
            for rows in batches:
                writer.write(rows, first_id + done, first_id + done + len(rows[0]) - 1)
                lines, done = lines + len(rows[1]), done + len(rows[0])
                if progress is not None:
                    progress(done)
        finally:
            batches.close()  # stops the child process now, not when the traceback is freed
            writer.finish(done == n)
    finally:
        raw.close()
    return GenerateStats(
        n, lines, 3 * n, n, first_id, first_id + n - 1, time.perf_counter() - started, channel_ids
    )


Batches = Generator[tuple, None, None]


def _batches(seed: int, n: int, channel_ids: dict[str, int], now: datetime, first_id: int) -> Batches:
    rng = random.Random(seed)
    plan = _Plan(rng, channel_ids, now, n)
    for start in range(0, n, BATCH):
        yield _batch(plan, rng, n, first_id, start, min(n, start + BATCH), seed)


def _batches_in_subprocess(*args: Any) -> Batches:
    """The same batches, built by a child Python while this process writes them (one core each)."""
    command = [sys.executable, "-c", "from lengow_tui.store.bulk import _child; _child()"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            pickle.dump(args, child.stdin)
            child.stdin.close()
            for _ in range(0, args[1], BATCH):
                size = int.from_bytes(child.stdout.read(8), "big")
                frame = child.stdout.read(size)
                if not size or len(frame) < size:
                    raise RuntimeError("the order generator process died")
                rows = marshal.loads(frame)
                if isinstance(rows, str):
                    raise RuntimeError(f"the order generator failed: {rows}")
                yield rows
        except BaseException:
            child.kill()
            raise


def _child() -> None:
    out = sys.stdout.buffer
    try:
        for rows in _batches(*pickle.load(sys.stdin.buffer)):
            _send(out, marshal.dumps(rows))  # tuples of str and int: marshal is the fastest serialisation
    except Exception as exc:  # reported to the parent, which raises
        _send(out, marshal.dumps(f"{type(exc).__name__}: {exc}"))


def _send(out: Any, frame: bytes) -> None:
    out.write(len(frame).to_bytes(8, "big"))
    out.write(frame)
    out.flush()


class _SQLiteWriter:
    """Multi-row INSERTs (pysqlite's per-row cost dominates otherwise). On an empty database the secondary
    indexes are dropped during the load and rebuilt at the end, which is faster than maintaining them."""

    ROWS = 64  # rows per INSERT statement

    def __init__(self, conn: Any) -> None:
        # The engine puts pysqlite in autocommit mode and issues BEGIN itself: so do we.
        self.conn = conn
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = OFF")  # rows are consistent by construction
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB for the index B-trees
        self.indexes: list[tuple[str, str]] = []
        self.triggers: list[tuple[str, str]] = []
        if conn.execute("SELECT NOT EXISTS (SELECT 1 FROM orders)").fetchone()[0]:
            self.indexes = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('orders', 'order_line', 'party', 'order_event')"
            ).fetchall()
            for name, _ in self.indexes:  # unique constraints (sql IS NULL) stay: the follow-ups use them
                conn.execute(f'DROP INDEX "{name}"')
            # The search index's triggers too: one rebuild at the end is several times faster.
            self.triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'orders'"
            ).fetchall()
            for name, _ in self.triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
        self.inserts = []
        for table, columns, nullable, constants in TABLES:
            head = f"INSERT INTO {table} ({', '.join(_names(table, columns, constants))}) VALUES "
            rows = [_values(table, columns, nullable, constants, r * len(columns)) for r in range(self.ROWS)]
            self.inserts.append((head + rows[0], head + ", ".join(rows), len(columns)))

    def write(self, batches: tuple, lo: int, hi: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for (one, many, width), rows in zip(self.inserts, batches, strict=True):
                full = len(rows) - len(rows) % self.ROWS
                flat, step = list(chain.from_iterable(rows[:full])), width * self.ROWS
                self.conn.executemany(many, [flat[i : i + step] for i in range(0, len(flat), step)])
                self.conn.executemany(one, rows[full:])
            for sql in FOLLOW_UP:
                self.conn.execute(sql, {"lo": lo, "hi": hi})
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def finish(self, complete: bool) -> None:
        for _, sql in self.indexes:
            self.conn.execute(sql)
        for _, sql in self.triggers:
            self.conn.execute(sql)
        if self.triggers and self.conn.execute(
            f"SELECT 1 FROM sqlite_master WHERE name = '{FTS_TABLE}'"
        ).fetchone():
            self.conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        if self.triggers and self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'order_count'").fetchone():
            self.conn.execute("DELETE FROM order_count")
            self.conn.execute(ORDER_COUNT_REBUILD)
        for pragma in ("synchronous = NORMAL", "foreign_keys = ON", "cache_size = -2000"):  # as the engine's
            self.conn.execute(f"PRAGMA {pragma}")
        if complete:
            self.conn.execute("ANALYZE")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class _PostgresWriter:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def write(self, batches: tuple, lo: int, hi: int) -> None:
        try:
            with self.conn.cursor() as cur:
                for (table, columns, nullable, constants), rows in zip(TABLES, batches, strict=True):
                    names, tail = ", ".join(_names(table, columns, constants)), tuple(constants.values())
                    null = " (NULL '')" if nullable else ""  # those tables have no '' that is not NULL
                    review = table == "orders"  # needs_review: the status (5th value) is NULL
                    with cur.copy(f"COPY {table} ({names}) FROM STDIN{null}") as copy:
                        for row in rows:
                            copy.write_row((*row, *tail, row[4] == "") if review else (*row, *tail))
                for sql in FOLLOW_UP:
                    cur.execute(sql.replace(":lo", "%(lo)s").replace(":hi", "%(hi)s"), {"lo": lo, "hi": hi})
                # the ids were ours to give: move the sequence past them for the ORM's next inserts
                cur.execute("SELECT setval(pg_get_serial_sequence('orders', 'id'), %s)", (hi,))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def finish(self, complete: bool) -> None:
        if complete:
            with self.conn.cursor() as cur:
                cur.execute("ANALYZE orders, order_line, party, order_event")
            self.conn.commit()
