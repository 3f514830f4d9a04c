"""The assembled application: config + plugin registry + store, shared by the CLI, the TUI and sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lengow_tui.config import AppConfig, ChannelConfig, default_database_url
from lengow_tui.connector_api import ConnectorSpec, MarketplaceDeclaration
from lengow_tui.plugins import Registry, load_registry
from lengow_tui.store import Store, open_store


@dataclass
class Runtime:
    config: AppConfig
    registry: Registry
    store: Store
    _channel_ids: dict[str, int] = field(default_factory=dict)

    def channel_config(self, name: str) -> ChannelConfig:
        return self.config.channel(name)

    def spec_for(self, channel: ChannelConfig) -> ConnectorSpec:
        return self.registry.spec(channel.connector)

    def declaration(self, channel_name: str, marketplace: str) -> MarketplaceDeclaration | None:
        """The declaration of ``marketplace`` as served by ``channel_name``'s connector."""
        try:
            channel = self.config.channel(channel_name)
            spec = self.registry.spec(channel.connector)
        except KeyError:
            return None
        return spec.marketplace(marketplace)

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
