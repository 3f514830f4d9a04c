"""``lengow-tui actions``: the outbox — list actions, re-queue dead ones, cancel queued ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Optional

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import channel_ids, fail, open_cli_runtime, print_table, resolve_orders

ACTION_STATES = ("queued", "sending", "awaiting_confirmation", "done", "rejected", "retrying", "dead", "cancelled")

actions_app = typer.Typer(help="The outbox: list actions, re-queue dead ones, cancel queued ones.",
                          no_args_is_help=True)
app.add_typer(actions_app, name="actions")


@actions_app.command("list")
def list_cmd(
    state: Annotated[list[str], typer.Option("--state", help=f"One of {', '.join(ACTION_STATES)} (repeatable).")] = [],
    order: Annotated[Optional[str], typer.Option("--order", help="Only this order (id or marketplace reference).")] = None,
    channel: Annotated[list[str], typer.Option("--channel", help="Channel name (repeatable).")] = [],
    limit: Annotated[int, typer.Option(help="At most this many actions.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List actions, newest first."""
    from lengow_tui.services.actions import list_actions

    states = [s.strip().lower() for item in state for s in item.split(",") if s.strip()]
    unknown = [s for s in states if s not in ACTION_STATES]
    if unknown:
        fail(f"unknown action state {unknown[0]!r}; one of: {', '.join(ACTION_STATES)}")
    runtime = open_cli_runtime()
    order_id = resolve_orders(runtime, [order], "nothing listed")[0].id if order else None
    rows = list_actions(runtime, states=states, order_id=order_id, channel_ids=channel_ids(runtime, channel),
                        limit=limit)
    if as_json:
        typer.echo(json.dumps([
            {"id": r.id, "order_id": r.order_id, "order": r.order_reference, "channel": r.channel, "kind": r.kind,
             "state": r.state, "attempts": r.attempts, "source": r.source, "created_at": r.created_at.isoformat(),
             "updated_at": r.updated_at.isoformat(),
             "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
             "last_error": r.last_error}
            for r in rows
        ], indent=2))
        return
    if not rows:
        typer.echo("no actions")
        return
    print_table(
        ["id", "order", "channel", "action", "state", "tries", "updated", "last error"],
        [[str(r.id), r.order_reference, r.channel, r.kind, r.state, str(r.attempts),
          r.updated_at.strftime("%Y-%m-%d %H:%M"), (r.last_error or "")[:300]] for r in rows],
    )


@actions_app.command("retry")
def retry_cmd(action_ids: Annotated[list[int], typer.Argument(help="Ids of dead actions.")]) -> None:
    """Re-queue dead actions (the order is re-read from the marketplace before any resend)."""
    from lengow_tui.services.actions import requeue_action

    runtime = open_cli_runtime()
    _apply(action_ids, lambda i: requeue_action(runtime, i), "re-queued")


@actions_app.command("cancel")
def cancel_cmd(action_ids: Annotated[list[int], typer.Argument(help="Ids of queued, retrying or dead actions.")]) -> None:
    """Cancel actions that have not been sent (queued, retrying or dead)."""
    from lengow_tui.services.actions import cancel_action

    runtime = open_cli_runtime()
    _apply(action_ids, lambda i: cancel_action(runtime, i), "cancelled")


def _apply(action_ids: list[int], change: Callable[[int], str | None], done: str) -> None:
    failed = False
    for action_id in action_ids:
        error = change(action_id)
        if error:
            failed = True
            typer.echo(f"action #{action_id}: {error}", err=True)
        else:
            typer.echo(f"action #{action_id}: {done}")
    if failed:
        raise typer.Exit(1)
