"""Helpers shared by commands: opening the runtime, parsing arguments, printing tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from lengow_tui.domain import Status
    from lengow_tui.runtime import Runtime
    from lengow_tui.store.models import Order


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_cli_runtime() -> Runtime:
    """Load and validate the config (exit 2 on a bad one), open the store, register channels."""
    from lengow_tui.cli import state
    from lengow_tui.config import load_config_or_exit
    from lengow_tui.plugins import load_registry
    from lengow_tui.runtime import open_runtime
    from lengow_tui.store import StoreError

    base = load_config_or_exit(state.config_path)
    registry = load_registry(disabled=base.disabled_plugins)
    connectors = {name: loaded.spec for name, loaded in registry.connectors.items()}
    config = load_config_or_exit(state.config_path, connectors=connectors)
    for warning in config.warnings:
        typer.echo(f"warning: {warning}", err=True)
    try:
        return open_runtime(config)
    except StoreError as exc:
        fail(str(exc))


def parse_when(value: str | None, *, end: bool = False) -> datetime | None:
    """A date (2026-11-01), a date-time, or a span back from now: 30m, 12h, 7d."""
    if not value:
        return None
    text = value.strip()
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"cannot read {value!r} as a date: use 2026-11-01, 2026-11-01T08:00, or a span such as 7d or 12h")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_key_values(items: Sequence[str], option: str = "--arg") -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{option} {item!r}: expected key=value, e.g. {option} tracking_number=6A123456789")
        result[key.strip()] = value
    return result


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


def cell_width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def truncate(text: str, width: int) -> str:
    from rich.cells import set_cell_size

    if cell_width(text) <= width:
        return text
    return set_cell_size(text, max(0, width - 1)) + "…"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: dict[int, int] | None = None) -> None:
    widths = widths or {}
    cols = [
        min(widths.get(i, 10_000), max([cell_width(h)] + [cell_width(r[i]) for r in rows]))
        for i, h in enumerate(headers)
    ]

    def fmt(values: Sequence[str]) -> str:
        cells = []
        for i, value in enumerate(values):
            value = truncate(value, cols[i])
            cells.append(value + " " * (cols[i] - cell_width(value)))
        return "  ".join(cells).rstrip()

    out = sys.stdout
    out.write(fmt(headers) + "\n")
    for row in rows:
        out.write(fmt(row) + "\n")


def parse_statuses(values: Sequence[str]) -> tuple[Status, ...]:
    """``--status`` values, repeated or comma-separated; an unknown one is an error (exit 2)."""
    from lengow_tui.domain import Status

    result = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            try:
                result.append(Status(part))
            except ValueError:
                fail(f"unknown status {part!r}; one of: {', '.join(s.value for s in Status)}")
    return tuple(result)


def channel_ids(runtime: Runtime, names: Sequence[str]) -> tuple[int, ...]:
    """``--channel`` names as channel ids; an unknown name is an error (exit 2)."""
    from lengow_tui.services.channels import channel_names

    known = {name: cid for cid, name in channel_names(runtime).items()}
    for name in names:
        if name not in known:
            fail(f"unknown channel {name!r}; channels: {', '.join(sorted(known)) or 'none'}")
    return tuple(known[name] for name in names)


def resolve_orders(runtime: Runtime, references: Sequence[str], consequence: str) -> list[Order]:
    """Orders by local or marketplace id, all or nothing: one unknown reference fails (exit 1)."""
    from lengow_tui.services.orders import find_order

    orders = []
    with runtime.store.read() as session:
        for ref in references:
            order = find_order(session, ref)
            if order is None:
                fail(f"no order {ref!r}; {consequence}", 1)
            orders.append(order)
    return orders
