"""``lengow-tui sync``: import orders and deliver queued actions."""

from __future__ import annotations

from typing import Annotated

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import fail, open_cli_runtime


@app.command("sync")
def sync_cmd(
    once: Annotated[bool, typer.Option("--once", help="One pass: import, then deliver queued actions.")] = False,
    channel: Annotated[list[str], typer.Option("--channel", help="Only these channels (repeatable).")] = [],
    no_import: Annotated[bool, typer.Option("--no-import", help="Only deliver queued actions.")] = False,
    no_deliver: Annotated[bool, typer.Option("--no-deliver", help="Only import orders.")] = False,
) -> None:
    """Synchronise with the marketplaces. Exit status 1 when a channel failed."""
    import asyncio

    from lengow_tui.sync.run import sync_once

    if not once:
        fail("only 'sync --once' is available in this version (for cron); the --watch daemon comes next")
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
        if not no_deliver:
            typer.echo(f"{result.channel}: {result.delivered.summary()}")
    if failed:
        raise typer.Exit(1)
