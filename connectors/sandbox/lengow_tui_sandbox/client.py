"""The sandbox's MarketplaceClient: the host's view of the simulated world. No network.

World calls are synchronous SQLite work; they run in a thread so a large world never blocks the
host's event loop (a TUI stays responsive while the first world is generated).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from lengow_tui.connector_api import (
    ActionRequest,
    ActionResult,
    CheckResult,
    ClientContext,
    ConnectorError,
    DocumentContent,
    MarketplaceClient,
    OrderPage,
    RemoteDocument,
    RemoteOrder,
)
from lengow_tui_sandbox.declarations import declaration as find_declaration
from lengow_tui_sandbox.remote import document_for, document_specs, documents, render_document, to_remote
from lengow_tui_sandbox.settings import Settings
from lengow_tui_sandbox.world import World

PAGE_SIZE = 100
_CURSOR_VERSION = "v1"


def encode_cursor(updated_at_us: int, marketplace: str, order_id: str) -> str:
    return f"{_CURSOR_VERSION}/{updated_at_us}/{marketplace}/{order_id}"


def decode_cursor(cursor: str | None) -> tuple[int, str, str] | None:
    if cursor is None:
        return None
    parts = cursor.split("/", 3)
    try:
        if len(parts) != 4 or parts[0] != _CURSOR_VERSION:
            raise ValueError
        return int(parts[1]), parts[2], parts[3]
    except ValueError:
        raise ConnectorError(f"not a sandbox cursor: {cursor[:80]!r}", retryable=False) from None


class SandboxClient(MarketplaceClient):
    def __init__(self, ctx: ClientContext) -> None:
        self.settings = Settings.from_config(ctx.config)
        self.world = World(ctx.state_dir, self.settings, ctx.now)

    def _config_problem(self) -> str | None:
        if not self.settings.problems:
            return None
        return "sandbox configuration: " + "; ".join(self.settings.problems)

    def _require_valid_config(self) -> None:
        problem = self._config_problem()
        if problem:
            raise ConnectorError(problem, retryable=False)

    async def check(self) -> CheckResult:
        problem = self._config_problem()
        if problem:
            return CheckResult(ok=False, message=problem)
        clock = await asyncio.to_thread(self.world.advance)
        return CheckResult(
            ok=True,
            message=f"sandbox world seed {self.settings.seed} at {clock:%Y-%m-%d %H:%M:%S} UTC, serving "
                    f"{', '.join(self.settings.marketplaces)} (state in {self.world.path})",
        )

    async def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        self._require_valid_config()
        after = decode_cursor(cursor)
        await asyncio.to_thread(self.world.advance)
        while True:
            orders = await asyncio.to_thread(self.world.changed_orders, after, PAGE_SIZE)
            if not orders:
                return
            last = orders[-1]
            after = (last["updated_at"], last["marketplace"], last["order_id"])
            yield OrderPage(tuple(to_remote(o) for o in orders), encode_cursor(*after))
            if len(orders) < PAGE_SIZE:
                return

    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        self._require_valid_config()
        await asyncio.to_thread(self.world.advance)
        order = await asyncio.to_thread(self.world.order, marketplace, order_id)
        return None if order is None else to_remote(order)

    async def perform(self, request: ActionRequest) -> ActionResult:
        declaration = find_declaration(request.marketplace)
        if declaration is None or declaration.action(request.kind) is None:
            # Not something this marketplace does at all: said before any call, as the API asks.
            name = declaration.name if declaration else request.marketplace
            return ActionResult.not_supported(f"{name} has no {request.kind} operation")
        problem = self._config_problem()
        if problem:  # fixable by the merchant: keep the action, don't lose it as rejected
            return ActionResult.retryable(problem, retry_after=60)
        return await asyncio.to_thread(self.world.perform, request)

    async def poll(self, handle: str) -> ActionResult:
        problem = self._config_problem()
        if problem:
            return ActionResult.retryable(problem, retry_after=60)
        return await asyncio.to_thread(self.world.poll, handle)

    async def list_documents(self, marketplace: str, order_id: str) -> Sequence[RemoteDocument]:
        self._require_valid_config()
        await asyncio.to_thread(self.world.advance)
        order = await asyncio.to_thread(self.world.order, marketplace, order_id)
        return () if order is None else documents(order)

    async def fetch_document(self, marketplace: str, order_id: str, document: RemoteDocument) -> DocumentContent:
        self._require_valid_config()
        await asyncio.to_thread(self.world.advance)
        order = await asyncio.to_thread(self.world.order, marketplace, order_id)
        if order is None:
            raise ConnectorError(f"order {order_id} not found on {marketplace}", retryable=False)
        spec = next((s for s in document_specs(order) if s.kind == document.kind), None)
        if spec is None:
            raise ConnectorError(
                f"no {document.kind} for order {order_id} in status {order['status']}", retryable=False
            )
        return DocumentContent(
            filename=document_for(order, spec).filename, content_type="application/pdf",
            data=render_document(order, spec),
        )
