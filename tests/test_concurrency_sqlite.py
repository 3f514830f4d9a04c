"""Concurrency on one SQLite file, briefly: TUI-like readers, a user-like writer, a CLI user and a real
``sync --watch`` daemon, all separate processes, against a Mirakl emulator process that keeps changing.
No "database is locked" (or any other) error may reach a user or the daemon's log.

The 5-minute version is ``python bench/concurrency_sqlite.py``; both run
:mod:`lengow_tui.testing_support.sqlite_concurrency`.
"""

from __future__ import annotations

from pathlib import Path

from lengow_tui.testing_support.sqlite_concurrency import is_locked, run

SECONDS = 20


def test_is_locked_recognises_sqlite_busy_errors():
    assert is_locked("OperationalError: (sqlite3.OperationalError) database is locked")
    assert is_locked("SQLITE_BUSY: database table is locked")
    assert not is_locked("Mirakl refused the acceptance of order 1-A (OR21): its state is CANCELED")


def test_readers_writer_and_daemon_share_one_sqlite_file(tmp_path: Path):
    report = run(seconds=SECONDS, orders=3000, readers=3, seed=7, folder=tmp_path / "work")
    summary = "\n".join(report.lines())
    assert report.locked_errors == [], summary
    assert report.other_errors == [], summary
    assert report.daemon_errors == [], summary
    # The set-up really ran: every kind of process did its work, the daemon imported and delivered.
    assert report.ops.get("reader", 0) > 100 and report.ops.get("writer", 0) > 10, summary
    assert report.ops.get("cli", 0) >= 1, summary
    assert report.orders_imported >= 3000, summary
    assert report.actions_queued > 0 and report.actions_delivered > 0, summary
