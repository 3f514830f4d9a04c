"""Running the emulator: in a background thread for tests (``run_emulator``) or as a process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from lengow_tui_mirakl.emulator.app import build_app
from lengow_tui_mirakl.emulator.faults import FaultRule, FaultTable
from lengow_tui_mirakl.emulator.state import EmulatorOptions, EmulatorState


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens and direct access to its world."""

    base_url: str
    api_key: str
    state: EmulatorState
    faults: FaultTable

    def inject(self, kind: str, *, path: str = "/api/*", **options: Any) -> None:
        """Same as POST /_emulator/faults: e.g. ``inject("503", path="/api/orders", count=2)``."""
        self.faults.add(FaultRule.from_json({"kind": kind, "path": path, **options}))

    def actions(self) -> dict[str, Any]:
        return self.state.actions_report()


def make_options(**options: Any) -> EmulatorOptions:
    known = {f.name for f in fields(EmulatorOptions)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown emulator option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return EmulatorOptions(**options)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it, a response written as headers then body waits for
    # the client's delayed ACK (40 ms a request on Linux loopback).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    ``options`` are :class:`EmulatorOptions` fields (orders, seed, api_key, operator, debit_delay_seconds...).
    """
    state = EmulatorState(make_options(**options))
    faults = FaultTable()
    stopping = threading.Event()
    sock = bind()
    server = make_server(state, faults, stopping)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="mirakl-emulator", daemon=True)
    thread.start()
    port = sock.getsockname()[1]
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    if not thread.is_alive():
        raise RuntimeError("the Mirakl emulator failed to start")
    try:
        yield EmulatorHandle(f"http://127.0.0.1:{port}", state.options.api_key, state, faults)
    finally:
        stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
