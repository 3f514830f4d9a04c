"""The ``lengow-tui`` command. Heavy modules (SQLAlchemy, Textual, connectors) are imported inside
commands, so ``--help`` and ``--version`` stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lengow_tui import __version__

app = typer.Typer(
    name="lengow-tui",
    help="Keyboard-first order desk for marketplace orders (Fnac, Carrefour, Amazon, eBay...).",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class State:
    """Global options, read by commands through ``state``."""

    config_path: Path | None = None


state = State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lengow-tui {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path],
        typer.Option("--config", "-c", help="Config file (default: $LENGOW_TUI_CONFIG or the user config dir).",
                     envvar="LENGOW_TUI_CONFIG"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="Open the desk without any mutating action.")] = False,
    no_mouse: Annotated[bool, typer.Option("--no-mouse", help="Ignore the mouse (keyboard only).")] = False,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Do not run the sync engine in the background.")] = False,
    ascii_only: Annotated[bool, typer.Option("--ascii", help="Draw with ASCII characters only.")] = False,
    trace_plugins: Annotated[
        bool, typer.Option("--trace-plugins", help="Log every plugin hook call and connector call (with timings, "
                                                   "never arguments) on stderr; same as LENGOW_TUI_TRACE_PLUGINS=1.")
    ] = False,
) -> None:
    """Without a command: open the order desk (needs a config; try 'lengow-tui demo')."""
    state.config_path = config
    if trace_plugins:
        from lengow_tui.cli.plugins_cmd import enable_trace

        enable_trace()
    if ctx.invoked_subcommand is None:
        from lengow_tui.config import default_config_path

        path = config or default_config_path()
        if not path.exists():
            typer.echo(ctx.get_help())
            typer.echo(f"\nNo configuration at {path}: run 'lengow-tui demo' to try it, or 'lengow-tui config init'.")
            raise typer.Exit(0)
        from lengow_tui.cli.common import open_cli_runtime
        from lengow_tui.tui import run_app

        runtime = open_cli_runtime()
        raise typer.Exit(run_app(runtime, read_only=read_only, mouse=False if no_mouse else None,
                                 live_sync=not no_sync, ascii=True if ascii_only else None))


def _register() -> None:
    from lengow_tui.cli import (  # noqa: F401  (each module adds its commands to ``app``)
        actions_cmd,
        config_cmd,
        db_cmd,
        demo_cmd,
        export_cmd,
        orders_cmd,
        plugins_cmd,
        purge_cmd,
        stock_cmd,
        sync_cmd,
        workers_cmd,
    )


_register()


def main() -> None:
    app()
