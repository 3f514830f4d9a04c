"""Auto-accept rules per channel, the stock table and its reservations, on SQLite and PostgreSQL.

Orders come from the sandbox (its Mirakl-like and pick-up marketplaces have an acceptance step). Tests
that need precise totals or SKUs rewrite a waiting order's lines locally after the import; those tests
never deliver, so the sandbox never sees the rewritten lines.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from lengow_tui.config import AutoAcceptRules, load_config
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime, open_runtime
from lengow_tui.services import auto_accept as auto_accept_module
from lengow_tui.services.auto_accept import LineToCheck, OrderToCheck, decide, run_auto_accept
from lengow_tui.services.stock import StockFileError, StockLevel, import_stock, parse_stock_csv
from lengow_tui.store.models import Action, Order, OrderEvent, OrderLine, Stock, StockReservation
from lengow_tui.sync.run import sync_once

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = 'seed = 7\nreject_rate = "0"\ntime_scale = 5\nunknown_status_rate = "0"\n'


# ----------------------------------------------------------------------------------------------- set-up


def write_config(tmp_path: Path, url: str, rules: str | None) -> Path:
    """A config with channel ``shop`` on the sandbox; ``rules`` is the auto_accept table body (None: key absent)."""
    text = (f'[database]\nurl = "{url}"\n[paths]\ndata_dir = "{tmp_path / "data"}"\nlog_dir = "{tmp_path / "logs"}"\n'
            f'[channels.shop]\nconnector = "sandbox"\n{SANDBOX}')
    if rules is not None:
        text += f"\n[channels.shop.auto_accept]\n{rules}\n"
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def open_rt(path: Path) -> Runtime:
    registry = load_registry()
    return open_runtime(load_config(path, connectors={n: c.spec for n, c in registry.connectors.items()}, environ={}))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def make(tmp_path: Path, db_url: str):
    """``make(rules)``: a runtime whose channel has these auto-accept rules, with the sandbox's orders
    imported (auto-accept off during that import, so the test decides when it runs)."""
    opened: list[Runtime] = []

    def build(rules: str | None) -> Runtime:
        rt = open_rt(write_config(tmp_path, db_url, rules))
        opened.append(rt)
        configured = rt.config
        rt.config = replace(configured, channels=tuple(replace(c, auto_accept=AutoAcceptRules())
                                                       for c in configured.channels))
        try:
            results = asyncio.run(sync_once(rt, deliver=False))
        finally:
            rt.config = configured
        assert all(r.error is None and r.imported and r.imported.error is None for r in results), results
        return rt

    yield build
    for rt in opened:
        rt.close()


def waiting(rt: Runtime) -> list[Order]:
    """Orders auto-accept may consider: waiting for acceptance, nothing queued."""
    with rt.store.read() as session:
        return list(session.exec(select(Order).where(Order.status == "waiting_acceptance", Order.pending_actions == 0)
                                 .order_by(Order.id)))


def set_lines(rt: Runtime, order_id: int, lines: list[tuple[str, int]], total_cents: int | None = None) -> None:
    """Replace an order's lines (and optionally its total) locally."""
    with rt.store.write() as session:
        for line in session.exec(select(OrderLine).where(OrderLine.order_id == order_id)):
            session.delete(line)
        session.flush()
        for index, (sku, quantity) in enumerate(lines):
            session.add(OrderLine(order_id=order_id, line_id=f"T{order_id}-{index}", sku=sku, quantity=quantity,
                                  amount_cents=1000))
        order = session.get(Order, order_id)
        assert order is not None
        if total_cents is not None:
            order.total_cents = total_cents
        session.add(order)


def isolate(rt: Runtime, keep: list[int], sku: str = "NOT-STOCKED") -> None:
    """Give every other waiting order a SKU without stock, so only ``keep`` can pass a stock rule."""
    for order in waiting(rt):
        if order.id not in keep:
            set_lines(rt, order.id, [(sku, 1)])  # type: ignore[arg-type]


def set_stock(rt: Runtime, **quantities: int) -> None:
    import_stock(rt, parse_rows(quantities))


def parse_rows(quantities: dict[str, int]):  # type: ignore[no-untyped-def]
    from lengow_tui.services.stock import StockRow

    return [StockRow(sku.replace("_", "-"), q, i + 2) for i, (sku, q) in enumerate(quantities.items())]


def auto_actions(rt: Runtime) -> list[Action]:
    with rt.store.read() as session:
        return list(session.exec(select(Action).where(Action.source == "auto").order_by(Action.id)))


def stock_row(rt: Runtime, sku: str) -> Stock:
    with rt.store.read() as session:
        row = session.get(Stock, sku)
    assert row is not None
    return row


def reservations(rt: Runtime) -> list[tuple[int, str, int]]:
    with rt.store.read() as session:
        return sorted((r.order_id, r.sku, r.quantity) for r in session.exec(select(StockReservation)))


def note(rt: Runtime, order_id: int) -> str | None:
    with rt.store.read() as session:
        order = session.get(Order, order_id)
    assert order is not None
    return order.auto_accept_note


def cli(config: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENGOW_TUI")}
    env["COLUMNS"] = "200"
    proc = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "--config", str(config), *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


# ------------------------------------------------------------------------------------- the pure decision


def test_decide_reasons_read_like_a_sentence():
    order = OrderToCheck(61200, "EUR", (LineToCheck("ABC", 3), LineToCheck("X-REFURB", 1), LineToCheck("ABC", 1)))
    limit = AutoAcceptRules(enabled=True, max_total=Decimal("500"))
    assert decide(order, limit, {}).reason == "total 612.00 EUR is above the limit 500.00"
    assert decide(replace(order, total_cents=50000), limit, {}).accept  # equal to the limit is fine
    deny = AutoAcceptRules(enabled=True, sku_deny=("*-REFURB",))
    assert decide(order, deny, {}).reason == "SKU X-REFURB matches deny pattern *-REFURB"
    assert decide(order, AutoAcceptRules(enabled=True, sku_deny=("*-refurb",)), {}).accept  # case-sensitive
    allow = AutoAcceptRules(enabled=True, sku_allow=("AB?", "BOOK-*"))
    assert decide(order, allow, {}).reason == "SKU X-REFURB matches no allowed pattern (AB?, BOOK-*)"
    stock_rule = AutoAcceptRules(enabled=True, stock_buffer=2)
    levels = {"ABC": StockLevel("ABC", 3, 0), "X-REFURB": StockLevel("X-REFURB", 10, 0)}
    # The two ABC lines count together: 4 needed.
    assert decide(order, stock_rule, levels).reason == "stock for SKU ABC: 3 available, 2 kept as buffer, 4 needed"
    levels["ABC"] = StockLevel("ABC", 7, 2)
    held = decide(order, stock_rule, levels)
    assert held.reason == ("stock for SKU ABC: 5 available, 2 kept as buffer, 4 needed "
                           "(7 in stock, 2 reserved by accepted orders)")
    levels["ABC"] = StockLevel("ABC", 8, 2)
    ok = decide(order, stock_rule, levels)
    assert ok.accept and ok.reason is None and dict(ok.reserve) == {"ABC": 4, "X-REFURB": 1}
    missing = decide(order, stock_rule, {"ABC": StockLevel("ABC", 100, 0)})
    assert missing.reason is not None and missing.reason.startswith("no stock recorded for SKU X-REFURB (1 needed")
    assert decide(order, AutoAcceptRules(enabled=True), {}).accept  # no rule: everything acceptable goes
    assert not decide(OrderToCheck(100, "EUR", ()), stock_rule, {}).accept


# ----------------------------------------------------------------------------------------------- the rules


def test_off_by_default_nothing_is_queued(make):
    rt = make(None)
    assert not rt.channel_config("shop").auto_accept
    results = asyncio.run(sync_once(rt, deliver=False))
    assert results[0].auto_accepted is None
    assert run_auto_accept(rt, "shop").accepted == []
    assert auto_actions(rt) == []
    with rt.store.read() as session:
        assert session.exec(select(Order).where(Order.auto_accept_note != None)).first() is None  # noqa: E711


def test_max_total_accepts_up_to_the_limit_and_holds_above(make):
    rt = make("enabled = true\nmax_total = 50.0")
    candidates = waiting(rt)
    assert len(candidates) >= 3
    ids = [o.id for o in candidates]
    set_lines(rt, ids[0], [("A", 1)], total_cents=5000)  # exactly the limit
    set_lines(rt, ids[1], [("A", 1)], total_cents=5001)
    for order_id in ids[2:]:
        set_lines(rt, order_id, [("A", 1)], total_cents=61200)
    result = run_auto_accept(rt, "shop")
    assert result.accepted == [ids[0]]
    assert result.held[ids[1]] == "total 50.01 EUR is above the limit 50.00"
    assert note(rt, ids[2]) == "total 612.00 EUR is above the limit 50.00"
    assert set(result.held) == set(ids[1:])
    actions = auto_actions(rt)
    assert [(a.order_id, a.kind, a.state) for a in actions] == [(ids[0], "accept", "queued")]
    assert note(rt, ids[0]) is None
    with rt.store.read() as session:
        events = list(session.exec(select(OrderEvent).where(OrderEvent.kind == "auto_accept",
                                                            OrderEvent.order_id == ids[1])))
    assert [e.message for e in events] == ["left for a human: total 50.01 EUR is above the limit 50.00"]


def test_sku_deny_and_allow_patterns(make):
    rt = make('enabled = true\nsku_allow = ["BOOK-*", "DVD-?"]\nsku_deny = ["*-REFURB"]')
    ids = [o.id for o in waiting(rt)]
    assert len(ids) >= 4
    set_lines(rt, ids[0], [("BOOK-1", 1), ("DVD-2", 2)])
    set_lines(rt, ids[1], [("BOOK-1", 1), ("BOOK-9-REFURB", 1)])
    set_lines(rt, ids[2], [("BOOK-1", 1), ("DVD-22", 1)])
    result = run_auto_accept(rt, "shop")
    assert result.accepted == [ids[0]]
    assert result.held[ids[1]] == "SKU BOOK-9-REFURB matches deny pattern *-REFURB"
    assert result.held[ids[2]] == "SKU DVD-22 matches no allowed pattern (BOOK-*, DVD-?)"
    # The sandbox's own SKUs (SKU-...) match no allowed pattern either.
    assert all("matches no allowed pattern" in result.held[i] for i in ids[3:])


def test_stock_rule_holds_then_accepts_after_a_stock_import_reserving_once(make):
    rt = make("enabled = true\nstock_buffer = 2")
    ids = [o.id for o in waiting(rt)]
    target = ids[0]
    set_lines(rt, target, [("ABC", 3), ("ABC", 1)])
    isolate(rt, [target])
    set_stock(rt, ABC=5)
    first = run_auto_accept(rt, "shop")
    assert first.accepted == []
    assert first.held[target] == "stock for SKU ABC: 5 available, 2 kept as buffer, 4 needed"
    assert note(rt, target) == first.held[target]
    assert stock_row(rt, "ABC").reserved == 0 and reservations(rt) == []

    # Stock arrives: the held order goes on the next run, reserving its 4 units.
    set_stock(rt, ABC=6)
    second = run_auto_accept(rt, "shop")
    assert second.accepted == [target]
    assert note(rt, target) is None
    assert reservations(rt) == [(target, "ABC", 4)]
    row = stock_row(rt, "ABC")
    assert (row.quantity, row.reserved) == (6, 4)

    # Running again reserves nothing more and queues no second accept.
    third = run_auto_accept(rt, "shop")
    assert third.accepted == [] and target not in third.held
    assert reservations(rt) == [(target, "ABC", 4)] and stock_row(rt, "ABC").reserved == 4
    assert [a.order_id for a in auto_actions(rt)] == [target]


def test_a_crash_inside_the_accept_transaction_leaves_nothing_behind(make, monkeypatch):
    rt = make("enabled = true\nstock_buffer = 0")
    target = waiting(rt)[0].id
    set_lines(rt, target, [("ABC", 2)])  # type: ignore[arg-type]
    isolate(rt, [target])  # type: ignore[list-item]
    set_stock(rt, ABC=2)
    real_reserve = auto_accept_module._reserve

    def reserve_then_die(*args, **kwargs):  # the process dies after the writes, before the commit
        real_reserve(*args, **kwargs)
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(auto_accept_module, "_reserve", reserve_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_auto_accept(rt, "shop")
    assert auto_actions(rt) == [] and reservations(rt) == [] and stock_row(rt, "ABC").reserved == 0
    with rt.store.read() as session:
        assert session.get(Order, target).pending_actions == 0  # type: ignore[union-attr]

    monkeypatch.setattr(auto_accept_module, "_reserve", real_reserve)
    assert run_auto_accept(rt, "shop").accepted == [target]
    assert run_auto_accept(rt, "shop").accepted == []  # the restart after a crash past the commit
    assert reservations(rt) == [(target, "ABC", 2)] and stock_row(rt, "ABC").reserved == 2
    assert len(auto_actions(rt)) == 1


def test_two_orders_competing_for_the_last_units(make):
    rt = make("enabled = true\nstock_buffer = 1")
    first, second = (o.id for o in waiting(rt)[:2])
    set_lines(rt, first, [("LAST", 3)])  # type: ignore[arg-type]
    set_lines(rt, second, [("LAST", 3)])  # type: ignore[arg-type]
    isolate(rt, [first, second])  # type: ignore[list-item]
    set_stock(rt, LAST=6)  # 6 - 1 kept back covers one order of 3, not two
    result = run_auto_accept(rt, "shop")
    assert result.accepted == [first]
    assert result.held[second] == ("stock for SKU LAST: 3 available, 1 kept as buffer, 3 needed "
                                   "(6 in stock, 3 reserved by accepted orders)")
    assert stock_row(rt, "LAST").reserved == 3


def test_two_workers_at_once_never_reserve_the_same_units(make, tmp_path):
    rt = make("enabled = true\nstock_buffer = 0")
    ids = [o.id for o in waiting(rt)[:4]]
    for order_id in ids:
        set_lines(rt, order_id, [("LAST", 2)])  # type: ignore[arg-type]
    isolate(rt, ids)  # type: ignore[arg-type]
    set_stock(rt, LAST=5)  # room for two orders of 2, not three
    other = open_rt(tmp_path / "config.toml")  # a second worker: its own engine and connections
    barrier = threading.Barrier(2)
    results: list = []
    errors: list[BaseException] = []

    def work(runtime: Runtime) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(run_auto_accept(runtime, "shop"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in (rt, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    other.close()
    assert not errors, errors
    accepted = sorted(i for r in results for i in r.accepted)
    assert len(accepted) == 2 and len(set(accepted)) == 2
    assert stock_row(rt, "LAST").reserved == 4
    assert sorted(o for o, _, _ in reservations(rt)) == accepted
    assert sorted(a.order_id for a in auto_actions(rt)) == accepted


def test_reservations_are_released_on_cancel_and_consumed_on_shipping(make):
    rt = make("enabled = true\nstock_buffer = 0")
    a, b, c = (o.id for o in waiting(rt)[:3])
    for order_id in (a, b, c):
        set_lines(rt, order_id, [("ABC", 2)])  # type: ignore[arg-type]
    isolate(rt, [a, b, c])  # type: ignore[list-item]
    set_stock(rt, ABC=10)
    assert run_auto_accept(rt, "shop").accepted == [a, b, c]
    assert stock_row(rt, "ABC").reserved == 6
    with rt.store.write() as session:
        for order_id, status in ((a, "canceled"), (b, "shipped")):
            order = session.get(Order, order_id)
            order.status = status  # type: ignore[union-attr]
            session.add(order)
        action = session.exec(select(Action).where(Action.order_id == c)).one()
        action.state = "rejected"  # the marketplace said no to the automatic accept
        session.add(action)
    result = run_auto_accept(rt, "shop")
    assert result.settled == 3
    row = stock_row(rt, "ABC")
    # a and c gave their 2 units back; b's 2 units left the warehouse.
    assert (row.quantity, row.reserved) == (8, 0)
    assert reservations(rt) == []
    assert c not in result.accepted  # a rejected automatic accept is not retried: it is the human's now
    assert run_auto_accept(rt, "shop").settled == 0


# -------------------------------------------------------------------- through the sync and the command line


def test_sync_once_delivers_the_accept_and_the_order_ends_accepted(make):
    rt = make("enabled = true")
    results = asyncio.run(sync_once(rt))
    assert results[0].error is None and results[0].auto_accepted is not None
    assert results[0].auto_accepted.accepted and not results[0].auto_accepted.held
    action = next(a for a in auto_actions(rt) if a.order_id == results[0].auto_accepted.accepted[0])
    assert action.attempts >= 1 and action.state != "queued"  # delivered in the same pass
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with rt.store.read() as session:
            order = session.get(Order, action.order_id)
            action = session.get(Action, action.id)
        assert order is not None and action is not None
        if action.state == "done" and order.status in ("accepted", "waiting_shipment"):
            break
        time.sleep(0.3)
        asyncio.run(sync_once(rt))
    assert action.state == "done", action.last_error
    assert order.status in ("accepted", "waiting_shipment") and order.pending_actions == 0


def test_held_reason_is_visible_in_orders_show_and_sync_prints_a_summary(make, tmp_path):
    rt = make("enabled = true\nstock_buffer = 2")
    target = waiting(rt)[0]
    set_lines(rt, target.id, [("ABC", 4)])  # type: ignore[arg-type]
    isolate(rt, [target.id])  # type: ignore[list-item]
    set_stock(rt, ABC=3)
    run_auto_accept(rt, "shop")
    config = tmp_path / "config.toml"
    shown = cli(config, "orders", "show", str(target.id)).stdout
    assert "auto-accept left it for a human: stock for SKU ABC: 3 available, 2 kept as buffer, 4 needed" in shown
    as_json = cli(config, "orders", "show", "--json", str(target.id)).stdout
    assert '"auto_accept_note": "stock for SKU ABC: 3 available' in as_json

    # Stock arrives through the command line; the next run accepts the held order.
    stock_file = tmp_path / "stock.csv"
    stock_file.write_bytes("\ufeffsku;quantity\r\nABC;6\r\nNEW-1;0\r\n".encode())
    out = cli(config, "stock", "import", str(stock_file)).stdout
    assert "2 SKUs read" in out and "1 created, 1 updated" in out
    assert run_auto_accept(rt, "shop").accepted == [target.id]
    assert note(rt, target.id) is None  # type: ignore[arg-type]
    # `sync --once` runs the step too and says what it did (no delivery: the sandbox does not know the
    # rewritten lines).
    synced = cli(config, "sync", "--once", "--no-deliver").stdout
    assert re.search(r"^shop: auto-accept: \d+ accepted, \d+ held$", synced, re.M), synced
    listed = cli(config, "stock", "list", "--sku", "AB*").stdout.splitlines()
    assert listed[0].split() == ["SKU", "QUANTITY", "RESERVED", "AVAILABLE"]
    assert listed[1].split() == ["ABC", "6", "4", "2"]
    shown = cli(config, "orders", "show", str(target.id)).stdout
    assert "auto-accept left it" not in shown


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("sku,quantity\nABC,1\nDEF,many\n", 3, "quantity 'many' of SKU DEF is not a whole number"),
        ("sku,quantity\nABC,1\n,4\n", 3, "the SKU is empty"),
        ("sku,quantity\nABC,1\nDEF,-2\n", 3, "negative"),
        ("sku,quantity\nABC,1\n\nABC,2\n", 4, "SKU ABC is listed twice (lines 2 and 4)"),
        ("sku,qty\nABC,1\n", 1, "header must name the columns sku and quantity"),
        ("sku;quantity\nABC;1\nDEF\n", 3, "expected 2 columns separated by ';', found 1"),
        ("", 1, "empty file"),
    ],
)
def test_stock_file_errors_name_the_line(tmp_path, content, line, words):
    path = tmp_path / "stock.csv"
    path.write_text(content)
    with pytest.raises(StockFileError) as info:
        parse_stock_csv(path)
    assert info.value.line == line and words in str(info.value)
    assert str(info.value).startswith(f"{path}, line {line}: ")


def test_stock_file_with_bom_semicolons_and_extra_columns(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes("\ufeffTitle;SKU;Quantity\r\nLivre;BOOK-1;12\r\n\"Sac; 30 L\";SAC-30; 0\r\n".encode())
    assert [(r.sku, r.quantity, r.line) for r in parse_stock_csv(path)] == [("BOOK-1", 12, 2), ("SAC-30", 0, 3)]


def test_stock_import_cli_bad_row_changes_nothing(tmp_path, db_url):
    config = write_config(tmp_path, db_url, None)
    good = tmp_path / "good.csv"
    good.write_text("sku,quantity\nABC,5\n")
    assert "1 created" in cli(config, "stock", "import", str(good)).stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,quantity\nABC,9\nNEW,3\nXYZ,3.5\n")
    proc = cli(config, "stock", "import", str(bad), ok=False)
    assert proc.returncode == 2
    assert f"{bad}, line 4: quantity '3.5' of SKU XYZ is not a whole number; nothing was imported" in proc.stderr
    listed = cli(config, "stock", "list").stdout.splitlines()
    assert [line.split() for line in listed[1:-1]] == [["ABC", "5", "0", "5"]]
    missing = cli(config, "stock", "import", str(tmp_path / "nope.csv"), ok=False)
    assert missing.returncode == 2 and "nope.csv: file not found" in missing.stderr
