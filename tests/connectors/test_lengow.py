"""The Lengow API connector over real HTTP against its loopback emulator (no mocked transport), and the
host's support for declarations fetched at run time (codec, cache, validation)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lengow_tui_lengow import plugin
from lengow_tui_lengow.convert import to_remote
from lengow_tui_lengow.emulator import EmulatorHandle, run_emulator
from sqlmodel import select, update

from lengow_tui.connector_api import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    ArgType,
    ClientContext,
    ConnectorError,
    LineSelection,
    MalformedResponseError,
    MarketplaceDeclaration,
    RateLimitedError,
    RemoteOrder,
    Status,
)
from lengow_tui.store.declaration_codec import DeclarationCodecError, declaration_from_json, declaration_to_json

SPEC = plugin.register_connectors()[0]
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with run_emulator(orders=80, seed=5) as handle:
        yield handle


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(3.0)) as client:
        yield client


def make_client(emu: EmulatorHandle, http: httpx.AsyncClient, tmp_path: Path, **config: Any):
    settings = {"base_url": emu.base_url, "access_token": emu.access_token, "secret": emu.secret, **config}
    # The client's clock is the emulator's, which tests move forward (real servers share NTP time).
    return SPEC.client_factory(ClientContext(channel="lengow", config=settings, http=http, state_dir=tmp_path,
                                             now=lambda: datetime.fromtimestamp(emu.state.now(), UTC)))


async def fetch_all(client, cursor: str | None = None) -> tuple[list[RemoteOrder], str | None]:
    orders: list[RemoteOrder] = []
    async for page in client.fetch_orders(cursor):
        orders.extend(page.orders)
        cursor = page.cursor
    return orders, cursor


async def declarations_of(client) -> dict[str, MarketplaceDeclaration]:
    return {d.code: d for d in await client.fetch_marketplaces()}


def request(kind: ActionKind, marketplace: str, order_id: str, *, attempt: int = 1,
            lines: tuple[LineSelection, ...] = (), **arguments: str) -> ActionRequest:
    return ActionRequest(action_id=f"t-{kind}-{order_id}", kind=kind, marketplace=marketplace, order_id=order_id,
                         arguments=arguments, lines=lines, attempt=attempt)


def line_ids(emu: EmulatorHandle, order_id: str) -> list[str]:
    order = emu.state.order(order_id)
    return [line["marketplace_order_line_id"] for p in order["packages"] for line in p["cart"]]


def applied_count(emu: EmulatorHandle, order_id: str, action_type: str) -> int:
    return sum(c["count"] for c in emu.actions()["applied_counts"]
               if c["order_id"] == order_id and c["action_type"] == action_type)


async def poll_until_final(client, emu: EmulatorHandle, handle: str):
    """Poll, letting the emulator's clock run between polls (no real waiting)."""
    for _ in range(10):
        result = await client.poll(handle)
        if result.outcome != ActionOutcome.PENDING:
            return result
        emu.state.advance_clock(1.0)
    raise AssertionError("the action never reached a final state")


# --- registration and the declaration codec ----------------------------------------------------------

def test_spec_is_valid_dynamic_and_marks_secrets():
    assert SPEC.check() == []
    assert SPEC.dynamic_marketplaces and SPEC.marketplaces == ()
    fields = {f.name: f for f in SPEC.config_fields}
    assert fields["access_token"].secret and fields["secret"].secret and not fields["account_id"].secret
    assert fields["base_url"].default == "https://api.lengow.io"


def test_importing_the_plugin_does_no_io_and_loads_no_network_code():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import lengow_tui_lengow.plugin as p\n"
        "p.register_connectors()\n"
        "print(sorted(m for m in ('httpx', 'lengow_tui_lengow.client', 'uvicorn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_codec_round_trips_every_declaration_exactly(emu, http, tmp_path):
    from lengow_tui_mirakl.declarations import DECLARATIONS as MIRAKL

    fetched = list((await declarations_of(make_client(emu, http, tmp_path))).values())
    for declaration in [*MIRAKL, *fetched]:
        encoded = declaration_to_json(declaration)
        through_text = json.loads(json.dumps(encoded))  # what the JSON column stores
        back = declaration_from_json(through_text)
        assert back == declaration, declaration.code
        assert list(back.status_map.order) == list(declaration.status_map.order)  # map order kept
        assert declaration_to_json(back) == encoded
    with pytest.raises(DeclarationCodecError):
        declaration_from_json({**declaration_to_json(fetched[0]), "format": 99})
    with pytest.raises(DeclarationCodecError):
        declaration_from_json({**declaration_to_json(fetched[0]), "actions": [{"kind": "teleport"}]})


async def test_declarations_built_from_the_marketplace_definitions(emu, http, tmp_path):
    found = await declarations_of(make_client(emu, http, tmp_path))
    assert set(found) == {"amazon_fr", "cdiscount", "manomano", "fnac"}
    amazon, cdiscount, fnac, mano = found["amazon_fr"], found["cdiscount"], found["fnac"], found["manomano"]
    assert amazon.status_map.order_status("Unshipped") == Status.WAITING_SHIPMENT
    assert amazon.status_map.order_status("PartiallyShipped") == Status.WAITING_SHIPMENT
    assert cdiscount.status_map.order_status("WaitingForSellerAcceptation") == Status.WAITING_ACCEPTANCE
    assert amazon.action(ActionKind.ACCEPT) is None  # no acceptance step on Amazon
    ship = amazon.action(ActionKind.SHIP)
    assert ship.allowed_from == {Status.WAITING_SHIPMENT} and not ship.per_line
    carrier = ship.argument("carrier")
    assert carrier.type == ArgType.CHOICE and not carrier.accept_free_values and carrier.choice_label("Other")
    name = ship.argument("carrier_name")
    assert not name.required and name.required_when[0].name == "carrier"
    assert not ship.argument("shipping_date").required and ship.argument("shipping_date").type == ArgType.DATE
    assert ship.argument("shipping_method").default == "Standard"
    refund = fnac.action(ActionKind.REFUND)
    assert refund.per_line and refund.partial and refund.argument("line") is None
    assert refund.argument("refund_reason").default == "17"
    assert {c.code for c in cdiscount.action(ActionKind.SHIP).argument("carrier").valid_values} >= {"COLISSIMO", "UPS"}
    assert fnac.action(ActionKind.ACCEPT).per_line and not fnac.action(ActionKind.ACCEPT).partial
    assert mano.action(ActionKind.REFUND).partial and {c.code for c in cdiscount.carriers} >= {"DPD"}


# --- import ------------------------------------------------------------------------------------------

async def test_full_import_maps_every_order_and_every_package(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    declarations = await declarations_of(client)
    orders, cursor = await fetch_all(client)
    assert len(orders) == 80 and len({(o.marketplace, o.order_id) for o in orders}) == 80
    assert cursor is not None and cursor.startswith("v1|")
    statuses = {declarations[o.marketplace].status_map.order_status(o.raw_status) for o in orders}
    assert None not in statuses
    assert {Status.WAITING_ACCEPTANCE, Status.WAITING_SHIPMENT, Status.SHIPPED, Status.CLOSED} <= statuses
    assert {o.marketplace for o in orders} == set(declarations)
    for order in orders:
        assert order.updated_at.tzinfo is not None and order.currency == "EUR"
        assert {p.role for p in order.parties} == {"buyer", "billing", "shipping"}
        assert order.total_cents == sum(line.amount_cents for line in order.lines) + order.shipping_cents
    split = [o for o in orders if len(o.raw["packages"]) == 2]
    assert split, "the emulator plants orders with two packages"
    for order in split:
        carts = [line["marketplace_order_line_id"] for p in order.raw["packages"] for line in p["cart"]]
        assert [line.line_id for line in order.lines] == carts  # the lines of both packages
        first = order.raw["packages"][0]["delivery"]
        shipping = next(p for p in order.parties if p.role == "shipping")
        assert shipping.name == first["full_name"] and shipping.zipcode == first["zipcode"]
    shipped = [o for o in split if o.raw["lengow_status"] == "shipped"]
    if shipped:  # tracking: the first package's
        assert shipped[0].tracking.tracking_number == shipped[0].raw["packages"][0]["delivery"]["trackings"][0]["number"]


async def test_incremental_import_sees_new_and_changed_orders_only(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path, overlap_seconds=0)
    first, cursor = await fetch_all(client)
    assert len(first) == 80
    emu.state.advance_clock(5)
    new_ids = emu.state.add_orders(3)
    shipped = emu.state.first_order("cdiscount", "shipped")
    emu.state.advance_orders(order_ids=[shipped])  # shipped -> closed (Filled)
    emu.state.advance_clock(1)  # updated_from is inclusive: a change in the pass's first millisecond is re-read
    second, cursor2 = await fetch_all(client, cursor)
    assert sorted(o.order_id for o in second) == sorted(new_ids + [shipped])
    assert next(o for o in second if o.order_id == shipped).raw_status == "Filled"
    third, _ = await fetch_all(client, cursor2)
    assert third == []


async def test_cursor_of_any_page_resumes_without_gaps(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path, page_size=20)
    pages = [page async for page in client.fetch_orders(None)]
    assert [len(p.orders) for p in pages] == [20, 20, 20, 20]
    emu.state.advance_clock(5)
    arrived = emu.state.add_orders(2)  # while we were "down"
    resumed, _ = await fetch_all(client, pages[1].cursor)
    seen = {o.order_id for p in pages[:2] for o in p.orders} | {o.order_id for o in resumed}
    assert len(seen) == 82 and set(arrived) <= seen


async def test_an_unlisted_marketplace_status_falls_back_to_lengow_status(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    listed = emu.state.first_order("manomano", "waiting_shipment")
    unknown = emu.state.first_order("manomano", "closed")
    emu.state.set_raw_status(listed, "EN_PREPARATION_ENTREPOT", "waiting_shipment")  # Lengow knows, we don't yet
    emu.state.set_raw_status(unknown, "MYSTERE", "mystery")  # nobody knows
    declaration = (await declarations_of(client))["manomano"]
    fallback = await client.get_order("manomano", listed)
    assert fallback.raw_status == "waiting_shipment"
    assert declaration.status_map.order_status(fallback.raw_status) == Status.WAITING_SHIPMENT
    flagged = await client.get_order("manomano", unknown)
    assert flagged.raw_status == "MYSTERE" and declaration.status_map.order_status("MYSTERE") is None
    assert await client.get_order("manomano", "NOPE-1") is None


def test_malformed_orders_raise_malformed_response_error():
    good = {"marketplace": "fnac", "marketplace_order_id": "F1", "marketplace_status": "SHIPPED",
            "lengow_status": "shipped", "updated_at": "2026-01-02T10:00:00+00:00",
            "marketplace_order_date": "2026-01-01T10:00:00+00:00", "total_order": "12.50", "packages": []}
    assert to_remote(good).total_cents == 1250
    assert to_remote({**good, "total_order": -1, "original_total_order": "9.99",
                      "original_currency": {"iso_a3": "GBP"}}).currency == "GBP"
    for broken in ([], {**good, "marketplace_order_id": None}, {**good, "updated_at": "yesterday"},
                   {**good, "total_order": "12,50"}, {**good, "packages": {"cart": []}},
                   {**good, "packages": [{"cart": [{"title": "no id"}]}]}):
        with pytest.raises(MalformedResponseError):
            to_remote(broken)


async def test_truncated_json_fails_the_page_then_imports_again(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    await client.fetch_marketplaces()
    emu.inject("truncated", path="/v3.0/orders")
    with pytest.raises(MalformedResponseError):
        await fetch_all(client)
    emu.inject("truncated", path="/v3.0/marketplaces")
    with pytest.raises(MalformedResponseError):
        await client.fetch_marketplaces()
    orders, _ = await fetch_all(client)
    assert len(orders) == 80


# --- credentials, token, limits ------------------------------------------------------------------------

async def test_check_reports_bad_credentials_clearly_and_without_secrets(emu, http, tmp_path):
    good = await make_client(emu, http, tmp_path).check()
    assert good.ok and "4242" in good.message
    bad = await make_client(emu, http, tmp_path, secret="wrong-secret-123").check()
    assert not bad.ok and "refused the access_token/secret pair" in bad.message
    assert "wrong-secret-123" not in bad.message and emu.access_token not in bad.message
    other_account = await make_client(emu, http, tmp_path, account_id=999).check()
    assert not other_account.ok and "account_id" in other_account.message
    unreachable = await make_client(emu, http, tmp_path, base_url="http://127.0.0.1:9").check()
    assert not unreachable.ok and "cannot reach Lengow" in unreachable.message
    invalid = await make_client(emu, http, tmp_path, page_size=500).check()
    assert not invalid.ok and "page_size" in invalid.message


async def test_token_is_reused_then_renewed_when_it_expires(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    await fetch_all(client)
    await client.get_order("fnac", emu.state.first_order("fnac", "shipped"))
    assert emu.state.token_requests == 1  # one token for every call
    emu.state.expire_tokens()  # Lengow answers 403 "Token ... is expired"
    orders, _ = await fetch_all(client)
    assert len(orders) == 80 and emu.state.token_requests == 2
    order_id = emu.state.first_order("cdiscount", "waiting_acceptance")
    emu.state.expire_tokens()
    result = await client.perform(request(ActionKind.ACCEPT, "cdiscount", order_id))
    assert result.outcome == ActionOutcome.PENDING and emu.state.token_requests == 3


@pytest.mark.parametrize("kind", ["429", "429_date"])
async def test_rate_limits_honour_retry_after_in_both_forms(emu, http, tmp_path, kind):
    client = make_client(emu, http, tmp_path)
    emu.inject(kind, path="/v3.0/orders", retry_after=30)
    with pytest.raises(RateLimitedError) as caught:
        await fetch_all(client)
    assert 25 <= caught.value.retry_after <= 30
    order_id = emu.state.first_order("cdiscount", "waiting_acceptance")
    emu.inject(kind, path="/v3.0/orders/actions/", method="POST", retry_after=30)
    result = await client.perform(request(ActionKind.ACCEPT, "cdiscount", order_id))
    assert result.outcome == ActionOutcome.RATE_LIMITED and 25 <= result.retry_after <= 30
    assert emu.state.action_records() == []  # nothing was created
    assert (await client.perform(request(ActionKind.ACCEPT, "cdiscount", order_id))).outcome == ActionOutcome.PENDING


async def test_the_500_per_minute_limit_on_both_sides(http, tmp_path):
    with run_emulator(orders=5, rate_limit_per_minute=3) as emu:
        token = (await http.post(f"{emu.base_url}/access/get_token",
                                 data={"access_token": emu.access_token, "secret": emu.secret})).json()["token"]
        params = {"account_id": emu.account_id, "updated_from": "2020-01-01T00:00:00+00:00"}
        codes = [(await http.get(f"{emu.base_url}/v3.0/orders", params=params,
                                 headers={"Authorization": token})).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        answer = await http.get(f"{emu.base_url}/v3.0/orders", params=params, headers={"Authorization": token})
        assert answer.json()["error"]["message"] == "Request limitation: 3 reached on /v3.0/orders"
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
    with run_emulator(orders=5) as emu:
        client = make_client(emu, http, tmp_path, calls_per_minute=2)
        await client.check()
        await client.get_order("fnac", "F1")
        with pytest.raises(RateLimitedError) as caught:  # the third call is not made at all
            await client.get_order("fnac", "F2")
        assert "2 calls per minute" in str(caught.value) and 0 < caught.value.retry_after <= 60
        assert emu.state.windows[("/v3.0/orders", "GET")][1] == 2


async def test_server_errors_on_reads_are_retryable(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    for kind in ("500", "502", "503"):
        emu.inject(kind, path="/v3.0/orders")
        with pytest.raises(ConnectorError) as caught:
            await fetch_all(client)
        assert caught.value.retryable and kind in str(caught.value)
    emu.inject("500", path="/v3.0/orders", after=1)  # the second page fails: the first is kept
    pages = []
    with pytest.raises(ConnectorError):
        async for page in make_client(emu, http, tmp_path, page_size=50).fetch_orders(None):
            pages.append(page)
    assert len(pages) == 1 and len(pages[0].orders) == 50


# --- actions at the client level ---------------------------------------------------------------------

async def test_per_line_accept_is_queued_then_processed(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("fnac", "waiting_acceptance", min_lines=2)
    lines = line_ids(emu, order_id)
    result = await client.perform(request(ActionKind.ACCEPT, "fnac", order_id,
                                          lines=tuple(LineSelection(i) for i in lines)))
    assert result.outcome == ActionOutcome.PENDING
    records = emu.state.action_records()
    assert [r["line"] for r in records] == lines and all(r["queued"] for r in records)  # one per line
    assert (await client.poll(result.handle)).outcome == ActionOutcome.PENDING
    final = await poll_until_final(client, emu, result.handle)
    assert final.outcome == ActionOutcome.APPLIED
    assert emu.state.order(order_id)["lengow_status"] in ("accepted", "waiting_shipment")
    assert emu.actions()["duplicates"] == []


async def test_ambiguous_create_is_not_sent_twice(emu, http, tmp_path):
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as short:
        client = make_client(emu, short, tmp_path)
        order_id = emu.state.first_order("cdiscount", "waiting_acceptance")
        accept = request(ActionKind.ACCEPT, "cdiscount", order_id)
        emu.inject("apply_then_500", path="/v3.0/orders/actions/", method="POST")
        assert (await client.perform(accept)).outcome == ActionOutcome.AMBIGUOUS
        again = await client.perform(request(ActionKind.ACCEPT, "cdiscount", order_id, attempt=2))
        assert again.outcome == ActionOutcome.PENDING  # the action created by the first call was found
        assert len(emu.state.action_records()) == 1
        assert (await poll_until_final(client, emu, again.handle)).outcome == ActionOutcome.APPLIED
        # After it was processed, a late resend of the same intent is recognised as done.
        late = await client.perform(request(ActionKind.ACCEPT, "cdiscount", order_id, attempt=3))
        assert late.outcome == ActionOutcome.ALREADY_APPLIED
        assert applied_count(emu, order_id, "accept") == 1 and emu.actions()["duplicates"] == []
        shipping = emu.state.first_order("cdiscount", "waiting_shipment")
        emu.inject("timeout", path="/v3.0/orders/actions/", method="POST", seconds=2)
        ship = request(ActionKind.SHIP, "cdiscount", shipping, carrier="DPD", tracking_number="DPD123456")
        assert (await client.perform(ship)).outcome == ActionOutcome.AMBIGUOUS
        emu.inject("reset", path="/v3.0/orders/actions/", method="POST")
        assert (await client.perform(ship)).outcome == ActionOutcome.AMBIGUOUS
        emu.inject("503", path="/v3.0/orders/actions/", method="POST")
        assert (await client.perform(ship)).outcome == ActionOutcome.RETRYABLE
        assert [r["marketplace_order_id"] for r in emu.state.action_records()] == [order_id]  # no ship created
        emu.inject("apply_then_reset", path="/v3.0/orders/actions/", method="POST")
        assert (await client.perform(ship)).outcome == ActionOutcome.AMBIGUOUS
        resent = await client.perform(request(ActionKind.SHIP, "cdiscount", shipping, attempt=2, carrier="DPD",
                                              tracking_number="DPD123456"))
        assert resent.outcome == ActionOutcome.PENDING and len(emu.state.action_records()) == 2


async def test_lengow_validation_errors_are_rejections(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("amazon_fr", "waiting_shipment")
    # The host validates first; a stale declaration can still let a bad value through: Lengow says no.
    bad = await client.perform(request(ActionKind.SHIP, "amazon_fr", order_id, carrier="PIGEON",
                                       tracking_number="AB12345678"))
    assert bad.outcome == ActionOutcome.REJECTED and "'PIGEON' is not a valid value" in bad.message
    missing = await client.perform(request(ActionKind.REFUND, "manomano", emu.state.first_order("manomano", "shipped")))
    assert missing.outcome == ActionOutcome.REJECTED and "select the order lines" in missing.message
    gone = await client.perform(request(ActionKind.ACCEPT, "amazon_fr", order_id))
    assert gone.outcome == ActionOutcome.NOT_SUPPORTED and "does not offer accept" in gone.message
    unknown = await client.perform(request(ActionKind.ACCEPT, "cdiscount", "NOPE"))
    assert unknown.outcome == ActionOutcome.REJECTED and "does not know this order" in unknown.message
    assert emu.state.action_records() == []


# --- through the host: declarations cached, actions validated and polled through the outbox ------------

def _settle(runtime, emu: EmulatorHandle, rounds: int = 8) -> None:
    """Sync until no action is unfinished: the emulator's clock runs and the outbox's poll interval is
    skipped between passes instead of waiting for them."""
    from lengow_tui.store.models import Action
    from lengow_tui.sync.outbox import UNFINISHED
    from lengow_tui.sync.run import sync_once
    from lengow_tui.store.types import utcnow

    for _ in range(rounds):
        results = asyncio.run(sync_once(runtime))
        assert all(r.error is None and (r.imported is None or r.imported.error is None) for r in results), results
        with runtime.store.write() as session:
            left = session.exec(select(Action).where(Action.state.in_(UNFINISHED))).all()  # type: ignore[attr-defined]
            if not left:
                return
            session.exec(update(Action).where(Action.state.in_(UNFINISHED)).values(next_attempt_at=utcnow()))  # type: ignore[attr-defined]
        emu.state.advance_clock(1.5)
    raise AssertionError("actions did not settle")


def _order(runtime, marketplace: str, remote_id: str):
    from lengow_tui.store.models import Order

    with runtime.store.read() as session:
        return session.exec(select(Order).where(Order.marketplace == marketplace,
                                                Order.marketplace_order_id == remote_id)).one()


def _action(runtime, action_id: int):
    from lengow_tui.store.models import Action

    with runtime.store.read() as session:
        return session.get(Action, action_id)


@pytest.fixture
def host(tmp_path, sqlite_url):
    from lengow_runtime import make_lengow_runtime

    with run_emulator(orders=60, seed=9) as emu:
        runtime = make_lengow_runtime(tmp_path, sqlite_url, emu.base_url, emu.access_token, emu.secret)
        try:
            yield runtime, emu
        finally:
            runtime.close()


def test_declarations_are_fetched_cached_and_used_for_validation(host, tmp_path):
    from lengow_tui.services.actions import queue_action
    from lengow_tui.store.models import MarketplaceCache
    from lengow_tui.sync.marketplaces import refresh_declarations

    runtime, emu = host
    _settle(runtime, emu)
    with runtime.store.read() as session:
        rows = session.exec(select(MarketplaceCache)).all()
    assert {r.code for r in rows} == {"amazon_fr", "cdiscount", "manomano", "fnac"}
    assert declaration_from_json(next(r for r in rows if r.code == "fnac").payload) == runtime.declaration("lengow", "fnac")
    assert set(runtime.declarations("lengow")) == {"amazon_fr", "cdiscount", "manomano", "fnac"}
    order = _order(runtime, "amazon_fr", emu.state.first_order("amazon_fr", "waiting_shipment"))
    assert order.status == "waiting_shipment" and not order.needs_review
    refused = queue_action(runtime, order.id, "ship", {"carrier": "PIGEON", "tracking_number": "AB12345678"})
    assert not refused.ok and "not a valid value" in str(refused.problems[0])
    other = queue_action(runtime, order.id, "ship", {"carrier": "Other", "tracking_number": "AB12345678"})
    assert not other.ok and other.problems[0].field == "carrier_name"
    assert not queue_action(runtime, order.id, "accept").ok  # Amazon has no acceptance
    # A refresh that fails keeps the cache; a fresh process validates from it without the platform.
    emu.inject("500", path="/v3.0/marketplaces", count=5)

    async def refresh() -> int:
        from lengow_tui.sync.clients import open_client

        async with open_client(runtime, "lengow") as client:
            return await refresh_declarations(runtime, "lengow", client, max_age=timedelta(0))

    assert asyncio.run(refresh()) == 0
    from lengow_runtime import make_lengow_runtime

    second = make_lengow_runtime(tmp_path, runtime.config.database_url, emu.base_url, emu.access_token, emu.secret)
    try:
        assert second.declaration("lengow", "fnac") == runtime.declaration("lengow", "fnac")
        assert queue_action(second, order.id, "ship", {"carrier": "UPS", "tracking_number": "1Z9999999"}).ok
    finally:
        second.close()
    emu.faults.clear()
    assert asyncio.run(refresh()) == 4


def test_import_without_any_declaration_fails_clearly(tmp_path, sqlite_url):
    from lengow_runtime import make_lengow_runtime
    from lengow_tui.store.models import Order
    from lengow_tui.sync.run import sync_once

    with run_emulator(orders=10) as emu:
        emu.inject("503", path="/v3.0/marketplaces", count=3)
        runtime = make_lengow_runtime(tmp_path, sqlite_url, emu.base_url, emu.access_token, emu.secret)
        try:
            result = asyncio.run(sync_once(runtime))[0]
            assert result.imported.error and "Lengow failed" in result.imported.error
            with runtime.store.read() as session:
                assert session.exec(select(Order)).all() == []  # nothing imported as "not declared"
            emu.faults.clear()
            assert asyncio.run(sync_once(runtime))[0].imported.created == 10
        finally:
            runtime.close()


def test_every_action_polled_to_its_outcome_through_the_outbox(host):
    from lengow_tui.services.actions import queue_action

    runtime, emu = host
    _settle(runtime, emu)
    state = emu.state
    accept_id = state.first_order("cdiscount", "waiting_acceptance")
    refuse_id = state.first_order("manomano", "waiting_acceptance")
    ship_id = state.first_order("amazon_fr", "waiting_shipment")
    cancel_id = state.first_order("fnac", "waiting_shipment", min_lines=2)
    refund_id = state.first_order("manomano", "shipped")
    fnac_refund = state.first_order("fnac", "closed")
    cancel_line, refund_line = line_ids(emu, cancel_id)[0], line_ids(emu, refund_id)[0]
    fnac_line = state.order(fnac_refund)["packages"][0]["cart"][0]
    queued = {
        "accept": queue_action(runtime, _order(runtime, "cdiscount", accept_id).id, "accept"),
        "refuse": queue_action(runtime, _order(runtime, "manomano", refuse_id).id, "refuse"),
        "ship": queue_action(runtime, _order(runtime, "amazon_fr", ship_id).id, "ship",
                             {"carrier": "Other", "carrier_name": "Transports Martin",
                              "tracking_number": "TM00004242"}),
        "cancel": queue_action(runtime, _order(runtime, "fnac", cancel_id).id, "cancel", {"reason": "33"},
                               [LineSelection(cancel_line)]),
        "refund": queue_action(runtime, _order(runtime, "manomano", refund_id).id, "refund",
                               {"refund_reason": "damaged"}, [LineSelection(refund_line, quantity=1)]),
        "partial": queue_action(runtime, _order(runtime, "fnac", fnac_refund).id, "refund", {},
                                [LineSelection(fnac_line["marketplace_order_line_id"], amount_cents=100)]),
    }
    assert all(q.ok for q in queued.values()), {k: q.problems for k, q in queued.items()}
    _settle(runtime, emu)
    from lengow_tui.store.models import ActionAttempt

    for name, q in queued.items():
        action = _action(runtime, q.action_id)
        assert action.state == "done", (name, action.state, action.last_error)
        with runtime.store.read() as session:
            outcomes = [a.outcome for a in session.exec(select(ActionAttempt).where(
                ActionAttempt.action_id == q.action_id).order_by(ActionAttempt.id))]
        assert outcomes == ["pending", "applied"], (name, outcomes)  # created, then polled to its outcome
    assert _order(runtime, "cdiscount", accept_id).status in ("accepted", "waiting_shipment")
    assert _order(runtime, "manomano", refuse_id).status == "refused"
    shipped = _order(runtime, "amazon_fr", ship_id)
    assert shipped.status == "shipped" and shipped.pending_actions == 0
    sent = [r for r in state.action_records() if r["marketplace_order_id"] == ship_id][0]
    assert sent["carrier"] == "Other" and sent["carrier_name"] == "Transports Martin" and sent["shipping_date"]
    assert sent["shipping_method"] == "Standard"  # the declared default
    assert state.order(cancel_id)["packages"][0]["cart"][0]["lengow_status"] == "canceled"
    assert _order(runtime, "fnac", cancel_id).status == "waiting_shipment"  # the other lines remain
    refund_record = [r for r in state.action_records() if r["marketplace_order_id"] == refund_id][0]
    assert refund_record["refund_quantity"] == "1" and refund_record["line"] == refund_line
    partial = [r for r in state.action_records() if r["marketplace_order_id"] == fnac_refund][0]
    assert partial["refund_price"] == "1.00" and partial["refund_reason"] == "17"  # default reason
    report = emu.actions()
    assert report["duplicates"] == [] and len(report["actions"]) == 6


def test_rejections_reach_the_merchant_with_the_marketplace_message(host):
    from lengow_tui.services.actions import queue_action

    runtime, emu = host
    _settle(runtime, emu)
    state = emu.state
    bad_tracking = state.first_order("amazon_fr", "waiting_shipment")
    forced = state.first_order("cdiscount", "waiting_acceptance")
    moved = state.first_order("manomano", "waiting_acceptance")
    lines = state.first_order("fnac", "waiting_acceptance", min_lines=2)
    q_tracking = queue_action(runtime, _order(runtime, "amazon_fr", bad_tracking).id, "ship",
                              {"carrier": "UPS", "tracking_number": "123"})
    q_forced = queue_action(runtime, _order(runtime, "cdiscount", forced).id, "accept")
    q_moved = queue_action(runtime, _order(runtime, "manomano", moved).id, "accept")
    q_lines = queue_action(runtime, _order(runtime, "fnac", lines).id, "accept")
    assert all(q.ok for q in (q_tracking, q_forced, q_moved, q_lines))
    emu.reject_next("Cdiscount: the offer is no longer available", order_id=forced)
    state.set_status(moved, "canceled")  # the buyer canceled before the accept reached ManoMano
    first_line = line_ids(emu, lines)[0]
    emu.reject_next("line refused by Fnac: stock unknown", order_id=lines)  # the first line's action only
    _settle(runtime, emu)
    tracking = _action(runtime, q_tracking.action_id)
    assert tracking.state == "rejected" and "tracking number '123' is not valid" in tracking.last_error
    assert _order(runtime, "amazon_fr", bad_tracking).status == "waiting_shipment"
    assert "offer is no longer available" in _action(runtime, q_forced.action_id).last_error
    moved_action = _action(runtime, q_moved.action_id)
    assert moved_action.state == "rejected" and "is canceled" in moved_action.last_error
    partly = _action(runtime, q_lines.action_id)
    assert partly.state == "rejected" and "stock unknown" in partly.last_error and "were applied" in partly.last_error
    assert state.order(lines)["packages"][0]["cart"][0]["marketplace_order_line_id"] == first_line
    assert all(_order(runtime, m, o).pending_actions == 0 for m, o in
               (("amazon_fr", bad_tracking), ("cdiscount", forced), ("manomano", moved), ("fnac", lines)))
    assert emu.actions()["duplicates"] == []


# --- control endpoints and the emulator as a process ----------------------------------------------------

async def test_control_endpoints_over_http(emu, http):
    base = emu.base_url
    assert (await http.post(f"{base}/_emulator/faults", json={"kind": "nope"})).status_code == 400
    assert (await http.post(f"{base}/_emulator/faults", json={"kind": "500", "path": "/v3.0/marketplaces",
                                                              "count": 2})).json()["faults"][0]["count"] == 2
    token = (await http.post(f"{base}/access/get_token",
                             data={"access_token": emu.access_token, "secret": emu.secret})).json()["token"]
    headers, params = {"Authorization": token}, {"account_id": emu.account_id}
    codes = [(await http.get(f"{base}/v3.0/marketplaces", params=params, headers=headers)).status_code
             for _ in range(3)]
    assert codes == [500, 500, 200]
    assert (await http.get(f"{base}/v3.0/marketplaces", headers=headers)).status_code == 400  # no account_id
    assert (await http.get(f"{base}/v3.0/marketplaces", params=params)).status_code == 401
    assert (await http.post(f"{base}/_emulator/tokens", json={"expire": True})).json()["expired"] == 1
    expired = await http.get(f"{base}/v3.0/marketplaces", params=params, headers=headers)
    assert expired.status_code == 403 and "is expired" in expired.json()["error"]["message"]
    created = (await http.post(f"{base}/_emulator/orders", json={"new": 4, "advance": 2})).json()
    assert len(created["created"]) == 4 and len(created["advanced"]) == 2 and created["total"] == 84
    assert (await http.post(f"{base}/_emulator/rejections", json={"message": "no"})).json() == {"rejections": 1}
    assert (await http.post(f"{base}/_emulator/reset", json={"orders": 10})).json() == {"total": 10}
    assert (await http.get(f"{base}/_emulator/actions")).json()["calls"] == []


def test_emulator_runs_as_a_process_and_is_deterministic():
    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen([sys.executable, "-m", "lengow_tui_lengow.emulator", "--port", "0", "--orders", "9",
                                 "--seed", "11"], stdout=subprocess.PIPE, text=True)
        return proc, proc.stdout.readline().strip()  # type: ignore[union-attr]

    first, url = start()
    second, url2 = start()
    try:
        assert url.startswith("http://127.0.0.1:") and url != url2
        payloads = []
        for base in (url, url2):
            token = httpx.post(f"{base}/access/get_token",
                               data={"access_token": "emulator-access-token", "secret": "emulator-secret"}).json()
            data = httpx.get(f"{base}/v3.0/orders", params={"account_id": token["account_id"],
                                                            "updated_from": "2000-01-01T00:00:00+00:00"},
                             headers={"Authorization": token["token"]}).json()
            payloads.append([(o["marketplace_order_id"], o["marketplace_status"], o["total_order"],
                              o["packages"][0]["delivery"]["last_name"]) for o in data["results"]])
        assert len(payloads[0]) == 9 and payloads[0] == payloads[1]
    finally:
        for proc in (first, second):
            proc.terminate()
            proc.wait(timeout=10)
