"""The daemon's ``/healthz`` and ``/metrics``, served on 127.0.0.1 inside the daemon's event loop.

Metrics live in a registry of their own (not prometheus_client's global one, which would also carry the
process collectors of whatever imported it). Labels are bounded: channel names come from the config,
states and results from fixed lists — never an order or action id.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request

    from lengow_tui.sync.schedule import ChannelState

HOST = "127.0.0.1"  # never another interface: the endpoints have no authentication
# /healthz answers 503 when the daemon's heartbeat (a database write every few seconds) is older than
# this: the loop is stuck, or the database is.
STALL_AFTER_SECONDS = 30.0
OUTBOX_STATES = ("queued", "sending", "awaiting_confirmation", "retrying", "done", "rejected", "dead")
IMPORT_RESULTS = ("created", "updated", "unchanged")


class DaemonMetrics:
    """The daemon's Prometheus metrics. Counters are this process's; gauges are refreshed by the daemon."""

    def __init__(self) -> None:
        # No "<counter>_created" series: they double the output and nobody alerts on them. (A process-wide
        # switch in prometheus_client; this process is the daemon.)
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.orders_imported = Counter(
            "lengow_tui_orders_imported",
            "Orders read from marketplaces by this daemon, by what the import did.",
            ["channel", "result"], registry=r)
        self.import_runs = Counter(
            "lengow_tui_import_runs", "Import passes run, successful or not.", ["channel"], registry=r)
        self.import_errors = Counter(
            "lengow_tui_import_errors",
            "Import passes that failed (including a client that could not be built).",
            ["channel"], registry=r)
        self.actions_delivered = Counter(
            "lengow_tui_actions_delivered",
            "Action deliveries (or polls) by the state they left the action in.",
            ["channel", "state"], registry=r)
        self.outbox_actions = Gauge(
            "lengow_tui_outbox_actions", "Actions in the outbox, by state (all channels).", ["state"],
            registry=r)
        self.since_success = Gauge(
            "lengow_tui_seconds_since_last_import_success",
            "Seconds since the channel's last successful import (+Inf: never).", ["channel"], registry=r)
        self.up = Gauge(
            "lengow_tui_daemon_up", "1 while the daemon runs, 0 once it is shutting down.", registry=r)
        self.started = Gauge(
            "lengow_tui_daemon_start_time_seconds", "Unix time the daemon started.", registry=r)

    def add_channel(self, state: ChannelState) -> None:
        """Create the channel's series at zero, so they exist before the first event."""
        for result in IMPORT_RESULTS:
            self.orders_imported.labels(state.name, result)
        self.import_runs.labels(state.name)
        self.import_errors.labels(state.name)
        self.since_success.labels(state.name).set_function(state.seconds_since_success)

    def set_outbox(self, counts: dict[str, int]) -> None:
        for state in OUTBOX_STATES:
            self.outbox_actions.labels(state).set(counts.get(state, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


@dataclass
class HealthView:
    """What ``/healthz`` reports; the daemon fills it in."""

    worker: str
    channels: dict[str, ChannelState]
    started_monotonic: float = field(default_factory=time.monotonic)
    last_heartbeat: float = field(default_factory=time.monotonic)  # monotonic time of the last good heartbeat
    stopping: bool = False

    def snapshot(self) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()
        heartbeat_age = now - self.last_heartbeat
        if self.stopping:
            status, code = "stopping", 503
        elif heartbeat_age > STALL_AFTER_SECONDS:
            status, code = "stalled", 503
        else:
            status, code = "ok", 200
        body = {
            "status": status,
            "worker": self.worker,
            "uptime": round(now - self.started_monotonic, 1),
            "heartbeat_age": round(heartbeat_age, 1),
            "channels": {name: state.as_health() for name, state in self.channels.items()},
        }
        return code, body


def build_app(view: HealthView, metrics: DaemonMetrics) -> Starlette:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def healthz(_request: Request) -> Response:
        code, body = view.snapshot()
        return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics_endpoint)])


def bind_health_socket(port: int) -> socket.socket:
    """Bind 127.0.0.1:``port`` now, so that a port in use is a clear start-up error (uvicorn would
    call ``sys.exit`` from inside the loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    sock.listen(16)
    sock.setblocking(False)
    return sock


class HealthServer:
    """uvicorn serving :func:`build_app` on an already bound socket, as a task of the daemon's loop."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        import uvicorn

        class _Server(uvicorn.Server):
            # The daemon owns SIGTERM/SIGINT; uvicorn would otherwise replace our handlers while it serves.
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self.server = _Server(config)
        self.sock = sock
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]), name="health-server")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, timeout=5)
        self.sock.close()
