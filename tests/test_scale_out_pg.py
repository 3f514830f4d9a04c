"""Scale-out on PostgreSQL (issue 7): several sync workers, many terminals, one database.

Every test here needs the machine's PostgreSQL (``pg_url``: a schema per test; under CI they fail rather
than skip). Waits are bounded and fail with what they waited for; the only timed assertion is the issue's
own "a terminal sees a worker's change within 2 seconds".
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import col, select

from lengow_tui.store import open_store
from lengow_tui.store.migrate import MIGRATION_LOCK_KEY, current_revision, head_revision, upgrade
from lengow_tui.store.models import Action, ChannelLease, Order, OrderEvent, Worker
from lengow_tui.store.types import utcnow
from lengow_tui.sync import leases, outbox
from sandbox_runtime import make_runtime

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # upper bound of any wait; reached only when something is broken


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")


def load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("scale_out_pg", ROOT / "bench" / "scale_out_pg.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------ migrations


MIGRATE = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from lengow_tui.store import open_store
from lengow_tui.store.migrate import current_revision
store = open_store(sys.argv[1])
print(current_revision(store))
"""


def test_workers_starting_together_on_an_old_schema_migrate_it_once(pg_url: str) -> None:
    store = open_store(pg_url, migrate=False)
    upgrade(store, "0003")
    assert current_revision(store) == "0003"
    with store.engine.connect() as holder:
        # Hold the migrators' lock: the four processes must queue behind it, not migrate beside it.
        holder.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        holder.commit()
        procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, pg_url], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        try:
            def waiting() -> bool:
                rows = holder.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND objid::bigint = :lo"), {"lo": MIGRATION_LOCK_KEY & 0xFFFFFFFF}).scalar_one()
                holder.commit()
                return rows == 4

            wait_for("the four migrators to wait for the migration lock", waiting)
            assert current_revision(store) == "0003"  # nobody migrated while the lock was held
        finally:
            holder.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            holder.commit()
        outputs = [p.communicate(timeout=120) for p in procs]
    head = head_revision()
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
        assert out.strip() == head, (out, err[-2000:])
    # Each step ran exactly once, in one of the processes; the others found nothing left to do.
    logs = "".join(err for _, err in outputs)
    from alembic.script import ScriptDirectory

    from lengow_tui.store.migrate import alembic_config

    steps = [f"{r.down_revision} -> {r.revision}" for r in
             ScriptDirectory.from_config(alembic_config()).iterate_revisions(head, "0003")
             if r.revision != "0003"]
    assert "0005 -> 0006" in steps
    for step in steps:
        assert logs.count(f"Running upgrade {step}") == 1, logs[-3000:]
    with store.engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
                     .scalars())
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
                      .scalars())
    assert versions == [head]
    assert {"channel_gate", "worker", "channel_lease", "stock_reservation", "purge_run"} <= tables
    assert {"ix_action_updated", "ix_action_lease_owner"} <= indexes
    store.dispose()


# --------------------------------------------------------------------------------------- import leases


@pytest.fixture
def runtime(tmp_path: Path, pg_url: str) -> Iterator[Any]:
    rt = make_runtime(tmp_path, pg_url)
    yield rt
    rt.close()


def test_a_channel_import_lease_is_held_by_one_worker_and_taken_over_after_expiry(runtime: Any) -> None:
    channel = runtime.channel_id("shop")
    now = utcnow()
    assert leases.claim_import_lease(runtime, channel, "host-a:1", now=now).acquired
    other = leases.claim_import_lease(runtime, channel, "host-b:2", now=now + timedelta(seconds=5))
    assert not other.acquired and other.holder == "host-a:1"
    # The holder stalls past its lease; another worker takes it over, and the first can store no more.
    later = now + timedelta(seconds=leases.IMPORT_LEASE_SECONDS + 1)
    assert leases.claim_import_lease(runtime, channel, "host-b:2", now=later).acquired
    with pytest.raises(leases.LeaseLost):
        with runtime.store.write() as session:
            leases.renew_import_lease(session, channel, "host-a:1")
    leases.release_import_lease(runtime, channel, "host-a:1")  # not its lease any more: no effect
    with runtime.store.read() as session:
        assert session.get(ChannelLease, channel).owner == "host-b:2"


def test_a_dead_local_holder_s_lease_is_taken_over_at_once(runtime: Any) -> None:
    channel = runtime.channel_id("shop")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs, as after a SIGKILL
    assert leases.claim_import_lease(runtime, channel, f"{socket.gethostname()}:{gone.pid}").acquired
    assert leases.claim_import_lease(runtime, channel, "elsewhere:9").acquired


def test_the_fleet_shares_one_import_schedule(runtime: Any) -> None:
    channel = runtime.channel_id("shop")
    now = utcnow()
    assert leases.claim_import_lease(runtime, channel, "a:1", scheduled=True, now=now).acquired
    leases.release_import_lease(runtime, channel, "a:1", next_import_at=now + timedelta(seconds=60))
    claim = leases.claim_import_lease(runtime, channel, "b:2", scheduled=True, now=now + timedelta(seconds=1))
    assert not claim.acquired and claim.holder is None and claim.next_import_at is not None
    # ``sync --once`` (not scheduled) imports now; a daemon when the next import is due.
    assert leases.claim_import_lease(runtime, channel, "c:3", now=now + timedelta(seconds=1)).acquired
    leases.release_import_lease(runtime, channel, "c:3")
    assert leases.claim_import_lease(runtime, channel, "b:2", scheduled=True, now=now + timedelta(seconds=61)).acquired


# ------------------------------------------------------------------------------ claims across workers


def _two_actions_per_order(runtime: Any, orders: int) -> list[tuple[int, int, int]]:
    """(order id, first action id, second action id) for ``orders`` orders: rows written directly, the
    validation of queue_action is not what is tested here."""
    channel = runtime.channel_id("shop")
    now = utcnow()
    triples = []
    with runtime.store.write() as session:
        ids = list(session.exec(select(Order.id).where(Order.channel_id == channel).order_by(Order.id).limit(orders)))
        assert len(ids) == orders, "the sandbox import brought too few orders"
        firsts = [Action(order_id=i, channel_id=channel, kind="accept", next_attempt_at=now) for i in ids]
        session.add_all(firsts)
        session.flush()
        seconds = [Action(order_id=i, channel_id=channel, kind="ship", next_attempt_at=now) for i in ids]
        session.add_all(seconds)
        session.flush()
        triples = [(i, a.id, b.id) for i, a, b in zip(ids, firsts, seconds)]
    return triples  # type: ignore[return-value]


def test_concurrent_claims_keep_one_action_in_flight_per_order_in_order(runtime: Any) -> None:
    from lengow_tui.sync.run import sync_once

    asyncio.run(sync_once(runtime, deliver=False))
    triples = _two_actions_per_order(runtime, 30)
    channel = runtime.channel_id("shop")
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(6)

    def claim(worker: str) -> None:
        barrier.wait()
        mine: list[int] = []
        for _ in range(10):
            mine += outbox.claim_due(runtime, channel, worker, limit=5)
        claimed[worker] = mine

    threads = [threading.Thread(target=claim, args=(f"w{k}:1",)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=WAIT)
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)), "an action was claimed by two workers"
    assert sorted(every) == sorted(first for _, first, _ in triples), "only each order's first action may be claimed"
    # The second action of an order becomes claimable once the first is finished, not before.
    with runtime.store.write() as session:
        for order_id, first, _ in triples[:10]:
            action = session.get(Action, first)
            action.state, action.lease_owner, action.lease_expires_at = "done", None, None
            session.add(action)
    again = outbox.claim_due(runtime, channel, "w9:1", limit=100)
    assert sorted(again) == sorted(second for _, _, second in triples[:10])


def test_a_requeued_earlier_action_waits_for_a_later_one_in_flight(runtime: Any) -> None:
    from lengow_tui.sync.run import sync_once

    asyncio.run(sync_once(runtime, deliver=False))
    (order_id, first, second), = _two_actions_per_order(runtime, 1)
    channel = runtime.channel_id("shop")
    now = utcnow()
    with runtime.store.write() as session:
        a, b = session.get(Action, first), session.get(Action, second)
        a.state = "dead"  # gave up, then the merchant re-queues it while the second is being sent
        b.state, b.lease_owner, b.lease_expires_at = "sending", "w1:1", now + outbox.LEASE
        session.add_all([a, b])
    with runtime.store.write() as session:
        a = session.get(Action, first)
        a.state, a.next_attempt_at = "queued", now
        session.add(a)
    assert outbox.claim_due(runtime, channel, "w2:1") == []


# ------------------------------------------------------------------------------------ live signal


def test_the_listener_gets_a_bounded_notification_for_its_schema_only(runtime: Any) -> None:
    from lengow_tui.services.actions import queue_action
    from lengow_tui.sync.run import sync_once
    from lengow_tui.tui.live import ChangeListener

    asyncio.run(sync_once(runtime, deliver=False))
    got: list[dict[str, Any]] = []
    listener = ChangeListener(runtime.store, got.append)
    listener.start()
    try:
        assert listener.wait_connected(WAIT), "the listener did not connect"
        wait_for("the catch-up call after connecting", lambda: got == [{}])
        with runtime.store.engine.connect() as conn:  # another schema's change: not ours
            conn.execute(text("SELECT pg_notify('lengow_tui_changes', 'some_other_schema|{}')"))
            conn.commit()
        with runtime.store.read() as session:
            order = session.exec(select(Order).where(Order.status == "waiting_acceptance")).first()
        assert order is not None
        assert queue_action(runtime, order.id, "accept").ok
        body = wait_for("the notification of the queued action", lambda: got[1:] and got[-1])
        assert body["orders"] == [order.id] and body["channels"] == [order.channel_id]
        assert len(got) == 2, got  # the other schema's notification was ignored
    finally:
        listener.stop()


def write_mirakl_config(folder: Path, db_url: str, emulator_url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(f'[database]\nurl = {json.dumps(db_url)}\n[paths]\ndata_dir = {json.dumps(str(folder / "data"))}\n'
                    f'[sync]\ninterval_seconds = 1\n[channels.fnac]\nconnector = "mirakl"\n'
                    f'base_url = "{emulator_url}"\napi_key = "scale-key"\noperator = "fnac_darty"\n')
    return path


@pytest.fixture
def emulator() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "lengow_tui_mirakl.emulator", "--port", "0", "--orders", "300",
                             "--seed", "5", "--api-key", "scale-key"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("http"), f"the emulator did not start: {url!r}"
        httpx.post(f"{url}/_emulator/orders", json={"new": 5}, timeout=30)  # orders waiting for acceptance
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def test_a_terminal_sees_a_worker_s_order_change_within_2_seconds(tmp_path: Path, pg_url: str,
                                                                         emulator: str) -> None:
    """The TUI (LengowApp under Pilot, LISTENing on PostgreSQL) and a real ``sync --watch`` worker process:
    the worker delivers an accept and stores the order's new status; the TUI's counts show it within 2 s
    of the worker's commit."""
    from lengow_tui.runtime import open_runtime
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.services.actions import queue_action
    from lengow_tui.sync.run import sync_once
    from lengow_tui.tui.app import LengowApp

    config_path = write_mirakl_config(tmp_path, pg_url, emulator)
    registry = load_registry()
    rt = open_runtime(load_config(config_path, connectors={n: c.spec for n, c in registry.connectors.items()}))
    await sync_once(rt, deliver=False)
    env = {**os.environ, "LENGOW_TUI_CONFIG": str(config_path)}
    worker = subprocess.Popen([sys.executable, "-m", "lengow_tui.cli", "sync", "--watch", "--no-import",
                               "--interval", "1", "--log-file", str(tmp_path / "worker.log")],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    app = LengowApp(rt, live_sync=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + WAIT
            while not (app.listener and app.listener.connected) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            assert app.listener is not None and app.listener.connected, "the TUI did not LISTEN"
            with rt.store.read() as session:
                order = session.exec(select(Order).where(Order.status == "waiting_acceptance")
                                     .order_by(Order.id)).first()
            assert order is not None
            before = dict(app.orders_screen._status_counts)
            assert queue_action(rt, order.id, "accept", source="tui").ok
            seen = None
            while time.monotonic() < deadline:
                if app.orders_screen._status_counts.get("waiting_shipment", 0) > before.get("waiting_shipment", 0):
                    seen = utcnow()
                    break
                await pilot.pause(0.01)
            assert seen is not None, f"the TUI never showed the accepted order\n{worker_log(tmp_path)}"
            with rt.store.read() as session:
                changed_at = session.exec(select(OrderEvent.at).where(
                    OrderEvent.order_id == order.id, OrderEvent.kind == "status",
                    OrderEvent.to_status == "waiting_shipment")).first()
            assert changed_at is not None, "the worker did not record the status change"
            delay = (seen - changed_at).total_seconds()
            print(f"\nthe TUI showed the worker's change {delay:.3f} s after the worker stored it "
                  f"({app.listener.notifications} notifications received)")
            assert app.listener.notifications > 0
            assert delay < 2.0, f"the TUI showed the worker's change after {delay:.2f} s (bound: 2 s)"
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        rt.close()


def worker_log(folder: Path) -> str:
    path = folder / "worker.log"
    return path.read_text()[-3000:] if path.exists() else "(no worker log)"


# --------------------------------------------------------------------- several workers, registry, CLI


def test_two_workers_share_a_database_and_are_listed_with_what_they_hold(tmp_path: Path, pg_url: str,
                                                                         emulator: str) -> None:
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime
    from lengow_tui.sync.daemon_lock import daemon_lock_holder

    config_path = write_mirakl_config(tmp_path, pg_url, emulator)
    registry = load_registry()
    rt = open_runtime(load_config(config_path, connectors={n: c.spec for n, c in registry.connectors.items()}))
    env = {**os.environ, "LENGOW_TUI_CONFIG": str(config_path)}
    procs = [subprocess.Popen([sys.executable, "-m", "lengow_tui.cli", "sync", "--watch", "--interval", "1",
                               "--log-file", str(tmp_path / f"w{k}.log")], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for k in range(2)]
    try:
        def both_alive() -> list[dict[str, Any]] | None:
            out = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "workers", "--json"], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            rows = json.loads(out.stdout)
            alive = [r for r in rows if r["state"] == "alive" and r["kind"] == "daemon"]
            return rows if len(alive) == 2 else None

        rows = wait_for("both workers in 'lengow-tui workers --json'", both_alive)
        assert {r["pid"] for r in rows} == {p.pid for p in procs}
        assert all(set(r["holds"]) == {"import_leases", "actions", "channels"} for r in rows)
        wait_for("the import", lambda: _count_orders(rt) >= 305)
        holder = daemon_lock_holder(rt)
        assert holder is not None and holder.startswith("2 sync workers"), holder
        table = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "workers"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=60)
        assert table.returncode == 0 and "alive" in table.stdout and str(procs[0].pid) in table.stdout
        # A SIGKILLed worker: a live one hands its leases back and removes its row.
        procs[0].kill()
        procs[0].wait()
        wait_for("the dead worker's row to be removed",
                 lambda: _worker_names(rt) == {f"{socket.gethostname()}:{procs[1].pid}"}, timeout=WAIT)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
        rt.close()
    with rt.store.read() as session:
        assert session.exec(select(Worker)).all() == []  # the survivor unregistered on SIGTERM
        assert session.exec(select(ChannelLease).where(col(ChannelLease.owner).is_not(None))).all() == []


def _count_orders(rt: Any) -> int:
    from sqlalchemy import func

    with rt.store.read() as session:
        return int(session.exec(select(func.count()).select_from(Order)).one())


def _worker_names(rt: Any) -> set[str]:
    with rt.store.read() as session:
        return {w.name for w in session.exec(select(Worker))}


# ---------------------------------------------------------------------------------------------- chaos


def test_two_workers_killed_at_random_lose_and_duplicate_nothing(pg_url: str) -> None:
    """The small version of ``bench/scale_out_pg.py`` (which makes a schema of its own; ``pg_url`` only
    makes the test fail under CI, or skip elsewhere, when PostgreSQL is not there)."""
    bench = load_bench()
    result = bench.chaos(workers=2, orders=1000, actions=200, kills=3, seed=3, late_fraction=0.0, upfront_new=150,
                         kill_every=(1.0, 2.5), log=lambda _m: None)
    figures = result.figures
    summary = json.dumps(figures, indent=2) + f"\nlog problems: {result.problems}"
    print("\n" + summary)
    assert result.failed == [], summary
    assert figures["SIGKILLs"] == 3, summary
    assert figures["orders stored"] == 1000 and figures["actions queued"] == 200, summary
    assert figures["actions done"] == 200, summary
