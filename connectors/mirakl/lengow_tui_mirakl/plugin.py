"""Entry point of the Mirakl connector (``lengow_tui`` entry-point group).

Listing plugins imports only this module, the declarations and the config fields; the HTTP client
is imported when a channel builds a client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lengow_tui.connector_api import ClientContext, ConnectorSpec, hookimpl
from lengow_tui_mirakl.declarations import DECLARATIONS
from lengow_tui_mirakl.settings import CONFIG_FIELDS

if TYPE_CHECKING:
    from lengow_tui.connector_api import MarketplaceClient


def _make_client(ctx: ClientContext) -> MarketplaceClient:
    from lengow_tui_mirakl.client import MiraklClient

    return MiraklClient(ctx)


SPEC = ConnectorSpec(
    name="mirakl",
    title="Mirakl marketplaces (seller API)",
    client_factory=_make_client,
    config_fields=CONFIG_FIELDS,
    marketplaces=DECLARATIONS,
    description=(
        "Orders of any Mirakl operator (Fnac Darty, Carrefour, Decathlon, Leroy Merlin, Conforama, "
        "Boulanger, ...) through the Mirakl seller API: OR11 import, OR21 accept/refuse, OR23/OR24 ship, "
        "OR28 refund, OR29/OR30 cancel, OR72/OR73 documents."
    ),
    docs_url="docs/connectors/mirakl.md",
)


@hookimpl
def register_connectors() -> list[ConnectorSpec]:
    return [SPEC]
