"""The assembled application: config + plugin registry + store, shared by the CLI, the TUI and sync."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from lengow_tui.config import AppConfig, ChannelConfig, default_database_url
from lengow_tui.connector_api import ConnectorSpec, MarketplaceDeclaration
from lengow_tui.plugins import Registry, load_registry
from lengow_tui.store import Store, open_store

log = logging.getLogger(__name__)

# Declarations cached by another process (a daemon refreshing them) are picked up within this long.
CACHED_DECLARATIONS_TTL = 300.0
# A marketplace missing from the memo triggers a re-read of the cache, at most this often.
CACHE_MISS_RELOAD_SECONDS = 5.0


@dataclass
class Runtime:
    config: AppConfig
    registry: Registry
    store: Store
    _channel_ids: dict[str, int] = field(default_factory=dict)
    # channel name -> (monotonic time loaded, declarations from marketplace_cache)
    _cached_declarations: dict[str, tuple[float, dict[str, MarketplaceDeclaration]]] = field(default_factory=dict)

    def channel_config(self, name: str) -> ChannelConfig:
        return self.config.channel(name)

    def spec_for(self, channel: ChannelConfig) -> ConnectorSpec:
        return self.registry.spec(channel.connector)

    def declaration(self, channel_name: str, marketplace: str) -> MarketplaceDeclaration | None:
        """The declaration of ``marketplace`` as served by ``channel_name``'s connector: its static
        declarations first, then (dynamic connectors) those fetched from the platform and cached."""
        try:
            channel = self.config.channel(channel_name)
            spec = self.registry.spec(channel.connector)
        except KeyError:
            return None
        static = spec.marketplace(marketplace)
        if static is not None or not spec.dynamic_marketplaces:
            return static
        cached = self._load_cached(channel_name)
        found = cached.get(marketplace)
        if found is None:
            loaded_at = self._cached_declarations.get(channel_name, (0.0, {}))[0]
            if time.monotonic() - loaded_at >= CACHE_MISS_RELOAD_SECONDS:
                found = self._load_cached(channel_name, force=True).get(marketplace)
        return found

    def declarations(self, channel_name: str) -> dict[str, MarketplaceDeclaration]:
        """Every declaration of the channel's connector, by marketplace code (static ones win)."""
        try:
            channel = self.config.channel(channel_name)
            spec = self.registry.spec(channel.connector)
        except KeyError:
            return {}
        found = dict(self._load_cached(channel_name)) if spec.dynamic_marketplaces else {}
        found.update({d.code: d for d in spec.marketplaces})
        return found

    def invalidate_declarations(self, channel_name: str | None = None) -> None:
        """Forget the memoised cache of fetched declarations (after a refresh)."""
        if channel_name is None:
            self._cached_declarations.clear()
        else:
            self._cached_declarations.pop(channel_name, None)

    def _load_cached(self, channel_name: str, *, force: bool = False) -> dict[str, MarketplaceDeclaration]:
        memo = self._cached_declarations.get(channel_name)
        if memo is not None and not force and time.monotonic() - memo[0] < CACHED_DECLARATIONS_TTL:
            return memo[1]
        from sqlmodel import select

        from lengow_tui.store.declaration_codec import DeclarationCodecError, declaration_from_json
        from lengow_tui.store.models import MarketplaceCache

        found: dict[str, MarketplaceDeclaration] = {}
        channel_id = self.channel_id(channel_name)  # before the read: it may create the channel row
        with self.store.read() as session:
            rows = session.exec(select(MarketplaceCache).where(MarketplaceCache.channel_id == channel_id)).all()
            for row in rows:
                try:
                    found[row.code] = declaration_from_json(row.payload)
                except DeclarationCodecError as exc:  # written by another version: refetched next import
                    log.warning("channel %s: %s", channel_name, exc)
        self._cached_declarations[channel_name] = (time.monotonic(), found)
        return found

    def state_dir(self, channel_name: str) -> Path:
        return self.config.data_dir / "connectors" / channel_name

    def channel_id(self, name: str) -> int:
        if name not in self._channel_ids:
            from lengow_tui.services.channels import ensure_channels

            ensure_channels(self)
        return self._channel_ids[name]

    def close(self) -> None:
        self.store.dispose()


def open_runtime(config: AppConfig, *, migrate: bool = True) -> Runtime:
    registry = load_registry(disabled=config.disabled_plugins)
    url = config.database_url or default_database_url(config.data_dir)
    store = open_store(url, migrate=migrate)
    runtime = Runtime(config=config, registry=registry, store=store)
    from lengow_tui.services.channels import ensure_channels

    ensure_channels(runtime)
    return runtime
