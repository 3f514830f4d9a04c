"""``lengow-tui sync --watch``: the sync engine as a long-running daemon.

One asyncio task per channel, each with its own marketplace client kept for the daemon's life (rebuilt
after a failure), so that one channel failing or hanging never holds up another. A channel imports on
its schedule (:mod:`lengow_tui.sync.schedule`) and delivers due actions every couple of seconds. Beside
them: a heartbeat (the ``worker`` row, outbox gauges), the daily retention purge, and optionally the
``/healthz`` + ``/metrics`` server.

Shutdown (SIGTERM or SIGINT): stop claiming and starting work, let in-flight marketplace calls finish for
up to ``grace`` seconds, cancel what remains, hand back every lease (in-flight actions are reconciled
before any resend), delete the worker row. A second signal skips the wait.

The import, auto-accept and delivery steps are the ones ``sync --once`` runs
(:func:`lengow_tui.sync.run.sync_channel`); only the client's lifetime and the scheduling differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lengow_tui.store.models import Action, SyncCursor, Worker
from lengow_tui.store.types import utcnow
from lengow_tui.sync.clients import open_client
from lengow_tui.sync.daemon_health import (
    DaemonMetrics,
    HealthServer,
    HealthView,
    bind_health_socket,
    build_app,
)
from lengow_tui.sync.daemon_lock import DaemonAlreadyRunning, DaemonLock, DaemonStartError, daemon_lock_holder
from lengow_tui.sync.daemon_logs import log
from lengow_tui.sync.importer import import_channel
from lengow_tui.sync.leases import (
    claimed_actions,
    held_import_leases,
    reap_dead_workers,
    release_worker_leases,
    renew_all,
)
from lengow_tui.sync.outbox import DeliveryResult, deliver_channel, release_leases
from lengow_tui.sync.rate_gate import gate_delay, record_outcome
from lengow_tui.sync.run import ChannelSyncResult, after_import, worker_name
from lengow_tui.sync.schedule import (
    CLIENT_RETRY_FIRST,
    DELIVERY_TICK,
    ChannelState,
    connector_min_poll,
    import_interval,
)
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.connector_api import MarketplaceClient
    from lengow_tui.runtime import Runtime

__all__ = ["DaemonAlreadyRunning", "DaemonOptions", "DaemonStartError", "SyncDaemon", "daemon_lock_holder",
           "run_daemon"]

HEARTBEAT_SECONDS = 5.0
HELD_RETRY_SECONDS = 5.0  # another worker imports the channel: ask again this often (at most the interval)
PURGE_CHECK_SECONDS = 3600.0  # purge_due() decides whether a day has passed; we only ask hourly
CANCEL_TIMEOUT = 5.0  # seconds cancelled tasks get to close their clients at the end of a shutdown
EXIT_OK = 0
EXIT_FAILED = 1  # forced by a second signal
T = TypeVar("T")


@dataclass(frozen=True)
class DaemonOptions:
    interval: float  # requested seconds between imports of a channel (a connector may impose more)
    grace: float = 30.0  # seconds in-flight calls get to finish after SIGTERM/SIGINT
    health_port: int = 0  # 0 = no /healthz, /metrics
    channels: tuple[str, ...] = ()  # empty = every enabled channel
    do_import: bool = True
    deliver: bool = True


def _describe(exc: BaseException) -> str:
    return clean_text(f"{type(exc).__name__}: {exc}", 500)


# -------------------------------------------------------------------------------------------- channels


class ChannelRunner:
    """One channel's loop: client, import schedule, delivery ticks."""

    def __init__(self, daemon: SyncDaemon, name: str) -> None:
        self.daemon = daemon
        self.runtime = daemon.runtime
        self.name = name
        self.state = ChannelState(name)
        self._stack: AsyncExitStack | None = None
        self._client: MarketplaceClient | None = None
        self._client_retry_at = 0.0
        self._failed_documents: set[int] = set()  # not asked for again by this process
        self._client_retry_delay = CLIENT_RETRY_FIRST

    @property
    def stopping(self) -> asyncio.Event:
        return self.daemon.stopping

    async def run(self) -> None:
        options = self.daemon.options
        config = self.runtime.config.channel(self.name)
        if config.connector not in self.runtime.registry.connectors:
            self.state.stopped = True
            self._failed(f"connector {config.connector!r} is not installed or failed to load",
                         event="channel_unavailable", count_import=False, record=True)
            return
        declarations = list(self.runtime.declarations(self.name).values())
        self.state.interval = import_interval(options.interval, declarations)
        if self.state.interval > options.interval:
            log("poll_interval_raised", logging.WARNING, channel=self.name, requested=options.interval,
                interval=self.state.interval, min_poll_interval=connector_min_poll(declarations),
                reason="the connector's marketplaces ask not to be polled more often")
        self.state.next_import_at = time.monotonic()
        try:
            while not self.stopping.is_set():
                try:
                    await self._step()
                except Exception as exc:  # a bug or a database outage: this channel pauses, never dies
                    log("channel_step_failed", logging.ERROR, channel=self.name, error=_describe(exc))
                    await self._close_client()
                    await self.daemon.sleep(CLIENT_RETRY_FIRST)
                    continue
                await self.daemon.sleep(self._until_next_step())
        finally:
            await self._close_client()

    async def _step(self) -> None:
        options = self.daemon.options
        # The marketplace asked this channel to slow down (rate gate, shared through the database with
        # every other worker): no call at all until the gate opens.
        wait = gate_delay(self.runtime, self.runtime.channel_id(self.name))
        self.state.gate_wait = wait
        if wait > 0:
            self.state.next_import_at = max(self.state.next_import_at, time.monotonic() + wait)
            return
        client = await self._ensure_client()
        if client is not None and options.do_import and time.monotonic() >= self.state.next_import_at:
            await self._import(client)
            client = self._client  # a failed import drops the client
        if client is not None and options.deliver and not self.stopping.is_set():
            await self._deliver(client)

    def _until_next_step(self) -> float:
        now = time.monotonic()
        waits = []
        if self._client is None:
            waits.append(self._client_retry_at - now)
        if self.daemon.options.deliver:
            waits.append(DELIVERY_TICK)
        if self.daemon.options.do_import:
            waits.append(self.state.next_import_at - now)
        return max(0.05, min(waits, default=DELIVERY_TICK))

    async def _ensure_client(self) -> MarketplaceClient | None:
        if self._client is not None:
            return self._client
        if time.monotonic() < self._client_retry_at:
            return None
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(open_client(self.runtime, self.name))
        except Exception as exc:  # bad settings, a plugin bug: this channel waits, the others go on
            await stack.aclose()
            self._client_retry_at = time.monotonic() + self._client_retry_delay
            ceiling = max(self.state.interval, CLIENT_RETRY_FIRST)
            self._client_retry_delay = min(self._client_retry_delay * 2, ceiling)
            # Counts as a failed import when one was due: the channel is not being synchronised.
            import_due = self.daemon.options.do_import and time.monotonic() >= self.state.next_import_at
            self._failed(f"cannot open the marketplace client: {_describe(exc)}", event="client_failed",
                         count_import=import_due, record=True)
            if import_due:
                self.state.next_import_at = self._client_retry_at
            return None
        self._stack = stack
        self._client_retry_delay = CLIENT_RETRY_FIRST
        log("client_opened", channel=self.name)
        return self._client

    async def _close_client(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            try:
                await stack.aclose()
            except Exception as exc:
                log("client_close_failed", logging.WARNING, channel=self.name, error=_describe(exc))

    async def _import(self, client: MarketplaceClient) -> None:
        state, metrics = self.state, self.daemon.metrics
        started = time.monotonic()
        # Scheduled from the start of the pass: a slow marketplace does not make the channel drift.
        state.next_import_at = started + state.interval
        state.imports += 1
        try:
            result = await import_channel(self.runtime, self.name, client, worker=self.daemon.worker,
                                          interval=state.interval)
        except Exception as exc:  # the importer reports connector failures itself; this is anything else
            self._failed(_describe(exc), record=True)
            await self._close_client()
            return
        if result.skipped:
            # Another worker imports this channel (or just did: the fleet shares one schedule). Not a
            # pass of ours: ask again when the fleet's next import is due, or soon if a holder may die.
            state.imports -= 1
            state.import_held_by = result.held_by
            if result.held_by is None and result.next_import_at is not None:
                retry = (result.next_import_at - utcnow()).total_seconds()
            else:  # importing elsewhere now: look again soon, a dead holder's lease is taken over
                retry = HELD_RETRY_SECONDS
            state.next_import_at = time.monotonic() + min(max(retry, 0.2), state.interval)
            return
        state.import_held_by = None
        metrics.import_runs.labels(self.name).inc()
        for kind in ("created", "updated", "unchanged"):
            metrics.orders_imported.labels(self.name, kind).inc(getattr(result, kind))
        counts = {"pages": result.pages, "created": result.created, "updated": result.updated,
                  "unchanged": result.unchanged, "flagged": result.flagged,
                  "duration": round(time.monotonic() - started, 3)}
        if result.error:
            self._failed(result.error, **counts)
            await self._close_client()  # rebuilt on the next step: a fresh HTTP client, a fresh login
            return
        if result.deferred_seconds:
            state.next_import_at = max(state.next_import_at, time.monotonic() + result.deferred_seconds)
            log("import_deferred", channel=self.name, wait=round(result.deferred_seconds, 1), **counts)
            return
        state.succeeded()
        log("import_done", channel=self.name, next_in=round(state.interval, 1), **counts)
        await self._after_import(client)

    async def _after_import(self, client: MarketplaceClient) -> None:
        """Auto-accept and documents prefetch: the same steps as ``sync --once``."""
        steps = ChannelSyncResult(self.name)
        await after_import(self.runtime, self.name, client, steps, stop=self.stopping,
                           skip_documents=self._failed_documents)
        if steps.error:
            log("after_import_failed", logging.ERROR, channel=self.name, error=clean_text(steps.error, 500))
        accepted = steps.auto_accepted
        if accepted is not None and (accepted.accepted or accepted.held):
            # Ids and counts only: a hold reason may quote order data.
            log("auto_accept_done", channel=self.name, accepted=len(accepted.accepted),
                held=len(accepted.held), settled=accepted.settled, order_ids=accepted.accepted[:50])
        documents = steps.documents
        if documents is not None and (documents.fetched or documents.failed):
            log("documents_prefetched", channel=self.name, fetched=documents.fetched, failed=documents.failed)

    async def _deliver(self, client: MarketplaceClient) -> None:
        try:
            result = await deliver_channel(self.runtime, self.name, client, self.daemon.worker,
                                           stop=self.stopping)
        except Exception as exc:
            log("delivery_failed", logging.ERROR, channel=self.name, error=_describe(exc))
            await self._close_client()
            return
        counts = _delivery_counts(result)
        for state_name, count in counts.items():
            if count:
                self.daemon.metrics.actions_delivered.labels(self.name, state_name).inc(count)
        if any(counts.values()) or result.deferred_seconds:
            log("actions_delivered", channel=self.name, rate_limited=result.rate_limited,
                deferred=round(result.deferred_seconds, 1), **counts)

    def _failed(self, error: str, *, event: str = "import_failed", count_import: bool = True,
                record: bool = False, **counts: Any) -> None:
        """A failed pass: health state, metric, log line; with ``record``, also the store (when the
        importer did not get to record the error itself)."""
        self.state.failed(error)
        if count_import:
            self.daemon.metrics.import_errors.labels(self.name).inc()
        log(event, logging.ERROR, channel=self.name, error=error, failures=self.state.consecutive_failures,
            **counts)
        if record:
            self._record_error(error)

    def _record_error(self, error: str) -> None:
        """Store the error where ``sync`` status screens read it (``sync_cursor.last_error``)."""
        try:
            channel_id = self.runtime.channel_id(self.name)
            with self.runtime.store.write() as session:
                row = session.get(SyncCursor, channel_id) or SyncCursor(channel_id=channel_id)
                row.last_attempt_at = utcnow()
                row.last_error = error[:2048]
                session.add(row)
            record_outcome(self.runtime, channel_id, failed=True)
        except Exception as exc:
            log("store_error", logging.WARNING, channel=self.name, error=_describe(exc))


def _delivery_counts(result: DeliveryResult) -> dict[str, int]:
    return {"done": result.done, "awaiting_confirmation": result.awaiting, "rejected": result.rejected,
            "retrying": result.retrying, "dead": result.dead}


# ------------------------------------------------------------------------------------------- the daemon


class SyncDaemon:
    def __init__(self, runtime: Runtime, options: DaemonOptions, *, worker: str | None = None,
                 health_socket: socket.socket | None = None) -> None:
        self.runtime = runtime
        self.options = options
        self.worker = worker or worker_name()
        names = list(options.channels) or [c.name for c in runtime.config.enabled_channels]
        self.runners = {name: ChannelRunner(self, name) for name in names}
        self.metrics = DaemonMetrics()
        self.view = HealthView(self.worker, {name: r.state for name, r in self.runners.items()})
        self.health_socket = health_socket
        self.lock: DaemonLock | None = None  # set by run_daemon; checked by the heartbeat
        self.exit_code = EXIT_OK
        self.stopping = asyncio.Event()
        self._force = asyncio.Event()
        self._signal: str | None = None
        self._started = time.monotonic()
        self._heartbeat_failing = False

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early when shutdown starts."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=max(0.0, seconds))

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self.stopping.is_set():
            self._signal = name
            self.stopping.set()
        else:
            log("shutdown_forced", logging.WARNING, signal=name)
            self._force.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        self._load_last_success()
        self._register()
        self.metrics.started.set(time.time())
        self.metrics.up.set(1)
        for runner in self.runners.values():
            self.metrics.add_channel(runner.state)
        self._refresh_outbox_gauges()
        server = None
        if self.health_socket is not None:
            server = HealthServer(build_app(self.view, self.metrics), self.health_socket)
            server.start()
        log("daemon_started", worker=self.worker, pid=os.getpid(), channels=list(self.runners),
            interval=self.options.interval, grace=self.options.grace, health_port=self.options.health_port,
            database=self.runtime.store.safe_url)
        tasks = {asyncio.create_task(runner.run(), name=f"channel-{name}"): name
                 for name, runner in self.runners.items()}
        helpers = [asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
                   asyncio.create_task(self._purge_loop(), name="retention-purge")]
        await self.stopping.wait()
        return await self._shutdown(tasks, helpers, server)

    async def _shutdown(self, tasks: dict[asyncio.Task[None], str], helpers: list[asyncio.Task[None]],
                        server: HealthServer | None) -> int:
        self.view.stopping = True
        self.metrics.up.set(0)
        log("shutdown_started", signal=self._signal or "none", grace=self.options.grace)
        # In-flight work gets ``grace`` seconds; a second signal cuts the wait short.
        deadline = time.monotonic() + self.options.grace
        forced = asyncio.create_task(self._force.wait())
        while not self._force.is_set() and (running := {t for t in tasks if not t.done()}):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.wait(running | {forced}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        cancelled = [tasks[t] for t in tasks if not t.done()]
        for task in [*tasks, *helpers]:
            task.cancel()
        # Bounded: a connector whose aclose() hangs must not keep the daemon from releasing its leases.
        await asyncio.wait([*tasks, *helpers], timeout=CANCEL_TIMEOUT)
        if cancelled:
            log("shutdown_cancelled", logging.WARNING, channels=cancelled)
        released = self._cleanup()
        if server is not None:
            await server.stop()
        if self._force.is_set():
            self.exit_code = EXIT_FAILED
        log("daemon_stopped", worker=self.worker, released_leases=released, exit_code=self.exit_code,
            uptime=round(time.monotonic() - self._started, 1))
        return self.exit_code

    def _cleanup(self) -> int:
        released = -1
        try:
            released = release_leases(self.runtime, self.worker)
            release_worker_leases(self.runtime, self.worker)
        except Exception as exc:  # leases then expire on their own (two minutes) and are reconciled
            log("release_leases_failed", logging.ERROR, error=_describe(exc))
        try:
            with self.runtime.store.write() as session:
                row = session.get(Worker, self.worker)
                if row is not None:
                    session.delete(row)
        except Exception as exc:
            log("worker_unregister_failed", logging.ERROR, error=_describe(exc))
        return released

    # -- worker registry, heartbeat, gauges

    def _register(self) -> None:
        self._forget_dead_daemons()
        now = utcnow()
        with self.runtime.store.write() as session:
            row = session.get(Worker, self.worker) or Worker(name=self.worker)
            row.kind, row.host, row.pid = "daemon", socket.gethostname(), os.getpid()
            row.started_at = row.heartbeat_at = now
            row.holds = {"channels": list(self.runners), "import_leases": [], "actions": 0}
            session.add(row)
        self.view.last_heartbeat = time.monotonic()

    def _forget_dead_daemons(self) -> None:
        """Hand back the leases of daemons that died (marked for reconciliation) rather than wait for them
        to expire. SQLite: we hold the one-daemon lock, so every other daemon row is a crash's left-over.
        PostgreSQL: other workers run; only those with a stale heartbeat (or a gone local process) are."""
        from sqlmodel import select

        if not self.runtime.store.is_sqlite:
            for name, actions, imports in reap_dead_workers(self.runtime, self.worker):
                log("stale_worker_removed", logging.WARNING, stale_worker=name, released_leases=actions,
                    released_import_leases=imports)
            return
        with self.runtime.store.read() as session:
            stale = [w.name for w in session.exec(select(Worker).where(Worker.kind == "daemon",
                                                                      Worker.name != self.worker))]
        for name in stale:
            released = release_leases(self.runtime, name)
            release_worker_leases(self.runtime, name)
            with self.runtime.store.write() as session:
                row = session.get(Worker, name)
                if row is not None:
                    session.delete(row)
            log("stale_worker_removed", logging.WARNING, stale_worker=name, released_leases=released)

    def _heartbeat(self) -> None:
        renew_all(self.runtime, self.worker)  # a long first page keeps the channel's import lease ours
        with self.runtime.store.write() as session:
            row = session.get(Worker, self.worker)
            if row is None:  # deleted by an operator's cleanup (or taken for dead): put it back
                row = Worker(name=self.worker, kind="daemon", host=socket.gethostname(), pid=os.getpid())
            names = {self.runtime.channel_id(name): name for name in self.runners}
            row.holds = {"channels": list(self.runners),
                         "import_leases": [names.get(i, str(i)) for i in held_import_leases(session, self.worker)],
                         "actions": claimed_actions(session, self.worker)}
            row.heartbeat_at = utcnow()
            session.add(row)

    def _refresh_outbox_gauges(self) -> None:
        from sqlalchemy import func
        from sqlmodel import select

        with self.runtime.store.read() as session:
            rows = session.exec(select(Action.state, func.count()).group_by(Action.state)).all()
        self.metrics.set_outbox({state: int(count) for state, count in rows})

    async def _heartbeat_loop(self) -> None:
        while not self.stopping.is_set():
            await self.sleep(HEARTBEAT_SECONDS)
            if self.stopping.is_set():
                return
            try:
                self._heartbeat()
                self._refresh_outbox_gauges()
                if not self.runtime.store.is_sqlite:
                    self._forget_dead_daemons()
            except Exception as exc:
                if not self._heartbeat_failing:  # once per outage, not every five seconds
                    log("heartbeat_failed", logging.ERROR, error=_describe(exc))
                self._heartbeat_failing = True
                continue
            if self._heartbeat_failing:
                log("heartbeat_recovered")
            self._heartbeat_failing = False
            self.view.last_heartbeat = time.monotonic()

    def _load_last_success(self) -> None:
        """Seed each channel's last success from the store, so metrics do not read +Inf after a restart."""
        try:
            with self.runtime.store.read() as session:
                for name, runner in self.runners.items():
                    row = session.get(SyncCursor, self.runtime.channel_id(name))
                    if row is not None and row.last_success_at is not None:
                        runner.state.last_success = row.last_success_at
        except Exception as exc:
            log("store_error", logging.WARNING, error=_describe(exc))

    # -- retention

    async def _purge_loop(self) -> None:
        while not self.stopping.is_set():
            await self._purge_if_due()
            await self.sleep(PURGE_CHECK_SECONDS)

    async def _purge_if_due(self) -> None:
        from lengow_tui.sync.retention import purge, purge_due

        def work() -> Any:
            return purge(self.runtime, worker=self.worker) if purge_due(self.runtime) else None

        try:
            report = await _in_daemon_thread(work, name="retention-purge")
        except Exception as exc:
            log("purge_failed", logging.ERROR, error=_describe(exc))
            return
        if report is None:
            return
        names = ("orders", "parties", "documents", "actions", "events", "postponed")
        totals = {n: report.total(n) for n in names}
        if report.error:
            log("purge_failed", logging.ERROR, run_id=report.run_id, error=clean_text(report.error, 500),
                **totals)
        else:
            log("purge_done", run_id=report.run_id, checkpoint=report.checkpoint, **totals)


async def _in_daemon_thread(fn: Callable[[], T], *, name: str) -> T:
    """Run ``fn`` in a daemon thread. Unlike ``asyncio.to_thread`` (whose pool is joined at exit), a purge
    still running when the grace period ends cannot hold the process past it; its open transaction is
    rolled back and the next run resumes."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[], None]) -> None:
        if not future.done():
            setter()

    def target() -> None:
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
            with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody waits
                loop.call_soon_threadsafe(deliver, lambda: future.set_exception(error))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, lambda: future.set_result(value))

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future


# ----------------------------------------------------------------------------------------- entry point


def run_daemon(runtime: Runtime, options: DaemonOptions) -> int:
    """Take the database's daemon lock, run until a signal, return the exit status.

    Raises :class:`DaemonStartError` (:class:`DaemonAlreadyRunning` when another daemon owns the
    database) when it cannot start; nothing has started then.
    """
    worker = worker_name()
    # SQLite: one daemon per database file. PostgreSQL: any number of workers share the work through
    # leases in the database (docs/scale-out.md), so no lock there.
    lock = DaemonLock(runtime, worker) if runtime.store.is_sqlite else None
    if lock is not None:
        lock.acquire()
    try:
        sock = None
        if options.health_port:
            try:
                sock = bind_health_socket(options.health_port)
            except OSError as exc:
                raise DaemonStartError(
                    f"cannot serve /healthz on 127.0.0.1:{options.health_port}: {exc.strerror or exc}"
                ) from None
        daemon = SyncDaemon(runtime, options, worker=worker, health_socket=sock)
        daemon.lock = lock
        return asyncio.run(daemon.run())
    finally:
        if lock is not None:
            lock.release()
