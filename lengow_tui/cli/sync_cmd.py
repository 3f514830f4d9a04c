"""``lengow-tui sync``: import orders and deliver queued actions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import fail, open_cli_runtime


@app.command("sync")
def sync_cmd(
    once: Annotated[bool, typer.Option("--once", help="One pass: import, then deliver queued actions.")] = False,
    channel: Annotated[list[str], typer.Option("--channel", help="Only these channels (repeatable).")] = [],
    no_import: Annotated[bool, typer.Option("--no-import", help="Only deliver queued actions.")] = False,
    no_deliver: Annotated[bool, typer.Option("--no-deliver", help="Only import orders.")] = False,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Run as a daemon until SIGTERM/SIGINT (see docs/daemon.md).")] = False,
    interval: Annotated[Optional[float], typer.Option(
        "--interval", help="--watch: seconds between imports of a channel (default: sync.interval_seconds); "
                           "a connector's minimum poll interval wins when it is longer.")] = None,
    grace: Annotated[float, typer.Option(
        "--grace", help="--watch: seconds in-flight calls get to finish on SIGTERM/SIGINT.")] = 30.0,
    health_port: Annotated[int, typer.Option(
        "--health-port", help="--watch: serve /healthz and /metrics on 127.0.0.1:PORT (0 = off).")] = 0,
    log_format: Annotated[str, typer.Option(
        "--log-format", help="--watch: 'json' (one object a line) or 'text'.")] = "json",
    log_file: Annotated[Optional[Path], typer.Option(
        "--log-file", help="--watch: append logs here instead of stderr.")] = None,
) -> None:
    """Synchronise with the marketplaces. Exit status 1 when a channel failed.

    --watch runs until stopped: exit status 0 after a graceful stop, 2 when the options are wrong or another
    daemon already owns the database.
    """
    import asyncio

    from lengow_tui.sync.run import sync_once

    if once and watch:
        fail("--once and --watch cannot be combined: --once is one pass (for cron), "
             "--watch runs until stopped")
    if watch:
        _watch(channel, no_import=no_import, no_deliver=no_deliver, interval=interval, grace=grace,
               health_port=health_port, log_format=log_format, log_file=log_file)
        return
    if not once:
        fail("say 'sync --once' for one pass (e.g. from cron) or 'sync --watch' to run as a daemon")
    runtime = open_cli_runtime()
    for name in channel:
        try:
            runtime.config.channel(name)
        except KeyError:
            fail(f"unknown channel {name!r}; configured: {', '.join(c.name for c in runtime.config.channels) or 'none'}")
    if not runtime.config.channels:
        fail("no channel is configured; run 'lengow-tui demo' or add a [channels.NAME] table to the config")
    results = asyncio.run(sync_once(runtime, channel or None, do_import=not no_import, deliver=not no_deliver))
    failed = False
    for result in results:
        if result.error:
            failed = True
            typer.echo(f"{result.channel}: failed: {result.error}", err=True)
            continue
        if result.imported is not None:
            typer.echo(result.imported.summary())
            failed = failed or result.imported.error is not None
        if result.auto_accepted is not None:
            typer.echo(f"{result.channel}: {result.auto_accepted.summary()}")
        if not no_deliver:
            typer.echo(f"{result.channel}: {result.delivered.summary()}")
    if failed:
        raise typer.Exit(1)


def _watch(channels: list[str], *, no_import: bool, no_deliver: bool, interval: float | None, grace: float,
           health_port: int, log_format: str, log_file: Path | None) -> None:
    """``sync --watch``: check the options, then hand over to the daemon until it stops."""
    from lengow_tui.sync.daemon import DaemonOptions, DaemonStartError, run_daemon
    from lengow_tui.sync.daemon_logs import setup_logging

    if log_format not in ("json", "text"):
        fail(f"--log-format must be 'json' or 'text', not {log_format!r}")
    if interval is not None and not interval > 0:
        fail(f"--interval must be a positive number of seconds, not {interval:g}")
    if not grace >= 0:
        fail(f"--grace must be zero or more seconds, not {grace:g}")
    if not 0 <= health_port <= 65535:
        fail(f"--health-port must be between 1 and 65535 (0 = off), not {health_port}")
    if no_import and no_deliver:
        fail("--no-import and --no-deliver together leave the daemon nothing to do")
    runtime = open_cli_runtime()
    configured = ", ".join(c.name for c in runtime.config.channels) or "none"
    for name in channels:
        try:
            runtime.config.channel(name)
        except KeyError:
            fail(f"unknown channel {name!r}; configured: {configured}")
    if not (channels or runtime.config.enabled_channels):
        fail("no enabled channel is configured; add a [channels.NAME] table to the config")
    options = DaemonOptions(
        interval=interval if interval is not None else float(runtime.config.sync_interval_seconds),
        grace=grace, health_port=health_port, channels=tuple(channels),
        do_import=not no_import, deliver=not no_deliver,
    )
    setup_logging("json" if log_format == "json" else "text", log_file)
    try:
        code = run_daemon(runtime, options)
    except DaemonStartError as exc:  # another daemon owns the database, the health port is taken...
        fail(str(exc))
    finally:
        runtime.close()
    raise typer.Exit(code)
