"""Crash test: SIGKILL the sync process at random moments during import and delivery, then let it finish.

    python bench/crash_sync.py [--kills 50] [--orders 1500] [--seed 1] [--modes once,watch]

A Mirakl emulator runs as its own process (it survives every kill) and records every action call it
receives. Meanwhile this script plays the merchant: between kills it queues accepts for orders waiting
for acceptance and shipments for orders waiting for shipment, and new orders keep arriving. Each round
starts ``lengow-tui sync --once`` (or ``sync --watch``) and SIGKILLs it after a random delay. Then sync
runs without interruption until every order is imported and every action is final.

Prints, and exits 1 unless all are 0: duplicate orders, lost orders, lost actions (not confirmed by the
marketplace), actions applied twice by the marketplace.
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
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, text
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "lengow_tui.cli"]
FINAL = ("done", "rejected", "dead", "cancelled")


def start_emulator(orders: int, seed: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lengow_tui_mirakl.emulator", "--orders", str(orders), "--seed", str(seed),
         "--api-key", "crash-test-key"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        sys.exit(f"the emulator did not start (printed {url!r})")
    return process, url


def write_config(folder: Path, url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{folder / "orders.db"}"\n[paths]\ndata_dir = "{folder / "data"}"\n'
        f'log_dir = "{folder / "logs"}"\n[sync]\ninterval_seconds = 1\n'
        f'[channels.fnac]\nconnector = "mirakl"\nbase_url = "{url}"\napi_key = "crash-test-key"\n'
        f'operator = "fnac_darty"\n'
    )
    return path


def open_runtime(config_path: Path) -> Any:
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime as open_

    registry = load_registry()
    config = load_config(config_path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_(config)


def queue_merchant_work(runtime: Any, rng: random.Random, limit: int) -> int:
    """Accept what waits for acceptance, ship what waits for shipment: as a merchant would, once each."""
    from lengow_tui.services.actions import queue_action
    from lengow_tui.store.models import Action, Order

    declaration = runtime.declaration("fnac", "fnac_darty")
    ship = declaration.action("ship")
    carriers = [c.code for c in ship.argument("carrier").valid_values if c.code != "OTHER"]
    queued = 0
    with runtime.store.read() as session:
        waiting = list(session.exec(
            select(Order.id, Order.status).where(col(Order.status).in_(("waiting_acceptance", "waiting_shipment")))
            .where(Order.pending_actions == 0).limit(limit * 4)
        ))
        done_kinds = {(a, k) for a, k in session.exec(select(Action.order_id, Action.kind))}
    rng.shuffle(waiting)
    for order_id, status in waiting[:limit]:
        kind = "accept" if status == "waiting_acceptance" else "ship"
        if (order_id, kind) in done_kinds:
            continue
        args = {} if kind == "accept" else {"carrier": rng.choice(carriers), "tracking_number": f"TRK{order_id:09d}"}
        if queue_action(runtime, order_id, kind, args, source="cli").ok:
            queued += 1
    return queued


def run_and_kill(config_path: Path, mode: str, delay: float, log: Path) -> int:
    args = ["sync", "--once"] if mode == "once" else ["sync", "--watch", "--interval", "1", "--log-file", str(log)]
    process = subprocess.Popen([*CLI, "--config", str(config_path), *args], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=delay)
        return 0  # finished before its kill
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return 1


def finish(config_path: Path, runtime: Any, emulator_url: str, passes: int = 60) -> None:
    """Sync without interruption until the store holds every order and no action is unfinished."""
    from lengow_tui.store.models import Action, Order

    for _ in range(passes):
        subprocess.run([*CLI, "--config", str(config_path), "sync", "--once"], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        total = httpx.get(f"{emulator_url}/_emulator/state").json()["orders"]
        with runtime.store.read() as session:
            stored = session.exec(select(func.count()).select_from(Order)).one()
            unfinished = session.exec(
                select(func.count()).select_from(Action).where(col(Action.state).not_in(FINAL))
            ).one()
        if stored >= total and unfinished == 0:
            return
        time.sleep(0.5)


def check(runtime: Any, emulator_url: str) -> dict[str, int]:
    from lengow_tui.store.models import Action, Order

    report = httpx.get(f"{emulator_url}/_emulator/actions").json()
    total = httpx.get(f"{emulator_url}/_emulator/state").json()["orders"]
    applied = {(c["order_id"], c["operation"]) for c in report["applied_counts"]}
    operations = {"accept": ("accept",), "ship": ("ship",)}
    with runtime.store.read() as session:
        duplicates = session.execute(text(
            "SELECT count(*) FROM (SELECT marketplace_order_id FROM orders GROUP BY channel_id, marketplace, "
            "marketplace_order_id HAVING count(*) > 1)")).scalar_one()
        stored = session.exec(select(func.count(func.distinct(Order.marketplace_order_id)))).one()
        actions = list(session.exec(select(Action, Order.marketplace_order_id).join(Order, Order.id == Action.order_id)))
    not_done = [a for a, _ in actions if a.state != "done"]
    unconfirmed = [a for a, ref in actions if a.state == "done"
                   and not any((ref, op) in applied for op in operations.get(a.kind, ()))]
    return {
        "orders at the marketplace": total,
        "orders stored": stored,
        "actions queued": len(actions),
        "actions done": sum(1 for a, _ in actions if a.state == "done"),
        "action calls received by the marketplace": len(report["calls"]),
        "duplicate orders": duplicates,
        "lost orders": max(0, total - stored),
        "lost actions": len(not_done) + len(unconfirmed),
        "actions applied twice": len(report["duplicates"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modes", default="once,watch", help="comma-separated: once, watch")
    parser.add_argument("--max-delay", type=float, default=3.0, help="longest run before the kill (s)")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    rng = random.Random(args.seed)
    started = time.perf_counter()
    emulator, url = start_emulator(args.orders, args.seed)
    try:
        with tempfile.TemporaryDirectory(prefix="lengow-crash-") as tmp:
            folder = Path(tmp)
            config_path = write_config(folder, url)
            runtime = open_runtime(config_path)
            kills = rounds = 0
            while kills < args.kills:
                rounds += 1
                queue_merchant_work(runtime, rng, limit=60)
                if rounds % 3 == 0:
                    httpx.post(f"{url}/_emulator/orders", json={"new": 40, "advance": 20})
                mode = modes[rounds % len(modes)]
                kills += run_and_kill(config_path, mode, rng.uniform(0.3, args.max_delay), folder / "daemon.log")
            # The merchant's last round of work, then sync runs to the end.
            for _ in range(3):
                finish(config_path, runtime, url)
                queue_merchant_work(runtime, rng, limit=60)
            finish(config_path, runtime, url)
            figures = check(runtime, url)
            runtime.close()
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    figures = {"SIGKILLs": kills, "rounds": rounds, **figures, "seconds": round(time.perf_counter() - started)}
    print(json.dumps(figures, indent=2))
    failed = [k for k in ("duplicate orders", "lost orders", "lost actions", "actions applied twice") if figures[k]]
    if failed:
        print("FAILED: " + ", ".join(f"{k} = {figures[k]}" for k in failed), file=sys.stderr)
        return 1
    print("OK: 0 duplicate orders, 0 lost orders, 0 lost actions, 0 actions applied twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
