"""GDPR retention purge: personal data of old orders leaves every place it was stored, and nothing else does.

Unique sentinel strings are planted as the customers' names, addresses, e-mails and phones in the
sandbox marketplace before the first import, so they travel the real paths (import, raw payload,
documents, actions); a few more go straight into the rows the host writes from marketplace text
(attempt messages, errors, events). The proof is the absence of the sentinels — in the database rows,
in the raw bytes of the SQLite file and its WAL, in exports and in the logs — next to the presence of
the sentinels of recent orders. Runs on SQLite and on the machine's PostgreSQL (bytes on SQLite only).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from sandbox_runtime import make_runtime
from lengow_tui.config import DEFAULT_RETENTION_DAYS
from lengow_tui.runtime import Runtime
from lengow_tui.services.actions import cancel_action, queue_action
from lengow_tui.services.documents import DocumentError, fetch_document
from lengow_tui.services.export import export_orders
from lengow_tui.services.orders import OrderFilter
from lengow_tui.store.models import (
    Action,
    ActionAttempt,
    Document,
    Order,
    OrderEvent,
    OrderLine,
    Party,
    PurgeRun,
)
from lengow_tui.sync.retention import REMOVED, purge, purge_due
from lengow_tui.sync.run import sync_once
from lengow_tui_sandbox.settings import Settings
from lengow_tui_sandbox.sims import SIMS
from lengow_tui_sandbox.sims.base import from_us, to_us
from lengow_tui_sandbox.world import World

SETTINGS = {"orders_per_hour": 0}  # no arrivals: the same orders before and after the purge
TABLES = (Order, OrderLine, Party, Document, Action, ActionAttempt, OrderEvent)


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    rt = make_runtime(tmp_path, url, **SETTINGS)
    yield rt
    rt.close()


# --------------------------------------------------------------------------------------------- planting


@dataclass
class Planted:
    """Sentinels by marketplace order id; ``cutoff`` splits the orders into old and recent."""

    sentinels: dict[str, str]
    cutoff: datetime
    target: str  # an old Amazon order waiting for shipment: the one that gets a ship action
    world: World

    def old(self, rt: Runtime) -> dict[str, int]:
        """Marketplace order id -> local id of the orders placed before the cut-off."""
        with rt.store.read() as session:
            rows = session.exec(select(Order).where(Order.ordered_at < self.cutoff)).all()
        return {o.marketplace_order_id: o.id for o in rows}  # type: ignore[misc]

    def needles(self, rt: Runtime) -> tuple[list[str], list[str]]:
        """(needles of old orders, needles of recent orders). A needle is the sentinel's unique tail,
        found even where a text index stores the word with a prefix shared with its neighbour."""
        old = self.old(rt)
        gone = [needle(s) for oid, s in self.sentinels.items() if oid in old]
        kept = [needle(s) for oid, s in self.sentinels.items() if oid not in old]
        return gone, kept


def needle(sentinel: str) -> str:
    return sentinel[-16:].lower()


def _person(sentinel: str) -> dict[str, str]:
    return {"first": f"{sentinel}first", "last": f"{sentinel}last", "address1": f"12 rue {sentinel}",
            "address2": f"apt {sentinel}", "city": f"{sentinel}ville", "zipcode": "75011",
            "email": f"{sentinel.lower()}@example.com", "phone": f"+33 {sentinel}", "company": ""}


def plant(rt: Runtime) -> Planted:
    """Create the sandbox world and give every customer of every order a sentinel identity."""
    channel = rt.config.channel("shop")
    world = World(rt.state_dir("shop"), Settings.from_config(channel.settings), lambda: datetime.now(UTC))
    world.advance()
    orders = world.all_orders()
    sentinels = {}
    db = sqlite3.connect(world.path)
    with db:
        for order in orders:
            sentinel = f"SENTINEL-{uuid.uuid4().hex}"
            sentinels[order["order_id"]] = sentinel
            for role in ("buyer", "billing", "shipping"):
                order[role] = {**order[role], **_person(sentinel)}
            db.execute("UPDATE orders SET data = ? WHERE marketplace = ? AND order_id = ?",
                       (json.dumps(order), order["marketplace"], order["order_id"]))
    db.close()
    waiting = sorted((o for o in orders if o["marketplace"] == "amazon_sandbox"
                      and SIMS[o["marketplace"]].common_status(o) == "waiting_shipment"),
                     key=lambda o: o["ordered_at"])
    target = waiting[0]
    later = min(o["ordered_at"] for o in orders if o["ordered_at"] > target["ordered_at"])
    cutoff = from_us((target["ordered_at"] + later) // 2)
    return Planted(sentinels, cutoff, target["order_id"], world)


def sync(rt: Runtime) -> None:
    results = asyncio.run(sync_once(rt))
    assert all(r.error is None and (r.imported is None or r.imported.error is None) for r in results), results


def order_by_ref(rt: Runtime, ref: str) -> Order:
    with rt.store.read() as session:
        order = session.exec(select(Order).where(Order.marketplace_order_id == ref)).one()
    return order


def ship_with_sentinel(rt: Runtime, planted: Planted) -> Order:
    """Ship the target with the buyer's sentinel in a free-text argument; wait until it is confirmed."""
    order = order_by_ref(rt, planted.target)
    spec = rt.declaration("shop", "amazon_sandbox").action("ship")  # type: ignore[union-attr]
    carrier = next(c.code for c in spec.argument("carrier").valid_values if c.code != "Other")  # type: ignore[union-attr]
    arguments = {"carrier": carrier, "tracking_number": "TRK0042RET",
                 "shipping_method": f"gift {planted.sentinels[planted.target]}"}
    queued = queue_action(rt, order.id, "ship", arguments)  # type: ignore[arg-type]
    assert queued.ok, queued.problems
    deadline = time.monotonic() + 60  # a bound on waiting, not an assertion on time
    while True:
        sync(rt)
        with rt.store.read() as session:
            action = session.get(Action, queued.action_id)
        assert action is not None
        if action.state not in ("queued", "sending", "awaiting_confirmation", "retrying"):
            break
        assert time.monotonic() < deadline, f"ship action still {action.state}"
        time.sleep(0.3)
    assert action.state == "done", (action.state, action.last_error)
    return order_by_ref(rt, planted.target)


def plant_host_rows(rt: Runtime, planted: Planted) -> None:
    """Sentinels in rows the host fills with marketplace text: attempt messages, errors, events."""
    target = order_by_ref(rt, planted.target)
    sentinel = planted.sentinels[planted.target]
    old_ids = sorted(planted.old(rt).values())
    other = next(i for i in old_ids if i != target.id)
    with rt.store.write() as session:
        attempt = session.exec(select(ActionAttempt).join(Action, col(Action.id) == ActionAttempt.action_id)
                               .where(Action.order_id == target.id)).first()
        assert attempt is not None
        attempt.message = f"parcel handed to {sentinel} at the door"
        session.add(attempt)
        session.add(OrderEvent(order_id=target.id, kind="action",
                               message=f"ship rejected by the marketplace: unknown address {sentinel}"))
        other_order = session.get(Order, other)
        other_sentinel = planted.sentinels[other_order.marketplace_order_id]  # type: ignore[union-attr]
        rejected = Action(order_id=other, channel_id=target.channel_id, kind="cancel", state="rejected",
                          arguments={"reason": "CustomerRequest", "note": f"call {other_sentinel}"},
                          last_error=f"customer {other_sentinel} unknown")
        session.add(rejected)
        session.flush()
        session.add(ActionAttempt(action_id=rejected.id, attempt_no=1, outcome="rejected",  # type: ignore[arg-type]
                                  message=f"rejected for {other_sentinel}"))


def fetch_documents(rt: Runtime, order_ids: list[int]) -> dict[int, bytes]:
    """The content of every document of these orders the marketplace still serves (stored on fetch)."""
    with rt.store.read() as session:
        docs = session.exec(select(Document).where(col(Document.order_id).in_(order_ids))).all()
    contents: dict[int, bytes] = {}
    for doc in docs:
        try:
            contents[doc.order_id] = contents.get(doc.order_id, b"") + (asyncio.run(fetch_document(rt, doc.id)).content or b"")  # type: ignore[arg-type]
        except DocumentError:  # e.g. a packing slip listed before the order shipped
            continue
    return contents


# -------------------------------------------------------------------------------------------- evidence


def dump(rt: Runtime) -> str:
    """Every row of the tables holding order data, as text (the same on both databases)."""
    parts = []
    with rt.store.read() as session:
        for model in TABLES:
            for row in session.exec(select(model).order_by(col(model.id))):
                parts.append(repr(sorted(row.model_dump().items())))
    return "\n".join(parts)


def business_fields(rt: Runtime, ids: list[int]) -> list[tuple[Any, ...]]:
    with rt.store.read() as session:
        orders = session.exec(select(Order).where(col(Order.id).in_(ids)).order_by(col(Order.id))).all()
        lines = session.exec(select(OrderLine).where(col(OrderLine.order_id).in_(ids)).order_by(col(OrderLine.id))).all()
    return ([(o.id, o.channel_id, o.marketplace, o.marketplace_order_id, o.status, o.raw_status, o.ordered_at,
              o.remote_updated_at, o.currency, o.total_cents, o.shipping_cents, o.items_count, o.delivery_type,
              o.shipping_deadline, o.carrier, o.tracking_number) for o in orders]
            + [(l.order_id, l.line_id, l.sku, l.title, l.quantity, l.amount_cents, l.tax_cents, l.status) for l in lines])


def sqlite_bytes(rt: Runtime) -> dict[str, bytes]:
    """The database file, its WAL and its shared-memory index, lowercased (the search text is)."""
    path = Path(rt.store.engine.url.database)  # type: ignore[arg-type]
    files = {suffix: Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")}
    return {suffix: p.read_bytes().lower() if p.exists() else b"" for suffix, p in files.items()}


def exported(rt: Runtime) -> str:
    out = []
    with rt.store.read() as session:
        for fmt in ("csv", "json"):
            buffer = io.StringIO()
            export_orders(session, OrderFilter(), buffer, fmt)
            out.append(buffer.getvalue())
    return "\n".join(out).lower()


def purge_now(planted: Planted) -> datetime:
    """The moment at which, with the default retention, the cut-off falls at ``planted.cutoff``."""
    return planted.cutoff + timedelta(days=DEFAULT_RETENTION_DAYS)


# ---------------------------------------------------------------------------------------------- tests


def test_purge_erases_personal_data_everywhere_and_only_of_old_orders(runtime: Runtime, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    planted = plant(runtime)
    sync(runtime)
    shipped = ship_with_sentinel(runtime, planted)
    plant_host_rows(runtime, planted)
    old = planted.old(runtime)
    old_ids = sorted(old.values())
    recent_ids = sorted(set(o.id for o in _all_orders(runtime)) - set(old_ids))  # type: ignore[misc]
    assert shipped.id in old_ids and len(old_ids) > 50 and len(recent_ids) > 10
    gone, kept = planted.needles(runtime)
    target_needle = needle(planted.sentinels[planted.target])

    # The sentinels really are everywhere before the purge (so the checks below can fail).
    before_docs = fetch_documents(runtime, [old_ids[0], shipped.id, *recent_ids])  # type: ignore[list-item]
    assert any(target_needle.encode() in c.lower() for c in before_docs.values())
    before = dump(runtime).lower()
    assert all(n in before for n in gone) and all(n in before for n in kept)
    assert all(n in exported(runtime) for n in gone[:5])
    if runtime.store.is_sqlite:
        assert target_needle.encode() in b"".join(sqlite_bytes(runtime).values())
    with runtime.store.read() as session:
        old_docs = session.exec(select(Document).where(col(Document.order_id).in_(old_ids))).all()
    facts = business_fields(runtime, old_ids)

    report = purge(runtime, now=purge_now(planted), worker="test-worker")

    assert report.error is None and report.checkpoint in (None, "done")
    [shop] = report.channels
    assert (shop.orders, shop.documents, shop.postponed) == (len(old_ids), len(old_docs), 0)
    assert shop.actions == 2 and shop.events >= 1 and shop.parties == 3 * len(old_ids)
    assert shop.cutoff == planted.cutoff and shop.retention_days == DEFAULT_RETENTION_DAYS

    # Rows: no old sentinel anywhere, every recent one still there; the business facts untouched.
    after = dump(runtime).lower()
    assert [n for n in gone if n in after] == []
    assert all(n in after for n in kept)
    assert business_fields(runtime, old_ids) == facts
    with runtime.store.read() as session:
        purged = session.exec(select(Order).where(col(Order.id).in_(old_ids))).all()
        assert all(o.anonymized_at is not None and o.buyer_name is None and not o.has_documents for o in purged)
        assert all(o.raw_payload.get("anonymized") is True for o in purged)
        # anonymized_at says when it really happened, not the simulated "now" of the run
        assert all(o.anonymized_at <= datetime.now(UTC) for o in purged)  # type: ignore[operator]
        target = session.get(Order, shipped.id)
        assert target is not None and target.marketplace_order_id.lower() in target.search_text
        assert "trk0042ret" in target.search_text  # ids, SKUs and tracking stay searchable
        assert session.exec(select(Party).where(col(Party.order_id).in_(old_ids))).all() == []
        assert session.exec(select(Document).where(col(Document.order_id).in_(old_ids))).all() == []
        ship = session.exec(select(Action).where(Action.order_id == shipped.id)).one()
        assert ship.arguments["shipping_method"] == REMOVED
        assert ship.arguments["tracking_number"] == "TRK0042RET" and ship.arguments["carrier"] != REMOVED
        assert ship.lines == [] or all("line_id" in line for line in ship.lines)
        recent = session.exec(select(Order).where(col(Order.id).in_(recent_ids))).all()
        assert all(o.anonymized_at is None and o.buyer_name for o in recent)
        run = session.get(PurgeRun, report.run_id)
        assert run is not None and run.finished_at is not None and run.worker == "test-worker"
        assert (run.orders, run.documents, run.actions, run.dry_run) == (len(old_ids), len(old_docs), 2, False)
        assert run.details["channels"]["shop"]["orders"] == len(old_ids)

    # Documents and exports made after the purge.
    after_docs = fetch_documents(runtime, [*old_ids, *recent_ids])
    assert set(after_docs) <= set(recent_ids)
    assert not any(n.encode() in c.lower() for c in after_docs.values() for n in gone)
    text = exported(runtime)
    assert [n for n in gone if n in text] == []
    assert all(n in text for n in kept)

    # The bytes of the SQLite files: not in free pages, overflow pages, the WAL or the search index.
    if runtime.store.is_sqlite:
        files = sqlite_bytes(runtime)
        for suffix, data in files.items():
            assert [n for n in gone if n.encode() in data] == [], f"personal data left in lengow-tui.db{suffix}"
        assert all(n.encode() in files[""] + files["-wal"] for n in kept)

    # Logs of import, delivery and purge.
    logged = caplog.text.lower() + " ".join(str(r.args) for r in caplog.records).lower()
    assert [n for n in gone + kept if n in logged] == []

    # A second run has nothing to do and changes no row.
    rows = dump(runtime)
    again = purge(runtime, now=purge_now(planted), worker="test-worker")
    assert again.error is None
    assert [(c.orders, c.parties, c.documents, c.actions, c.events, c.postponed) for c in again.channels] == [(0,) * 6]
    assert dump(runtime) == rows


def _all_orders(rt: Runtime) -> list[Order]:
    with rt.store.read() as session:
        return list(session.exec(select(Order)))


def test_dry_run_reports_the_counts_and_changes_nothing(runtime: Runtime):
    planted = plant(runtime)
    sync(runtime)
    rows = dump(runtime)
    dry = purge(runtime, now=purge_now(planted), dry_run=True)
    assert dump(runtime) == rows
    assert dry.dry_run and dry.checkpoint is None and dry.error is None
    assert dry.total("orders") == len(planted.old(runtime)) > 0 and dry.total("documents") > 0
    real = purge(runtime, now=purge_now(planted))
    assert [(c.orders, c.documents, c.actions, c.events) for c in real.channels] == \
        [(c.orders, c.documents, c.actions, c.events) for c in dry.channels]
    with runtime.store.read() as session:
        runs = session.exec(select(PurgeRun).order_by(col(PurgeRun.id))).all()
    assert [(r.dry_run, r.orders) for r in runs] == [(True, dry.total("orders")), (False, real.total("orders"))]


def test_anonymized_order_reimported_stays_anonymized(runtime: Runtime):
    planted = plant(runtime)
    sync(runtime)
    purge(runtime, now=purge_now(planted))
    target = order_by_ref(runtime, planted.target)
    # The marketplace changes the order (still with the buyer's data): the next sync re-imports it.
    order = planted.world.order("amazon_sandbox", planted.target)
    assert order is not None
    order["updated_at"] = to_us(datetime.now(UTC)) + 10**6
    order["shipping_cents"] += 100
    db = sqlite3.connect(planted.world.path)
    with db:
        db.execute("UPDATE orders SET data = ?, updated_at = ? WHERE marketplace = ? AND order_id = ?",
                   (json.dumps(order), order["updated_at"], "amazon_sandbox", planted.target))
    db.close()
    sync(runtime)
    gone = needle(planted.sentinels[planted.target])
    with runtime.store.read() as session:
        again = session.get(Order, target.id)
        assert again is not None and again.shipping_cents == target.shipping_cents + 100  # it was re-imported
        assert again.anonymized_at == target.anonymized_at and again.buyer_name is None
        assert again.raw_payload == target.raw_payload and not again.has_documents
        assert session.exec(select(Party).where(Party.order_id == target.id)).all() == []
        assert session.exec(select(Document).where(Document.order_id == target.id)).all() == []
    assert gone not in dump(runtime).lower()
    if runtime.store.is_sqlite:
        assert all(gone.encode() not in data for data in sqlite_bytes(runtime).values())


def test_order_with_an_unfinished_action_is_postponed(runtime: Runtime):
    planted = plant(runtime)
    sync(runtime)
    waiting = order_by_ref(runtime, planted.target)
    queued = queue_action(runtime, waiting.id, "cancel", {"reason": "NoInventory"})  # type: ignore[arg-type]
    assert queued.ok, queued.problems
    report = purge(runtime, now=purge_now(planted))
    assert report.total("postponed") == 1 and report.total("orders") == len(planted.old(runtime)) - 1
    with runtime.store.read() as session:
        assert session.get(Order, waiting.id).anonymized_at is None  # type: ignore[union-attr]
        assert len(session.exec(select(Party).where(Party.order_id == waiting.id)).all()) == 3
    assert cancel_action(runtime, queued.action_id) is None  # type: ignore[arg-type]
    later = purge(runtime, now=purge_now(planted))
    assert (later.total("orders"), later.total("postponed")) == (1, 0)
    with runtime.store.read() as session:
        assert session.get(Order, waiting.id).anonymized_at is not None  # type: ignore[union-attr]


def test_retention_is_per_channel_and_purge_is_due_daily(runtime: Runtime):
    assert purge_due(runtime)
    plant(runtime)
    sync(runtime)
    # With the default 183 days nothing imported (the last 30 days) is due yet.
    first = purge(runtime)
    assert first.total("orders") == 0 and first.channels[0].retention_days == DEFAULT_RETENTION_DAYS
    assert not purge_due(runtime)
    assert purge_due(runtime, now=datetime.now(UTC) + timedelta(hours=25))
    purge(runtime, dry_run=True)  # a dry run is no proof of a purge
    assert purge_due(runtime, now=datetime.now(UTC) + timedelta(hours=25))
    with pytest.raises(ValueError, match="unknown channel"):
        purge(runtime, channels=["nope"])


def test_channel_retention_days_sets_the_cutoff(tmp_path: Path, sqlite_url: str):
    rt = make_runtime(tmp_path, sqlite_url, extra_toml="", **SETTINGS)
    rt.close()
    config = (tmp_path / "config.toml").read_text().replace('connector = "sandbox"',
                                                             'connector = "sandbox"\nretention_days = 10')
    (tmp_path / "config.toml").write_text(config)
    from lengow_tui.config import load_config
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime

    registry = load_registry()
    rt = open_runtime(load_config(tmp_path / "config.toml",
                                  connectors={n: c.spec for n, c in registry.connectors.items()}))
    try:
        sync(rt)
        now = datetime.now(UTC)
        report = purge(rt, now=now)
        [shop] = report.channels
        assert shop.retention_days == 10 and shop.cutoff == now - timedelta(days=10)
        with rt.store.read() as session:
            orders = session.exec(select(Order)).all()
        old = [o for o in orders if o.ordered_at < shop.cutoff]
        assert old and len(old) < len(orders) and shop.orders == len(old)
        assert all((o.anonymized_at is not None) == (o.ordered_at < shop.cutoff) for o in orders)
    finally:
        rt.close()


def test_purge_command(tmp_path: Path, sqlite_url: str):
    rt = make_runtime(tmp_path, sqlite_url, **SETTINGS)
    try:
        sync(rt)
    finally:
        rt.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LENGOW_TUI", "XDG_"))}
    env.update(HOME=str(tmp_path), COLUMNS="200", LENGOW_TUI_CONFIG=str(tmp_path / "config.toml"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lengow_tui.cli", "purge", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    future = (datetime.now(UTC) + timedelta(days=DEFAULT_RETENTION_DAYS + 40)).strftime("%Y-%m-%dT%H:%M")
    dry = run("--dry-run", "--now", future)
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "cut-off" in dry.stdout and "shop" in dry.stdout

    def counts(out: str) -> list[str]:
        # shop, "183", "d", cut-off date, time, "UTC", then orders, documents, actions, events, postponed
        return next(line.split() for line in out.splitlines() if line.startswith("shop"))[6:]

    assert counts(dry.stdout)[0] == "150"  # every imported order is older than the cut-off
    real = run("--now", future, "--channel", "shop")
    assert real.returncode == 0, real.stderr
    assert counts(real.stdout) == counts(dry.stdout) and "WAL checkpoint: done" in real.stdout
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    assert db.execute("SELECT count(*) FROM orders WHERE anonymized_at IS NULL").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM party").fetchone() == (0,)
    db.close()
    history = run("--history")
    assert history.returncode == 0, history.stderr
    lines = history.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "started", "(UTC)"]
    assert "dry run" in lines[2] and "purge" in lines[1] and lines[1].endswith("ok")
    unknown = run("--channel", "nope")
    assert unknown.returncode == 2 and "unknown channel" in unknown.stderr
    second = run("--now", future)
    assert second.returncode == 0 and "WAL checkpoint: not needed" in second.stdout


def test_scrub_rules_keep_codes_and_numbers_and_drop_free_text():
    from sqlalchemy.exc import IntegrityError

    from lengow_tui.domain import ActionSpec, ArgType, ArgumentSpec, Choice
    from lengow_tui.sync.retention import describe_error, scrub_arguments, scrub_event_message

    spec = ActionSpec("refund", frozenset({"shipped"}), arguments=(  # type: ignore[arg-type]
        ArgumentSpec("reason", "Reason", ArgType.CHOICE, valid_values=(Choice("DAMAGED", "Damaged"),)),
        ArgumentSpec("amount", "Amount", ArgType.AMOUNT),
        ArgumentSpec("note", "Note"),
        ArgumentSpec("tracking_number", "Tracking number"),
    ))
    scrubbed = scrub_arguments({"reason": "DAMAGED", "amount": "12.50", "note": "call Mrs X",
                                "tracking_number": "6A1234", "undeclared": "Mrs X"}, spec)
    assert scrubbed == {"reason": "DAMAGED", "amount": "12.50", "note": REMOVED, "tracking_number": "6A1234",
                        "undeclared": REMOVED}
    # A free value of a choice that accepts free values is free text.
    assert scrub_arguments({"reason": "told by Mrs X"}, spec) == {"reason": REMOVED}
    assert scrub_event_message("ship queued") == "ship queued"
    assert scrub_event_message("ship rejected by the marketplace: no Mrs X here") == \
        f"ship rejected by the marketplace: {REMOVED}"
    assert scrub_event_message("raw status 'X' is not in the map") == REMOVED
    assert scrub_event_message(None) is None
    error = IntegrityError("UPDATE party SET name=?", ("Mrs X",), Exception("duplicate key\nDETAIL: (Mrs X)"))
    assert "Mrs X" not in describe_error(error) and "duplicate key" in describe_error(error)
