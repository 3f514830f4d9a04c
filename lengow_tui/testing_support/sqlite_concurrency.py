"""Concurrency on one SQLite file: TUI-like readers, a user-like writer and a ``sync --watch`` daemon.

The harness (:func:`run`) starts, all as separate processes:

* a Mirakl emulator with many orders; the harness keeps creating orders and moving others on;
* ``lengow-tui sync --watch --interval 1`` on a SQLite file (JSON log to a file);
* ``readers`` reader processes doing what the TUI does, in tight loops: the order list (count + a page
  through ``OrderQuery``), sidebar counts, searches, ``data_version`` every 1.5 s, an order's detail;
* one writer process doing what a merchant does: accepts and shipments (``queue_action``), bulk accepts
  (``services.bulk``), an export, a stock import, a retention purge dry run;
* one CLI process running ``lengow-tui actions list`` / ``export`` / ``stock import`` /
  ``purge --dry-run`` as a user would in another terminal.

Every exception in a worker is counted; a "database is locked" / "busy" error anywhere — raised, in a
queue refusal, in a CLI's output, in the daemon's log — is a failure. Workers are this module run as
``python -m lengow_tui.testing_support.sqlite_concurrency worker ...`` and report JSON on exit.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCKED_WORDS = ("database is locked", "database table is locked", "sqlite_busy", "database is busy")
API_KEY = "concurrency-key"
DATA_VERSION_EVERY = 1.5  # seconds, as the TUI's live refresh
SEARCH_TERMS = ("martin", "dupont", "lyon", "paris", "nguyen", "leroy", "bordeaux", "hélène", "2100000", "mug")


def is_locked(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in LOCKED_WORDS)


# --- worker side -------------------------------------------------------------------------------------

@dataclass
class Tally:
    """What one worker did: operations by name, latencies by kind (read/write), errors."""

    role: str
    ops: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # by operation
    kinds: dict[str, str] = field(default_factory=dict)  # operation -> "read" / "write" / "startup"
    errors: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # normal refusals (e.g. already queued)

    def timed(self, name: str, kind: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            result = call()
        except Exception as exc:  # counted, never fatal: the loop goes on
            text = f"{name}: {type(exc).__name__}: {exc}"
            (self.locked if is_locked(text) else self.errors).append(text[:500])
            if not is_locked(text):
                self.errors[-1] += "\n" + "".join(traceback.format_exc(limit=6))[-1500:]
            return None
        self.latencies.setdefault(name, []).append(time.perf_counter() - started)
        self.kinds[name] = kind
        self.ops[name] += 1
        return result

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "ops": dict(self.ops), "latencies": self.latencies, "kinds": self.kinds, "errors": self.errors,
                "locked": self.locked, "refused": dict(self.refused)}


def _open_runtime(config_path: Path) -> Any:
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime

    registry = load_registry()
    config = load_config(config_path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config, migrate=False)


def _reader(runtime: Any, tally: Tally, rng: random.Random, until: float) -> None:
    from lengow_tui.domain import Status
    from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, count_by_status, order_detail
    from lengow_tui.tui.live import data_version
    from lengow_tui.tui.order_table_query import OrderQuery

    store = runtime.store
    statuses = [Status.WAITING_ACCEPTANCE, Status.WAITING_SHIPMENT, Status.SHIPPED, Status.ACCEPTED, Status.CLOSED]
    next_version = 0.0
    seen_ids: list[int] = []
    while time.time() < until:
        if time.monotonic() >= next_version:
            tally.timed("data_version", "read", lambda: data_version(store))
            next_version = time.monotonic() + DATA_VERSION_EVERY
        choice = rng.random()
        if choice < 0.35:  # the order list: a filter from the sidebar, a sort, a page
            flt = OrderFilter(statuses=(rng.choice(statuses),)) if rng.random() < 0.6 else OrderFilter()
            sort = OrderSort(rng.choice(list(SortKey)), rng.random() < 0.7)

            def page(flt: OrderFilter = flt, sort: OrderSort = sort) -> list[Any]:
                query = OrderQuery(store, flt, sort)
                total = query.count()
                start = rng.randrange(0, max(1, total)) if rng.random() < 0.3 else 0
                return query.slice(start, 40, total) if total else []

            rows = tally.timed("order_list", "read", page) or []
            seen_ids = [r.id for r in rows][:40] or seen_ids
        elif choice < 0.55:  # "/" search
            flt = OrderFilter(search=rng.choice(SEARCH_TERMS))

            def search(flt: OrderFilter = flt) -> list[Any]:
                query = OrderQuery(store, flt, OrderSort())
                total = query.count()
                return query.slice(0, 40, total) if total else []

            rows = tally.timed("search", "read", search) or []
            seen_ids = [r.id for r in rows][:40] or seen_ids
        elif choice < 0.75:  # the sidebar's live counts
            def counts() -> dict[str | None, int]:
                with store.read() as session:
                    return count_by_status(session)

            tally.timed("sidebar_counts", "read", counts)
        elif seen_ids:  # open an order
            order_id = rng.choice(seen_ids)

            def detail(order_id: int = order_id) -> Any:
                with store.read() as session:
                    found = order_detail(session, order_id)
                    if found is not None:  # what the detail screen renders touches every part
                        _ = (len(found.lines), len(found.events), len(found.actions), len(found.parties))
                    return found

            tally.timed("order_detail", "read", detail)


def _writer(runtime: Any, tally: Tally, rng: random.Random, until: float, folder: Path) -> None:
    from sqlmodel import col, select

    from lengow_tui.services.actions import queue_action
    from lengow_tui.services.bulk import plan_bulk, run_bulk
    from lengow_tui.services.export import export_orders
    from lengow_tui.services.orders import OrderFilter
    from lengow_tui.services.stock import import_stock, parse_stock_csv
    from lengow_tui.store.models import Order
    from lengow_tui.sync.retention import purge

    store = runtime.store
    declaration = runtime.declaration("fnac", "fnac_darty")
    carriers = [c.code for c in declaration.action("ship").argument("carrier").valid_values if c.code != "OTHER"]
    stock_file = folder / "stock.csv"

    def candidates(status: str, limit: int) -> list[int]:
        with store.read() as session:
            return list(session.exec(select(Order.id).where(Order.status == status, Order.pending_actions == 0)
                                     .order_by(col(Order.id).desc()).limit(limit)))

    def queue_one(order_id: int, kind: str) -> None:
        args = {} if kind == "accept" else {"carrier": rng.choice(carriers), "tracking_number": f"6A{order_id:011d}"}
        result = queue_action(runtime, order_id, kind, args, source="tui")
        for problem in result.problems:
            text = str(problem)
            if is_locked(text):
                tally.locked.append(f"queue {kind}: {text}"[:500])
            else:
                tally.refused[kind] += 1

    while time.time() < until:
        choice = rng.random()
        if choice < 0.35:
            ids = tally.timed("pick_orders", "read", lambda: candidates("waiting_acceptance", 30)) or []
            if ids:
                tally.timed("queue_accept", "write", lambda: queue_one(rng.choice(ids), "accept"))
        elif choice < 0.65:
            ids = tally.timed("pick_orders", "read", lambda: candidates("waiting_shipment", 30)) or []
            if ids:
                tally.timed("queue_ship", "write", lambda: queue_one(rng.choice(ids), "ship"))
        elif choice < 0.75:
            ids = tally.timed("pick_orders", "read", lambda: candidates("waiting_acceptance", 15)) or []

            def bulk(ids: list[int] = ids) -> None:
                outcome = run_bulk(runtime, plan_bulk(runtime, ids, "accept"), source="tui")
                for order_id, message in outcome.failed:  # a user-visible failure in the summary
                    (tally.locked if is_locked(message) else tally.errors).append(f"bulk #{order_id}: {message}")
                tally.refused["bulk"] += len(outcome.refused)

            if ids:
                tally.timed("bulk_accept", "write", bulk)
        elif choice < 0.85:
            def export() -> int:
                with store.read() as session:
                    return export_orders(session, OrderFilter(statuses=()), io.StringIO(), "csv")

            if rng.random() < 0.2:  # a full export is long: now and then
                tally.timed("export_all", "export", export)
            else:
                def export_some() -> int:
                    from lengow_tui.domain import Status

                    with store.read() as session:
                        flt = OrderFilter(statuses=(Status.WAITING_SHIPMENT,))
                        return export_orders(session, flt, io.StringIO(), "csv")

                tally.timed("export_to_ship", "export", export_some)
        elif choice < 0.93:
            stock_file.write_text("sku,quantity\n" + "".join(
                f"SKU-{n:05d},{rng.randrange(0, 50)}\n" for n in rng.sample(range(5000), 200)))
            tally.timed("stock_import", "write", lambda: import_stock(runtime, parse_stock_csv(stock_file)))
        else:
            def dry_run() -> Any:
                report = purge(runtime, dry_run=True, worker=f"concurrency:{os.getpid()}")
                if report.error:
                    (tally.locked if is_locked(report.error) else tally.errors).append(f"purge: {report.error}")
                return report

            tally.timed("purge_dry_run", "write", dry_run)


def _cli_user(config_path: Path, tally: Tally, rng: random.Random, until: float, folder: Path) -> None:
    """Another terminal: the real ``lengow-tui`` commands, one process each."""
    base = [sys.executable, "-m", "lengow_tui.cli", "--config", str(config_path)]
    stock_file = folder / "stock-cli.csv"
    commands: list[tuple[str, list[str]]] = [
        ("actions_list", ["actions", "list", "--limit", "50"]),
        ("actions_list_json", ["actions", "list", "--json", "--state", "retrying"]),
        ("export", ["export", "-s", "waiting_shipment", "-o", str(folder / "export.csv")]),
        ("stock_import", ["stock", "import", str(stock_file)]),
        ("purge_dry_run", ["purge", "--dry-run"]),
    ]
    env = dict(os.environ, COLUMNS="200")
    while time.time() < until:
        name, args = rng.choice(commands)
        if name == "stock_import":
            stock_file.write_text("sku;quantity\n" + "".join(f"SKU-{n:05d};{rng.randrange(0, 9)}\n"
                                                             for n in rng.sample(range(5000), 50)))

        def run_cli(args: list[str] = args, name: str = name) -> None:
            done = subprocess.run([*base, *args], capture_output=True, text=True, env=env, timeout=120)
            output = done.stdout + done.stderr
            if is_locked(output):
                raise RuntimeError(f"'{' '.join(args)}' printed: {output[-400:]}")
            if done.returncode != 0:
                raise RuntimeError(f"'{' '.join(args)}' exited {done.returncode}: {output[-400:]}")

        tally.timed(name, "cli", run_cli)  # wall time of a whole command, Python start-up included


def worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=("reader", "writer", "cli"), required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--until", type=float, required=True, help="wall-clock time.time() to stop at")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tally = Tally(args.role)
    rng = random.Random(args.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    try:
        if args.role == "cli":
            _cli_user(args.config, tally, rng, args.until, args.out.parent)
        else:
            runtime = tally.timed("open_runtime", "startup", lambda: _open_runtime(args.config))
            if runtime is None:
                raise RuntimeError("cannot open the runtime: " + "; ".join(tally.errors + tally.locked))
            try:
                if args.role == "reader":
                    _reader(runtime, tally, rng, args.until)
                else:
                    _writer(runtime, tally, rng, args.until, args.out.parent)
            finally:
                runtime.close()
    finally:
        tmp = args.out.with_suffix(".part")
        tmp.write_text(json.dumps(tally.to_json()))
        tmp.replace(args.out)
    return 0


# --- harness side ------------------------------------------------------------------------------------

@dataclass
class Report:
    seconds: float = 0.0
    ops: dict[str, int] = field(default_factory=dict)  # per process kind
    ops_detail: dict[str, int] = field(default_factory=dict)  # per operation
    slowest: dict[str, float] = field(default_factory=dict)  # per operation: max ms
    read_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)  # p50, p99, max
    write_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)
    export_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cli_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orders_at_marketplace: int = 0
    orders_imported: int = 0
    actions_queued: int = 0
    actions_delivered: int = 0
    locked_errors: list[str] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)
    daemon_errors: list[str] = field(default_factory=list)  # error-level daemon log lines (any cause)
    refused: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.locked_errors and not self.other_errors and not self.daemon_errors and self.orders_imported > 0

    def lines(self) -> list[str]:
        def ms(values: tuple[float, float, float]) -> str:
            return f"p50 {values[0]:.1f} ms, p99 {values[1]:.1f} ms, max {values[2]:.1f} ms"

        out = [
            f"duration: {self.seconds:.0f} s",
            "operations per process kind: " + ", ".join(f"{k} {v}" for k, v in sorted(self.ops.items())),
            "operations: " + ", ".join(f"{k} {v}" for k, v in sorted(self.ops_detail.items())),
            "slowest (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(self.slowest.items())),
            f"read latency: {ms(self.read_ms)}",
            f"write latency: {ms(self.write_ms)}",
            f"export (in-process) time: {ms(self.export_ms)}",
            f"CLI command wall time (process start-up included): {ms(self.cli_ms)}",
            f"orders imported: {self.orders_imported} (marketplace has {self.orders_at_marketplace})",
            f"actions delivered: {self.actions_delivered} of {self.actions_queued} queued",
            "refusals (normal, e.g. already queued): " + (", ".join(f"{k} {v}" for k, v in sorted(self.refused.items()))
                                                          or "none"),
            f"locked errors: {len(self.locked_errors)}",
            f"other errors: {len(self.other_errors)}",
            f"daemon error log lines: {len(self.daemon_errors)}",
        ]
        for title, items in (("locked", self.locked_errors), ("other", self.other_errors),
                             ("daemon", self.daemon_errors)):
            out.extend(f"  {title}: {item.splitlines()[0][:300]}" for item in items[:10])
        return out


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (0.0, 0.0, 0.0)
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (at(0.50), at(0.99), ordered[-1] * 1000)


def _start_emulator(orders: int, seed: int, debit_delay: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lengow_tui_mirakl.emulator", "--orders", str(orders), "--seed", str(seed),
         "--api-key", API_KEY, "--debit-delay", str(debit_delay)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise RuntimeError(f"the Mirakl emulator did not start (printed {url!r})")
    return process, url


def _write_config(folder: Path, url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{folder / "orders.db"}"\n[paths]\ndata_dir = "{folder / "data"}"\n'
        f'log_dir = "{folder / "logs"}"\n[sync]\ninterval_seconds = 1\n'
        f'[channels.fnac]\nconnector = "mirakl"\nbase_url = "{url}"\napi_key = "{API_KEY}"\n'
        f'operator = "fnac_darty"\n'
    )
    path.chmod(0o600)  # it holds the channel's API key
    return path


def _daemon_problems(log: Path) -> tuple[list[str], list[str]]:
    """(error-level lines, lines of any level mentioning locked/busy) of the daemon's JSON log."""
    errors, locked = [], []
    if not log.exists():
        return ["the daemon wrote no log"], []
    for line in log.read_text(errors="replace").splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            errors.append(f"not JSON: {line[:200]}")
            continue
        if is_locked(line):
            locked.append(line[:500])
        elif doc.get("level") in ("error", "critical"):
            errors.append(line[:500])
    return errors, locked


def run(*, seconds: float, orders: int = 20000, readers: int = 3, seed: int = 1, new_every: float = 2.0,
        folder: Path | None = None, progress: Callable[[str], None] | None = None) -> Report:
    """Run the whole set-up for ``seconds`` and return the figures (see the module docstring)."""
    import httpx
    from sqlalchemy import func
    from sqlmodel import col, select

    say = progress or (lambda _text: None)
    with tempfile.TemporaryDirectory(prefix="lengow-concurrency-") as tmp:
        work = folder or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        emulator, url = _start_emulator(orders, seed, debit_delay=3.0)
        processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        daemon: subprocess.Popen[bytes] | None = None
        report = Report()
        try:
            config = _write_config(work, url)
            runtime = _open_runtime_migrated(config)
            log = work / "daemon.log"
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            daemon = subprocess.Popen(
                [sys.executable, "-m", "lengow_tui.cli", "--config", str(config), "sync", "--watch", "--interval", "1",
                 "--log-format", "json", "--log-file", str(log), "--grace", "10"],
                stdout=subprocess.DEVNULL, stderr=open(work / "daemon.stderr", "wb"), env=env)  # noqa: SIM115
            started = time.time()
            until = started + seconds
            roles = ["reader"] * readers + ["writer", "cli"]
            for index, role in enumerate(roles):
                out = work / f"{role}-{index}.json"
                proc = subprocess.Popen(
                    [sys.executable, "-m", "lengow_tui.testing_support.sqlite_concurrency", "worker", "--role", role,
                     "--config", str(config), "--until", str(until), "--out", str(out), "--seed", str(seed * 100 + index)],
                    stdout=subprocess.DEVNULL, stderr=open(work / f"{role}-{index}.stderr", "wb"), env=env)  # noqa: SIM115
                processes.append((role, proc, out))
            say(f"running {seconds:.0f} s: emulator {url}, daemon pid {daemon.pid}, "
                f"{readers} readers, 1 writer, 1 CLI user, database {work / 'orders.db'}")
            tick = 0
            with httpx.Client(timeout=10) as http:
                while time.time() < until:
                    time.sleep(min(new_every, max(0.0, until - time.time())))
                    tick += 1
                    http.post(f"{url}/_emulator/orders", json={"new": 10, "advance": 20})
                    if daemon.poll() is not None:
                        report.other_errors.append(f"the daemon exited early with status {daemon.returncode}")
                        break
                    if progress and tick % max(1, int(30 / new_every)) == 0:
                        say(f"  {time.time() - started:.0f} s")
                report.orders_at_marketplace = http.get(f"{url}/_emulator/state").json()["orders"]
            for role, proc, out in processes:
                try:
                    proc.wait(timeout=max(30.0, until - time.time() + 150))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    report.other_errors.append(f"{role} worker did not stop in time")
            report.seconds = time.time() - started
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
                    report.other_errors.append("the daemon did not stop within 60 s of SIGTERM")
            if daemon.returncode not in (0, None):
                report.other_errors.append(f"the daemon exited with status {daemon.returncode}: "
                                           f"{(work / 'daemon.stderr').read_text(errors='replace')[-500:]}")
            _collect(report, processes, work)
            daemon_errors, daemon_locked = _daemon_problems(log)
            report.daemon_errors = daemon_errors
            report.locked_errors.extend(f"daemon log: {line}" for line in daemon_locked)
            from lengow_tui.store.models import Action, Order

            with runtime.store.read() as session:
                report.orders_imported = session.exec(select(func.count()).select_from(Order)).one()
                report.actions_queued = session.exec(select(func.count()).select_from(Action)).one()
                report.actions_delivered = session.exec(
                    select(func.count()).select_from(Action).where(col(Action.state).in_(("done", "rejected")))).one()
            runtime.close()
        finally:
            for _role, proc, _out in processes:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if daemon is not None and daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            emulator.terminate()
            try:
                emulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                emulator.kill()
                emulator.wait()
        return report


def _open_runtime_migrated(config_path: Path) -> Any:
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime

    registry = load_registry()
    config = load_config(config_path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config)


def _collect(report: Report, processes: list[tuple[str, subprocess.Popen[bytes], Path]], work: Path) -> None:
    timings: dict[str, list[float]] = {"read": [], "write": [], "export": [], "cli": [], "startup": []}
    per_kind: Counter[str] = Counter()
    detail: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for index, (role, proc, out) in enumerate(processes):
        if not out.exists():
            stderr = (work / f"{role}-{index}.stderr").read_text(errors="replace")[-800:]
            report.other_errors.append(f"{role} worker #{index} left no report (exit {proc.returncode}): {stderr}")
            continue
        data = json.loads(out.read_text())
        total = sum(data["ops"].values())
        per_kind[role] += total
        detail.update({f"{role}:{k}": v for k, v in data["ops"].items()})
        refused.update(data["refused"])
        for name, values in data["latencies"].items():
            timings[data["kinds"][name]].extend(values)
            key = f"{role}:{name}"
            report.slowest[key] = max(report.slowest.get(key, 0.0), max(values) * 1000)
        report.locked_errors.extend(f"{role}: {e}" for e in data["locked"])
        report.other_errors.extend(f"{role}: {e}" for e in data["errors"])
        if proc.returncode != 0:
            report.other_errors.append(f"{role} worker #{index} exited with status {proc.returncode}")
    report.ops = dict(per_kind)
    report.ops_detail = dict(detail)
    report.refused = dict(refused)
    report.read_ms = _percentiles(timings["read"])
    report.write_ms = _percentiles(timings["write"])
    report.export_ms = _percentiles(timings["export"])
    report.cli_ms = _percentiles(timings["cli"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit("usage: python -m lengow_tui.testing_support.sqlite_concurrency worker --role ... (see bench/concurrency_sqlite.py)")
