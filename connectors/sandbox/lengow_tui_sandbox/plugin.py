"""Entry point of the sandbox connector (``lengow_tui`` entry-point group).

Listing plugins imports only this module, the declarations and the config fields: the world, its
SQLite storage and the simulators load when a client is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lengow_tui.connector_api import ClientContext, ConnectorSpec, hookimpl
from lengow_tui_sandbox.declarations import DECLARATIONS
from lengow_tui_sandbox.settings import CONFIG_FIELDS

if TYPE_CHECKING:
    from lengow_tui.connector_api import MarketplaceClient


def _make_client(ctx: ClientContext) -> MarketplaceClient:
    from lengow_tui_sandbox.client import SandboxClient

    return SandboxClient(ctx)


SPEC = ConnectorSpec(
    name="sandbox",
    title="Sandbox marketplaces",
    client_factory=_make_client,
    config_fields=CONFIG_FIELDS,
    marketplaces=DECLARATIONS,
    description=(
        "Three simulated marketplaces (Mirakl-like, Amazon-like, click & collect) that run without a "
        "network: orders arrive and move on with time, actions are applied after a short delay, and "
        "everything follows from the seed."
    ),
)


@hookimpl
def register_connectors() -> list[ConnectorSpec]:
    return [SPEC]
