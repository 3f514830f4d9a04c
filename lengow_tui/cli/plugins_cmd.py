"""``lengow-tui plugins``: the installed connector plugins, what they declare, and which ones failed.

Plugins named in the config's ``plugins.disabled`` (and, for third-party ones, all of them with
``LENGOW_TUI_DISABLE_PLUGINS=1``) are not loaded and are listed as disabled.

Loads the plugins (importing their modules, calling ``register_connectors``) but never builds a client:
no network I/O. Exits 0 even when plugins failed; they are listed under "Failed plugins".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lengow_tui.cli import app, state

if TYPE_CHECKING:
    from lengow_tui.plugins import Registry

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
