"""Running the emulator: in a background thread for tests (``run_emulator``) or as a process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from lengow_tui_lengow.emulator.app import build_app
from lengow_tui_lengow.emulator.faults import FaultRule, FaultTable
from lengow_tui_lengow.emulator.state import EmulatorOptions, EmulatorState, RejectRule


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens, the credentials it accepts, and its world."""

    base_url: str
    state: EmulatorState
    faults: FaultTable

    @property
    def access_token(self) -> str:
        return self.state.options.access_token

    @property
    def secret(self) -> str:
        return self.state.options.secret

    @property
    def account_id(self) -> int:
        return self.state.options.account_id

    def inject(self, kind: str, *, path: str = "/v3.0/*", **options: Any) -> None:
        """Same as POST /_emulator/faults: e.g. ``inject("503", path="/v3.0/orders", count=2)``."""
        self.faults.add(FaultRule.from_json({"kind": kind, "path": path, **options}))

    def reject_next(self, message: str, *, order_id: str | None = None, action_type: str | None = None,
                    count: int = 1) -> None:
        """Same as POST /_emulator/rejections: the marketplace refuses the next matching action(s)."""
        with self.state.lock:
            self.state.rejections.append(RejectRule(message, order_id, action_type, count))

    def actions(self) -> dict[str, Any]:
        return self.state.actions_report()


def make_options(**options: Any) -> EmulatorOptions:
    known = {f.name for f in fields(EmulatorOptions)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown emulator option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    if "marketplaces" in options:
        options["marketplaces"] = tuple(options["marketplaces"])
    return EmulatorOptions(**options)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def make_server(state: EmulatorState, faults: FaultTable, stopping: threading.Event) -> Any:
    import uvicorn

    app = build_app(state, faults, stopping)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11",
                            loop="asyncio", timeout_keep_alive=60, timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


@contextmanager
def run_emulator(**options: Any) -> Iterator[EmulatorHandle]:
    """Start the emulator on 127.0.0.1, a free port, in a background thread; stop it on exit.

    ``options`` are :class:`EmulatorOptions` fields (orders, seed, access_token, secret, account_id,
    marketplaces, token_lifetime_seconds, action_delay_seconds, rate_limit_per_minute...).
    """
    state = EmulatorState(make_options(**options))
    faults = FaultTable()
    stopping = threading.Event()
    sock = bind()
    server = make_server(state, faults, stopping)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="lengow-emulator", daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    if not thread.is_alive():
        raise RuntimeError("the Lengow emulator failed to start")
    try:
        yield EmulatorHandle(f"http://127.0.0.1:{port}", state, faults)
    finally:
        stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
