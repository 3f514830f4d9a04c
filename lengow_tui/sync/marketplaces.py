"""Declarations fetched at run time (``ConnectorSpec.dynamic_marketplaces``), cached in the database.

A Lengow-API connector only learns its marketplaces' status maps and actions from the platform. The
host caches what ``MarketplaceClient.fetch_marketplaces()`` returns in ``marketplace_cache`` so that
every process validates actions against the same declarations, and so that a platform outage does not
make every order unactionable: a failed fetch keeps the old cache.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import delete, func, select

from lengow_tui.connector_api import ConnectorError, MarketplaceClient, MarketplaceDeclaration
from lengow_tui.store.declaration_codec import declaration_to_json
from lengow_tui.store.models import MarketplaceCache
from lengow_tui.store.types import utcnow
from lengow_tui.text import clean_text

if TYPE_CHECKING:
    from lengow_tui.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = timedelta(hours=24)


def _valid(channel_name: str, fetched: object) -> list[MarketplaceDeclaration]:
    """The declarations fit to cache; the others are logged and left out (one bad marketplace must not
    cost the channel all the others)."""
    if not isinstance(fetched, (list, tuple)):
        raise ConnectorError(f"channel {channel_name}: the connector returned {type(fetched).__name__}, "
                             "not a list of marketplace declarations", retryable=False)
    kept: dict[str, MarketplaceDeclaration] = {}
    for declaration in fetched:
        if not isinstance(declaration, MarketplaceDeclaration):
            log.warning("channel %s: fetched %s instead of a MarketplaceDeclaration; ignored",
                        channel_name, type(declaration).__name__)
            continue
        problems = declaration.check()
        if problems:
            log.warning("channel %s: marketplace %r ignored: %s", channel_name, declaration.code[:64],
                        clean_text("; ".join(problems), 500))
            continue
        if declaration.code in kept:
            log.warning("channel %s: marketplace %r fetched twice; the first one is kept", channel_name,
                        declaration.code)
            continue
        kept[declaration.code] = declaration
    return list(kept.values())


async def refresh_declarations(runtime: Runtime, channel_name: str, client: MarketplaceClient, *,
                               max_age: timedelta = DEFAULT_MAX_AGE) -> int:
    """Fetch and cache the channel's declarations when the cache is missing or older than ``max_age``.

    Returns how many declarations were written (0: the cache was fresh, the connector is static, or the
    fetch failed and the old cache was kept). Raises ConnectorError only when the fetch failed and there
    is no cache at all: importing then would flag every order as "marketplace not declared".
    """
    spec = runtime.spec_for(runtime.channel_config(channel_name))
    if not spec.dynamic_marketplaces:
        return 0
    channel_id = runtime.channel_id(channel_name)
    now = utcnow()
    with runtime.store.read() as session:
        count, oldest = session.exec(
            select(func.count(), func.min(MarketplaceCache.fetched_at)).where(MarketplaceCache.channel_id == channel_id)
        ).one()
    if count and oldest is not None and now - oldest < max_age:
        return 0
    try:
        declarations = _valid(channel_name, await client.fetch_marketplaces())
        if not declarations:
            raise ConnectorError("the platform listed no usable marketplace", retryable=True)
    except Exception as exc:
        if not count:
            if isinstance(exc, ConnectorError):
                raise
            raise ConnectorError(f"cannot read the marketplace definitions: {type(exc).__name__}: {exc}") from exc
        log.warning("channel %s: refreshing marketplace definitions failed (%s); keeping the %d cached",
                    channel_name, clean_text(str(exc), 300), count)
        return 0
    with runtime.store.write() as session:  # all or nothing: a half-written cache would mix two fetches
        session.exec(delete(MarketplaceCache).where(MarketplaceCache.channel_id == channel_id))  # type: ignore[call-overload]
        for declaration in declarations:
            session.add(MarketplaceCache(channel_id=channel_id, code=declaration.code,
                                         payload=declaration_to_json(declaration), fetched_at=now))
    runtime.invalidate_declarations(channel_name)
    return len(declarations)
