"""The Mirakl connector over real HTTP against its loopback emulator (no mocked transport)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lengow_tui_mirakl import plugin
from lengow_tui_mirakl.emulator import EmulatorHandle, run_emulator

from lengow_tui.connector_api import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    ClientContext,
    ConnectorError,
    DocumentKind,
    LineSelection,
    MalformedResponseError,
    RateLimitedError,
    RemoteOrder,
    Status,
)

SPEC = plugin.register_connectors()[0]
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with run_emulator(orders=120, seed=5) as handle:
        yield handle


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(3.0)) as client:
        yield client


def make_client(emu: EmulatorHandle, http: httpx.AsyncClient, tmp_path: Path, **config: Any):
    settings = {"base_url": emu.base_url, "api_key": emu.api_key, "operator": "fnac_darty", **config}
    return SPEC.client_factory(ClientContext(channel="fnac", config=settings, http=http, state_dir=tmp_path))


async def fetch_all(client, cursor: str | None = None) -> tuple[list[RemoteOrder], str | None]:
    orders: list[RemoteOrder] = []
    async for page in client.fetch_orders(cursor):
        orders.extend(await page.all_orders())
        cursor = page.cursor
    return orders, cursor


def status_of(order: RemoteOrder) -> Status | None:
    status_map = SPEC.marketplace(order.marketplace).status_map
    return status_map.resolve(order.raw_status, [line.raw_status for line in order.lines])


def request(kind: ActionKind, order_id: str, *, attempt: int = 1, lines: tuple[LineSelection, ...] = (),
            **arguments: str) -> ActionRequest:
    return ActionRequest(action_id=f"t-{kind}-{order_id}", kind=kind, marketplace="fnac_darty", order_id=order_id,
                         arguments=arguments, lines=lines, attempt=attempt)


def applied_count(emu: EmulatorHandle, order_id: str, operation: str) -> int:
    return sum(c["count"] for c in emu.actions()["applied_counts"]
               if c["order_id"] == order_id and c["operation"] == operation)


# --- registration ------------------------------------------------------------------------------------

def test_spec_is_valid_and_declares_the_operators():
    assert SPEC.check() == []
    codes = {d.code for d in SPEC.marketplaces}
    assert {"mirakl", "fnac_darty", "carrefour", "decathlon", "leroy_merlin", "conforama", "boulanger"} <= codes
    assert next(f for f in SPEC.config_fields if f.name == "api_key").secret


def test_importing_the_plugin_does_no_io_and_loads_no_network_code():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import lengow_tui_mirakl.plugin as p\n"
        "p.register_connectors()\n"
        "print(sorted(m for m in ('httpx', 'lengow_tui_mirakl.client', 'uvicorn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- import ------------------------------------------------------------------------------------------

async def test_full_import_maps_every_order(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    orders, cursor = await fetch_all(client)
    assert len(orders) == 120 and len({o.order_id for o in orders}) == 120
    assert cursor is not None and cursor.startswith("v1|")
    statuses = {status_of(o) for o in orders}
    assert None not in statuses
    assert {Status.WAITING_ACCEPTANCE, Status.WAITING_SHIPMENT, Status.SHIPPED, Status.CLOSED} <= statuses
    assert 2.0 <= sum(len(o.lines) for o in orders) / len(orders) <= 3.0
    for order in orders:
        assert order.marketplace == "fnac_darty" and order.updated_at.tzinfo is not None
        assert {p.role for p in order.parties} == {"buyer", "billing", "shipping"}
        live = [line for line in order.lines if line.raw_status != "REFUSED"]
        assert order.total_cents == sum(line.amount_cents for line in live) + order.shipping_cents
    shipped = [o for o in orders if status_of(o) == Status.SHIPPED and o.raw_status == "SHIPPED"]
    assert shipped and all({d.kind for d in o.documents} >= {DocumentKind.INVOICE, DocumentKind.DELIVERY_SLIP}
                           for o in shipped)
    waiting = [o for o in orders if o.raw_status == "WAITING_ACCEPTANCE"]
    assert waiting and all(o.documents == () for o in waiting)


async def test_incremental_import_sees_changes_and_drops_the_deliberate_overlap(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path, overlap_seconds=0)
    shipped = emu.state.first_order("SHIPPED")
    emu.state.advance_orders(order_ids=[shipped])  # changed just before the first pass
    first, cursor = await fetch_all(client)
    assert len(first) == 120
    new_ids = emu.state.add_orders(3)
    waiting = emu.state.first_order("WAITING_ACCEPTANCE")
    assert (await client.perform(request(ActionKind.ACCEPT, waiting))).outcome == ActionOutcome.APPLIED
    emu.state.tick()  # the customer is debited (SHIPPING) before the next import begins
    second, cursor2 = await fetch_all(client, cursor)
    assert sorted(o.order_id for o in second) == sorted(new_ids + [waiting])
    assert status_of(next(o for o in second if o.order_id == waiting)) in (Status.ACCEPTED, Status.WAITING_SHIPMENT)
    # The emulator did send the order changed before the first pass (Mirakl subtracts a delta) ...
    since = cursor.split("|")[1]
    raw = httpx.get(f"{emu.base_url}/api/orders", params={"start_update_date": since, "max": 100},
                    headers={"Authorization": emu.api_key}).json()
    assert shipped in {o["order_id"] for o in raw["orders"]}
    # ... and the connector dropped it as already imported.
    assert shipped not in {o.order_id for o in second}
    third, _ = await fetch_all(client, cursor2)
    # Nothing changed since: at most a re-read of an order stamped within the emulator's millisecond
    # of the second pass's start (the cursor may re-read, never skip), never anything new.
    assert {(o.order_id, o.updated_at) for o in third} <= {(o.order_id, o.updated_at) for o in second}


async def test_cursor_of_any_page_resumes_without_gaps(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path, page_size=25)
    pages = [page async for page in client.fetch_orders(None)]
    assert len(pages) == 5 and [p.size for p in pages][:4] == [25, 25, 25, 25]
    emu.state.add_orders(2)  # arrive while we were "down"
    resumed, _ = await fetch_all(client, pages[1].cursor)
    before = {o.order_id for p in pages[:2] for o in p.listed}
    assert before | {o.order_id for o in resumed} == {o["order_id"] for o in _raw_all(emu)}


def _raw_all(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return json.loads(httpx.get(f"{emu.base_url}/api/orders", params={"paginate": "false"},
                                headers={"Authorization": emu.api_key}).content)["orders"]


async def test_get_order_for_reconciliation(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("SHIPPED")
    order = await client.get_order("fnac_darty", order_id)
    assert order is not None and order.order_id == order_id and order.tracking is not None
    assert order.tracking.tracking_url.startswith("https://")
    assert await client.get_order("fnac_darty", "does-not-exist-A") is None


# --- actions -----------------------------------------------------------------------------------------

async def test_accept_per_line_and_replays_are_not_applied_twice(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("WAITING_ACCEPTANCE", min_lines=2)
    lines = [line["order_line_id"] for line in emu.state.order(order_id)["order_lines"]]
    first = await client.perform(request(ActionKind.ACCEPT, order_id, lines=(LineSelection(lines[0]),)))
    assert first.outcome == ActionOutcome.APPLIED
    order = emu.state.order(order_id)
    assert order["order_state"] == "WAITING_ACCEPTANCE"  # the other lines still wait
    assert order["order_lines"][0]["order_line_state"] in ("WAITING_DEBIT_PAYMENT", "SHIPPING")
    rest = tuple(LineSelection(i) for i in lines[1:])
    assert (await client.perform(request(ActionKind.ACCEPT, order_id, lines=rest))).outcome == ActionOutcome.APPLIED
    # A replay (crash after sending): Mirakl refuses it, the connector sees the order already accepted.
    again = await client.perform(request(ActionKind.ACCEPT, order_id, lines=rest))
    assert again.outcome == ActionOutcome.ALREADY_APPLIED
    retry = await client.perform(request(ActionKind.ACCEPT, order_id, lines=rest, attempt=2))
    assert retry.outcome == ActionOutcome.ALREADY_APPLIED
    report = emu.actions()
    assert report["duplicates"] == []
    refused_replay = [c for c in report["calls"] if c["order_id"] == order_id and c["status"] == 400]
    assert refused_replay and not any(c["applied"] for c in refused_replay)
    emu.state.tick()
    assert emu.state.order(order_id)["order_state"] == "SHIPPING"


async def test_refuse_gives_refused(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("WAITING_ACCEPTANCE")
    result = await client.perform(request(ActionKind.REFUSE, order_id))
    assert result.outcome == ActionOutcome.APPLIED
    order = await client.get_order("fnac_darty", order_id)
    assert status_of(order) == Status.REFUSED


async def test_ship_with_a_listed_carrier_then_replay(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("SHIPPING")
    ship = request(ActionKind.SHIP, order_id, carrier="COLISSIMO", tracking_number="6A12345678901")
    assert (await client.perform(ship)).outcome == ActionOutcome.APPLIED
    order = await client.get_order("fnac_darty", order_id)
    assert status_of(order) == Status.SHIPPED
    assert order.tracking.carrier_code == "COLISSIMO"
    assert order.tracking.tracking_url.endswith("6A12345678901")
    assert (await client.perform(ship)).outcome == ActionOutcome.ALREADY_APPLIED
    assert applied_count(emu, order_id, "ship") == 1 and emu.actions()["duplicates"] == []


async def test_ship_rejections_and_unknown_carrier(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    waiting = emu.state.first_order("WAITING_ACCEPTANCE")
    wrong_state = await client.perform(request(ActionKind.SHIP, waiting, carrier="UPS", tracking_number="1Z999"))
    assert wrong_state.outcome == ActionOutcome.REJECTED and "WAITING_ACCEPTANCE" in wrong_state.message
    order_id = emu.state.first_order("SHIPPING")
    no_tracking = await client.perform(request(ActionKind.SHIP, order_id, carrier="CHRONOPOST"))
    assert no_tracking.outcome == ActionOutcome.REJECTED and "tracking number is required" in no_tracking.message
    assert emu.state.order(order_id)["order_state"] == "SHIPPING"
    other = request(ActionKind.SHIP, order_id, carrier="OTHER", carrier_name="Transports Martin",
                    carrier_url="https://suivi.transports-martin.example/T42", tracking_number="T42")
    assert (await client.perform(other)).outcome == ActionOutcome.APPLIED
    order = await client.get_order("fnac_darty", order_id)
    assert order.tracking.carrier_name == "Transports Martin" and order.tracking.carrier_code == ""
    assert order.tracking.tracking_url == "https://suivi.transports-martin.example/T42"


async def test_cancel_whole_order_and_some_lines(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    whole = emu.state.first_order("SHIPPING")
    assert (await client.perform(request(ActionKind.CANCEL, whole, reason="31"))).outcome == ActionOutcome.APPLIED
    assert emu.state.order(whole)["order_state"] == "CANCELED"
    assert applied_count(emu, whole, "cancel") == 1
    partial = emu.state.first_order("SHIPPING", min_lines=2)
    first_line = emu.state.order(partial)["order_lines"][0]["order_line_id"]
    result = await client.perform(request(ActionKind.CANCEL, partial, reason="33",
                                          lines=(LineSelection(first_line),)))
    assert result.outcome == ActionOutcome.APPLIED
    order = emu.state.order(partial)
    assert order["order_lines"][0]["order_line_state"] == "CANCELED" and order["order_state"] == "SHIPPING"
    assert applied_count(emu, partial, "cancel_lines") == 1


async def test_refund_with_taxes_partial_then_full_and_replay(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("SHIPPED")
    line = emu.state.order(order_id)["order_lines"][0]
    price = int(round(line["price"] * 100))
    partial = await client.perform(request(ActionKind.REFUND, order_id, reason="14",
                                           lines=(LineSelection(line["order_line_id"], amount_cents=price // 4),)))
    assert partial.outcome == ActionOutcome.APPLIED, partial.message
    refund = emu.state.order(order_id)["order_lines"][0]["refunds"][0]
    assert refund["state"] == "WAITING_REFUND" and refund["taxes"] and refund["taxes"][0]["amount"] > 0
    order = await client.get_order("fnac_darty", order_id)
    assert status_of(order) == Status.REFUNDING
    bad_reason = await client.perform(request(ActionKind.REFUND, order_id, reason="99"))
    assert bad_reason.outcome == ActionOutcome.REJECTED and "RE01" in bad_reason.message
    rest = request(ActionKind.REFUND, order_id, reason="17", lines=(LineSelection(line["order_line_id"]),))
    assert (await client.perform(rest)).outcome == ActionOutcome.APPLIED
    assert (await client.perform(rest)).outcome == ActionOutcome.ALREADY_APPLIED  # nothing left: a replay
    assert applied_count(emu, order_id, "refund") == 2
    emu.state.advance_clock(120)  # the operator pays the refunds
    order = await client.get_order("fnac_darty", order_id)
    assert order.lines[0].raw_status == "REFUNDED"


async def test_refund_without_taxes_is_refused_by_the_emulator(emu, http):
    order_id = emu.state.first_order("SHIPPED")
    line_id = emu.state.order(order_id)["order_lines"][0]["order_line_id"]
    body = {"refunds": [{"order_line_id": line_id, "amount": 1.0, "reason_code": "14"}]}
    response = await http.put(f"{emu.base_url}/api/orders/refund", json=body, headers={"Authorization": emu.api_key})
    assert response.status_code == 400 and "taxes are required" in response.json()["message"]


# --- documents ---------------------------------------------------------------------------------------

async def test_documents_single_file_and_zip(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    order_id = emu.state.first_order("SHIPPED")
    documents = await client.list_documents("fnac_darty", order_id)
    kinds = {d.kind for d in documents}
    assert kinds == {DocumentKind.INVOICE, DocumentKind.DELIVERY_SLIP, DocumentKind.OTHER}
    invoice = next(d for d in documents if d.kind == DocumentKind.INVOICE)
    content = await client.fetch_document("fnac_darty", order_id, invoice)
    assert content.data.startswith(b"%PDF-") and content.content_type == "application/pdf"
    assert len(content.data) == invoice.size
    bundle = next(d for d in documents if d.kind == DocumentKind.OTHER)
    zipped = await client.fetch_document("fnac_darty", order_id, bundle)
    assert zipped.content_type == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()
    assert sorted(names) == sorted(f"{order_id}/{d.filename}" for d in documents if d.kind != DocumentKind.OTHER)


# --- credentials, rate limits, failures ---------------------------------------------------------------

async def test_check_reports_bad_credentials_without_the_key(emu, http, tmp_path):
    good = await make_client(emu, http, tmp_path).check()
    assert good.ok and "Boutique" in good.message
    bad = await make_client(emu, http, tmp_path, api_key="wrong-secret-key-123").check()
    assert not bad.ok and "refused the API key" in bad.message and "wrong-secret-key-123" not in bad.message
    unreachable = await make_client(emu, http, tmp_path, base_url="http://127.0.0.1:9").check()
    assert not unreachable.ok and "cannot" in unreachable.message


async def test_invalid_settings_give_a_failed_check_not_an_exception(emu, http, tmp_path):
    result = await make_client(emu, http, tmp_path, operator="nope").check()
    assert not result.ok and "operator" in result.message
    with pytest.raises(ConnectorError):
        await fetch_all(make_client(emu, http, tmp_path, page_size=500))


@pytest.mark.parametrize("kind", ["429", "429_date"])
async def test_rate_limits_honour_retry_after_in_both_forms(emu, http, tmp_path, kind):
    client = make_client(emu, http, tmp_path)
    emu.inject(kind, path="/api/orders", retry_after=30)
    with pytest.raises(RateLimitedError) as caught:
        await fetch_all(client)
    assert 25 <= caught.value.retry_after <= 30
    order_id = emu.state.first_order("WAITING_ACCEPTANCE")
    emu.inject(kind, path=f"/api/orders/{order_id}/accept", retry_after=30)
    result = await client.perform(request(ActionKind.ACCEPT, order_id))
    assert result.outcome == ActionOutcome.RATE_LIMITED and 25 <= result.retry_after <= 30
    assert applied_count(emu, order_id, "accept") == 0
    assert (await client.perform(request(ActionKind.ACCEPT, order_id))).outcome == ActionOutcome.APPLIED


async def test_emulator_rate_limit_answers_429(http):
    with run_emulator(orders=5, rate_limit_per_minute=2) as emu:
        headers = {"Authorization": emu.api_key}
        codes = [(await http.get(f"{emu.base_url}/api/reasons", headers=headers)).status_code for _ in range(3)]
        assert codes[:2] == [200, 200] and codes[2] == 429


async def test_server_errors_on_reads_are_retryable(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    for kind in ("500", "502", "503"):
        emu.inject(kind, path="/api/orders")
        with pytest.raises(ConnectorError) as caught:
            await fetch_all(client)
        assert caught.value.retryable and kind in str(caught.value)
    orders, _ = await fetch_all(client)
    assert len(orders) == 120


async def test_server_errors_timeouts_and_resets_on_actions(emu, tmp_path):
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as short:
        client = make_client(emu, short, tmp_path)
        order_id = emu.state.first_order("SHIPPING")
        ship = request(ActionKind.SHIP, order_id, carrier="UPS", tracking_number="1Z42")
        emu.inject("503", path=f"/api/orders/{order_id}/tracking")
        assert (await client.perform(ship)).outcome == ActionOutcome.RETRYABLE
        emu.inject("timeout", path=f"/api/orders/{order_id}/ship", seconds=2)
        assert (await client.perform(ship)).outcome == ActionOutcome.AMBIGUOUS
        emu.inject("reset", path=f"/api/orders/{order_id}/ship")
        assert (await client.perform(ship)).outcome == ActionOutcome.AMBIGUOUS
        assert emu.state.order(order_id)["order_state"] == "SHIPPING"
        emu.inject("apply_then_500", path=f"/api/orders/{order_id}/ship")
        assert (await client.perform(ship)).outcome == ActionOutcome.AMBIGUOUS
        assert emu.state.order(order_id)["order_state"] == "SHIPPED"
        # The host re-reads and may resend: the shipment is not applied twice.
        assert (await client.perform(ship)).outcome == ActionOutcome.ALREADY_APPLIED
        assert applied_count(emu, order_id, "ship") == 1
        waiting = emu.state.first_order("WAITING_ACCEPTANCE")
        emu.inject("apply_then_reset", path=f"/api/orders/{waiting}/accept")
        assert (await client.perform(request(ActionKind.ACCEPT, waiting))).outcome == ActionOutcome.AMBIGUOUS
        assert (await client.perform(request(ActionKind.ACCEPT, waiting, attempt=2))).outcome == \
            ActionOutcome.ALREADY_APPLIED
        assert applied_count(emu, waiting, "accept") == 1 and emu.actions()["duplicates"] == []


async def test_malformed_payloads_raise_malformed_response_error(emu, http, tmp_path):
    client = make_client(emu, http, tmp_path)
    emu.inject("truncated", path="/api/orders")
    with pytest.raises(MalformedResponseError):
        await fetch_all(client)
    emu.inject("truncated", path="/api/orders/documents")
    with pytest.raises(MalformedResponseError):
        await client.list_documents("fnac_darty", emu.state.first_order("SHIPPED"))
    orders, _ = await fetch_all(client)  # the next import is fine again
    assert len(orders) == 120


# --- control endpoints and the emulator as a process ----------------------------------------------------

async def test_control_endpoints_over_http(emu, http):
    base = emu.base_url
    assert (await http.post(f"{base}/_emulator/faults", json={"kind": "nope"})).status_code == 400
    assert (await http.post(f"{base}/_emulator/faults", json={"kind": "500", "path": "/api/reasons",
                                                              "count": 2})).json()["faults"][0]["count"] == 2
    headers = {"Authorization": emu.api_key}
    codes = [(await http.get(f"{base}/api/reasons", headers=headers)).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert (await http.post(f"{base}/_emulator/faults", json={"kind": "503", "probability": 0.5, "seed": 4,
                                                              "path": "/api/account"})).status_code == 200
    seen = {(await http.get(f"{base}/api/account", headers=headers)).status_code for _ in range(12)}
    assert seen == {200, 503}
    created = (await http.post(f"{base}/_emulator/orders", json={"new": 4, "advance": 2})).json()
    assert len(created["created"]) == 4 and len(created["advanced"]) == 2 and created["total"] == 124
    assert (await http.get(f"{base}/api/orders", headers={"Authorization": "x"})).status_code == 401
    assert (await http.post(f"{base}/_emulator/reset", json={"orders": 10})).json() == {"total": 10}
    assert (await http.get(f"{base}/_emulator/actions")).json()["calls"] == []


def test_emulator_runs_as_a_process_and_is_deterministic():
    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen([sys.executable, "-m", "lengow_tui_mirakl.emulator", "--port", "0", "--orders", "7",
                                 "--seed", "11", "--api-key", "K"], stdout=subprocess.PIPE, text=True)
        return proc, proc.stdout.readline().strip()  # type: ignore[union-attr]

    first, url = start()
    second, url2 = start()
    try:
        assert url.startswith("http://127.0.0.1:") and url != url2
        payloads = []
        for base in (url, url2):
            data = httpx.get(f"{base}/api/orders", params={"max": 100}, headers={"Authorization": "K"}).json()
            payloads.append([(o["order_id"], o["order_state"], o["customer"]["lastname"], o["total_price"])
                             for o in data["orders"]])
        assert len(payloads[0]) == 7 and payloads[0] == payloads[1]
    finally:
        for proc in (first, second):
            proc.terminate()
            proc.wait(timeout=10)


# --- through the host ---------------------------------------------------------------------------------

def test_sync_import_queue_accept_and_see_the_status_change(tmp_path, sqlite_url):
    from mirakl_runtime import make_mirakl_runtime
    from sqlmodel import select

    from lengow_tui.services.actions import queue_action
    from lengow_tui.store.models import Order
    from lengow_tui.sync.run import sync_once

    with run_emulator(orders=40, seed=8) as emu:
        emu.state.add_orders(2)  # fresh orders waiting for acceptance
        runtime = make_mirakl_runtime(tmp_path, sqlite_url, emu.base_url, emu.api_key)
        try:
            results = asyncio.run(sync_once(runtime))
            assert all(r.error is None and r.imported.error is None for r in results), results
            with runtime.store.read() as session:
                orders = session.exec(select(Order)).all()
                assert len(orders) == 42 and all(o.marketplace == "fnac_darty" for o in orders)
                target = next(o for o in orders if o.status == "waiting_acceptance")
                target_id, remote_id = target.id, target.marketplace_order_id
            queued = queue_action(runtime, target_id, "accept")
            assert queued.ok, queued.problems
            asyncio.run(sync_once(runtime))
            asyncio.run(sync_once(runtime))
            with runtime.store.read() as session:
                order = session.get(Order, target_id)
                assert order.status in ("accepted", "waiting_shipment") and order.pending_actions == 0
            assert emu.state.order(remote_id)["order_state"] in ("WAITING_DEBIT_PAYMENT", "SHIPPING")
            assert applied_count(emu, remote_id, "accept") == 1
        finally:
            runtime.close()


def test_resync_converts_only_new_and_changed_orders(tmp_path, sqlite_url, monkeypatch):
    """OR11 pages list orders; the host loads only those it lacks or holds older: a re-read of unchanged
    orders converts none of them and asks for no documents."""
    from mirakl_runtime import make_mirakl_runtime
    from sqlmodel import select

    import lengow_tui_mirakl.client as mirakl_client
    from lengow_tui.store.models import Order, SyncCursor
    from lengow_tui.sync.clients import open_client
    from lengow_tui.sync.importer import import_channel
    from lengow_tui_mirakl.emulator import operations as ops

    async def run_import(runtime):
        async with open_client(runtime, "fnac") as client:
            return await import_channel(runtime, "fnac", client)

    def reset_cursor(runtime):
        with runtime.store.write() as session:
            row = session.get(SyncCursor, runtime.channel_id("fnac"))
            row.cursor = None
            session.add(row)

    with run_emulator(orders=38, seed=8) as emu:
        emu.state.add_orders(2)  # fresh orders waiting for acceptance
        runtime = make_mirakl_runtime(tmp_path, sqlite_url, emu.base_url, emu.api_key)
        try:
            first = asyncio.run(run_import(runtime))
            assert (first.created, first.error) == (40, None)
            converted: list[str] = []
            real = mirakl_client.to_remote
            monkeypatch.setattr(mirakl_client, "to_remote",
                                lambda raw, *a, **k: converted.append(raw["order_id"]) or real(raw, *a, **k))
            reset_cursor(runtime)
            again = asyncio.run(run_import(runtime))
            assert (again.created, again.updated, again.unchanged, again.error) == (0, 0, 40, None)
            assert converted == []

            waiting = next(o for o in _raw_all(emu) if o["order_state"] == "WAITING_ACCEPTANCE")
            ops.accept(emu.state, waiting["order_id"],
                       {"order_lines": [{"id": line["order_line_id"], "accepted": True}
                                        for line in waiting["order_lines"]]})
            emu.state.add_orders(2)
            reset_cursor(runtime)
            third = asyncio.run(run_import(runtime))
            assert (third.created, third.updated, third.unchanged, third.error) == (2, 1, 39, None)
            assert sorted(converted) == sorted([waiting["order_id"], *(o["order_id"] for o in _raw_all(emu)[-2:])])
            with runtime.store.read() as session:
                stored = session.exec(select(Order).where(Order.marketplace_order_id == waiting["order_id"])).one()
            assert stored.raw_status != "WAITING_ACCEPTANCE"
        finally:
            runtime.close()
