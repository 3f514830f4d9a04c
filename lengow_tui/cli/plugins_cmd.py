"""``lengow-tui plugins``: the installed connector plugins, what they declare, and which ones failed.

``plugins`` / ``plugins list``: every connector, failed and disabled plugin. ``plugins info NAME``: one
connector (or plugin) in full. ``plugins disable NAME`` / ``plugins enable NAME``: edit the config's
``[plugins] disabled`` in place (comments and layout kept); they import no plugin, so a plugin that
crashes on import can still be disabled.

Plugins named in the config's ``plugins.disabled`` (and, for third-party ones, all of them with
``LENGOW_TUI_DISABLE_PLUGINS=1``) are not loaded and are listed as disabled.

Listing loads the plugins (importing their modules, calling ``register_connectors``) but never builds a
client: no network I/O. Exits 0 even when plugins failed; they are listed under "Failed plugins".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lengow_tui.cli import app, state

if TYPE_CHECKING:
    from pathlib import Path

    from lengow_tui.plugins import InstalledPlugin, Registry

plugins_app = typer.Typer(
    invoke_without_command=True,
    help="Connector plugins: list what is installed, what each marketplace declares, and what failed.",
    rich_markup_mode=None,
)
app.add_typer(plugins_app, name="plugins")

JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]

MAX_CHOICES = 8  # valid values shown per argument before "(+N more)"


@plugins_app.callback()
def _plugins(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the connector plugins (same as ``plugins list``)."""
    if ctx.invoked_subcommand is None:
        _list(as_json)


@plugins_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the connector plugins, their marketplaces, and the plugins that failed to load."""
    parent_json = bool(ctx.parent and ctx.parent.params.get("as_json"))  # `plugins --json list`
    _list(as_json or parent_json)


def _list(as_json: bool) -> None:
    from lengow_tui.plugins import load_registry

    registry = load_registry(disabled=_disabled_in_config())
    if as_json:
        typer.echo(render_json(registry))
    else:
        typer.echo(render_text(registry), nl=False)


def _disabled_in_config() -> tuple[str, ...]:
    """``plugins.disabled`` of the config file. A broken config must not hide the plugins: warn, go on."""
    from lengow_tui.config import ConfigError, load_config

    try:
        return tuple(load_config(state.config_path).disabled_plugins)
    except ConfigError as exc:
        typer.echo(f"warning: config not used ({exc}); listing every plugin", err=True)
        return ()


def render_json(registry: Registry) -> str:
    from lengow_tui.plugin_report import registry_to_dict

    return json.dumps(registry_to_dict(registry), indent=2, ensure_ascii=False)


def render_text(registry: Registry) -> str:
    from lengow_tui.plugin_report import registry_to_dict

    data = registry_to_dict(registry)
    out: list[str] = []
    if not data["connectors"]:
        out.append("No connector is available.")
    for connector in data["connectors"]:
        _connector_text(connector, out)
        out.append("")
    if data["failed"]:
        if out and out[-1] != "":
            out.append("")
        out.append(f"Failed plugins: {len(data['failed'])}")
        for failure in data["failed"]:
            subject = f"  {failure['plugin']} ({failure['distribution']} {failure['version']})"
            if failure["connector"]:
                subject += f", connector {failure['connector']}"
            out.append(f"{subject} - {failure['stage']}:")
            for part in _split_error(failure["stage"], failure["error"]):
                out.append(f"      {part}")
    if data["disabled"]:
        if out and out[-1] != "":
            out.append("")
        out.append(f"Disabled plugins: {', '.join(data['disabled'])}")
    return "\n".join(out).rstrip("\n") + "\n"


def _split_error(stage: str, error: str) -> list[str]:
    # validation errors are ConnectorSpec.check() problems joined with "; ": one per line reads better
    if stage != "validation" or error.startswith("register_connectors"):
        return [error]
    return [part for part in error.split("; ") if part] or [error]


def _connector_text(c: dict[str, Any], out: list[str]) -> None:
    origin = "built-in" if c["first_party"] else "third-party"
    out.append(f"{c['name']} - {c['title']}")
    out.append(f"  from {c['distribution']} {c['version']} (plugin {c['plugin']}, {origin}), "
               f"API version {c['api_version']}")
    if c["description"]:
        out.append(f"  {c['description']}")
    if c["docs_url"]:
        out.append(f"  docs: {c['docs_url']}")
    if c["config_fields"]:
        out.append("  config:")
        for f in c["config_fields"]:
            flags = [f["type"]]
            if f["secret"]:
                flags.append("secret")
            flags.append("required" if f["required"] else "optional")
            if f["default"] is not None:
                flags.append(f"default {f['default']}")
            line = f"    {f['name']} ({', '.join(flags)}) - {f['label']}"
            out.append(line)
    else:
        out.append("  config: none")
    if c["dynamic_marketplaces"]:
        plus = ", plus:" if c["marketplaces"] else ""
        out.append(f"  marketplaces: read from the platform at run time{plus}")
    for m in c["marketplaces"]:
        _marketplace_text(m, out)


def _marketplace_text(m: dict[str, Any], out: list[str]) -> None:
    extra = [f"poll every >= {m['min_poll_interval_seconds']}s"]
    if m["rate_limit_per_minute"]:
        extra.append(f"<= {m['rate_limit_per_minute']} calls/min")
    if m["country"]:
        extra.append(m["country"])
    out.append(f"  marketplace {m['code']} - {m['name']} ({', '.join(extra)})")
    sm = m["status_map"]
    out.append("    statuses (order):")
    for raw, common in sm["order"].items():
        out.append(f"      {raw} -> {common}")
    if sm["lines"]:
        out.append("    statuses (line):")
        for raw, common in sm["lines"].items():
            out.append(f"      {raw} -> {common}")
    if sm["derive_from_lines"]:
        out.append("    order status derived from its lines' statuses")
    if m["actions"]:
        out.append("    actions:")
    for a in m["actions"]:
        level = "per line" + (", partial" if a["partial"] else "") if a["per_line"] else "per order"
        head = f"      {a['kind']} ({level}) from {', '.join(a['allowed_from'])}"
        if a["result_status"]:
            head += f" -> {a['result_status']}"
        out.append(head)
        for arg in a["arguments"]:
            out.append(f"        {_argument_text(arg)}")
    if not m["actions"]:
        out.append("    actions: none")
    if m["carriers"]:
        out.append("    carriers: " + _choices_text(m["carriers"], limit=MAX_CHOICES * 2))
    if m["delivery_types"]:
        out.append("    delivery types: " + _choices_text(m["delivery_types"]))
    if m["documents"]:
        out.append("    documents:")
        for d in m["documents"]:
            out.append(f"      {d['kind']} ({d['label']}) from {', '.join(d['available_from'])}")
    else:
        out.append("    documents: none")


def _argument_text(arg: dict[str, Any]) -> str:
    parts = [f"{arg['name']} ({arg['type']})"]
    if arg["required"]:
        parts.append("required")
    elif arg["required_when"]:
        parts.append("required when " + " or ".join(c["description"] for c in arg["required_when"]))
    else:
        parts.append("optional")
    if arg["valid_values"]:
        parts.append("values: " + _choices_text(arg["valid_values"]))
        if arg["accept_free_values"]:
            parts.append("free values allowed")
    if arg["default"] is not None:
        parts.append(f"default {arg['default']}")
    if arg["max_length"]:
        parts.append(f"max {arg['max_length']} chars")
    return ", ".join(parts)


def _choices_text(choices: list[dict[str, Any]], limit: int = MAX_CHOICES) -> str:
    shown = [f"{c['code']}={c['label']}" for c in choices[:limit]]
    if len(choices) > limit:
        shown.append(f"... (+{len(choices) - limit} more)")
    return ", ".join(shown)


# --------------------------------------------------------------------------------------------------
# plugins info / disable / enable


def enable_trace() -> None:
    """``--trace-plugins``: switch tracing on for this process and its children, printed on stderr."""
    import logging
    import os
    import sys

    from lengow_tui.plugins import TRACE_ENV, reset_registry_cache, trace_log

    os.environ[TRACE_ENV] = "1"  # the daemon's workers and `sync` subprocesses inherit it
    reset_registry_cache()  # a registry loaded before now would not trace
    if not any(getattr(h, "_lengow_trace", False) for h in trace_log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("trace: %(message)s"))
        handler._lengow_trace = True  # type: ignore[attr-defined]
        trace_log.addHandler(handler)
    trace_log.setLevel(logging.DEBUG)


def _config_path() -> Path:
    from lengow_tui.config import default_config_path

    return state.config_path or default_config_path()


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _resolve_plugin(name: str) -> tuple[InstalledPlugin | None, list[InstalledPlugin]]:
    """The installed plugin called ``name``; failing that, the plugin that provides connector ``name``."""
    from lengow_tui.plugins import installed_plugins, load_registry

    plugins = installed_plugins()
    for plugin in plugins:
        if plugin.name == name:
            return plugin, plugins
    # Maybe a connector name: only now import plugins (each in isolation) to learn who provides it.
    loaded = load_registry().connectors.get(name)
    if loaded is not None:
        return next((p for p in plugins if p.name == loaded.plugin), None), plugins
    return None, plugins


def _unknown(name: str, plugins: list[InstalledPlugin]) -> None:
    known = ", ".join(sorted({p.name for p in plugins})) or "none"
    _fail(f"no installed plugin or connector is called {name!r} (installed plugins: {known}); "
          "see `lengow-tui plugins`")


@plugins_app.command("disable")
def disable_cmd(name: Annotated[str, typer.Argument(help="Plugin (entry point) or connector name.")]) -> None:
    """Stop loading a plugin: adds it to [plugins] disabled in the config file (comments are kept)."""
    from lengow_tui.config import ConfigError, load_config, set_disabled_plugins

    plugin, plugins = _resolve_plugin(name)
    if plugin is None:
        _unknown(name, plugins)
        return
    path = _config_path()
    try:
        current = list(load_config(path if path.exists() else None).disabled_plugins) if path.exists() else []
    except ConfigError as exc:
        _fail(f"cannot read the config: {exc}")
        return
    if plugin.name in current:
        typer.echo(f"plugin {plugin.name} is already disabled in {path}")
        return
    try:
        set_disabled_plugins(path, current + [plugin.name])
    except ConfigError as exc:
        _fail(str(exc))
    what = f"plugin {plugin.name}" + (f" (which provides connector {name})" if name != plugin.name else "")
    typer.echo(f"disabled {what} in {path}")
    if plugin.first_party:
        typer.echo("note: it is a built-in connector; channels using it stop syncing until it is enabled again")


@plugins_app.command("enable")
def enable_cmd(name: Annotated[str, typer.Argument(help="Plugin (entry point) or connector name.")]) -> None:
    """Load a plugin again: removes it from [plugins] disabled in the config file."""
    from lengow_tui.config import ConfigError, load_config, set_disabled_plugins
    from lengow_tui.plugins import DISABLE_ENV, _env_disabled, installed_plugins

    path = _config_path()
    try:
        current = list(load_config(path).disabled_plugins) if path.exists() else []
    except ConfigError as exc:
        _fail(f"cannot read the config: {exc}")
        return
    plugins = installed_plugins()
    if name not in current:
        plugin = next((p for p in plugins if p.name == name), None)
        if plugin is None:
            _unknown(name, plugins)
            return
        typer.echo(f"plugin {name} is not disabled in {path}")
    else:
        try:
            set_disabled_plugins(path, [n for n in current if n != name])
        except ConfigError as exc:
            _fail(str(exc))
        typer.echo(f"enabled plugin {name} in {path}")
        if not any(p.name == name for p in plugins):
            typer.echo(f"note: no plugin called {name} is installed")
    all_off, skipped = _env_disabled()
    plugin = next((p for p in plugins if p.name == name), None)
    if name in skipped or (all_off and plugin is not None and not plugin.first_party):
        typer.echo(f"note: {DISABLE_ENV} still keeps it from loading in this environment")


@plugins_app.command("info")
def info_cmd(name: Annotated[str, typer.Argument(help="Connector or plugin (entry point) name.")],
             as_json: JsonOption = False) -> None:
    """Everything about one connector or plugin: origin, config fields, marketplaces, failures."""
    from lengow_tui.plugin_report import connector_to_dict, failure_to_dict
    from lengow_tui.plugins import installed_plugins, load_registry

    disabled = _disabled_in_config()
    registry = load_registry(disabled=disabled)
    plugins = installed_plugins()
    loaded = registry.connectors.get(name)
    plugin_name = loaded.plugin if loaded else name
    entry = next((p for p in plugins if p.name == plugin_name), None)
    connectors = [c for c in registry.connectors.values() if c.plugin == plugin_name] if loaded is None \
        else [loaded]
    failures = [f for f in registry.failures if f.plugin == plugin_name or (f.connector and f.connector == name)]
    if entry is None and not connectors and not failures:
        _unknown(name, plugins)
        return
    status = ("disabled" if plugin_name in registry.disabled else
              "failed" if failures and not connectors else "loaded")
    doc: dict[str, Any] = {
        "name": name,
        "plugin": plugin_name,
        "status": status,
        "entry_point": entry.value if entry else None,
        "distribution": entry.distribution if entry else (connectors[0].distribution if connectors else None),
        "version": entry.version if entry else (connectors[0].version if connectors else None),
        "first_party": entry.first_party if entry else bool(connectors and connectors[0].first_party),
        "disabled_by": ("config" if plugin_name in disabled else "environment") if status == "disabled" else None,
        "connectors": [connector_to_dict(c) for c in connectors],
        "failures": [failure_to_dict(f) for f in failures],
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    out = [f"plugin {plugin_name}: {status}"
           + (f" (by the {doc['disabled_by']}; `lengow-tui plugins enable {plugin_name}`)"
              if doc["disabled_by"] == "config" else
              " (LENGOW_TUI_DISABLE_PLUGINS)" if doc["disabled_by"] else "")]
    if entry is not None:
        origin = "built-in" if entry.first_party else "third-party"
        out.append(f"  from {entry.distribution} {entry.version} ({origin}), entry point {entry.name} = {entry.value}")
    out.append("")
    for connector in doc["connectors"]:
        _connector_text(connector, out)
        out.append("")
    if failures:
        out.append("Failures:")
        for failure in doc["failures"]:
            subject = f"  {failure['stage']}" + (f" (connector {failure['connector']})" if failure["connector"] else "")
            out.append(subject + ":")
            out.extend(f"      {part}" for part in _split_error(failure["stage"], failure["error"]))
    typer.echo("\n".join(out).rstrip("\n") + "\n", nl=False)
    if status == "failed":
        raise typer.Exit(1)
