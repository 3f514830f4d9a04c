"""The demo against a marketplace emulator: ``lengow-tui demo --marketplace mirakl|lengow``.

The emulator runs as a background process of its own (a real HTTP server on 127.0.0.1), so that the
desk, ``lengow-tui sync`` and any other command talk to it over HTTP exactly as they would to the
marketplace, until ``lengow-tui demo --marketplace mirakl --stop``. Its world lives in its memory:
when it is (re)started, the demo database starts afresh too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class EmulatedMarketplace:
    name: str
    module: str  # ``python -m`` runs the emulator; it prints its base URL first
    connector: str
    channel: str
    settings: dict[str, Any] = field(default_factory=dict)  # channel settings besides base_url
    args: tuple[str, ...] = ()  # the emulator's options, credentials included (demo values)


MARKETPLACES = {
    "mirakl": EmulatedMarketplace(
        name="mirakl", module="lengow_tui_mirakl.emulator", connector="mirakl", channel="fnac",
        settings={"api_key": "demo-mirakl-key", "operator": "fnac_darty"},
        # Accepted orders reach "waiting shipment" a few seconds later, as a debit would.
        args=("--api-key", "demo-mirakl-key", "--orders", "300", "--seed", "42", "--operator", "fnac_darty",
              "--debit-delay", "5", "--refund-delay", "20"),
    ),
    "lengow": EmulatedMarketplace(
        name="lengow", module="lengow_tui_lengow.emulator", connector="lengow", channel="lengow",
        settings={"access_token": "demo-lengow-token", "secret": "demo-lengow-secret", "account_id": 4242},
        # One Lengow account, several marketplaces (Amazon, Cdiscount, ManoMano, Fnac).
        args=("--access-token", "demo-lengow-token", "--secret", "demo-lengow-secret", "--account-id", "4242",
              "--orders", "300", "--seed", "42", "--action-delay", "2"),
    ),
}


@dataclass
class RunningEmulator:
    url: str
    pid: int
    fresh: bool  # started now (the demo database must start afresh)


def _alive(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_emulator/state", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _read(path: Path) -> tuple[int, str] | None:
    try:
        pid_text, url = path.read_text(encoding="utf-8").split()[:2]
        return int(pid_text), url
    except (OSError, ValueError):
        return None


def ensure_emulator(market: EmulatedMarketplace, folder: Path) -> RunningEmulator:
    """The running emulator of ``market`` whose pid and URL are kept in ``folder``, or a new one."""
    folder.mkdir(parents=True, exist_ok=True)
    state_file = folder / "emulator.pid"
    known = _read(state_file)
    if known is not None and _alive(known[1]):
        return RunningEmulator(known[1], known[0], fresh=False)
    log = (folder / "emulator.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", market.module, "--port", "0", *market.args],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    url = process.stdout.readline().decode().strip()  # the emulator prints its URL first, flushed
    while not _alive(url) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.1)
    if not url.startswith("http") or not _alive(url):
        process.kill()
        raise RuntimeError(f"the {market.name} emulator did not start; see {folder / 'emulator.log'}")
    # Its further output is not read: let it go to the log, or the pipe would fill and block it.
    process.stdout.close()
    state_file.write_text(f"{process.pid} {url}\n", encoding="utf-8")
    return RunningEmulator(url, process.pid, fresh=True)


def stop_emulator(folder: Path) -> str:
    known = _read(folder / "emulator.pid")
    if known is None:
        return "no demo emulator is running"
    pid, url = known
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    (folder / "emulator.pid").unlink(missing_ok=True)
    return f"stopped the emulator at {url} (pid {pid})"


def demo_config_for(market: EmulatedMarketplace, folder: Path, url: str) -> dict[str, Any]:
    from lengow_tui.config import default_config_dict

    config = default_config_dict()
    config["paths"] = {"data_dir": str(folder / "data"), "log_dir": str(folder / "logs")}
    config["sync"]["interval_seconds"] = 10
    config["channels"] = {market.channel: {
        "connector": market.connector, "enabled": True, "base_url": url, **market.settings,
    }}
    return config
