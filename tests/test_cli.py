"""The command line as a new user drives it, in a subprocess with its own config and data dirs."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith(("LENGOW_TUI", "XDG_"))}
    e.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
             XDG_STATE_HOME=str(home / ".local/state"), COLUMNS="200")
    return e


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lengow_tui.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def demo(env: dict[str, str]) -> dict[str, str]:
    out = run(env, "demo", "--no-tui")
    assert "created demo config" in out.stdout and "150 new" in out.stdout
    config = Path(env["XDG_CONFIG_HOME"]) / "lengow-tui" / "config.toml"
    assert config.exists()
    # Speed the sandbox up and keep it from rejecting, so the test is fast and predictable.
    text = config.read_text().replace("seed = 42", 'seed = 42\ntime_scale = 5\nreject_rate = "0"')
    config.write_text(text)
    return env


def orders(env: dict[str, str], *args: str) -> list[dict]:
    return json.loads(run(env, "orders", "list", "--json", "--limit", "500", *args).stdout)["orders"]


def test_new_user_accepts_an_order_and_sees_it_through(demo: dict[str, str]):
    waiting = orders(demo, "--status", "waiting_acceptance")
    assert waiting and all(o["status"] == "waiting_acceptance" for o in waiting)
    target = next(o for o in waiting if o["marketplace"] == "mirakl_sandbox")
    out = run(demo, "orders", "accept", str(target["id"]))
    assert "queued as action #" in out.stdout
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run(demo, "sync", "--once")
        shown = json.loads(run(demo, "orders", "show", str(target["id"]), "--json").stdout)
        seen.append(shown["status"])
        if shown["status"] == "waiting_shipment" and shown["actions"][0]["state"] == "done":
            break
        time.sleep(0.5)
    assert seen[-1] == "waiting_shipment", seen
    text = run(demo, "orders", "show", str(target["id"])).stdout
    assert "accept  done" in text and "status waiting_acceptance -> accepted" in text
    assert "accepted -> waiting_shipment" in text
    # Re-running sync imports no duplicates.
    count = json.loads(run(demo, "orders", "list", "--json", "--limit", "1").stdout)["total"]
    run(demo, "sync", "--once")
    assert json.loads(run(demo, "orders", "list", "--json", "--limit", "1").stdout)["total"] >= count


def test_refused_actions_name_the_argument_and_queue_nothing(demo: dict[str, str]):
    tracked = [o for o in orders(demo, "--status", "waiting_shipment") if o["marketplace"] == "pickup_sandbox"]
    detail = None
    for order in tracked:
        detail = json.loads(run(demo, "orders", "show", str(order["id"]), "--json").stdout)
        if detail["delivery_type"] == "tracked":
            break
    assert detail is not None and detail["delivery_type"] == "tracked"
    carrier = next(a for a in detail["available_actions"] if a["kind"] == "ship")["arguments"][0]
    out = run(demo, "orders", "ship", str(detail["id"]), "--arg", f"carrier={next(iter(carrier['values']))}", ok=False)
    assert out.returncode == 1
    assert "- tracking_number: " in out.stderr
    assert "is required when the order's delivery type is 'tracked'" in out.stderr
    closed = orders(demo, "--status", "closed")[0]
    out = run(demo, "orders", "accept", str(closed["id"]), ok=False)
    assert out.returncode == 1 and "does not allow accept on an order that is Closed" in out.stderr
    out = run(demo, "orders", "accept", str(closed["id"]), "--arg", "oops", ok=False)
    assert out.returncode == 2 and "expected key=value" in out.stderr
    db = Path(demo["XDG_DATA_HOME"]) / "lengow-tui" / "demo" / "lengow-tui.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from action").fetchone() == (0,)


def test_export_csv_and_json_and_anonymized_orders(demo: dict[str, str], tmp_path: Path):
    db = Path(demo["XDG_DATA_HOME"]) / "lengow-tui" / "demo" / "lengow-tui.db"
    first = orders(demo, "--status", "closed")[0]
    with sqlite3.connect(db) as conn:
        conn.execute("update orders set anonymized_at = '2026-01-01 00:00:00.000000' where id = ?", (first["id"],))
    out_file = tmp_path / "closed.csv"
    run(demo, "export", "--status", "closed", "-o", str(out_file))
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    assert len(rows) == len(orders(demo, "--status", "closed"))
    anon = next(r for r in rows if r["id"] == str(first["id"]))
    assert anon["anonymized"] == "True"
    assert all(anon[c] == "" for c in ("buyer_name", "buyer_email", "buyer_phone", "shipping_name", "shipping_address"))
    assert anon["total"] and anon["marketplace_order_id"] == first["marketplace_order_id"]
    others = [r for r in rows if r["id"] != str(first["id"])]
    assert all(r["buyer_name"] for r in others)
    data = json.loads(run(demo, "export", "--format", "json", str(first["id"])).stdout)
    assert len(data) == 1 and data[0]["lines"] and data[0]["buyer_email"] == ""


def test_bad_config_exits_2_and_writes_nothing(env: dict[str, str], tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text('[channels.shop]\nconnector = "sandbox"\nseed = "forty-two"\n')
    before = sorted(p.name for p in tmp_path.iterdir())
    out = run(env, "--config", str(config), "sync", "--once", ok=False)
    assert out.returncode == 2
    assert str(config) in out.stderr and "line 3" in out.stderr and "channels.shop.seed" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_unknown_channel_and_status_are_clear_errors(demo: dict[str, str]):
    out = run(demo, "orders", "list", "--status", "shiped", ok=False)
    assert out.returncode == 2 and "unknown status 'shiped'" in out.stderr
    out = run(demo, "sync", "--once", "--channel", "nope", ok=False)
    assert out.returncode == 2 and "unknown channel 'nope'" in out.stderr


def test_list_table_is_readable(demo: dict[str, str]):
    out = run(demo, "orders", "list", "--limit", "3").stdout
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["ID", "ORDERED", "CHANNEL"] and len(rows) == 4
    assert rows[-1].startswith("1-3 of 150 orders")
    csv_text = run(demo, "export", "--status", "new").stdout
    assert next(csv.reader(io.StringIO(csv_text)))[0] == "id"


def test_demo_against_the_mirakl_emulator_over_http(env: dict[str, str], tmp_path: Path):
    """`demo --marketplace mirakl` runs the Mirakl connector against its emulator in the background;
    the CLI then accepts, ships, refunds and saves an invoice over real HTTP."""
    out = run(env, "demo", "--marketplace", "mirakl", "--no-tui")
    try:
        assert "started the mirakl emulator at http://127.0.0.1:" in out.stdout and "fnac: 300 new" in out.stdout
        config = next(line.split("=", 1)[1] for line in out.stdout.splitlines() if "LENGOW_TUI_CONFIG=" in line)
        e = env | {"LENGOW_TUI_CONFIG": config.strip()}
        again = run(e, "demo", "--marketplace", "mirakl", "--no-tui")  # reuses the running emulator
        assert "emulator is running at" in again.stdout and "0 new" in again.stdout
        waiting = json.loads(run(e, "orders", "list", "--status", "waiting_acceptance", "--json").stdout)
        order = str(waiting["orders"][0]["id"]) if isinstance(waiting, dict) else str(waiting[0]["id"])
        run(e, "orders", "accept", order, "--now")
        for _ in range(40):  # the emulated debit takes 5 s
            shown = json.loads(run(e, "orders", "show", order, "--json").stdout)
            if shown["status"] == "waiting_shipment":
                break
            time.sleep(0.5)
            run(e, "sync", "--once")
        assert shown["status"] == "waiting_shipment"
        run(e, "orders", "ship", order, "--arg", "carrier=COLISSIMO", "--arg", "tracking_number=6A12345678901",
            "--now")
        shown = json.loads(run(e, "orders", "show", order, "--json").stdout)
        assert shown["status"] == "shipped" and shown["tracking"]["number"] == "6A12345678901"
        line = shown["lines"][0]["line_id"]
        run(e, "orders", "refund", order, "--line", f"{line}:1", "--arg", "reason=13", "--now")
        assert json.loads(run(e, "orders", "show", order, "--json").stdout)["status"] == "refunding"
        folder = tmp_path / "docs"
        folder.mkdir()
        saved = run(e, "orders", "document", order, "--kind", "invoice", "--to", str(folder))
        assert "saved invoice" in saved.stdout
        (pdf,) = folder.iterdir()
        assert pdf.read_bytes().startswith(b"%PDF")
    finally:
        stopped = run(env, "demo", "--marketplace", "mirakl", "--stop")
    assert "stopped the emulator" in stopped.stdout
