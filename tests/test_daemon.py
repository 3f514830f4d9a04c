"""``lengow-tui sync --watch`` as an operator runs it: a real subprocess, a config in a temporary directory,
sandbox marketplaces sped up, and test connectors installed as a real distribution
(``tests/fixtures/plugins/lengow_tui_fx_daemon.py``).

No assertion is about time: waits are bounded, and a wait that runs out fails with what it was waiting for
and the daemon's log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "plugins"
SECRET = "s3cr3t-Token-4-daemon-test"  # a secret setting of channel "slow": must never be logged
WAIT = 90.0  # upper bound of any wait (seconds); reached only when something is broken
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory holding the test connectors as an installed distribution (found by entry point)."""
    site = tmp_path_factory.mktemp("daemon-site")
    info = site / "lengow_tui_fx_daemon-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lengow-tui-fx-daemon\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[lengow_tui]\nfx_daemon = lengow_tui_fx_daemon\n")
    shutil.copy(FIXTURES / "lengow_tui_fx_daemon.py", site / "lengow_tui_fx_daemon.py")
    return site


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else str(value)


SANDBOX = {"seed": 7, "time_scale": 60, "reject_rate": "0", "unknown_status_rate": "0", "initial_orders": 40}


def write_config(root: Path, url: str, channels: dict[str, dict[str, object]]) -> Path:
    lines = [f"[database]\nurl = {toml_value(url)}", f"[paths]\ndata_dir = {toml_value(str(root / 'data'))}",
             "[sync]\ninterval_seconds = 1"]
    for name, settings in channels.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    path = root / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def make_env(root: Path, config: Path, site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LENGOW_TUI", "XDG_"))}
    home = root / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), LENGOW_TUI_CONFIG=str(config),
               PYTHONPATH=str(site), COLUMNS="200")
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lengow_tui.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


class Daemon:
    """A ``sync --watch`` subprocess; its log goes to a file (``--log-file``) or to ``stderr.txt``."""

    def __init__(self, env: dict[str, str], root: Path, *args: str, log_file: bool = True) -> None:
        self.env = env
        self.port = free_port()
        self.log_path = root / ("daemon.log" if log_file else "stderr.txt")
        self.stdout = (root / "stdout.txt").open("w")
        self.stderr = self.log_path.open("w") if not log_file else (root / "stderr.txt").open("w")
        command = [sys.executable, "-m", "lengow_tui.cli", "sync", "--watch", "--health-port", str(self.port),
                   *(["--log-file", str(self.log_path)] if log_file else []), *args]
        self.proc = subprocess.Popen(command, env=env, stdout=self.stdout, stderr=self.stderr, text=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def events(self, event: str | None = None, **match: object) -> list[dict[str, Any]]:
        """The parsed JSON log lines (optionally only ``event`` with fields equal to ``match``)."""
        out = []
        for line in self.log_text().split("\n")[:-1]:  # complete lines only: the daemon may be mid-write
            if not line.strip() or not line.startswith("{"):
                continue
            doc = json.loads(line)
            if event is not None and doc.get("event") != event:
                continue
            if all(doc.get(k) == v for k, v in match.items()):
                out.append(doc)
        return out

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def health(self) -> dict[str, Any] | None:
        try:
            return self.get("/healthz").json()
        except httpx.HTTPError:
            return None

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float = WAIT) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.proc.poll() is not None:
                code = self.proc.returncode
                pytest.fail(f"the daemon exited ({code}) while waiting for {what}\n{self.tail()}")
            time.sleep(0.2)
        pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}\n{self.tail()}")

    def tail(self) -> str:
        stderr = self.log_path.parent / "stderr.txt"
        errors = stderr.read_text() if self.log_path != stderr else ""
        last = "\n".join(self.log_text().splitlines()[-40:])
        return f"daemon log (last lines):\n{last}\n{errors[-3000:]}"

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the daemon did not exit within {timeout:.0f} s of the signal\n{self.tail()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.stdout.close()
        self.stderr.close()


def query(db: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def an_order_to_accept(db: Path, channel: str) -> int:
    rows = query(db, "SELECT o.id FROM orders o JOIN channel c ON c.id = o.channel_id WHERE c.name = ? "
                     "AND o.status = 'waiting_acceptance' AND o.marketplace = 'mirakl_sandbox' "
                     "AND o.pending_actions = 0 ORDER BY o.id", channel)
    assert rows, f"no mirakl_sandbox order waiting for acceptance in channel {channel}"
    return int(rows[0][0])


def queue_accept(env: dict[str, str], order_id: int) -> int:
    out = cli(env, "orders", "accept", str(order_id))
    assert out.returncode == 0, out.stdout + out.stderr
    return int(out.stdout.split("action #")[1].split()[0])


def action_state(db: Path, action_id: int) -> str:
    return str(query(db, "SELECT state FROM action WHERE id = ?", action_id)[0][0])


Running = tuple[Daemon, Path, dict[str, str]]  # the daemon, its database file, the environment of its CLI


def imported(daemon: Daemon, channel: str) -> bool:
    return bool(daemon.events("import_done", channel=channel))


# ---------------------------------------------------------------------- one daemon, several channels


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, site: Path) -> Iterator[Running]:
    """A daemon over four channels: the sandbox (shop), one polled every second (fast), one that may be
    polled hourly only and has a secret (slow), one whose client cannot be built (broken)."""
    root = tmp_path_factory.mktemp("daemon")
    db = root / "data" / "lengow-tui.db"
    config = write_config(root, f"sqlite:///{db}", {
        "shop": {"connector": "sandbox", **SANDBOX},
        "fast": {"connector": "fx_fast", **SANDBOX, "seed": 8},
        "slow": {"connector": "fx_slow", **SANDBOX, "seed": 9, "api_token": SECRET},
        "broken": {"connector": "fx_broken", "api_token": SECRET + "-broken"},
    })
    env = make_env(root, config, site)
    daemon = Daemon(env, root, "--interval", "1", "--grace", "10")
    try:
        daemon.wait_for("the first import of channel shop", lambda: imported(daemon, "shop"))
        yield daemon, db, env
    finally:
        daemon.close()


def test_imports_orders_and_delivers_a_queued_action(running: Running) -> None:
    daemon, db, env = running
    count = query(db, "SELECT count(*) FROM orders o JOIN channel c ON c.id = o.channel_id "
                      "WHERE c.name = 'shop'")
    assert count[0][0] >= 40
    action_id = queue_accept(env, an_order_to_accept(db, "shop"))
    daemon.wait_for(f"action #{action_id} to be done", lambda: action_state(db, action_id) == "done")
    attempts = query(db, "SELECT worker FROM action_attempt WHERE action_id = ?", action_id)
    assert attempts and all(w == f"{socket.gethostname()}:{daemon.pid}" for (w,) in attempts)
    daemon.wait_for("the delivery to be logged",
                    lambda: any(e["done"] >= 1 for e in daemon.events("actions_delivered", channel="shop")))


def test_health_and_metrics_answer(running: Running) -> None:
    daemon, _db, _env = running
    response = daemon.get("/healthz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["worker"] == f"{socket.gethostname()}:{daemon.pid}"
    assert body["uptime"] >= 0 and set(body["channels"]) == {"shop", "fast", "slow", "broken"}
    shop = body["channels"]["shop"]
    assert shop["last_success"] and shop["last_error"] is None and shop["next_import_in"] is not None

    no_error_yet = 'lengow_tui_import_errors_total{channel="broken"} 0.0'
    daemon.wait_for("a failed import of 'broken' in the metrics",
                    lambda: no_error_yet not in daemon.get("/metrics").text)
    metrics = daemon.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    samples = parse_metrics(metrics.text)
    assert samples[("lengow_tui_daemon_up", ())] == 1
    assert samples[("lengow_tui_orders_imported_total", (("channel", "shop"), ("result", "created")))] >= 40
    assert samples[("lengow_tui_import_errors_total", (("channel", "broken"),))] >= 1
    assert samples[("lengow_tui_import_errors_total", (("channel", "shop"),))] == 0
    assert samples[("lengow_tui_seconds_since_last_import_success", (("channel", "broken"),))] == float("inf")
    assert samples[("lengow_tui_seconds_since_last_import_success", (("channel", "shop"),))] < float("inf")
    for state in ("queued", "sending", "retrying", "done", "dead"):
        assert ("lengow_tui_outbox_actions", (("state", state),)) in samples
    assert "# TYPE lengow_tui_orders_imported_total counter" in metrics.text
    # Bounded label sets: channels, states and import results only — never an order or action id.
    labels = {name for (_metric, pairs) in samples for name, _ in pairs}
    assert labels <= {"channel", "result", "state"}, labels
    assert daemon.get("/nope").status_code == 404


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, rest = series.partition("{")
        pairs = tuple(tuple(p.split("=", 1)) for p in rest.rstrip("}").split(",") if p)
        samples[(name, tuple((k, v.strip('"')) for k, v in pairs))] = float(value)
    return samples  # type: ignore[return-value]


def test_a_broken_channel_does_not_stop_the_others(running: Running) -> None:
    daemon, db, _env = running
    failed = daemon.wait_for("channel broken to fail",
                             lambda: daemon.events("client_failed", channel="broken"))
    assert "refused the login" in failed[0]["error"] and failed[0]["level"] == "error"
    first_failure = failed[0]["ts"]
    daemon.wait_for("channel fast to import again after broken failed",
                    lambda: [e for e in daemon.events("import_done", channel="fast")
                             if e["ts"] > first_failure][2:])
    health = daemon.health()
    assert health is not None and health["status"] == "ok"
    assert "refused the login" in health["channels"]["broken"]["last_error"]
    assert health["channels"]["broken"]["consecutive_failures"] >= 1
    assert health["channels"]["fast"]["last_error"] is None
    # The error is also where the CLI and the TUI read a channel's state.
    row = query(db, "SELECT s.last_error FROM sync_cursor s JOIN channel c ON c.id = s.channel_id "
                    "WHERE c.name = 'broken'")
    assert row and "refused the login" in row[0][0]


def test_the_connector_minimum_poll_interval_wins_over_interval(running: Running) -> None:
    daemon, _db, _env = running
    raised = daemon.wait_for("the log line about slow's interval",
                             lambda: daemon.events("poll_interval_raised", channel="slow"))
    assert len(raised) == 1 and raised[0]["interval"] == 3600 and raised[0]["requested"] == 1
    assert not daemon.events("poll_interval_raised", channel="fast")  # fast allows every second
    # fast imports again and again at --interval 1 while slow has had its one import of the hour
    daemon.wait_for("five imports of channel fast", lambda: daemon.events("import_done", channel="fast")[4:])
    assert len(daemon.events("import_done", channel="slow")) == 1
    health = daemon.health()
    assert health is not None and health["channels"]["slow"]["next_import_in"] > 3000


def test_a_second_daemon_on_the_same_sqlite_database_is_refused(running: Running) -> None:
    daemon, db, env = running
    second = subprocess.run([sys.executable, "-m", "lengow_tui.cli", "sync", "--watch", "--interval", "1"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stdout + second.stderr
    assert "already owns the database" in second.stderr and str(db) in second.stderr
    assert f"pid {daemon.pid}" in second.stderr and "started 20" in second.stderr
    assert daemon.proc.poll() is None  # the first one is untouched
    # ... and what the TUI asks before starting its own background sync:
    from lengow_tui.config import load_config
    from lengow_tui.runtime import open_runtime
    from lengow_tui.sync.daemon import daemon_lock_holder

    runtime = open_runtime(load_config(Path(env["LENGOW_TUI_CONFIG"])), migrate=False)
    try:
        holder = daemon_lock_holder(runtime)
    finally:
        runtime.close()
    assert holder is not None and f"pid {daemon.pid}" in holder
    workers = query(db, "SELECT name, kind, pid, holds FROM worker")
    assert [(w[1], w[2]) for w in workers] == [("daemon", daemon.pid)]
    assert set(json.loads(workers[0][3])["channels"]) == {"shop", "fast", "slow", "broken"}


def test_logs_are_json_lines_without_secrets_or_personal_data(running: Running) -> None:
    daemon, db, _env = running
    daemon.wait_for("a few imports", lambda: daemon.events("import_done", channel="fast")[2:])
    text = daemon.log_text()
    lines = [line for line in text.split("\n")[:-1] if line.strip()]
    assert lines
    for line in lines:
        doc = json.loads(line)  # every line is one JSON object
        assert {"ts", "level", "event"} <= set(doc), line
    assert SECRET not in text
    names = {n for (n,) in query(db, "SELECT buyer_name FROM orders WHERE buyer_name <> ''")}
    names |= {n for (n,) in query(db, "SELECT name FROM party WHERE name <> ''")}
    emails = {e for (e,) in query(db, "SELECT email FROM party WHERE email <> ''")}
    cities = {c for (c,) in query(db, "SELECT address1 FROM party WHERE address1 <> ''")}
    assert names and emails
    leaked = [v for v in names | emails | cities if v in text]
    assert not leaked, f"personal data in the daemon log: {leaked[:5]}"


# ------------------------------------------------------------------------------------------ shutdown


@pytest.fixture
def hanging(tmp_path: Path, site: Path) -> Iterator[tuple[Path, dict[str, str], Path]]:
    db = tmp_path / "data" / "lengow-tui.db"
    config = write_config(tmp_path, f"sqlite:///{db}", {"shop": {"connector": "fx_hang", **SANDBOX}})
    yield tmp_path, make_env(tmp_path, config, site), db


def start_with_action_in_flight(root: Path, env: dict[str, str], db: Path, *args: str) -> tuple[Daemon, int]:
    """A daemon whose marketplace never answers an action: the action stays in flight (``sending``)."""
    daemon = Daemon(env, root, "--interval", "1", *args, log_file=False)
    daemon.wait_for("the first import", lambda: imported(daemon, "shop"))
    action_id = queue_accept(env, an_order_to_accept(db, "shop"))
    daemon.wait_for(f"action #{action_id} to be in flight", lambda: action_state(db, action_id) == "sending")
    return daemon, action_id


def test_sigterm_finishes_or_cancels_in_flight_calls_releases_leases_and_exits_0(
        hanging: tuple[Path, dict[str, str], Path]) -> None:
    root, env, db = hanging
    daemon, action_id = start_with_action_in_flight(root, env, db, "--grace", "2")
    try:
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit(timeout=60) == 0, daemon.tail()
    finally:
        daemon.close()
    state, owner, reconcile = query(db, "SELECT state, lease_owner, needs_reconcile FROM action WHERE id = ?",
                                    action_id)[0]
    # The call was cut off after the grace period: it may have reached the marketplace, so the action is
    # handed back to be reconciled (order re-read) before anything is resent.
    assert (state, owner, reconcile) == ("retrying", None, 1)
    held = query(db, "SELECT count(*) FROM action WHERE state = 'sending' OR lease_owner IS NOT NULL")
    assert held == [(0,)]
    assert query(db, "SELECT count(*) FROM worker") == [(0,)]
    assert daemon.events("shutdown_started", signal="SIGTERM")
    assert daemon.events("shutdown_cancelled", channels=["shop"])
    stopped = daemon.events("daemon_stopped")
    assert stopped and stopped[0]["exit_code"] == 0 and stopped[0]["released_leases"] == 1
    assert not (db.parent / "lengow-tui.db.daemon.lock").read_text()  # nothing stale to mislead anyone


def test_a_second_signal_stops_at_once(hanging: tuple[Path, dict[str, str], Path]) -> None:
    root, env, db = hanging
    daemon, action_id = start_with_action_in_flight(root, env, db, "--grace", "600")
    try:
        daemon.signal(signal.SIGTERM)
        daemon.wait_for("the shutdown to start", lambda: daemon.events("shutdown_started"))
        health = daemon.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "stopping"
        daemon.signal(signal.SIGINT)
        assert daemon.wait_exit(timeout=60) == 1, daemon.tail()  # far sooner than the 600 s grace
    finally:
        daemon.close()
    assert action_state(db, action_id) == "retrying"
    assert query(db, "SELECT count(*) FROM worker") == [(0,)]
    assert daemon.events("shutdown_forced", signal="SIGINT")


def test_once_and_watch_together_is_an_error(hanging: tuple[Path, dict[str, str], Path]) -> None:
    _root, env, _db = hanging
    out = cli(env, "sync", "--once", "--watch")
    assert out.returncode == 2 and "--once and --watch cannot be combined" in out.stderr
    out = cli(env, "sync", "--watch", "--interval", "0")
    assert out.returncode == 2 and "--interval must be a positive number" in out.stderr


# -------------------------------------------------------------------------------------------- PostgreSQL


def test_a_second_daemon_on_the_same_postgresql_database_joins_the_first(tmp_path: Path, site: Path,
                                                                        pg_url: str) -> None:
    """PostgreSQL: any number of workers share one database (issue 7, docs/scale-out.md); SQLite keeps
    one daemon per database file (test above)."""
    from lengow_tui.config import load_config
    from lengow_tui.runtime import open_runtime
    from lengow_tui.sync.daemon import daemon_lock_holder

    config = write_config(tmp_path, pg_url, {"shop": {"connector": "sandbox", **SANDBOX}})
    env = make_env(tmp_path, config, site)
    second_root = tmp_path / "second"
    second_root.mkdir()
    first = Daemon(env, tmp_path, "--interval", "1")
    second = runtime = None
    try:
        first.wait_for("the first import", lambda: imported(first, "shop"))
        runtime = open_runtime(load_config(config), migrate=False)
        second = Daemon(env, second_root, "--interval", "1")
        second.wait_for("the second worker's first delivery tick",
                        lambda: (daemon_lock_holder(runtime) or "").startswith("2 sync workers"))
        assert second.proc.poll() is None, second.tail()
        for daemon in (first, second):
            daemon.signal(signal.SIGTERM)
        for daemon in (first, second):
            assert daemon.wait_exit(timeout=60) == 0, daemon.tail()
        # Once they stopped, no worker is registered: the TUI syncs by itself again.
        assert daemon_lock_holder(runtime) is None
    finally:
        first.close()
        if second is not None:
            second.close()
        if runtime is not None:
            runtime.close()
