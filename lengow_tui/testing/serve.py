"""Run an emulator (any ASGI app, e.g. Starlette) on a loopback port in a background thread.

Connectors are tested over real HTTP against an emulator of their marketplace, not a mocked transport:
the kit then sees what the merchant's machine would see (headers, status codes, timeouts, resets).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["serve_asgi"]


@contextmanager
def serve_asgi(app: Any, *, host: str = "127.0.0.1", startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on ``host`` at a free port until the ``with`` block ends; yields the base URL.

    ::

        with serve_asgi(build_app(state)) as base_url:
            ...  # http://127.0.0.1:54321
    """
    import uvicorn  # imported here: only tests need a server

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.setblocking(False)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11",
                            loop="asyncio", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="kit-emulator", daemon=True)
    thread.start()
    waited = 0.0
    while not server.started and thread.is_alive() and waited < startup_timeout:
        threading.Event().wait(0.01)
        waited += 0.01
    if not server.started:
        server.should_exit = True
        sock.close()
        raise RuntimeError("the emulator did not start (see the log above)")
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
