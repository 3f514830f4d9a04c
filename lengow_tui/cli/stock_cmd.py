"""``lengow-tui stock``: the stock table auto-accept's stock rule reads (import from CSV, list)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import fail, open_cli_runtime, print_table

stock_app = typer.Typer(help="Stock levels for the auto-accept stock rule.", no_args_is_help=True)
app.add_typer(stock_app, name="stock")


@stock_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file with the columns sku,quantity (',' or ';' separated).",
                                         metavar="FILE.csv")],
) -> None:
    """Set the quantities of the SKUs listed in FILE.csv; SKUs not listed keep theirs.

    The whole file is checked first: a bad line is reported with its number and nothing is changed.
    """
    from lengow_tui.services.stock import StockFileError, import_stock, parse_stock_csv

    try:
        rows = parse_stock_csv(file)
    except StockFileError as exc:
        fail(f"{exc}; nothing was imported")
    if not rows:
        fail(f"{file}: no SKU listed under the header; nothing was imported")
    runtime = open_cli_runtime()
    try:
        result = import_stock(runtime, rows)
    finally:
        runtime.close()
    typer.echo(f"{result.total} SKUs read from {file}: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")
    typer.echo("Orders auto-accept held for lack of stock are looked at again at the next sync.")


@stock_app.command("list")
def list_cmd(
    sku: Annotated[Optional[str], typer.Option("--sku", help="Only SKUs matching this pattern (* and ? wildcards).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many SKUs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List stock levels: quantity, units reserved by auto-accepted orders, and what is available."""
    from lengow_tui.services.stock import list_stock

    if limit is not None and limit < 1:
        fail("--limit must be 1 or more")
    runtime = open_cli_runtime()
    try:
        with runtime.store.read() as session:
            levels = list_stock(session, sku, limit=limit)
    finally:
        runtime.close()
    if as_json:
        typer.echo(json.dumps([{"sku": s.sku, "quantity": s.quantity, "reserved": s.reserved,
                                "available": s.available} for s in levels], ensure_ascii=False, indent=2))
        return
    if not levels:
        typer.echo("no SKU matches" if sku else "the stock table is empty (load it with 'lengow-tui stock import FILE.csv')")
        return
    print_table(["SKU", "QUANTITY", "RESERVED", "AVAILABLE"],
                [[s.sku, str(s.quantity), str(s.reserved), str(s.available)] for s in levels], widths={0: 48})
    typer.echo(f"{len(levels)} SKUs")
