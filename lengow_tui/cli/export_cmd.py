"""``lengow-tui export``: orders to CSV or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import channel_ids, fail, open_cli_runtime, parse_statuses, parse_when, resolve_orders


@app.command("export")
def export_cmd(
    ids: Annotated[list[str], typer.Argument(help="Order ids (local or marketplace); none = all matching the filter.")] = [],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: standard output).")] = None,
    status: Annotated[list[str], typer.Option("--status", "-s", help="Common status (repeatable).")] = [],
    channel: Annotated[list[str], typer.Option("--channel", help="Channel name (repeatable).")] = [],
    since: Annotated[Optional[str], typer.Option(help="Ordered at or after (date or span like 7d).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Ordered before.")] = None,
    search: Annotated[str, typer.Option("--search", "-q", help="Free-text search.")] = "",
) -> None:
    """Export orders with their lines. Anonymized orders are exported without personal data."""
    from lengow_tui.services.export import export_orders
    from lengow_tui.services.orders import OrderFilter

    if fmt not in ("csv", "json"):
        fail(f"unknown format {fmt!r}; use csv or json")
    statuses = parse_statuses(status)
    runtime = open_cli_runtime()
    order_ids = [order.id for order in resolve_orders(runtime, ids, "nothing exported")]
    with runtime.store.read() as session:
        flt = OrderFilter(statuses=statuses, channel_ids=channel_ids(runtime, channel), since=parse_when(since),
                          until=parse_when(until, end=True), search=search, order_ids=tuple(order_ids))
        if output is None:
            count = export_orders(session, flt, sys.stdout, fmt)
        else:
            tmp = output.with_name(output.name + ".part")
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                count = export_orders(session, flt, handle, fmt)
            tmp.replace(output)
    typer.echo(f"exported {count} orders" + (f" to {output}" if output else ""), err=True)
