"""One sync pass over the configured channels: import, then deliver due actions."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lengow_tui.services.auto_accept import AutoAcceptResult, run_auto_accept
from lengow_tui.connector_api import MarketplaceClient
from lengow_tui.sync.clients import open_client
from lengow_tui.sync.importer import ImportResult, import_channel
from lengow_tui.sync.outbox import DeliveryResult, deliver_channel
from lengow_tui.sync.prefetch import PrefetchResult, prefetch_documents

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ChannelSyncResult:
    channel: str
    imported: ImportResult | None = None
    delivered: DeliveryResult = field(default_factory=DeliveryResult)
    auto_accepted: AutoAcceptResult | None = None  # None: auto-accept is off or did not run this pass
    documents: PrefetchResult | None = None  # None: prefetch is off or did not run this pass
    error: str | None = None


async def after_import(
    runtime: Runtime, channel_name: str, client: MarketplaceClient, result: ChannelSyncResult,
    *, stop: asyncio.Event | None = None, skip_documents: set[int] | None = None,
) -> None:
    """The steps that follow a good import of a channel (``sync --once`` and the daemon alike):
    auto-accept, between import and delivery so an accept queued here is delivered in the same pass;
    then the documents prefetch. A failing step is reported in ``result`` and the others still run."""
    channel = runtime.channel_config(channel_name)
    if channel.auto_accept.enabled:
        try:
            result.auto_accepted = run_auto_accept(runtime, channel_name)
        except Exception as exc:  # e.g. a busy database: report it, still deliver what is queued
            result.error = f"auto-accept failed: {type(exc).__name__}: {exc}"
    if channel.prefetch_documents:
        try:
            result.documents = await prefetch_documents(runtime, channel_name, client, stop=stop,
                                                        skip=skip_documents)
        except Exception as exc:
            result.error = f"documents prefetch failed: {type(exc).__name__}: {exc}"


async def sync_channel(runtime: Runtime, channel_name: str, *, do_import: bool = True, deliver: bool = True) -> ChannelSyncResult:
    result = ChannelSyncResult(channel_name)
    try:
        async with open_client(runtime, channel_name) as client:
            if do_import:
                result.imported = await import_channel(runtime, channel_name, client)
            if result.imported is not None and result.imported.error is None and not result.imported.skipped:
                await after_import(runtime, channel_name, client, result)
            if deliver:
                result.delivered = await deliver_channel(runtime, channel_name, client, worker_name())
    except Exception as exc:  # building the client failed (bad settings, plugin bug): report, go on
        result.error = f"{type(exc).__name__}: {exc}"
    return result


async def sync_once(
    runtime: Runtime, channels: list[str] | None = None, *, do_import: bool = True, deliver: bool = True
) -> list[ChannelSyncResult]:
    names = channels or [c.name for c in runtime.config.channels if c.enabled]
    results = []
    for name in names:
        connector = runtime.config.channel(name).connector
        if connector not in runtime.registry.connectors:
            results.append(ChannelSyncResult(name, error=f"connector {connector!r} is not installed or failed to load"))
            continue
        results.append(await sync_channel(runtime, name, do_import=do_import, deliver=deliver))
    return results
