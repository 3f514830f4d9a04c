"""Keeping the channel table in step with the configured channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from lengow_tui.store.models import Channel

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime


def ensure_channels(runtime: Runtime) -> None:
    """Create a row for every configured channel; rows of channels removed from the config stay
    (their orders remain visible) but are marked disabled."""
    try:
        _ensure_channels(runtime)
    except IntegrityError:
        # Several workers started together on an empty database: another one created the rows first.
        _ensure_channels(runtime)


def _ensure_channels(runtime: Runtime) -> None:
    configured = {c.name: c for c in runtime.config.channels}
    with runtime.store.write() as session:
        rows = {row.name: row for row in session.exec(select(Channel))}
        for name, cfg in configured.items():
            row = rows.get(name)
            if row is None:
                row = Channel(name=name, connector=cfg.connector, enabled=cfg.enabled)
                session.add(row)
            else:
                row.connector = cfg.connector
                row.enabled = cfg.enabled
        for name, row in rows.items():
            if name not in configured:
                row.enabled = False
        session.flush()
        runtime._channel_ids = {row.name: row.id for row in session.exec(select(Channel))}  # type: ignore[misc]


def channel_names(runtime: Runtime) -> dict[int, str]:
    with runtime.store.read() as session:
        return {row.id: row.name for row in session.exec(select(Channel))}  # type: ignore[misc]

