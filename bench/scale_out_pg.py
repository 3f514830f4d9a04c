"""Scale-out on PostgreSQL: several ``sync --watch`` workers on one database, killed and restarted at random.

    python bench/scale_out_pg.py [--workers 4] [--orders 20000] [--actions 5000] [--kills 25] [--seed 1]
                                 [--throughput-orders 10000] [--throughput-actions 1000] [--skip-throughput]
    python bench/scale_out_pg.py --orders 2000 --actions 400 --kills 6 --throughput-orders 2000 \
                                 --throughput-actions 200        # a quick run (about a minute)

Chaos run: a Mirakl emulator process (it survives every kill and records every action call it receives)
and ``--workers`` worker processes (``lengow-tui sync --watch --interval 1``) on a PostgreSQL schema of
their own, created and dropped by this script (``LENGOW_TUI_TEST_PG_URL``, by default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). The emulator starts with 90 % of ``--orders``;
the rest arrive while the run goes on. This script plays the merchant: it accepts orders waiting for
acceptance and ships orders waiting for shipment (once each) until ``--actions`` actions are queued,
while it SIGKILLs a random worker every few seconds and starts it again. Then the workers run to the end.

Prints, and exits 1 unless all are 0: duplicate orders, lost orders, lost actions (not done, or done but
never applied by the emulator), actions applied twice (the emulator ledger's ``duplicates``), orders
whose ship reached the marketplace before their accept, and orders with two actions in flight at once.

Throughput runs (unless ``--skip-throughput``): with 1, 2 and 4 workers, a fresh schema and emulator,
four channels reading the same emulator (so the import can be shared: one channel is imported by one
worker at a time), orders imported per second, then ``--throughput-actions`` accepts delivered per
second. The machine's core count is printed next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "lengow_tui.cli"]
FINAL = ("done", "rejected", "dead", "cancelled")
API_KEY = "scale-out-key"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHECKED = ("duplicate orders", "lost orders", "lost actions", "actions applied twice",
           "ships before their accept", "orders with two actions in flight")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- set-up


@contextmanager
def pg_schema(prefix: str = "bench_scale") -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped (CASCADE) afterwards."""
    import psycopg

    base = make_url(os.environ.get("LENGOW_TUI_TEST_PG_URL") or DEFAULT_PG_URL)
    libpq = base.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False)
        finally:
            admin.execute("SET lock_timeout = '30s'")
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def emulator(orders: int, seed: int) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lengow_tui_mirakl.emulator", "--port", "0", "--orders", str(orders),
         "--seed", str(seed), "--api-key", API_KEY],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        if not url.startswith("http"):
            raise SystemExit(f"the emulator did not start (printed {url!r})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_config(folder: Path, db_url: str, emulator_url: str, channels: int = 1) -> Path:
    lines = [f"[database]\nurl = {json.dumps(db_url)}", f"[paths]\ndata_dir = {json.dumps(str(folder / 'data'))}",
             f"log_dir = {json.dumps(str(folder / 'logs'))}", "[sync]\ninterval_seconds = 1"]
    for k in range(channels):
        name = "fnac" if k == 0 else f"fnac{k + 1}"
        lines.append(f'[channels.{name}]\nconnector = "mirakl"\nbase_url = "{emulator_url}"\n'
                     f'api_key = "{API_KEY}"\noperator = "fnac_darty"')
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def open_runtime(config_path: Path) -> Any:
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime as open_

    registry = load_registry()
    config = load_config(config_path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_(config)  # migrates and creates the channels before any worker starts


class Workers:
    """``sync --watch`` worker processes, by slot; each (re)start logs to a file of its own."""

    def __init__(self, config: Path, folder: Path) -> None:
        self.config = config
        self.folder = folder
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.logs: list[Path] = []
        self.kills = 0

    def start(self, slot: int) -> None:
        log = self.folder / f"worker-{slot}-{len(self.logs)}.log"
        self.logs.append(log)
        self.procs[slot] = subprocess.Popen(
            [*CLI, "--config", str(self.config), "sync", "--watch", "--interval", "1", "--grace", "5",
             "--log-file", str(log)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(self.folder / "workers-stderr.txt").open("ab"))

    def start_all(self, count: int) -> None:
        for slot in range(count):
            self.start(slot)

    def kill(self, slot: int) -> None:
        proc = self.procs[slot]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            self.kills += 1
        proc.wait()

    def stop_all(self) -> list[int]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs.values():
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes

    def exited(self) -> list[tuple[int, int]]:
        """Workers that stopped on their own (not killed by us): (slot, exit code)."""
        return [(slot, p.returncode) for slot, p in self.procs.items() if p.poll() is not None]

    def log_problems(self) -> dict[str, int]:
        """Error events in the workers' JSON logs, by event name."""
        problems: dict[str, int] = {}
        for path in self.logs:
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line.startswith("{"):
                    continue
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if doc.get("level") in ("error", "critical"):
                    problems[doc.get("event", "?")] = problems.get(doc.get("event", "?"), 0) + 1
        return problems


# ------------------------------------------------------------------------------------------ merchant


def queue_merchant_work(runtime: Any, rng: random.Random, limit: int, channel: str = "fnac") -> int:
    """Accept what waits for acceptance, ship what waits for shipment: as a merchant would, once each."""
    from lengow_tui.services.actions import queue_action
    from lengow_tui.store.models import Action, Order

    if limit <= 0:
        return 0
    declaration = runtime.declaration(channel, "fnac_darty")
    carriers = [c.code for c in declaration.action("ship").argument("carrier").valid_values if c.code != "OTHER"]
    channel_id = runtime.channel_id(channel)
    with runtime.store.read() as session:
        waiting = list(session.exec(
            select(Order.id, Order.status).where(Order.channel_id == channel_id)
            .where(col(Order.status).in_(("waiting_acceptance", "waiting_shipment")))
            .where(Order.pending_actions == 0).order_by(Order.id).limit(limit * 4)
        ))
        done_kinds = {(a, k) for a, k in session.exec(select(Action.order_id, Action.kind))}
    rng.shuffle(waiting)
    queued = 0
    for order_id, status in waiting:
        if queued >= limit:
            break
        kind = "accept" if status == "waiting_acceptance" else "ship"
        if (order_id, kind) in done_kinds:
            continue
        args = {} if kind == "accept" else {"carrier": rng.choice(carriers), "tracking_number": f"TRK{order_id:09d}"}
        if queue_action(runtime, order_id, kind, args, source="cli").ok:
            queued += 1
    return queued


def counts(runtime: Any) -> tuple[int, int, int]:
    """(orders stored, actions queued, actions not final)."""
    from lengow_tui.store.models import Action, Order

    with runtime.store.read() as session:
        stored = session.exec(select(func.count()).select_from(Order)).one()
        queued = session.exec(select(func.count()).select_from(Action)).one()
        unfinished = session.exec(
            select(func.count()).select_from(Action).where(col(Action.state).not_in(FINAL))).one()
    return int(stored), int(queued), int(unfinished)


def check(runtime: Any, emulator_url: str) -> dict[str, int]:
    from lengow_tui.store.models import Action, ActionAttempt, Order

    report = httpx.get(f"{emulator_url}/_emulator/actions", timeout=60).json()
    total = httpx.get(f"{emulator_url}/_emulator/state", timeout=30).json()["orders"]
    applied = {(c["order_id"], c["operation"]) for c in report["applied_counts"]}
    first_applied: dict[tuple[str, str], int] = {}
    for call in report["calls"]:
        if call["applied"] and call["order_id"]:
            first_applied.setdefault((call["order_id"], call["operation"]), call["seq"])
    with runtime.store.read() as session:
        duplicates = session.execute(text(
            "SELECT count(*) FROM (SELECT 1 FROM orders GROUP BY channel_id, marketplace, marketplace_order_id "
            "HAVING count(*) > 1) AS d")).scalar_one()
        stored = session.exec(select(func.count(func.distinct(Order.marketplace_order_id)))).one()
        actions = list(session.exec(select(Action, Order.marketplace_order_id)
                                    .join(Order, col(Order.id) == Action.order_id)))
        attempts = list(session.exec(select(ActionAttempt.action_id, ActionAttempt.started_at,
                                            ActionAttempt.finished_at)))
    not_done = [a for a, _ in actions if a.state != "done"]
    unconfirmed = [a for a, ref in actions if a.state == "done" and (ref, a.kind) not in applied]
    refs = {ref for _, ref in actions}
    out_of_order = sum(1 for ref in refs if (ref, "ship") in first_applied and (ref, "accept") in first_applied
                       and first_applied[(ref, "ship")] < first_applied[(ref, "accept")])
    # Two actions of one order in flight at once: attempt intervals of different actions that overlap.
    order_of = {a.id: a.order_id for a, _ in actions}
    spans: dict[int, list[tuple[Any, Any, int]]] = {}
    for action_id, started, finished in attempts:
        spans.setdefault(order_of.get(action_id, -1), []).append((started, finished or started, action_id))
    overlapping = 0
    for items in spans.values():
        items.sort()
        if any(b[2] != a[2] and b[0] < a[1] for a, b in zip(items, items[1:])):
            overlapping += 1
    return {
        "orders at the marketplace": total,
        "orders stored": int(stored),
        "actions queued": len(actions),
        "actions done": sum(1 for a, _ in actions if a.state == "done"),
        "action calls received by the marketplace": len(report["calls"]),
        "duplicate orders": int(duplicates),
        "lost orders": max(0, total - int(stored)),
        "lost actions": len(not_done) + len(unconfirmed),
        "actions applied twice": len(report["duplicates"]),
        "ships before their accept": out_of_order,
        "orders with two actions in flight": overlapping,
    }


# --------------------------------------------------------------------------------------------- chaos


@dataclass
class ChaosResult:
    figures: dict[str, Any]
    problems: dict[str, int] = field(default_factory=dict)
    workers_snapshot: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [k for k in CHECKED if self.figures.get(k)]


def chaos(*, workers: int, orders: int, actions: int, kills: int, seed: int, timeout: float = 900.0,
          late_fraction: float = 0.1, upfront_new: int = 0, kill_every: tuple[float, float] = (1.5, 4.0),
          log: Callable[[str], None] = say) -> ChaosResult:
    """``late_fraction`` of the orders arrive during the run (the Mirakl declarations ask for 60 s
    between imports, so the last of them are imported up to a minute later); ``upfront_new`` of them
    are new orders (waiting for acceptance) already there when the workers start."""
    rng = random.Random(seed)
    late = int(orders * late_fraction)  # orders that arrive during the run
    started = time.perf_counter()
    with pg_schema() as db_url, emulator(orders - late - upfront_new, seed) as emu, \
            tempfile.TemporaryDirectory(prefix="lengow-scale-") as tmp:
        if upfront_new:
            httpx.post(f"{emu}/_emulator/orders", json={"new": upfront_new}, timeout=30)
        folder = Path(tmp)
        config = write_config(folder, db_url, emu)
        runtime = open_runtime(config)
        pool = Workers(config, folder)
        snapshot: list[str] = []
        try:
            pool.start_all(workers)
            arrived = queued = 0
            next_kill = time.monotonic() + rng.uniform(*kill_every)
            deadline = time.monotonic() + timeout
            last_report = 0.0
            while time.monotonic() < deadline:
                if arrived < late:
                    batch = min(late - arrived, max(1, late // 20))
                    httpx.post(f"{emu}/_emulator/orders", json={"new": batch}, timeout=30)
                    arrived += batch
                queued += queue_merchant_work(runtime, rng, min(200, actions - queued))
                now = time.monotonic()
                if pool.kills < kills and now >= next_kill:
                    slot = rng.randrange(workers)
                    pool.kill(slot)
                    time.sleep(rng.uniform(0.0, 1.0))
                    pool.start(slot)
                    next_kill = time.monotonic() + rng.uniform(*kill_every)
                if not snapshot and queued >= actions // 2:
                    snapshot = workers_table(runtime)
                stored, in_db, unfinished = counts(runtime)
                total = orders - late + arrived
                if now - last_report > 10:
                    last_report = now
                    log(f"  {time.perf_counter() - started:5.0f} s: {stored}/{total} orders, {queued}/{actions} "
                        f"actions queued, {unfinished} unfinished, {pool.kills} kills")
                if arrived >= late and stored >= total and pool.kills >= kills and unfinished == 0:
                    more = queue_merchant_work(runtime, rng, actions - queued)
                    queued += more
                    if not more:  # everything queued (or no order left to act on) and all of it final
                        break
                time.sleep(0.5)
            pool.stop_all()
            figures = check(runtime, emu)
        finally:
            for slot in list(pool.procs):
                if pool.procs[slot].poll() is None:
                    pool.kill(slot)
            runtime.close()
        figures = {"workers": workers, "SIGKILLs": pool.kills, **figures,
                   "seconds": round(time.perf_counter() - started)}
        if figures["actions queued"] < actions:
            figures["note"] = f"only {figures['actions queued']} actions could be queued (orders ran out)"
        return ChaosResult(figures, pool.log_problems(), snapshot)


def workers_table(runtime: Any) -> list[str]:
    from lengow_tui.sync.leases import describe_workers

    rows = []
    for w in describe_workers(runtime):
        holds = ", ".join(filter(None, [f"importing {', '.join(w.import_leases)}" if w.import_leases else "",
                                        f"{w.actions} actions claimed" if w.actions else ""])) or "nothing"
        rows.append(f"{w.name:<28} {w.kind:<6} pid {w.pid:<7} heartbeat {w.heartbeat_age:4.1f} s ago  "
                    f"{'alive' if w.alive else 'stale':<5}  {holds}")
    return rows


# ---------------------------------------------------------------------------------------- throughput


def throughput(workers: int, *, orders: int, actions: int, channels: int, seed: int,
               timeout: float = 600.0) -> dict[str, Any]:
    """Import ``orders`` (``channels`` channels reading one emulator of ``orders / channels`` orders), then
    deliver ``actions`` accepts, with ``workers`` workers."""
    per_channel = max(1, orders // channels)
    with pg_schema("bench_tp") as db_url, emulator(max(0, per_channel - actions), seed) as emu, \
            tempfile.TemporaryDirectory(prefix="lengow-tp-") as tmp:
        # ``actions`` orders waiting for acceptance, part of the import.
        httpx.post(f"{emu}/_emulator/orders", json={"new": min(actions, per_channel)}, timeout=30)
        total = httpx.get(f"{emu}/_emulator/state", timeout=30).json()["orders"] * channels
        folder = Path(tmp)
        config = write_config(folder, db_url, emu, channels)
        runtime = open_runtime(config)
        pool = Workers(config, folder)
        try:
            pool.start_all(workers)
            deadline = time.monotonic() + timeout
            first = None
            while time.monotonic() < deadline:
                stored = counts(runtime)[0]
                if stored and first is None:
                    first = (time.perf_counter(), stored)
                if stored >= total:
                    break
                time.sleep(0.1)
            done_import = time.perf_counter()
            assert first is not None
            import_rate = (total - first[1]) / max(1e-6, done_import - first[0])
            t0 = time.perf_counter()
            rng = random.Random(seed)
            queued = 0
            while queued < actions and time.monotonic() < deadline:
                got = queue_merchant_work(runtime, rng, actions - queued)
                if not got:
                    break
                queued += got
            t_queued = time.perf_counter()
            while time.monotonic() < deadline and counts(runtime)[2] > 0:
                time.sleep(0.1)
            t1 = time.perf_counter()
            pool.stop_all()
        finally:
            for slot in list(pool.procs):
                if pool.procs[slot].poll() is None:
                    pool.kill(slot)
            runtime.close()
    return {"workers": workers, "orders": total, "orders/s": round(import_rate),
            "actions": queued, "actions/s": round(queued / max(1e-6, t1 - t0), 1),
            "queueing took s": round(t_queued - t0, 1)}


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--actions", type=int, default=5_000)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--throughput-orders", type=int, default=10_000)
    parser.add_argument("--throughput-actions", type=int, default=1_000)
    parser.add_argument("--throughput-channels", type=int, default=4)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cores = os.cpu_count() or 0

    say(f"chaos run: {args.workers} workers, {args.orders} orders, {args.actions} actions, {args.kills} SIGKILLs")
    result = chaos(workers=args.workers, orders=args.orders, actions=args.actions, kills=args.kills, seed=args.seed)
    print(json.dumps(result.figures, indent=2))
    if result.workers_snapshot:
        print("lengow-tui workers, during the run:")
        for line in result.workers_snapshot:
            print("  " + line)
    print("error events in the workers' logs: " + (json.dumps(result.problems) if result.problems else "none"))

    if not args.skip_throughput:
        print(f"throughput (machine: {cores} cores; the emulator, PostgreSQL, the workers and this script share "
              f"them; {args.throughput_channels} channels read one emulator; one channel is imported by one "
              "worker at a time):")
        print(f"  {'workers':>7}  {'orders':>7}  {'orders/s':>8}  {'actions':>7}  {'actions/s':>9}")
        for n in (1, 2, 4):
            say(f"throughput run with {n} worker(s)")
            row = throughput(n, orders=args.throughput_orders, actions=args.throughput_actions,
                             channels=args.throughput_channels, seed=args.seed)
            print(f"  {row['workers']:>7}  {row['orders']:>7}  {row['orders/s']:>8}  {row['actions']:>7}  "
                  f"{row['actions/s']:>9}   (machine: {cores} cores)", flush=True)
    print(f"total: {time.perf_counter() - started:.0f} s")
    if result.failed:
        print("FAILED: " + ", ".join(f"{k} = {result.figures[k]}" for k in result.failed), file=sys.stderr)
        return 1
    if result.figures["actions queued"] < args.actions:
        print(f"FAILED: only {result.figures['actions queued']} of {args.actions} actions could be queued",
              file=sys.stderr)
        return 1
    print("OK: 0 duplicate orders, 0 lost orders, 0 lost actions, 0 actions applied twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
