"""``lengow-tui purge``: the GDPR retention purge, by hand or from cron, and its recorded runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import fail, open_cli_runtime, parse_when, print_table

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime
    from lengow_tui.sync.retention import PurgeReport

HISTORY_LIMIT = 20
COUNTS = ("orders", "documents", "actions", "events", "postponed")


@app.command("purge")
def purge_cmd(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be erased; change nothing.")] = False,
    channel: Annotated[list[str], typer.Option("--channel", help="Only these channels (repeatable).")] = [],
    now: Annotated[Optional[str], typer.Option(
        "--now", help="Pretend it is this date-time (ISO, e.g. 2026-11-01T08:00); cut-off = now - retention.")] = None,
    history: Annotated[bool, typer.Option("--history", help=f"List the last {HISTORY_LIMIT} recorded runs.")] = False,
) -> None:
    """Erase the personal data of orders older than the retention period (default 183 days, per channel).

    Exit status 1 when the run recorded an error (e.g. the SQLite WAL could not be emptied).
    """
    runtime = open_cli_runtime()
    try:
        if history:
            _print_history(runtime)
            return
        report = _run(runtime, dry_run, channel, parse_when(now))
    finally:
        runtime.close()
    _print_report(report)
    if report.error:
        typer.echo(f"error: {report.error}", err=True)
        raise typer.Exit(1)


def _run(runtime: Runtime, dry_run: bool, channels: list[str], now: datetime | None) -> PurgeReport:
    from lengow_tui.sync.retention import purge
    from lengow_tui.sync.run import worker_name

    try:
        return purge(runtime, now=now, dry_run=dry_run, channels=channels or None, worker=worker_name())
    except ValueError as exc:  # an unknown --channel: nothing was recorded or changed
        fail(str(exc))


def _print_report(report: PurgeReport) -> None:
    title = "retention purge (dry run: nothing changed)" if report.dry_run else "retention purge"
    typer.echo(f"{title}, run #{report.run_id}")
    rows = [
        [c.channel, f"{c.retention_days} d", c.cutoff.strftime("%Y-%m-%d %H:%M UTC"),
         *(str(getattr(c, name)) for name in COUNTS)]
        for c in report.channels
    ]
    if len(report.channels) > 1:
        rows.append(["total", "", "", *(str(report.total(name)) for name in COUNTS)])
    if rows:
        print_table(["channel", "retention", "cut-off (ordered before)", *COUNTS], rows)
    else:
        typer.echo("no channel in the database")
    if report.checkpoint is not None:
        typer.echo(f"WAL checkpoint: {report.checkpoint}")


def _print_history(runtime: Runtime) -> None:
    from lengow_tui.sync.retention import recent_runs

    runs = recent_runs(runtime, HISTORY_LIMIT)
    if not runs:
        typer.echo("no purge run recorded yet")
        return
    rows = []
    for run in runs:
        if run.finished_at is None:
            outcome = "interrupted or running"
        else:
            outcome = f"error: {run.error}" if run.error else "ok"
        rows.append([
            str(run.id), run.started_at.strftime("%Y-%m-%d %H:%M:%S"), "dry run" if run.dry_run else "purge",
            run.worker or "-", str(run.orders), str(run.documents), str(run.actions), str(run.events),
            str(_postponed(run.details)), outcome,
        ])
    print_table(["run", "started (UTC)", "kind", "worker", "orders", "documents", "actions", "events",
                 "postponed", "outcome"], rows, widths={3: 32, 9: 60})


def _postponed(details: dict[str, object]) -> int:
    channels = details.get("channels")
    if not isinstance(channels, dict):
        return 0
    return sum(int(c.get("postponed", 0)) for c in channels.values() if isinstance(c, dict))
