"""``lengow-tui demo``: a working desk in one command — sandbox channels, seeded orders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lengow_tui.cli import app, state
from lengow_tui.cli.common import fail


def _demo_config_path() -> tuple[Path, bool]:
    """Where the demo config goes, and whether it must be written.

    The demo uses the default config location when it is free (so that plain ``lengow-tui ...``
    commands afterwards work on the demo), or an existing config that already has a sandbox channel;
    a merchant's real config is never touched: the demo then lives under the data dir.
    """
    import tomllib

    from lengow_tui.config import default_config_path, default_data_dir

    if state.config_path is not None:
        return state.config_path, not state.config_path.exists()
    path = default_config_path()
    if not path.exists():
        return path, True
    try:
        channels = tomllib.loads(path.read_text(encoding="utf-8")).get("channels", {})
    except (OSError, tomllib.TOMLDecodeError):
        channels = {}
    if any(isinstance(c, dict) and c.get("connector") == "sandbox" for c in channels.values()):
        return path, False
    own = default_data_dir() / "demo" / "config.toml"
    return own, not own.exists()


@app.command("demo")
def demo_cmd(
    orders: Annotated[int, typer.Option("--orders", help="Also generate this many extra orders (scale testing).")] = 0,
    tui: Annotated[bool, typer.Option("--tui/--no-tui", help="Open the order desk afterwards.")] = True,
) -> None:
    """Create a demo configuration and database with sandbox marketplaces, import their orders."""
    import asyncio

    from lengow_tui.cli import state as cli_state
    from lengow_tui.config import default_data_dir, demo_config, write_config
    from lengow_tui.sync.run import sync_once

    if orders < 0:
        fail("--orders must be zero or more")
    path, create = _demo_config_path()
    if create:
        data_dir = path.parent / "data" if state.config_path is not None else default_data_dir() / "demo"
        config = demo_config(data_dir)
        config["sync"]["interval_seconds"] = 10  # the sandbox moves fast; let the demo show it
        write_config(path, config)
        typer.echo(f"created demo config {path}")
    cli_state.config_path = path
    from lengow_tui.cli.common import open_cli_runtime

    runtime = open_cli_runtime()
    typer.echo(f"database {runtime.store.safe_url}")
    for result in asyncio.run(sync_once(runtime)):
        if result.error or (result.imported and result.imported.error):
            fail(f"demo sync of {result.channel} failed: {result.error or result.imported.error}", 1)  # type: ignore[union-attr]
        typer.echo(result.imported.summary() if result.imported else result.channel)
    if orders:
        from lengow_tui.store.bulk import generate_orders

        typer.echo(f"generating {orders:,} orders…")
        stats = generate_orders(runtime.store, orders)
        typer.echo(f"generated {stats.orders:,} orders ({stats.lines:,} lines) in {stats.seconds:.1f} s "
                   f"on channels {', '.join(stats.channels)} (not in the config: listed, not synced)")
    env_hint = "" if path == _default_path() else f"export LENGOW_TUI_CONFIG={path}\n  "
    if tui:
        from lengow_tui.tui import run_app

        typer.echo("opening the order desk…  (q quits, ? lists the keys)")
        raise typer.Exit(run_app(runtime))
    typer.echo(
        "\nThe demo is ready. Try:\n  "
        + env_hint
        + "lengow-tui orders list --status waiting_acceptance\n"
        "  lengow-tui orders show ID\n"
        "  lengow-tui orders accept ID\n"
        "  lengow-tui sync --once          (delivers the action; run again a few seconds later to see the result)\n"
        "  lengow-tui export --status waiting_shipment -o orders.csv"
    )


def _default_path() -> Path:
    from lengow_tui.config import default_config_path

    return default_config_path()

