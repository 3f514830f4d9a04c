"""One sync daemon per SQLite database.

SQLite: an exclusive, non-blocking ``flock`` on ``<database file>.daemon.lock``, held (file descriptor
open) for the daemon's life. The kernel drops it when the process dies however it dies, so a crash never
leaves a stale lock; the file's text (pid, host, start time) only serves the error message.

PostgreSQL: no lock. Any number of ``sync --watch`` workers share one database through leases kept in
it (:mod:`lengow_tui.sync.leases`, docs/scale-out.md).

:func:`daemon_lock_holder` tells the TUI (or anyone) whether daemons sync the database, without
disturbing them: on PostgreSQL, any daemon ``worker`` row with a fresh heartbeat.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime
    from lengow_tui.store import Store

LOCK_SUFFIX = ".daemon.lock"
# A holder check takes a shared lock for an instant; a daemon starting in that instant retries a few
# times before concluding that another daemon runs.
_ACQUIRE_TRIES = 5
_ACQUIRE_PAUSE = 0.1
# A worker row whose heartbeat is older than this is not taken as a live daemon (PostgreSQL description).


class DaemonStartError(Exception):
    """The daemon cannot start (nothing has been done). ``str()`` is the message for the operator."""


class DaemonAlreadyRunning(DaemonStartError):
    """Another daemon owns the database."""


def sqlite_lock_path(store: Store) -> Path | None:
    """``<database file>.daemon.lock``, or None for an in-memory SQLite database or PostgreSQL."""
    if not store.is_sqlite:
        return None
    database = make_url(store.url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute().with_name(Path(database).name + LOCK_SUFFIX)


def _describe_holder(info: dict[str, Any]) -> str:
    pid = info.get("pid") or "unknown"
    parts = [f"pid {pid}"]
    if info.get("host"):
        parts.append(f"on {info['host']}")
    if info.get("started_at"):
        parts.append(f"started {info['started_at']}")
    return "a sync daemon (" + ", ".join(parts) + ")"


def _already_running(where: str, holder: str) -> DaemonAlreadyRunning:
    return DaemonAlreadyRunning(
        f"{holder} already owns the database {where}; only one 'sync --watch' may run per database. "
        "Stop it first (e.g. 'systemctl stop lengow-tui-sync'), or point this one at another database."
    )


def _started_at() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class DaemonLock:
    """A SQLite database's daemon lock, held from :meth:`acquire` to :meth:`release`. (On PostgreSQL many
    workers share a database: see :mod:`lengow_tui.sync.leases`.)"""

    def __init__(self, runtime: Runtime, worker: str) -> None:
        self.runtime = runtime
        self.worker = worker
        self.started_at = _started_at()
        self.path = sqlite_lock_path(runtime.store)
        self._fd: int | None = None

    @property
    def where(self) -> str:
        return str(make_url(self.runtime.store.url).database) if self.path else self.runtime.store.safe_url

    def acquire(self) -> None:
        """Take the lock or raise :class:`DaemonAlreadyRunning` naming the database and the holder."""
        if self.path is not None:
            self._acquire_file(self.path)

    def _acquire_file(self, path: Path) -> None:
        import fcntl

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Readable by all: it holds only a pid, a host name and a time, and a TUI run by another
            # user must be able to see that a daemon owns the database.
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise DaemonStartError(f"cannot open the daemon lock file {path}: {reason}") from None
        for attempt in range(_ACQUIRE_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == _ACQUIRE_TRIES - 1:
                    info = _read_info(fd)
                    os.close(fd)
                    raise _already_running(self.where, _describe_holder(info)) from None
                time.sleep(_ACQUIRE_PAUSE)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "worker": self.worker,
                "started_at": self.started_at}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            try:
                os.ftruncate(self._fd, 0)  # a left-over file then says nothing misleading
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


def _read_info(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode("utf-8") or "{}")
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _live_workers_description(runtime: Runtime) -> str | None:
    """PostgreSQL: "a sync daemon (pid 4242 on web1, started …)" or "3 sync workers (…, …, …)"."""
    from lengow_tui.sync.leases import live_workers

    workers = live_workers(runtime)
    if not workers:
        return None
    if len(workers) == 1:
        started = workers[0].started_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return _describe_holder({"pid": workers[0].pid, "host": workers[0].host, "started_at": started})
    shown = ", ".join(f"pid {w.pid} on {w.host}" for w in workers[:3])
    more = f" and {len(workers) - 3} more" if len(workers) > 3 else ""
    return f"{len(workers)} sync workers ({shown}{more})"


def daemon_lock_holder(runtime: Runtime) -> str | None:
    """A human description of the daemon that owns this database (e.g. "a sync daemon (pid 4242 on
    web1, started 2026-05-01T08:00:00Z)"), or None when no daemon runs.

    The TUI calls this to skip its own background sync. It never blocks and never disturbs a daemon
    (the SQLite check holds a shared lock for an instant; a daemon starting then retries).
    """
    store = runtime.store
    if not store.is_sqlite:
        try:
            return _live_workers_description(runtime)
        except Exception:
            return None  # the TUI then syncs itself, under the same leases as the workers
    path = sqlite_lock_path(store)
    if path is None or not path.exists():
        return None
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except PermissionError:  # cannot tell: assume the worst rather than sync beside a daemon
        return f"a sync daemon (its lock file {path} is not readable by this user)"
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe_holder(_read_info(fd))
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
