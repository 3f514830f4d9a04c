"""The module the entry point names: the ``register_connectors`` hook and the connector's spec.

``lengow-tui plugins`` imports this module to list connectors, so it imports only the declarations
and the connector API: the HTTP client is imported inside the factory, when a channel syncs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lengow_tui.connector_api import ClientContext, ConfigField, ConnectorSpec, hookimpl

from lengow_tui_template.declarations import DECLARATIONS

if TYPE_CHECKING:
    from lengow_tui.connector_api import MarketplaceClient

CONFIG_FIELDS = (
    ConfigField("base_url", "API base URL", type="url", required=True,
                help="https://api.marche-exemple.example (the emulator prints its own)."),
    ConfigField("api_key", "API key", secret=True, required=True,
                help="Seller back office > API. Sent as the X-Api-Key header; never logged."),
    ConfigField("page_size", "Orders per page", type="int", default=50, help="1 to 100."),
)


def make_client(ctx: ClientContext) -> MarketplaceClient:
    from lengow_tui_template.client import MarcheExempleClient  # network code: only when a channel syncs

    return MarcheExempleClient(ctx)


SPEC = ConnectorSpec(
    name="marche_exemple",
    title="Marché Exemple",
    client_factory=make_client,
    config_fields=CONFIG_FIELDS,
    marketplaces=DECLARATIONS,
    description="Orders of the fictional marketplace Marché Exemple (the lengow-tui connector template).",
    docs_url="https://github.com/example/lengow-tui-template",
)


@hookimpl
def register_connectors() -> list[ConnectorSpec]:
    return [SPEC]
