"""``lengow-tui workers``: the sync workers registered in the database and what each holds."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import open_cli_runtime, print_table


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


@app.command("workers")
def workers_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List sync workers (daemons) with their heartbeat and what they hold: channel import leases and
    claimed actions. A worker is stale when its heartbeat is older than 30 s; a live worker then hands
    its leases back and removes it. See docs/scale-out.md."""
    from lengow_tui.sync.leases import describe_workers

    runtime = open_cli_runtime()
    try:
        workers = describe_workers(runtime)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps([
            {"name": w.name, "kind": w.kind, "host": w.host, "pid": w.pid, "started_at": w.started_at.isoformat(),
             "heartbeat_at": w.heartbeat_at.isoformat(), "heartbeat_age_seconds": round(w.heartbeat_age, 1),
             "state": "alive" if w.alive else "stale",
             "holds": {"import_leases": w.import_leases, "actions": w.actions,
                       "channels": list(w.holds.get("channels", []))}}
            for w in workers
        ], indent=2))
        return
    if not workers:
        typer.echo("no sync worker is registered (none runs, or none has started since the last clean-up)")
        return
    print_table(
        ["name", "kind", "host", "pid", "started", "heartbeat", "state", "holds"],
        [[w.name, w.kind, w.host, str(w.pid), w.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
          _age(w.heartbeat_age), "alive" if w.alive else "stale",
          ", ".join(filter(None, [
              f"importing {', '.join(w.import_leases)}" if w.import_leases else "",
              f"{w.actions} action{'s' if w.actions != 1 else ''} claimed" if w.actions else "",
          ])) or "nothing"]
         for w in workers],
    )
