"""Serving an emulator's ASGI app on loopback with uvicorn: in a background thread (tests) or in the
foreground of its own process (``python -m <connector>.emulator``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket (``port`` 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it, a response written as headers then body waits for
    # the client's delayed ACK (40 ms a request on Linux loopback).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def make_server(app: Callable[..., Any]) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11",
                            loop="asyncio", timeout_keep_alive=60, timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


@contextmanager
def serve_in_thread(app: Callable[..., Any], stopping: threading.Event, *, name: str) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) in a background thread; yields its base URL. On exit
    ``stopping`` is set (for long answers to give up) and the server stops."""
    sock = bind()
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    if not thread.is_alive():
        sock.close()
        raise RuntimeError(f"the {name} failed to start")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stopping.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
