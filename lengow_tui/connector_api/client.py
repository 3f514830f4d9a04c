"""The interface a connector implements to talk to a marketplace."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence

from lengow_tui.connector_api.types import (
    ActionRequest,
    ActionResult,
    CheckResult,
    DocumentContent,
    OrderPage,
    RemoteDocument,
    RemoteOrder,
)
from lengow_tui.domain import MarketplaceDeclaration


class MarketplaceClient(ABC):
    """One channel's connection to a marketplace. Built by ``ConnectorSpec.client_factory``.

    Clients never touch the database: the host owns persistence, cursors, retries, rate gates and
    timeouts. Methods are async and use the ``httpx.AsyncClient`` the host provides.
    """

    @abstractmethod
    async def check(self) -> CheckResult:
        """Can we reach the marketplace with this configuration? Bad credentials -> ``ok=False``."""

    @abstractmethod
    def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        """Yield pages of orders changed after ``cursor`` (``None``: from the beginning).

        Each page carries the cursor that is safe to store once that page is committed; the host
        passes it back next time. Pages may overlap (the host de-duplicates), but must not skip.
        Raise :class:`~lengow_tui.connector_api.ConnectorError` on failure.
        """

    @abstractmethod
    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        """The order as the marketplace knows it now (used to reconcile before any resend)."""

    @abstractmethod
    async def perform(self, request: ActionRequest) -> ActionResult:
        """Deliver one action. Report marketplace answers through the result, don't raise."""

    async def poll(self, handle: str) -> ActionResult:
        """Poll an action that returned ``PENDING`` until it is final."""
        return ActionResult.rejected("this connector does not support asynchronous actions")

    async def fetch_marketplaces(self) -> Sequence[MarketplaceDeclaration]:
        """For ``dynamic_marketplaces`` connectors: the declarations, read from the platform."""
        raise NotImplementedError

    async def list_documents(self, marketplace: str, order_id: str) -> Sequence[RemoteDocument]:
        """The documents the marketplace offers for this order now (metadata only). Default: none."""
        return ()

    async def fetch_document(self, marketplace: str, order_id: str, document: RemoteDocument) -> DocumentContent:
        """The content of one document listed by ``list_documents``; raise ``ConnectorError`` if it is gone."""
        raise NotImplementedError(f"document {document.kind} is not available from this connector")

    async def aclose(self) -> None:
        """Release what the client holds (the host closes the shared HTTP client itself)."""
