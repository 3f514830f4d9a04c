"""Entry point of the Lengow connector (``lengow_tui`` entry-point group).

Listing plugins imports only this module and the config fields; the HTTP client is imported when a
channel builds a client. Marketplaces are not listed here: they are read from the platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lengow_tui.connector_api import ClientContext, ConnectorSpec, hookimpl
from lengow_tui_lengow.settings import CONFIG_FIELDS

if TYPE_CHECKING:
    from lengow_tui.connector_api import MarketplaceClient


def _make_client(ctx: ClientContext) -> MarketplaceClient:
    from lengow_tui_lengow.client import LengowClient

    return LengowClient(ctx)


SPEC = ConnectorSpec(
    name="lengow",
    title="Lengow (API v3, all marketplaces of an account)",
    client_factory=_make_client,
    config_fields=CONFIG_FIELDS,
    dynamic_marketplaces=True,
    description=(
        "Every marketplace of a Lengow account through the Lengow API v3: /v3.0/orders import, actions "
        "through /v3.0/orders/actions polled to their outcome, marketplace rules from /v3.0/marketplaces."
    ),
    docs_url="docs/connectors/lengow.md",
)


@hookimpl
def register_connectors() -> list[ConnectorSpec]:
    return [SPEC]
