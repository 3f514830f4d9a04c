"""Building connector clients for channels, with the host-owned HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from lengow_tui import __version__
from lengow_tui.connector_api import ClientContext, MarketplaceClient

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@asynccontextmanager
async def open_client(runtime: Runtime, channel_name: str) -> AsyncIterator[MarketplaceClient]:
    channel = runtime.config.channel(channel_name)
    spec = runtime.spec_for(channel)
    state_dir = runtime.state_dir(channel_name)
    state_dir.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(
        timeout=HTTP_TIMEOUT, headers={"User-Agent": f"lengow-tui/{__version__}"}, follow_redirects=False
    ) as http:
        client = spec.client_factory(
            ClientContext(channel=channel_name, config=dict(channel.settings), http=http, state_dir=state_dir)
        )
        try:
            yield client
        finally:
            await client.aclose()
