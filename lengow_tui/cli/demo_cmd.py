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
    marketplace: Annotated[str, typer.Option(
        "--marketplace", help="sandbox (simulated in-process); mirakl or lengow: that connector against its "
                              "emulator, a real HTTP server started in the background.")] = "sandbox",
    stop: Annotated[bool, typer.Option("--stop", help="Stop the background emulator of --marketplace.")] = False,
) -> None:
    """Create a demo configuration and database with sandbox marketplaces, import their orders."""
    from lengow_tui.cli.demo_emulator import MARKETPLACES
    from lengow_tui.config import default_data_dir, demo_config, write_config

    if orders < 0:
        fail("--orders must be zero or more")
    if marketplace != "sandbox" and marketplace not in MARKETPLACES:
        fail(f"unknown --marketplace {marketplace!r}; one of: sandbox, {', '.join(MARKETPLACES)}")
    if stop:
        if marketplace == "sandbox":
            fail("the sandbox runs inside lengow-tui: there is nothing to stop")
        from lengow_tui.cli.demo_emulator import stop_emulator

        typer.echo(stop_emulator(_emulated_folder(marketplace)))
        return
    if marketplace != "sandbox":
        path = _emulated_demo(marketplace)
    else:
        path, create = _demo_config_path()
        if create:
            data_dir = path.parent / "data" if state.config_path is not None else default_data_dir() / "demo"
            config = demo_config(data_dir)
            config["sync"]["interval_seconds"] = 10  # the sandbox moves fast; let the demo show it
            write_config(path, config)
            typer.echo(f"created demo config {path}")
    _run_demo(path, orders=orders, tui=tui, marketplace=marketplace)


def _emulated_folder(marketplace: str) -> Path:
    from lengow_tui.config import default_data_dir

    if state.config_path is not None:
        return state.config_path.parent
    return default_data_dir() / f"demo-{marketplace}"


def _emulated_demo(marketplace: str) -> Path:
    """Start (or find) the marketplace's emulator and write the demo config pointing at it."""
    import shutil

    from lengow_tui.cli.demo_emulator import MARKETPLACES, demo_config_for, ensure_emulator
    from lengow_tui.config import write_config

    market = MARKETPLACES[marketplace]
    folder = _emulated_folder(marketplace)
    path = state.config_path or folder / "config.toml"
    try:
        emulator = ensure_emulator(market, folder)
    except RuntimeError as exc:
        fail(str(exc), 1)
    if emulator.fresh or not path.exists():
        # A new emulator is a new marketplace world: the demo database starts afresh with it.
        shutil.rmtree(folder / "data", ignore_errors=True)
        write_config(path, demo_config_for(market, folder, emulator.url))
        typer.echo(f"started the {marketplace} emulator at {emulator.url} (pid {emulator.pid}); "
                   f"stop it with: lengow-tui demo --marketplace {marketplace} --stop")
        typer.echo(f"created demo config {path}")
    else:
        typer.echo(f"the {marketplace} emulator is running at {emulator.url}")
    return path


def _run_demo(path: Path, *, orders: int, tui: bool, marketplace: str) -> None:
    import asyncio

    from lengow_tui.cli import state as cli_state
    from lengow_tui.sync.run import sync_once

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
    stop_hint = "" if marketplace == "sandbox" else f"  lengow-tui demo --marketplace {marketplace} --stop   (when done)\n"
    typer.echo(
        "\nThe demo is ready. Try:\n  "
        + env_hint
        + "lengow-tui orders list --status waiting_acceptance\n"
        "  lengow-tui orders show ID\n"
        "  lengow-tui orders accept ID\n"
        "  lengow-tui sync --once          (delivers the action; run again a few seconds later to see the result)\n"
        "  lengow-tui export --status waiting_shipment -o orders.csv\n"
        + stop_hint
    )


def _default_path() -> Path:
    from lengow_tui.config import default_config_path

    return default_config_path()

