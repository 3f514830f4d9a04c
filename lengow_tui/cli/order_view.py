"""Rendering one order's detail for the terminal (plain text) and as JSON."""

from __future__ import annotations

import json
from typing import Any

import typer

from lengow_tui.cli.common import money
from lengow_tui.domain import MarketplaceDeclaration, Status
from lengow_tui.services.orders import OrderDetail
from lengow_tui.text import clean_text

PERSONAL_FIELDS = ("name", "company", "address1", "address2", "zipcode", "city", "state", "country", "email", "phone")


def _status_text(status: str | None, raw: str | None) -> str:
    label = Status(status).label if status else "unknown — flagged for review"
    return f"{label} (raw {raw})" if raw else label


def _allowed_actions(detail: OrderDetail, declaration: MarketplaceDeclaration | None) -> list[dict[str, Any]]:
    if declaration is None or detail.order.status is None or detail.order.anonymized_at is not None:
        return []
    actions = []
    for spec in declaration.actions_allowed(Status(detail.order.status)):
        args = []
        for arg in spec.arguments:
            need = "required" if arg.required else (
                "required when " + " or ".join(c.describe() for c in arg.required_when) if arg.required_when else "optional")
            args.append({
                "name": arg.name, "label": arg.label, "type": arg.type.value, "need": need, "default": arg.default,
                "values": {c.code: c.label for c in arg.valid_values}, "free_values": arg.accept_free_values,
            })
        actions.append({"kind": spec.kind.value, "per_line": spec.per_line, "partial": spec.partial, "arguments": args})
    return actions


def detail_as_dict(detail: OrderDetail, declaration: MarketplaceDeclaration | None, *, raw: bool = False) -> dict[str, Any]:
    o = detail.order
    anonymized = o.anonymized_at is not None
    data: dict[str, Any] = {
        "id": o.id, "channel": detail.channel, "marketplace": o.marketplace,
        "marketplace_name": declaration.name if declaration else None,
        "marketplace_order_id": o.marketplace_order_id, "status": o.status, "raw_status": o.raw_status,
        "needs_review": o.needs_review, "ordered_at": o.ordered_at, "updated_at": o.remote_updated_at,
        "imported_at": o.imported_at, "shipping_deadline": o.shipping_deadline, "currency": o.currency,
        "total": f"{o.total_cents / 100:.2f}", "shipping": f"{o.shipping_cents / 100:.2f}",
        "delivery_type": o.delivery_type,
        "tracking": {"carrier": o.carrier, "number": o.tracking_number, "url": o.tracking_url},
        "anonymized_at": o.anonymized_at,
        "auto_accept_note": o.auto_accept_note,
        "lines": [{"line_id": l.line_id, "sku": l.sku, "title": l.title, "quantity": l.quantity,
                   "amount": f"{l.amount_cents / 100:.2f}", "status": l.status, "raw_status": l.raw_status}
                  for l in detail.lines],
        "parties": [] if anonymized else [
            {"role": p.role, **{f: getattr(p, f) for f in PERSONAL_FIELDS}} for p in detail.parties],
        "documents": [{"id": d.id, "kind": d.kind, "filename": d.filename, "size": d.size,
                       "stored": d.content is not None} for d in detail.documents],
        "history": [{"at": e.at, "kind": e.kind, "from": e.from_status, "to": e.to_status, "raw_status": e.raw_status,
                     "action_id": e.action_id, "message": e.message} for e in detail.events],
        "actions": [{"id": a.id, "kind": a.kind, "state": a.state, "arguments": a.arguments, "lines": a.lines,
                     "attempts": a.attempts, "last_error": a.last_error, "created_at": a.created_at,
                     "completed_at": a.completed_at,
                     "attempt_log": [{"no": t.attempt_no, "at": t.started_at, "outcome": t.outcome, "message": t.message}
                                     for t in detail.attempts.get(a.id, [])]}  # type: ignore[arg-type]
                    for a in detail.actions],
        "available_actions": _allowed_actions(detail, declaration),
    }
    if raw:
        data["raw"] = o.raw_payload
    return data


def print_detail(detail: OrderDetail, declaration: MarketplaceDeclaration | None, *, raw: bool = False) -> None:
    o = detail.order
    echo = typer.echo
    mp_name = declaration.name if declaration else o.marketplace
    echo(f"Order {o.marketplace_order_id}  (id {o.id}, {detail.channel} / {mp_name})")
    echo(f"  Status     {_status_text(o.status, o.raw_status)}")
    echo(f"  Ordered    {o.ordered_at:%Y-%m-%d %H:%M} UTC   updated {o.remote_updated_at:%Y-%m-%d %H:%M}")
    if o.shipping_deadline:
        echo(f"  Ship by    {o.shipping_deadline:%Y-%m-%d %H:%M} UTC")
    echo(f"  Total      {money(o.total_cents, o.currency)} (shipping {money(o.shipping_cents, o.currency)})")
    if o.delivery_type:
        echo(f"  Delivery   {o.delivery_type}")
    if o.tracking_number or o.carrier:
        echo(f"  Tracking   {o.carrier or ''} {o.tracking_number or ''}  {o.tracking_url or ''}".rstrip())
    accept = declaration.action("accept") if declaration else None
    if o.auto_accept_note and accept is not None and o.status in accept.allowed_from:
        # Only while the order still waits for acceptance: once it moved on, the note is history (kept in
        # the events). The note quotes SKUs, which come from the marketplace: print them inert.
        echo(f"  Held       auto-accept left it for a human: {clean_text(o.auto_accept_note)}")
    echo("Lines")
    for line in detail.lines:
        status = f"  [{_status_text(line.status, line.raw_status)}]" if line.raw_status else ""
        echo(f"  {line.line_id}  {line.sku}  {line.quantity} x  {line.title}  {money(line.amount_cents, o.currency)}{status}")
    echo("Customer")
    if o.anonymized_at is not None:
        echo(f"  anonymized on {o.anonymized_at:%Y-%m-%d}")
    for party in detail.parties if o.anonymized_at is None else []:
        address = ", ".join(x for x in (party.address1, party.address2, f"{party.zipcode} {party.city}".strip(),
                                         party.country) if x)
        contact = " ".join(x for x in (party.email, party.phone) if x)
        echo(f"  {party.role:<9} {party.name or party.company}  {address}  {contact}".rstrip())
    if detail.documents:
        echo("Documents")
        for doc in detail.documents:
            echo(f"  {doc.id}  {doc.kind:<14} {doc.filename}" + ("  (stored)" if doc.content is not None else ""))
    if detail.actions:
        echo("Actions")
        for action in detail.actions:
            args = " ".join(f"{k}={v}" for k, v in action.arguments.items())
            echo(f"  #{action.id} {action.kind:<7} {action.state:<22} attempts {action.attempts}  {args}".rstrip())
            for attempt in detail.attempts.get(action.id, []):  # type: ignore[arg-type]
                echo(f"      {attempt.started_at:%Y-%m-%d %H:%M:%S} try {attempt.attempt_no}: {attempt.outcome}"
                     + (f" — {attempt.message}" if attempt.message else ""))
            if action.last_error and action.state != "done":
                echo(f"      last error: {action.last_error}")
    echo("History")
    for event in detail.events:
        if event.kind == "status":
            what = f"status {event.from_status or '?'} -> {event.to_status or '?'} (raw {event.raw_status})"
        elif event.kind == "imported":
            what = f"imported as {event.to_status or '?'} (raw {event.raw_status})"
        else:
            what = event.message or event.kind
        echo(f"  {event.at:%Y-%m-%d %H:%M:%S}  {what}")
    allowed = _allowed_actions(detail, declaration)
    if allowed:
        echo("Possible now")
        for action in allowed:
            level = "per line" if action["per_line"] else "whole order"
            echo(f"  {action['kind']} ({level})")
            for arg in action["arguments"]:
                values = ""
                if arg["values"]:
                    codes = list(arg["values"])
                    values = "  values: " + ", ".join(codes[:10]) + (f" (+{len(codes) - 10})" if len(codes) > 10 else "")
                echo(f"    --arg {arg['name']}=…  {arg['label']}, {arg['need']}{values}")
    if raw:
        echo("Raw payload")
        echo(json.dumps(o.raw_payload, indent=2, ensure_ascii=True, default=str))
