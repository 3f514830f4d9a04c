"""The live-change signal on PostgreSQL: ``NOTIFY lengow_tui_changes`` when a transaction that changed
orders or actions commits.

Writers call :func:`mark_changed` inside their write transaction; one notification per transaction is
sent from the session's ``before_commit`` hook (PostgreSQL delivers it at COMMIT, and never for a
rolled-back transaction). The payload is small and bounded: ``<schema>|<json>`` where the JSON holds the
channel ids and up to ``MAX_IDS`` order ids (``"more": true`` when there were more). Listeners (the TUI,
:mod:`lengow_tui.tui.live`) only use it as a wake-up: they re-read what they show.

The schema prefix keeps stores that share one PostgreSQL database in several schemas apart (the channel
name is per database). On SQLite nothing is sent: the TUI polls ``data_version`` there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

CHANNEL = "lengow_tui_changes"
MAX_IDS = 50  # order ids carried by one notification (PostgreSQL's limit is 8000 bytes)
_KEY = "lengow_tui_changes"


def mark_changed(session: Session, *, channel_id: int | None = None, order_ids: Iterable[int | None] = (),
                 orders: int = 0) -> None:
    """Note that this transaction changed orders (of ``channel_id``) or their actions."""
    pending: dict[str, Any] = session.info.setdefault(_KEY, {"channels": set(), "orders": [], "count": 0})
    if channel_id is not None:
        pending["channels"].add(int(channel_id))
    ids = [int(i) for i in order_ids if i is not None]
    pending["count"] += max(len(ids), orders)
    room = MAX_IDS - len(pending["orders"])
    if room > 0:
        pending["orders"].extend(ids[:room])


def payload(pending: dict[str, Any]) -> str:
    body: dict[str, Any] = {"channels": sorted(pending["channels"]), "orders": pending["orders"],
                            "count": pending["count"]}
    if pending["count"] > len(pending["orders"]):
        body["more"] = True
    return json.dumps(body, separators=(",", ":"))


def parse(message: str) -> tuple[str, dict[str, Any]]:
    """``(schema, body)`` of a notification payload; an unreadable body is ``{}`` (still a wake-up)."""
    schema, _, body = message.partition("|")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    return schema, data if isinstance(data, dict) else {}


@event.listens_for(Session, "before_commit")
def _send(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # current_schema() on the server: the schema this store lives in (search_path), no extra round trip.
    session.execute(text("SELECT pg_notify(:channel, current_schema() || '|' || :body)"),
                    {"channel": CHANNEL, "body": payload(pending)})


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
