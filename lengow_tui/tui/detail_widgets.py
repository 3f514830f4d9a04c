"""Building blocks of the order detail screen: content renderers, the directory prompt, the opener.

Everything that comes from a marketplace goes through :func:`safe` and into ``Content(...)`` / rich
``Text(...)`` as plain text, never into markup: a buyer called ``[link=...]`` or ``\\x1b[2J`` stays text.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.style import Style
from textual.widgets import Button, Input, Label, Static

from lengow_tui.domain import MarketplaceDeclaration, Status
from lengow_tui.services.orders import OrderDetail
from lengow_tui.store.models import Document, Order, OrderLine
from lengow_tui.text import clean_text

ACTION_STATES = {
    "queued": ("queued", "yellow"),
    "sending": ("sending", "yellow"),
    "awaiting_confirmation": ("awaiting confirmation", "yellow"),
    "retrying": ("retrying", "yellow"),
    "done": ("done", "green"),
    "rejected": ("rejected", "red"),
    "dead": ("dead (gave up)", "red"),
    "cancelled": ("cancelled", "dim"),
}


def safe(value: object, max_length: int | None = None) -> str:
    """Untrusted text made printable (escape sequences and control characters neutralised)."""
    return clean_text(value, max_length)


def money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {safe(currency, 3)}"


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


def status_label(status: str | None) -> str:
    try:
        return Status(status).label if status else "unknown"
    except ValueError:
        return safe(status)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) address fit for a terminal hyperlink, else None."""
    text = safe(url, 1024)
    if not text or text != (url or "").strip() or any(ch.isspace() for ch in text):
        return None
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def tracking_url(order: Order, declaration: MarketplaceDeclaration | None) -> str | None:
    if order.tracking_url:
        return safe_url(order.tracking_url)
    if declaration is None or not order.carrier or not order.tracking_number:
        return None
    carrier = declaration.carrier(order.carrier)
    return safe_url(carrier.tracking_url(order.tracking_number)) if carrier else None


def _row(label: str, *parts: str | tuple[str, str | Style]) -> Content:
    return Content.assemble((f"{label:<10}", "bold"), *parts, end="\n")


def summary_content(detail: OrderDetail, declaration: MarketplaceDeclaration | None) -> Content:
    o = detail.order
    market = safe(declaration.name if declaration else o.marketplace)
    raw = safe(o.raw_status)
    status_style = "bold red" if o.status is None else "bold"
    parts = [
        Content.assemble(("Order ", "bold"), (safe(o.marketplace_order_id), "bold"), f"  (id {o.id})",
                         end="\n"),
        _row("Channel", f"{safe(detail.channel)} / {market}"),
        _row("Status", (status_label(o.status), status_style), f"  (raw {raw})"),
        _row("Ordered", f"{when(o.ordered_at)} · updated {when(o.remote_updated_at)} (UTC)"),
    ]
    if o.shipping_deadline:
        parts.append(_row("Ship by", f"{when(o.shipping_deadline)} UTC"))
    shipping = money(o.shipping_cents, o.currency)
    parts.append(_row("Total", f"{money(o.total_cents, o.currency)} (shipping {shipping}) · {o.items_count} item(s)"))
    if o.delivery_type:
        types = declaration.delivery_types if declaration else ()
        label = next((c.label for c in types if c.code == o.delivery_type), None)
        parts.append(_row("Delivery", safe(label or o.delivery_type)))
    if o.carrier or o.tracking_number:
        carrier = declaration.carrier(o.carrier) if declaration and o.carrier else None
        url = tracking_url(o, declaration)
        parts.append(_row("Tracking", safe(carrier.label if carrier else o.carrier or "—"), "  ",
                          safe(o.tracking_number or "")))
        if url:
            # A terminal hyperlink (OSC 8): clickable where the terminal supports it, plain text elsewhere.
            parts.append(_row("", (url, Style(underline=True, link=url))))
    accept = declaration.action("accept") if declaration else None
    if o.auto_accept_note and accept is not None and o.status in accept.allowed_from:  # still waiting
        parts.append(_row("Held", ("auto-accept left it for you: " + safe(o.auto_accept_note), "yellow")))
    return Content("").join(parts).rstrip()


def notice_content(detail: OrderDetail, declaration: MarketplaceDeclaration | None) -> Content:
    o = detail.order
    notes: list[Content] = []
    if o.anonymized_at is not None:
        notes.append(Content.styled(f"Anonymized on {o.anonymized_at:%Y-%m-%d}: personal data was erased "
                                    "after the retention period; no action can be sent.", "bold yellow"))
    if o.needs_review or o.status is None:
        notes.append(Content.styled(
            f"Flagged for review: the marketplace status {safe(o.raw_status)!r} is not mapped; "
            "no action can be sent until the connector knows it.", "bold red"))
    if declaration is None:
        notes.append(Content.styled(f"Marketplace {safe(o.marketplace)!r} is not declared by the channel's "
                                    "connector: actions are unavailable.", "bold red"))
    if o.pending_actions:
        notes.append(Content.styled(f"{o.pending_actions} action(s) queued or in flight.", "yellow"))
    return Content("\n").join(notes)


def line_cells(line: OrderLine, currency: str) -> tuple[Text, ...]:
    status = status_label(line.status) if line.status or line.raw_status else ""
    if line.raw_status:
        status += f" ({safe(line.raw_status, 40)})"
    # Status before title: the title is the column that may be cut at 80 columns.
    return (Text(safe(line.line_id, 40)), Text(safe(line.sku, 40)), Text(str(line.quantity), justify="right"),
            Text(money(line.amount_cents, currency), justify="right"), Text(status),
            Text(safe(line.title, 60)))


def document_cells(doc: Document, declaration: MarketplaceDeclaration | None) -> tuple[Text, ...]:
    specs = declaration.documents if declaration else ()
    label = next((d.label for d in specs if d.kind == doc.kind), None)
    size = f"{doc.size / 1024:.1f} kB" if doc.size else ""
    stored = Text("● stored", style="green") if doc.content is not None else Text("○ remote", style="dim")
    return (stored, Text(safe(label or doc.kind.replace("_", " "), 40)), Text(safe(doc.filename, 80)),
            Text(size, justify="right"))


def parties_content(detail: OrderDetail) -> Content:
    o = detail.order
    if o.anonymized_at is not None:
        return Content.styled(f"anonymized on {o.anonymized_at:%Y-%m-%d}", "italic")
    if not detail.parties:
        return Content.styled("no customer data", "dim")
    rows = []
    for party in detail.parties:
        name = " · ".join(x for x in (safe(party.name), safe(party.company)) if x) or "—"
        city = " ".join(x for x in (safe(party.zipcode), safe(party.city)) if x)
        address = ", ".join(x for x in (safe(party.address1), safe(party.address2), city, safe(party.state),
                                        safe(party.country)) if x)
        contact = "  ".join(x for x in (safe(party.email), safe(party.phone)) if x)
        rows.append(Content.assemble((f"{safe(party.role, 16):<10}", "bold"), name))
        if address:
            rows.append(Content(f"{'':<10}{address}"))
        if contact:
            rows.append(Content(f"{'':<10}{contact}"))
    return Content("\n").join(rows)


def history_content(detail: OrderDetail) -> Content:
    rows: list[Content] = []
    for action in reversed(detail.actions):  # newest first, like the status history below
        label, style = ACTION_STATES.get(action.state, (safe(action.state), ""))
        args = " ".join(f"{safe(k, 40)}={safe(v, 80)}" for k, v in action.arguments.items())
        line_ids = ", ".join(safe(sel.get("line_id"), 40) for sel in action.lines if isinstance(sel, dict))
        lines = f" lines {line_ids}" if line_ids else ""
        rows.append(Content.assemble(
            f"#{action.id} ", (f"{safe(action.kind):<7}", "bold"), " ", (f"{label:<22}", style),
            f" {when(action.created_at)}  attempts {action.attempts}  via {safe(action.source)}", ))
        if args or lines:
            rows.append(Content(f"    {args}{lines}".rstrip()))
        if action.last_error and action.state != "done":
            prefix = "marketplace says" if action.state == "rejected" else "last error"
            message = f"{prefix}: {safe(action.last_error, 500)}"
            rows.append(Content.assemble("    ", (message, style or "red")))
        for attempt in detail.attempts.get(action.id or 0, []):
            message = f" — {safe(attempt.message, 300)}" if attempt.message else ""
            rows.append(Content(f"    {attempt.started_at:%Y-%m-%d %H:%M:%S} try {attempt.attempt_no}: "
                                f"{safe(attempt.outcome or 'in flight')}{message}"))
    if rows:
        rows.insert(0, Content.styled("Actions", "bold underline"))
        rows.append(Content(""))
    rows.append(Content.styled("Status history", "bold underline"))
    for event in reversed(detail.events):
        if event.kind == "status":
            what = (f"{status_label(event.from_status)} → {status_label(event.to_status)}"
                    f" (raw {safe(event.raw_status, 60)})")
        elif event.kind == "imported":
            what = f"imported as {status_label(event.to_status)} (raw {safe(event.raw_status, 60)})"
        else:
            what = safe(event.message or event.kind, 500)
        rows.append(Content(f"{event.at:%Y-%m-%d %H:%M:%S}  {what}"))
    return Content("\n").join(rows)


def raw_content(order: Order) -> Content:
    # ensure_ascii turns ESC and friends into \u001b: the payload is shown as it is, and stays inert.
    return Content(json.dumps(order.raw_payload, indent=2, ensure_ascii=True, sort_keys=True, default=str))


def open_with_viewer(path: Path) -> bool:
    """Hand ``path`` to the desktop's viewer; False when there is none (e.g. an SSH session)."""
    if sys.platform == "darwin":
        opener = shutil.which("open")
    elif os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        # Without a display xdg-open falls back to a text browser on our own terminal: never do that.
        opener = shutil.which("xdg-open")
    else:
        opener = None
    if opener is None:
        return False
    try:
        subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True


class DirectoryPrompt(ModalScreen[Path | None]):
    """Asks where to save a document. Dismisses with the directory, or None on escape."""

    DEFAULT_CSS = """
    DirectoryPrompt { align: center middle; }
    DirectoryPrompt > Vertical { width: 72; max-width: 100%; height: auto; border: round $accent;
                                 background: $surface; padding: 0 1; }
    DirectoryPrompt #directory-error { color: $error; height: auto; }
    DirectoryPrompt Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="directory.cancel")]

    def __init__(self, initial: Path, title: str = "Save document to directory") -> None:
        super().__init__()
        self._initial = initial
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self._title))
            yield Input(str(self._initial), id="directory")
            yield Static("", id="directory-error")
            with Horizontal():
                yield Button("Save", id="directory-save", variant="primary")
                yield Button("Cancel", id="directory-cancel")

    @on(Input.Submitted, "#directory")
    @on(Button.Pressed, "#directory-save")
    def _save(self) -> None:
        directory = Path(self.query_one("#directory", Input).value.strip() or ".").expanduser()
        if not directory.is_dir():
            self.query_one("#directory-error", Static).update(Content(f"{directory} is not a directory"))
            return
        self.dismiss(directory)

    @on(Button.Pressed, "#directory-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
