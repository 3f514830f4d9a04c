"""The public connector API: everything a marketplace plugin imports.

A plugin is a module named by an entry point in the ``lengow_tui`` group; it implements the
``register_connectors`` hook (decorated with :data:`hookimpl`) and returns :class:`ConnectorSpec`
objects. See ``docs/connector-api.md``.

Stability: names listed in ``__all__`` follow :data:`API_VERSION`. New optional fields and methods may be
added within a version; removals or changes of meaning bump it.
"""

from lengow_tui.connector_api.client import MarketplaceClient
from lengow_tui.connector_api.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedResponseError,
    RateLimitedError,
)
from lengow_tui.connector_api.http import parse_retry_after
from lengow_tui.connector_api.hookspecs import ENTRY_POINT_GROUP, hookimpl, hookspec
from lengow_tui.connector_api.spec import (
    API_VERSION,
    SUPPORTED_API_VERSIONS,
    ClientContext,
    ConfigField,
    ConnectorSpec,
)
from lengow_tui.connector_api.types import (
    ActionOutcome,
    ActionRequest,
    ActionResult,
    CheckResult,
    DocumentContent,
    ListedOrder,
    LoadOrders,
    OrderPage,
    PartyRole,
    RemoteDocument,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
    RemoteTracking,
)
from lengow_tui.domain import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    CarrierSpec,
    Choice,
    Condition,
    DocumentKind,
    DocumentSpec,
    LineSelection,
    MarketplaceDeclaration,
    Status,
    StatusMap,
)
from lengow_tui.domain.declarations import when_argument, when_order

# Documentation only: these enums live in the domain package (shared with the host), which states no
# docstring for them; connector authors read them here.
ActionKind.__doc__ = "A merchant action: accept, refuse, ship, cancel or refund."
DocumentKind.__doc__ = ("A kind of order document: invoice, credit note, delivery slip, packing slip, "
                        "shipping label, return note, other.")

__all__ = [
    "ListedOrder",
    "LoadOrders",
    "parse_retry_after",
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "SUPPORTED_API_VERSIONS",
    "ActionKind",
    "ActionOutcome",
    "ActionRequest",
    "ActionResult",
    "ActionSpec",
    "ArgType",
    "ArgumentSpec",
    "AuthenticationError",
    "CarrierSpec",
    "CheckResult",
    "Choice",
    "ClientContext",
    "Condition",
    "ConfigField",
    "ConnectorError",
    "ConnectorSpec",
    "DocumentContent",
    "DocumentKind",
    "DocumentSpec",
    "LineSelection",
    "MalformedResponseError",
    "MarketplaceClient",
    "MarketplaceDeclaration",
    "OrderPage",
    "PartyRole",
    "RateLimitedError",
    "RemoteDocument",
    "RemoteLine",
    "RemoteOrder",
    "RemoteParty",
    "RemoteTracking",
    "Status",
    "StatusMap",
    "hookimpl",
    "hookspec",
    "when_argument",
    "when_order",
]
