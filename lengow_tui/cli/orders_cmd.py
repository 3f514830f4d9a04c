"""``lengow-tui orders``: list, show, and queue actions (accept, refuse, ship, cancel, refund)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from lengow_tui.cli import app
from lengow_tui.cli.common import (
    channel_ids,
    fail,
    money,
    open_cli_runtime,
    parse_key_values,
    parse_statuses,
    parse_when,
    print_table,
    resolve_orders,
)

orders_app = typer.Typer(help="List, inspect and act on orders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")

StatusOpt = Annotated[list[str], typer.Option("--status", "-s", help="Common status (repeat or comma-separate).")]
ChannelOpt = Annotated[list[str], typer.Option("--channel", help="Channel name (repeatable).")]


@orders_app.command("list")
def list_cmd(
    status: StatusOpt = [],
    channel: ChannelOpt = [],
    since: Annotated[Optional[str], typer.Option(help="Ordered at or after: 2026-11-01, or a span like 7d.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Ordered before this date.")] = None,
    search: Annotated[str, typer.Option("--search", "-q", help="Order id, buyer, SKU, product title, tracking.")] = "",
    review: Annotated[bool, typer.Option("--review", help="Only orders flagged for review.")] = False,
    sort: Annotated[str, typer.Option(help="ordered_at, total, status, channel, order_id, deadline; prefix - for descending.")] = "-ordered_at",
    limit: Annotated[int, typer.Option(help="At most this many orders.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many orders.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List orders, newest first, with filters."""
    from lengow_tui.services.channels import channel_names
    from lengow_tui.services.orders import OrderFilter, OrderSort, SortKey, count_orders, list_orders

    statuses = parse_statuses(status)
    key = sort.lstrip("-")
    try:
        order_sort = OrderSort(SortKey(key), descending=sort.startswith("-"))
    except ValueError:
        fail(f"cannot sort by {key!r}; one of: {', '.join(k.value for k in SortKey)}")
    runtime = open_cli_runtime()
    flt = OrderFilter(
        statuses=statuses,
        channel_ids=channel_ids(runtime, channel),
        since=parse_when(since),
        until=parse_when(until, end=True),
        search=search,
        needs_review=True if review else None,
    )
    names = channel_names(runtime)
    with runtime.store.read() as session:
        total = count_orders(session, flt)
        rows = list_orders(session, flt, order_sort, limit=limit, offset=offset)
    if as_json:
        typer.echo(json.dumps({"total": total, "orders": [
            {"id": o.id, "channel": names.get(o.channel_id), "marketplace": o.marketplace,
             "marketplace_order_id": o.marketplace_order_id, "status": o.status, "raw_status": o.raw_status,
             "needs_review": o.needs_review, "ordered_at": o.ordered_at.isoformat(), "currency": o.currency,
             "total": f"{o.total_cents / 100:.2f}", "items": o.items_count, "buyer": None if o.anonymized_at else o.buyer_name,
             "pending_actions": o.pending_actions, "has_documents": o.has_documents,
             "shipping_deadline": o.shipping_deadline.isoformat() if o.shipping_deadline else None}
            for o in rows]}, ensure_ascii=False, indent=2))
        return
    table = []
    for o in rows:
        status_text = (o.status or "?review") + f" ({o.raw_status})"
        marker = ("*" if o.pending_actions else "") + ("D" if o.has_documents else "")
        table.append([
            str(o.id), o.ordered_at.strftime("%Y-%m-%d %H:%M"), f"{names.get(o.channel_id, '?')}/{o.marketplace}",
            o.marketplace_order_id, "anonymized" if o.anonymized_at else (o.buyer_name or ""), str(o.items_count),
            money(o.total_cents, o.currency), status_text, marker,
        ])
    print_table(["ID", "ORDERED", "CHANNEL", "ORDER", "BUYER", "ITEMS", "TOTAL", "STATUS (RAW)", ""], table,
                widths={2: 28, 3: 22, 4: 24, 7: 40})
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else "0"
    typer.echo(f"{shown} of {total} orders" + ("  (* action pending, D documents)" if rows else ""))


@orders_app.command("show")
def show_cmd(
    reference: Annotated[str, typer.Argument(help="Local id or marketplace order id.")],
    raw: Annotated[bool, typer.Option("--raw", help="Also print the raw marketplace payload.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Show one order: lines, parties, tracking, documents, history and actions."""
    from lengow_tui.cli.order_view import detail_as_dict, print_detail
    from lengow_tui.services.orders import find_order, order_detail

    runtime = open_cli_runtime()
    with runtime.store.read() as session:
        order = find_order(session, reference)
        if order is None:
            fail(f"no order {reference!r} (give the local id shown by 'orders list', or a unique marketplace id)", 1)
        detail = order_detail(session, order.id)  # type: ignore[arg-type]
    assert detail is not None
    declaration = runtime.declaration(detail.channel, detail.order.marketplace)
    if as_json:
        typer.echo(json.dumps(detail_as_dict(detail, declaration, raw=raw), ensure_ascii=False, indent=2, default=str))
    else:
        print_detail(detail, declaration, raw=raw)


def _parse_lines(values: list[str]):  # type: ignore[no-untyped-def]
    from decimal import Decimal, InvalidOperation

    from lengow_tui.domain import LineSelection

    result = []
    for value in values:
        parts = value.split(":")
        if len(parts) > 3 or not parts[0]:
            fail(f"--line {value!r}: expected LINE_ID[:QUANTITY[:AMOUNT]], e.g. --line 1234-1:1:9.90")
        try:
            quantity = int(parts[1]) if len(parts) > 1 and parts[1] else None
            amount = int(Decimal(parts[2]) * 100) if len(parts) > 2 and parts[2] else None
        except (ValueError, InvalidOperation):
            fail(f"--line {value!r}: quantity must be a whole number and amount a decimal such as 9.90")
        result.append(LineSelection(parts[0], quantity, amount))
    return result


def _act(kind: str, references: list[str], args: list[str], lines: list[str], now: bool) -> None:
    import asyncio

    from lengow_tui.services.actions import queue_action
    from lengow_tui.store.models import Action, Channel

    arguments = parse_key_values(args)
    selections = _parse_lines(lines)
    if selections and len(references) > 1:
        fail("--line applies to a single order; give one order with --line")
    runtime = open_cli_runtime()
    resolved = resolve_orders(runtime, references, "nothing was queued")
    queued: list[int] = []
    refused = 0
    for order in resolved:
        result = queue_action(runtime, order.id, kind, arguments, selections, source="cli")  # type: ignore[arg-type]
        label = f"order {order.id} ({order.marketplace_order_id})"
        if result.ok:
            queued.append(result.action_id)  # type: ignore[arg-type]
            typer.echo(f"{label}: {kind} queued as action #{result.action_id}")
        else:
            refused += 1
            typer.echo(f"{label}: {kind} refused, nothing queued:", err=True)
            for problem in result.problems:
                typer.echo(f"  - {problem}", err=True)
    if queued and now:
        from lengow_tui.sync.run import sync_once

        with runtime.store.read() as session:
            channel_ids = {session.get(Action, a).channel_id for a in queued}  # type: ignore[union-attr]
            names = [session.get(Channel, c).name for c in channel_ids]  # type: ignore[union-attr]
        asyncio.run(sync_once(runtime, names, do_import=False, deliver=True))
        with runtime.store.read() as session:
            for action_id in queued:
                action = session.get(Action, action_id)
                assert action is not None
                extra = f": {action.last_error}" if action.last_error else ""
                typer.echo(f"action #{action_id}: {action.state}{extra}")
    elif queued:
        typer.echo("Delivered on the next sync ('lengow-tui sync --once'), or use --now.")
    if refused:
        raise typer.Exit(1)


ArgOpt = Annotated[list[str], typer.Option("--arg", "-a", help="Action argument key=value (repeatable).")]
LineOpt = Annotated[list[str], typer.Option("--line", help="LINE_ID[:QUANTITY[:AMOUNT]] for per-line actions.")]
NowOpt = Annotated[bool, typer.Option("--now", help="Deliver right away instead of on the next sync.")]
RefsArg = Annotated[list[str], typer.Argument(help="Order ids (local or marketplace).")]


def _make_action_command(kind: str, doc: str) -> None:
    def command(references: RefsArg, arg: ArgOpt = [], line: LineOpt = [], now: NowOpt = False) -> None:
        _act(kind, references, arg, line, now)

    command.__doc__ = doc
    orders_app.command(kind)(command)


for _kind, _doc in (
    ("accept", "Accept orders waiting for acceptance."),
    ("refuse", "Refuse orders waiting for acceptance."),
    ("ship", "Ship orders: --arg carrier=CODE --arg tracking_number=NUMBER (see 'orders show' for what the marketplace asks)."),
    ("cancel", "Cancel orders."),
    ("refund", "Refund orders, or some lines (--line ID[:QTY[:AMOUNT]]) for a partial refund."),
):
    _make_action_command(_kind, _doc)


@orders_app.command("document")
def document_cmd(
    order: Annotated[str, typer.Argument(help="Order id or marketplace order reference.")],
    kind: Annotated[Optional[str], typer.Option(
        "--kind", help="invoice, delivery_slip, shipping_label... (default: every document of the order).")] = None,
    to: Annotated[Path, typer.Option("--to", help="Directory to save into (files are never overwritten).")] = Path("."),
) -> None:
    """Save an order's documents (fetched from the marketplace the first time, then kept)."""
    import asyncio

    from sqlmodel import select

    from lengow_tui.services.documents import DocumentError, fetch_document, save_document
    from lengow_tui.store.models import Document

    runtime = open_cli_runtime()
    found = resolve_orders(runtime, [order], "nothing saved")[0]
    with runtime.store.read() as session:
        rows = list(session.exec(select(Document).where(Document.order_id == found.id).order_by(Document.id)))
    if kind:
        rows = [r for r in rows if r.kind == kind]
    if not rows:
        what = f"no {kind} document" if kind else "no document"
        fail(f"order {found.marketplace_order_id} has {what} (see 'lengow-tui orders show {found.id}')", 1)
    failed = False
    for row in rows:
        try:
            fetched = asyncio.run(fetch_document(runtime, row.id))  # type: ignore[arg-type]
            path = save_document(fetched, to)
        except DocumentError as exc:
            failed = True
            typer.echo(f"document {row.id} ({row.kind}): {exc}", err=True)
            continue
        typer.echo(f"saved {row.kind} to {path}")
    if failed:
        raise typer.Exit(1)
