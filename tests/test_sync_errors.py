"""Sync facing a broken marketplace: that channel fails visibly, the others go on, nothing is lost.
Also: hostile text from a marketplace is neutralised before it is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from lengow_tui.config import parse_config_text
from lengow_tui.connector_api import (
    ActionRequest,
    ActionResult,
    CheckResult,
    ConnectorSpec,
    MalformedResponseError,
    MarketplaceClient,
    MarketplaceDeclaration,
    OrderPage,
    PartyRole,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
    Status,
    StatusMap,
    hookimpl,
)
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime
from lengow_tui.store import open_store
from lengow_tui.store.models import Order, OrderLine, Party, SyncCursor
from lengow_tui.sync.run import sync_once

MP = MarketplaceDeclaration(code="flaky_mp", name="Flaky", status_map=StatusMap(order={"OPEN": Status.WAITING_SHIPMENT}))
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _order(n: int, buyer: str = "Ann Lee", title: str = "Mug") -> RemoteOrder:
    return RemoteOrder(
        marketplace="flaky_mp", order_id=f"F{n}", raw_status="OPEN", updated_at=T0, ordered_at=T0, currency="EUR",
        total_cents=1000, lines=(RemoteLine(f"F{n}-1", "SKU1", title, 1, 1000),),
        parties=(RemoteParty(PartyRole.BUYER, name=buyer, email="ann@example.com"),),
    )


class FlakyClient(MarketplaceClient):
    """Serves one good page, then a page that fails to parse."""

    async def check(self) -> CheckResult:
        return CheckResult(True)

    async def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        if cursor is None:
            yield OrderPage((_order(1), _order(2, buyer="\x1b]8;;http://evil\x07Bob\x1b]8;;\x07 \x1b[2J",
                                               title="Cup\u202e\x07")), "page1")
        raise MalformedResponseError("page 2: truncated JSON at byte 812")

    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        return None

    async def perform(self, request: ActionRequest) -> ActionResult:
        return ActionResult.rejected("no")


class Plugin:
    @hookimpl
    def register_connectors(self) -> list[ConnectorSpec]:
        return [ConnectorSpec(name="flaky", title="Flaky", client_factory=lambda ctx: FlakyClient(),
                              marketplaces=(MP,))]


def test_broken_page_fails_that_channel_only_and_keeps_the_committed_page(tmp_path: Path, sqlite_url: str):
    registry = load_registry(extra_plugins=[("flaky", Plugin())])
    connectors = {name: c.spec for name, c in registry.connectors.items()}
    config = parse_config_text(
        f'[paths]\ndata_dir = "{tmp_path}"\n[channels.flaky]\nconnector = "flaky"\n'
        '[channels.shop]\nconnector = "sandbox"\nreject_rate = "0"\n',
        path=tmp_path / "c.toml", connectors=connectors,
    )
    runtime = Runtime(config=config, registry=registry, store=open_store(sqlite_url))
    results = {r.channel: r for r in asyncio.run(sync_once(runtime))}
    flaky = results["flaky"].imported
    assert flaky is not None and flaky.error == "page 2: truncated JSON at byte 812" and flaky.created == 2
    assert results["shop"].imported.error is None and results["shop"].imported.created >= 150  # type: ignore[union-attr]
    with runtime.store.read() as session:
        cursor = session.get(SyncCursor, runtime.channel_id("flaky"))
        assert cursor is not None and cursor.cursor == "page1" and "truncated JSON" in (cursor.last_error or "")
        bob = session.exec(select(Order).where(Order.marketplace_order_id == "F2")).one()
        line = session.exec(select(OrderLine).where(OrderLine.order_id == bob.id)).one()
        party = session.exec(select(Party).where(Party.order_id == bob.id)).one()
    for text in (bob.buyer_name or "", line.title, party.name, bob.search_text):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert bob.buyer_name == "Bob" and line.title.startswith("Cup")
    runtime.close()
