"""The simulated marketplaces' shared state: orders, received actions and the clock, in one SQLite file.

The world lives in ``<state_dir>/world-<seed>.sqlite3`` so that several processes (a sync daemon and
a terminal, or successive ``sync --once`` runs) see the same marketplaces. Every call first *advances*
the world to the caller's ``now`` inside one ``BEGIN IMMEDIATE`` transaction: due background events,
due actions and new arrivals are processed in time order at their own simulated moments, so the state
at a given time does not depend on how often anyone looked. The clock never goes backwards.

Every change gets an ``updated_at`` strictly greater than any earlier change (``max(event time,
last change + 1 µs)``), so a cursor on (updated_at, marketplace, order id) never skips an order, even
when processes' clocks disagree slightly.

Actions: ``perform`` checks the request like the marketplace API would (state, arguments) and answers
REJECTED at once, or records it as pending and answers PENDING with the action id as handle. The
marketplace processes it ``MarketplaceSim.action_delay`` simulated seconds later (3 s accept / refuse /
cancel, 5 s ship / refund at time_scale 1), re-checking the state, and then rejects it when
:func:`reject_roll` ``< reject_rate``, else applies it. A replayed action id never applies twice.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lengow_tui.connector_api import ActionKind, ActionRequest, ActionResult, LineSelection
from lengow_tui_sandbox.generate import arriving_order, initial_order
from lengow_tui_sandbox.settings import Settings
from lengow_tui_sandbox.sims import SIMS
from lengow_tui_sandbox.sims.base import US, Order, Tick, from_us, to_us

MAX_ARRIVALS_PER_ADVANCE = 300  # a week away must not flood the world with thousands of orders

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    marketplace TEXT NOT NULL, order_id TEXT NOT NULL, n INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, next_at INTEGER, data TEXT NOT NULL,
    PRIMARY KEY (marketplace, order_id));
CREATE INDEX IF NOT EXISTS orders_by_change ON orders (updated_at, marketplace, order_id);
CREATE INDEX IF NOT EXISTS orders_by_next ON orders (next_at) WHERE next_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS actions (
    action_id TEXT PRIMARY KEY, kind TEXT NOT NULL, marketplace TEXT NOT NULL, order_id TEXT NOT NULL,
    arguments TEXT NOT NULL, lines TEXT NOT NULL, received_at INTEGER NOT NULL,
    times_received INTEGER NOT NULL, due_at INTEGER, state TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '', decided_at INTEGER);
CREATE INDEX IF NOT EXISTS actions_by_due ON actions (due_at) WHERE state = 'pending';
"""


def reject_roll(seed: int, marketplace: str, order_id: str, kind: str) -> float:
    """A number in [0, 100) fixed by (seed, marketplace, order, action kind); below reject_rate rejects."""
    digest = hashlib.sha256(f"{seed}:{marketplace}:{order_id}:{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


@dataclass(frozen=True)
class ReceivedAction:
    """An action as the marketplace received it (for tests: count receipts and applications)."""

    action_id: str
    kind: str
    marketplace: str
    order_id: str
    arguments: dict[str, str]
    lines: list[dict[str, Any]]
    received_at: datetime
    times_received: int
    state: str  # "pending", "applied" or "rejected"
    message: str
    decided_at: datetime | None

    @property
    def applied(self) -> bool:
        return self.state == "applied"


class World:
    def __init__(self, state_dir: Path, settings: Settings, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self.path = Path(state_dir) / f"world-{settings.seed}.sqlite3"
        self._now = now
        self._ready = False

    # --- storage ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 30000")
        if not self._ready:
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for the other process's writer
            db.executescript(_SCHEMA)
            self._ready = True
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    @staticmethod
    def _meta(db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    @staticmethod
    def _set_meta(db: sqlite3.Connection, **values: Any) -> None:
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, "" if v is None else str(v)) for k, v in values.items()],
        )

    @staticmethod
    def _save(db: sqlite3.Connection, orders: list[Order]) -> None:
        db.executemany(
            "INSERT INTO orders (marketplace, order_id, n, updated_at, next_at, data) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(marketplace, order_id) DO UPDATE SET updated_at = excluded.updated_at, "
            "next_at = excluded.next_at, data = excluded.data",
            [
                (o["marketplace"], o["order_id"], o["n"], o["updated_at"], (o["next"] or {}).get("at"),
                 json.dumps(o, ensure_ascii=False, separators=(",", ":")))
                for o in orders
            ],
        )

    @staticmethod
    def _load(db: sqlite3.Connection, marketplace: str, order_id: str) -> Order | None:
        row = db.execute(
            "SELECT data FROM orders WHERE marketplace = ? AND order_id = ?", (marketplace, order_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    # --- time ------------------------------------------------------------------------------------

    def _arrival_after(self, at: int, k: int) -> int | None:
        rate = self.settings.orders_per_hour * self.settings.time_scale
        if rate <= 0:
            return None
        gap = random.Random(f"{self.settings.seed}:arrival:{k}").expovariate(rate / 3600)
        return at + max(1, int(gap * US))

    def _create(self, db: sqlite3.Connection, now: int) -> None:
        count = self.settings.initial_orders
        orders = [initial_order(self.settings, n, now) for n in range(1, count + 1)]
        self._save(db, orders)
        last = max((o["updated_at"] for o in orders), default=now - 1)
        self._set_meta(db, created=now, seed=self.settings.seed, clock=now, last_change=last, next_n=count + 1,
                       arrival_k=0, next_arrival=self._arrival_after(now, 0))

    def advance(self) -> datetime:
        """Bring the world up to ``now``; returns the world's clock."""
        with self._transaction() as db:
            return from_us(self._advance(db))

    def _advance(self, db: sqlite3.Connection) -> int:
        meta = self._meta(db)
        if "created" not in meta:
            self._create(db, to_us(self._now()))
            meta = self._meta(db)
        now = max(to_us(self._now()), int(meta["clock"]))
        seed, scale = self.settings.seed, self.settings.time_scale
        last_change, next_n, arrival_k = int(meta["last_change"]), int(meta["next_n"]), int(meta["arrival_k"])
        next_arrival = int(meta["next_arrival"]) if meta.get("next_arrival") else self._arrival_after(now, arrival_k)
        if self.settings.orders_per_hour <= 0:
            next_arrival = None

        orders: dict[tuple[str, str], Order] = {}
        dirty: set[tuple[str, str]] = set()
        heap: list[tuple[int, int, str, Any]] = []
        for key0, key1, data in db.execute(
            "SELECT marketplace, order_id, data FROM orders WHERE next_at IS NOT NULL AND next_at <= ?", (now,)
        ):
            orders[(key0, key1)] = order = json.loads(data)
            heapq.heappush(heap, (order["next"]["at"], 1, f"{key0}:{key1}", (key0, key1)))
        for action_id, due_at in db.execute(
            "SELECT action_id, due_at FROM actions WHERE state = 'pending' AND due_at <= ?", (now,)
        ):
            heapq.heappush(heap, (due_at, 0, action_id, None))
        if next_arrival is not None and next_arrival <= now:
            heapq.heappush(heap, (next_arrival, 2, "", None))

        def order_for(marketplace: str, order_id: str) -> Order | None:
            key = (marketplace, order_id)
            if key not in orders:
                found = self._load(db, marketplace, order_id)
                if found is None:
                    return None
                orders[key] = found
            return orders[key]

        def changed(order: Order, rev: int, at: int) -> None:
            nonlocal last_change
            key = (order["marketplace"], order["order_id"])
            if order["rev"] != rev:
                last_change = max(at, last_change + 1)
                order["updated_at"] = last_change
            dirty.add(key)
            upcoming = order["next"]
            if upcoming and upcoming["at"] <= now:
                heapq.heappush(heap, (upcoming["at"], 1, f"{key[0]}:{key[1]}", key))

        arrivals = 0
        while heap:
            at, priority, name, key = heapq.heappop(heap)
            tick = Tick(at, scale)
            if priority == 0:  # a merchant action the marketplace now processes
                self._process(db, name, tick, order_for, changed)
            elif priority == 1:  # an order's background event
                order = orders[key]
                upcoming = order["next"]
                if not upcoming or upcoming["at"] != at:
                    continue  # superseded: an action rescheduled this order meanwhile
                rev, sim = order["rev"], SIMS[order["marketplace"]]
                rng = random.Random(f"{seed}:event:{order['n']}:{order['step']}")
                order["step"] += 1
                if upcoming["kind"] == "release":
                    sim.release(order, tick)
                else:
                    sim.evolve(order, upcoming["kind"], tick, rng)
                changed(order, rev, at)
            else:  # the next new order
                if arrivals < MAX_ARRIVALS_PER_ADVANCE:
                    order = arriving_order(self.settings, next_n, at)
                    orders[(order["marketplace"], order["order_id"])] = order
                    next_n, arrivals = next_n + 1, arrivals + 1
                    changed(order, -1, at)
                    next_arrival = self._arrival_after(at, arrival_k)
                else:  # skip the backlog: the marketplace was quiet while nobody was looking
                    next_arrival = self._arrival_after(now, arrival_k)
                arrival_k += 1
                if next_arrival is not None and next_arrival <= now:
                    heapq.heappush(heap, (next_arrival, 2, "", None))

        self._save(db, [orders[key] for key in sorted(dirty)])
        self._set_meta(db, clock=now, last_change=last_change, next_n=next_n, arrival_k=arrival_k,
                       next_arrival=next_arrival)
        return now

    # --- actions ---------------------------------------------------------------------------------

    def would_reject(self, marketplace: str, order_id: str, kind: ActionKind | str) -> bool:
        """Whether a well-formed ``kind`` on this order is rejected by the reject_rate rule."""
        return reject_roll(self.settings.seed, marketplace, order_id, str(kind)) < self.settings.reject_rate

    @staticmethod
    def _request(row: tuple[Any, ...]) -> ActionRequest:
        action_id, kind, marketplace, order_id, arguments, lines = row
        return ActionRequest(
            action_id, ActionKind(kind), marketplace, order_id, json.loads(arguments),
            tuple(LineSelection(**sel) for sel in json.loads(lines)),
        )

    def _process(self, db: sqlite3.Connection, action_id: str, tick: Tick,
                 order_for: Callable[[str, str], Order | None], changed: Callable[[Order, int, int], None]) -> None:
        row = db.execute(
            "SELECT action_id, kind, marketplace, order_id, arguments, lines FROM actions WHERE action_id = ?",
            (action_id,),
        ).fetchone()
        request = self._request(row)
        order = order_for(request.marketplace, request.order_id)
        if order is None:
            state, message = "rejected", f"order {request.order_id} no longer exists"
        else:
            sim, rev = SIMS[order["marketplace"]], order["rev"]
            problem = self._problem(order, request)
            if problem:
                state, message = "rejected", problem
            elif self.would_reject(request.marketplace, request.order_id, request.kind):
                state, message = "rejected", sim.reject_messages.get(request.kind, "rejected by the marketplace")
            else:
                rng = random.Random(f"{self.settings.seed}:action:{action_id}")
                sim.apply(order, request, tick, rng)
                state, message = "applied", f"{request.kind} applied"
            changed(order, rev, tick.at)
        db.execute(
            "UPDATE actions SET state = ?, message = ?, decided_at = ? WHERE action_id = ?",
            (state, message, tick.at, action_id),
        )

    @staticmethod
    def _problem(order: Order, request: ActionRequest) -> str | None:
        sim = SIMS[order["marketplace"]]
        if order.get("held"):
            return f"order {order['order_id']} is under review ({order['status']}); no operation is possible yet"
        return sim.state_problem(order, request) or sim.argument_problem(order, request)

    @staticmethod
    def _result(state: str, message: str, action_id: str, replay: bool) -> ActionResult:
        if state == "pending":
            return ActionResult.pending(action_id, "the marketplace is processing the action")
        if state == "applied":
            return ActionResult.already_applied(message) if replay else ActionResult.applied(message)
        return ActionResult.rejected(message)

    def perform(self, request: ActionRequest) -> ActionResult:
        with self._transaction() as db:
            now = self._advance(db)
            seen = db.execute(
                "SELECT state, message FROM actions WHERE action_id = ?", (request.action_id,)
            ).fetchone()
            if seen:
                db.execute("UPDATE actions SET times_received = times_received + 1 WHERE action_id = ?",
                           (request.action_id,))
                return self._result(seen[0], seen[1], request.action_id, replay=True)
            sim = SIMS.get(request.marketplace)
            order = self._load(db, request.marketplace, request.order_id) if sim else None
            if sim is None or request.marketplace not in self.settings.marketplaces:
                problem: str | None = f"unknown marketplace {request.marketplace!r}"
            elif order is None:
                problem = f"order {request.order_id} not found on {sim.declaration.name}"
            elif sim.declaration.action(request.kind) is None:
                problem = f"{sim.declaration.name} has no {request.kind} operation"
            else:
                problem = self._problem(order, request)
            due = None if problem or sim is None else Tick(now, self.settings.time_scale).later(
                sim.action_delay[request.kind])
            db.execute(
                "INSERT INTO actions (action_id, kind, marketplace, order_id, arguments, lines, received_at, "
                "times_received, due_at, state, message, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (request.action_id, str(request.kind), request.marketplace, request.order_id,
                 json.dumps(dict(request.arguments)),
                 json.dumps([{"line_id": s.line_id, "quantity": s.quantity, "amount_cents": s.amount_cents}
                             for s in request.lines]),
                 now, due, "rejected" if problem else "pending", problem or "", now if problem else None),
            )
            if problem:
                return ActionResult.rejected(problem)
            return self._result("pending", "", request.action_id, replay=False)

    def poll(self, handle: str) -> ActionResult:
        with self._transaction() as db:
            self._advance(db)
            row = db.execute("SELECT state, message FROM actions WHERE action_id = ?", (handle,)).fetchone()
        if row is None:
            return ActionResult.rejected(f"unknown action handle {handle!r}")
        return self._result(row[0], row[1], handle, replay=False)

    # --- reads -----------------------------------------------------------------------------------

    def changed_orders(self, after: tuple[int, str, str] | None, limit: int) -> list[Order]:
        """Orders of the served marketplaces changed after ``after`` = (updated_at µs, marketplace, id)."""
        served = self.settings.marketplaces
        marks = ",".join("?" * len(served))
        sql = f"SELECT data FROM orders WHERE marketplace IN ({marks})"
        params: list[Any] = list(served)
        if after is not None:
            sql += " AND (updated_at, marketplace, order_id) > (?, ?, ?)"
            params.extend(after)
        sql += " ORDER BY updated_at, marketplace, order_id LIMIT ?"
        with self._reader() as db:
            return [json.loads(data) for (data,) in db.execute(sql, (*params, limit))]

    def order(self, marketplace: str, order_id: str) -> Order | None:
        if marketplace not in self.settings.marketplaces:
            return None
        with self._reader() as db:
            return self._load(db, marketplace, order_id)

    def all_orders(self) -> list[Order]:
        """Every order, in (marketplace, order id) order (for tests and the demo's summary)."""
        with self._reader() as db:
            return [json.loads(d) for (d,) in db.execute("SELECT data FROM orders ORDER BY marketplace, order_id")]

    def received_actions(self) -> list[ReceivedAction]:
        """Every action the marketplaces received, in arrival order."""
        with self._reader() as db:
            rows = db.execute(
                "SELECT action_id, kind, marketplace, order_id, arguments, lines, received_at, times_received, "
                "state, message, decided_at FROM actions ORDER BY received_at, action_id"
            ).fetchall()
        return [
            ReceivedAction(
                action_id=r[0], kind=r[1], marketplace=r[2], order_id=r[3], arguments=json.loads(r[4]),
                lines=json.loads(r[5]), received_at=from_us(r[6]), times_received=r[7], state=r[8],
                message=r[9], decided_at=None if r[10] is None else from_us(r[10]),
            )
            for r in rows
        ]
