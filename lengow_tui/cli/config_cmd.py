"""``lengow-tui config init`` and ``lengow-tui config check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lengow_tui.cli import app, state

config_app = typer.Typer(help="Create or check the config file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("init")
def init(
    path: Annotated[
        Optional[Path],
        typer.Option("--path", "-p", help="Where to write (default: --config, $LENGOW_TUI_CONFIG or the user "
                                          "config dir)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented config file with the default settings (mode 0600)."""
    from lengow_tui.config import default_config_path, init_config_text, write_config

    target = (path or state.config_path or default_config_path()).expanduser()
    try:
        write_config(target, init_config_text(), force=force)
    except FileExistsError:
        typer.echo(f"error: {target} already exists; use --force to replace it", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"error: cannot write {target}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(str(target.absolute()))


@config_app.command("check")
def check() -> None:
    """Load the config and check every channel against its connector. Writes nothing."""
    from lengow_tui.config import (
        ConfigError,
        default_config_path,
        load_config,
        load_config_or_exit,
        redact_url,
    )
    from lengow_tui.plugins import load_registry

    # First pass without connectors: it says which plugins to leave disabled.
    base = load_config_or_exit(state.config_path)
    registry = load_registry(disabled=base.disabled_plugins)
    connectors = {name: connector.spec for name, connector in registry.connectors.items()}
    try:
        config = load_config(state.config_path, connectors=connectors)
    except ConfigError as exc:
        _explain_unknown_connector(exc, base, registry)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    if config.path is None:
        typer.echo(f"config OK: no file at {state.config_path or default_config_path()}, using defaults")
    else:
        typer.echo(f"config OK: {config.path}")
    typer.echo(f"  database: {redact_url(config.database_url)}")
    if not config.channels:
        typer.echo("  no channels configured")
    for channel in config.channels:
        state_word = "enabled" if channel.enabled else "disabled"
        typer.echo(f"  channel {channel.name}: connector {channel.connector}, {state_word}")
    for warning in config.warnings:
        typer.echo(f"warning: {warning}", err=True)


def _explain_unknown_connector(error, base, registry) -> None:  # type: ignore[no-untyped-def]
    """Say why a channel's connector is missing (its plugin failed or is disabled) when the registry knows."""
    parts = (error.key or "").split(".")
    if len(parts) != 3 or parts[0] != "channels" or parts[2] != "connector":
        return
    try:
        connector = base.channel(parts[1]).connector
        registry.spec(connector)
    except LookupError as exc:  # KeyError or the registry's UnknownConnectorError
        if str(exc).startswith("unknown connector"):
            error.message = f"{exc}; see `lengow-tui plugins`"
    except Exception:  # noqa: BLE001 - only an explanation; the original message stands
        return
