"""The sandbox connector, through the public connector API (plus the world's read API for counting)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lengow_tui_sandbox import plugin
from lengow_tui_sandbox.world import reject_roll

from lengow_tui.connector_api import (
    ActionKind,
    ActionOutcome,
    ActionRequest,
    ClientContext,
    ConnectorError,
    DocumentKind,
    LineSelection,
    RemoteOrder,
    Status,
)
from lengow_tui.domain import LineFacts, OrderFacts, validate_action

SPEC = plugin.register_connectors()[0]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALM = {"reject_rate": "0", "unknown_status_rate": "0"}  # no random rejections, no planted statuses


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_client(state_dir: Path, clock: FakeClock, **config: object):
    return SPEC.client_factory(ClientContext(channel="t", config=config, http=None, state_dir=state_dir, now=clock))


async def fetch_all(client, cursor: str | None = None) -> tuple[list[RemoteOrder], str | None, list[int]]:
    orders: list[RemoteOrder] = []
    sizes: list[int] = []
    async for page in client.fetch_orders(cursor):
        orders.extend(page.orders)
        sizes.append(len(page.orders))
        cursor = page.cursor
    return orders, cursor, sizes


def status_of(order: RemoteOrder) -> Status | None:
    status_map = SPEC.marketplace(order.marketplace).status_map
    line_raws = [line.raw_status for line in order.lines if line.raw_status is not None]
    return status_map.resolve(order.raw_status, line_raws)


def facts(order: RemoteOrder) -> OrderFacts:
    status_map = SPEC.marketplace(order.marketplace).status_map
    return OrderFacts(
        status=status_of(order), raw_status=order.raw_status, delivery_type=order.delivery_type,
        marketplace=order.marketplace, total_cents=order.total_cents,
        lines=tuple(LineFacts(line.line_id, line.quantity, line.amount_cents,
                              status_map.line_status(line.raw_status) if line.raw_status else None)
                    for line in order.lines),
    )


def first(orders: list[RemoteOrder], marketplace: str, status: Status, **attrs: object) -> RemoteOrder:
    for o in orders:
        if o.marketplace == marketplace and status_of(o) == status and all(getattr(o, k) == v for k, v in attrs.items()):
            return o
    raise AssertionError(f"the world has no {marketplace} order in {status} with {attrs}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- registration ------------------------------------------------------------------------------


def test_spec_and_declarations_are_valid() -> None:
    assert SPEC.name == "sandbox"
    assert SPEC.check() == []
    assert {d.code for d in SPEC.marketplaces} == {"mirakl_sandbox", "amazon_sandbox", "pickup_sandbox"}
    for declaration in SPEC.marketplaces:
        assert declaration.check() == []
        assert declaration.min_poll_interval_seconds <= 10
        assert all(action.result_status is not None for action in declaration.actions)
    assert SPEC.marketplace("amazon_sandbox").action(ActionKind.ACCEPT) is None
    defaults = {f.name: f.default for f in SPEC.config_fields}
    assert defaults == {
        "seed": 42, "initial_orders": 150, "orders_per_hour": 30, "time_scale": 1, "reject_rate": "5",
        "marketplaces": "mirakl_sandbox,amazon_sandbox,pickup_sandbox", "hostile_data": False,
        "unknown_status_rate": "0.5",
    }
    assert not any(f.secret for f in SPEC.config_fields)


def test_listing_the_plugin_imports_no_world_code() -> None:
    code = textwrap.dedent("""
        import sys
        import lengow_tui_sandbox.plugin as p
        p.register_connectors()
        heavy = [m for m in ("sqlite3", "httpx", "lengow_tui_sandbox.world", "lengow_tui_sandbox.client")
                 if m in sys.modules]
        print(heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the initial world -------------------------------------------------------------------------


async def test_initial_world_looks_like_a_shop(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path / "state" / "nested", clock, **CALM)  # the state dir is created
    assert (await client.check()).ok
    orders, _cursor, _ = await fetch_all(client)
    assert len(orders) == 150
    assert {o.marketplace for o in orders} == {"mirakl_sandbox", "amazon_sandbox", "pickup_sandbox"}
    statuses = {status_of(o) for o in orders}
    assert None not in statuses
    assert {Status.WAITING_ACCEPTANCE, Status.WAITING_SHIPMENT, Status.SHIPPED, Status.CLOSED} <= statuses
    assert sum(status_of(o) in (Status.CLOSED, Status.SHIPPED, Status.PICKUP_COMPLETED) for o in orders) > 75
    for code in ("mirakl_sandbox", "amazon_sandbox", "pickup_sandbox"):  # every status shows, even in a demo
        expected = set(SPEC.marketplace(code).status_map.order.values())
        if code == "mirakl_sandbox":  # no click & collect there; partial refunds are derived from lines
            expected = expected - {Status.TO_PICKUP} | {Status.PARTIAL_REFUNDED}
        assert {status_of(o) for o in orders if o.marketplace == code} == expected
    for order in orders:
        assert START - timedelta(days=31) < order.ordered_at <= order.updated_at <= START
        assert 1 <= len(order.lines) <= 4
        assert order.total_cents == sum(line.amount_cents for line in order.lines) + order.shipping_cents
        assert {p.role for p in order.parties} == {"buyer", "billing", "shipping"}
        assert all(p.name for p in order.parties)
        assert json.loads(json.dumps(order.raw)) == order.raw
        if status_of(order) == Status.SHIPPED:
            assert order.tracking and order.tracking.tracking_number
    assert sum(o.currency == "EUR" for o in orders) > 0.9 * len(orders)
    mirakl = next(o for o in orders if o.marketplace == "mirakl_sandbox")
    assert {"order_id", "order_state", "order_lines", "customer"} <= set(mirakl.raw)
    amazon = next(o for o in orders if o.marketplace == "amazon_sandbox")
    assert {"AmazonOrderId", "OrderStatus", "OrderItems"} <= set(amazon.raw)
    pickup = next(o for o in orders if o.delivery_type == "pickup")
    assert pickup.raw["magasinRetrait"] and status_of(pickup) is not None


async def test_same_seed_same_world_other_seed_other_world(tmp_path: Path, clock: FakeClock) -> None:
    async def snapshot(path: Path, **config: object) -> list[tuple]:
        client = make_client(path, clock, **CALM, **config)
        orders, _, _ = await fetch_all(client)
        return [(o.marketplace, o.order_id, o.raw_status, o.updated_at, json.dumps(o.raw, sort_keys=True))
                for o in orders]

    a = await snapshot(tmp_path / "a")
    b = await snapshot(tmp_path / "b")
    assert a == b
    c = await snapshot(tmp_path / "c", seed=7)
    assert c != a


# --- paging and time ---------------------------------------------------------------------------


async def test_pages_and_cursors_resume_exactly(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, initial_orders=250, **CALM)
    pages = [page async for page in client.fetch_orders(None)]
    assert [len(p.orders) for p in pages] == [100, 100, 50]
    keys = [(o.updated_at, o.marketplace, o.order_id) for p in pages for o in p.orders]
    assert keys == sorted(keys) and len(set(keys)) == 250
    rest, _, _ = await fetch_all(client, pages[0].cursor)
    assert [o.order_id for o in rest] == [o.order_id for p in pages[1:] for o in p.orders]
    nothing, cursor, sizes = await fetch_all(client, pages[-1].cursor)
    assert nothing == [] and sizes == [] and cursor == pages[-1].cursor
    with pytest.raises(ConnectorError):
        await fetch_all(client, "garbage")


async def test_time_brings_new_orders_and_moves_them_on(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, orders_per_hour=60, **CALM)
    _, cursor, _ = await fetch_all(client)
    clock.advance(hours=1)
    changed, cursor2, _ = await fetch_all(client, cursor)
    assert all(o.updated_at > START for o in changed)
    new = [o for o in changed if o.ordered_at > START]
    assert 30 <= len(new) <= 100  # about 60 an hour
    # Arrivals are STAGING / Pending / EnAttente for 30 s, then waiting acceptance (or shipment).
    assert sum(status_of(o) == Status.NEW for o in new) <= 2
    assert {status_of(o) for o in new} & {Status.WAITING_ACCEPTANCE, Status.WAITING_SHIPMENT}
    assert (await fetch_all(client, cursor2))[0] == []


async def test_a_long_absence_is_capped(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, initial_orders=10, orders_per_hour=1000, **CALM)
    _, cursor, _ = await fetch_all(client)
    clock.advance(days=30)
    changed, _, _ = await fetch_all(client, cursor)
    assert len([o for o in changed if o.ordered_at > START]) == 300


async def test_time_scale_speeds_the_world_up(tmp_path: Path, clock: FakeClock) -> None:
    fast = make_client(tmp_path, clock, time_scale=60, orders_per_hour=60, **CALM)
    _, cursor, _ = await fetch_all(fast)
    clock.advance(minutes=1)  # an hour of marketplace time
    changed, _, _ = await fetch_all(fast, cursor)
    assert len([o for o in changed if o.ordered_at > START]) >= 30


async def test_the_world_does_not_depend_on_how_often_anyone_looks(tmp_path: Path) -> None:
    watched_clock, ignored_clock = FakeClock(), FakeClock()
    watched = make_client(tmp_path / "watched", watched_clock, orders_per_hour=600, **CALM)
    ignored = make_client(tmp_path / "ignored", ignored_clock, orders_per_hour=600, **CALM)
    await watched.check()
    await ignored.check()
    for _ in range(60):
        watched_clock.advance(seconds=7)
        await watched.check()
    ignored_clock.advance(seconds=420)
    assert [o async for p in watched.fetch_orders(None) for o in p.orders] == \
        [o async for p in ignored.fetch_orders(None) for o in p.orders]


# --- actions -----------------------------------------------------------------------------------


async def test_accept_is_applied_after_a_delay_then_the_order_moves_on(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, **CALM)
    orders, cursor, _ = await fetch_all(client)
    order = first(orders, "mirakl_sandbox", Status.WAITING_ACCEPTANCE)
    checked = validate_action(SPEC.marketplace(order.marketplace), facts(order), ActionKind.ACCEPT)
    assert checked.ok, checked.messages()
    request = ActionRequest("act-1", ActionKind.ACCEPT, order.marketplace, order.order_id, lines=checked.lines)

    result = await client.perform(request)
    assert result.outcome == ActionOutcome.PENDING and result.handle
    assert (await client.poll(result.handle)).outcome == ActionOutcome.PENDING
    clock.advance(seconds=3)
    assert (await client.poll(result.handle)).outcome == ActionOutcome.APPLIED

    accepted = await client.get_order(order.marketplace, order.order_id)
    assert accepted.raw_status == "WAITING_DEBIT" and status_of(accepted) == Status.ACCEPTED
    assert accepted.updated_at == START + timedelta(seconds=3) > order.updated_at
    changed, cursor, _ = await fetch_all(client, cursor)
    assert order.order_id in [o.order_id for o in changed]

    clock.advance(seconds=20)  # the customer is debited
    changed, cursor, _ = await fetch_all(client, cursor)
    debited = next(o for o in changed if o.order_id == order.order_id)
    assert debited.raw_status == "SHIPPING" and status_of(debited) == Status.WAITING_SHIPMENT
    assert any(d.kind == DocumentKind.DELIVERY_SLIP for d in debited.documents)

    ship = ActionRequest("act-2", ActionKind.SHIP, order.marketplace, order.order_id,
                         {"carrier": "COLISSIMO", "tracking_number": "6A12345678901"})
    handle = (await client.perform(ship)).handle
    clock.advance(seconds=5)
    assert (await client.poll(handle)).outcome == ActionOutcome.APPLIED
    shipped = await client.get_order(order.marketplace, order.order_id)
    assert status_of(shipped) == Status.SHIPPED
    assert shipped.tracking.tracking_url.endswith("code=6A12345678901")


async def test_wrong_state_and_unknown_orders_are_rejected_with_a_message(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, **CALM)
    orders, _, _ = await fetch_all(client)
    waiting = first(orders, "mirakl_sandbox", Status.WAITING_ACCEPTANCE)
    result = await client.perform(ActionRequest("x1", ActionKind.SHIP, waiting.marketplace, waiting.order_id,
                                                {"carrier": "UPS", "tracking_number": "1Z"}))
    assert result.outcome == ActionOutcome.REJECTED and "SHIPPING" in result.message
    result = await client.perform(ActionRequest("x2", ActionKind.ACCEPT, "mirakl_sandbox", "NOPE-1"))
    assert result.outcome == ActionOutcome.REJECTED and "not found" in result.message
    assert [a.state for a in client.world.received_actions()] == ["rejected"] * 2
    # An action the marketplace does not have is refused before any call, as not supported.
    amazon = first(orders, "amazon_sandbox", Status.WAITING_SHIPMENT)
    result = await client.perform(ActionRequest("x3", ActionKind.ACCEPT, amazon.marketplace, amazon.order_id))
    assert result.outcome == ActionOutcome.NOT_SUPPORTED and "no accept operation" in result.message
    assert len(client.world.received_actions()) == 2


async def test_a_replayed_action_is_never_applied_twice(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, **CALM)
    orders, _, _ = await fetch_all(client)
    order = first(orders, "pickup_sandbox", Status.WAITING_ACCEPTANCE)
    request = ActionRequest("same-id", ActionKind.ACCEPT, order.marketplace, order.order_id)
    first_try = await client.perform(request)
    replay = await client.perform(request)
    assert first_try.outcome == replay.outcome == ActionOutcome.PENDING
    assert replay.handle == first_try.handle
    clock.advance(seconds=10)
    assert (await client.perform(request)).outcome == ActionOutcome.ALREADY_APPLIED
    assert (await client.poll(first_try.handle)).outcome == ActionOutcome.APPLIED
    [received] = client.world.received_actions()
    assert (received.action_id, received.times_received, received.state) == ("same-id", 3, "applied")
    # A second intent for the same order (another id) finds it accepted already.
    again = await client.perform(ActionRequest("other-id", ActionKind.ACCEPT, order.marketplace, order.order_id))
    assert again.outcome == ActionOutcome.REJECTED
    assert sum(a.applied for a in client.world.received_actions()) == 1


async def test_reject_rate_decides_deterministically(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, reject_rate="100", unknown_status_rate="0")
    orders, _, _ = await fetch_all(client)
    order = first(orders, "mirakl_sandbox", Status.WAITING_ACCEPTANCE)
    handle = (await client.perform(ActionRequest("r1", ActionKind.ACCEPT, order.marketplace, order.order_id))).handle
    clock.advance(seconds=5)
    result = await client.poll(handle)
    assert result.outcome == ActionOutcome.REJECTED and "OR21" in result.message
    assert (await client.get_order(order.marketplace, order.order_id)).raw_status == "WAITING_ACCEPTANCE"

    # The documented rule: rejected iff reject_roll(seed, marketplace, order id, kind) < reject_rate.
    half = make_client(tmp_path / "half", clock, reject_rate="50", unknown_status_rate="0")
    orders, _, _ = await fetch_all(half)
    waiting = [o for o in orders if status_of(o) == Status.WAITING_ACCEPTANCE]
    handles = {}
    for index, o in enumerate(waiting):
        handles[o.order_id] = (await half.perform(ActionRequest(f"h{index}", ActionKind.ACCEPT, o.marketplace,
                                                                 o.order_id))).handle
    clock.advance(seconds=5)
    outcomes = {o.order_id: (await half.poll(handles[o.order_id])).outcome for o in waiting}
    expected = {o.order_id: ActionOutcome.REJECTED if reject_roll(42, o.marketplace, o.order_id, "accept") < 50
                else ActionOutcome.APPLIED for o in waiting}
    assert outcomes == expected
    assert set(outcomes.values()) == {ActionOutcome.REJECTED, ActionOutcome.APPLIED}


async def test_amazon_ship_with_other_carrier_and_partial_refund(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, **CALM)
    orders, _, _ = await fetch_all(client)
    order = first(orders, "amazon_sandbox", Status.WAITING_SHIPMENT, raw_status="Unshipped")
    missing = await client.perform(ActionRequest("s0", ActionKind.SHIP, order.marketplace, order.order_id,
                                                 {"carrier": "Other", "tracking_number": "XY1"}))
    assert missing.outcome == ActionOutcome.REJECTED and "carrier_name" in missing.message
    ship = ActionRequest("s1", ActionKind.SHIP, order.marketplace, order.order_id,
                         {"carrier": "Other", "carrier_name": "Coursier Martin", "tracking_number": "XY1"})
    handle = (await client.perform(ship)).handle
    clock.advance(seconds=5)
    assert (await client.poll(handle)).outcome == ActionOutcome.APPLIED
    shipped = await client.get_order(order.marketplace, order.order_id)
    assert shipped.raw_status == "Shipped" and shipped.tracking.carrier_name == "Coursier Martin"

    line = shipped.lines[0]
    refund = ActionRequest("f1", ActionKind.REFUND, order.marketplace, order.order_id, {"reason": "PriceError"},
                           lines=(LineSelection(line.line_id, amount_cents=line.amount_cents // 2),))
    handle = (await client.perform(refund)).handle
    clock.advance(seconds=5)
    assert (await client.poll(handle)).outcome == ActionOutcome.APPLIED
    refunded = await client.get_order(order.marketplace, order.order_id)
    assert status_of(refunded) == Status.PARTIAL_REFUNDED
    assert refunded.raw["Adjustments"][0]["AdjustmentReason"] == "PriceError"


async def test_mirakl_refund_of_one_line_is_paid_later(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, **CALM)
    orders, _, _ = await fetch_all(client)
    order = next(o for o in orders if o.marketplace == "mirakl_sandbox" and status_of(o) == Status.CLOSED
                 and len(o.lines) > 1)
    line = order.lines[0]
    checked = validate_action(SPEC.marketplace(order.marketplace), facts(order), ActionKind.REFUND,
                              {"reason": "11"}, [LineSelection(line.line_id)])
    assert checked.ok, checked.messages()
    request = ActionRequest("rf", ActionKind.REFUND, order.marketplace, order.order_id, checked.arguments,
                            checked.lines)
    handle = (await client.perform(request)).handle
    clock.advance(seconds=5)
    assert (await client.poll(handle)).outcome == ActionOutcome.APPLIED
    refunding = await client.get_order(order.marketplace, order.order_id)
    assert refunding.lines[0].raw_status == "WAITING_REFUND" and status_of(refunding) == Status.REFUNDING
    clock.advance(seconds=30)
    paid = await client.get_order(order.marketplace, order.order_id)
    assert paid.lines[0].raw_status == "REFUNDED" and status_of(paid) == Status.PARTIAL_REFUNDED
    assert paid.raw["order_lines"][0]["refunds"][0]["reason_code"] == "11"
    assert {d.kind for d in paid.documents} >= {DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}
    too_much = ActionRequest("rf2", ActionKind.REFUND, order.marketplace, order.order_id, {"reason": "11"},
                             (LineSelection(line.line_id),))
    assert (await client.perform(too_much)).outcome == ActionOutcome.REJECTED


async def test_pickup_ship_means_ready_for_collection(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, initial_orders=300, **CALM)
    orders, _, _ = await fetch_all(client)
    pickup = first(orders, "pickup_sandbox", Status.PICKUP_TO_PREPARE)
    assert validate_action(SPEC.marketplace(pickup.marketplace), facts(pickup), ActionKind.SHIP).ok
    handle = (await client.perform(ActionRequest("p1", ActionKind.SHIP, pickup.marketplace, pickup.order_id))).handle
    clock.advance(seconds=5)
    assert (await client.poll(handle)).outcome == ActionOutcome.APPLIED
    ready = await client.get_order(pickup.marketplace, pickup.order_id)
    assert status_of(ready) == Status.TO_PICKUP
    assert any(d.kind == DocumentKind.DELIVERY_SLIP for d in ready.documents)
    clock.advance(days=6)  # the customer collects, or never comes
    later = await client.get_order(pickup.marketplace, pickup.order_id)
    assert status_of(later) in (Status.PICKUP_COMPLETED, Status.PICKUP_CANCELED)

    tracked = first(orders, "pickup_sandbox", Status.WAITING_ACCEPTANCE, delivery_type="tracked")
    handle = (await client.perform(ActionRequest("p2", ActionKind.ACCEPT, tracked.marketplace,
                                                 tracked.order_id))).handle
    clock.advance(seconds=25)  # accepted after 3 s, ready to prepare 20 s later
    assert (await client.poll(handle)).outcome == ActionOutcome.APPLIED
    to_ship = await client.get_order(tracked.marketplace, tracked.order_id)
    assert to_ship.raw_status == "APreparer" and status_of(to_ship) == Status.WAITING_SHIPMENT
    result = await client.perform(ActionRequest("p3", ActionKind.SHIP, tracked.marketplace, tracked.order_id,
                                                {"carrier": "COLISSIMO"}))
    assert result.outcome == ActionOutcome.REJECTED and "tracking_number" in result.message
    assert not validate_action(SPEC.marketplace(tracked.marketplace), facts(to_ship), ActionKind.SHIP,
                               {"carrier": "COLISSIMO"}).ok


# --- documents, planted data, sharing ------------------------------------------------------------


async def test_documents_follow_the_status(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, **CALM)
    orders, _, _ = await fetch_all(client)
    shipped = first(orders, "mirakl_sandbox", Status.SHIPPED)
    listed = await client.list_documents(shipped.marketplace, shipped.order_id)
    assert {d.kind for d in listed} == {DocumentKind.INVOICE, DocumentKind.DELIVERY_SLIP}
    invoice = next(d for d in listed if d.kind == DocumentKind.INVOICE)
    content = await client.fetch_document(shipped.marketplace, shipped.order_id, invoice)
    assert content.content_type == "application/pdf" and len(content.data) == invoice.size
    pdf = content.data
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert shipped.order_id.encode() in pdf
    start = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[start:].startswith(b"xref")
    for number, offset in enumerate(re.findall(rb"(\d{10}) 00000 n", pdf), start=1):
        assert pdf[int(offset):].startswith(b"%d 0 obj" % number)

    waiting = first(orders, "mirakl_sandbox", Status.WAITING_ACCEPTANCE)
    assert await client.list_documents(waiting.marketplace, waiting.order_id) == ()
    with pytest.raises(ConnectorError):
        await client.fetch_document(waiting.marketplace, waiting.order_id, invoice)


async def test_unknown_raw_statuses_are_planted_only_when_enabled(tmp_path: Path, clock: FakeClock) -> None:
    default = make_client(tmp_path / "default", clock, reject_rate="0")
    orders, _, _ = await fetch_all(default)
    unknown = [o for o in orders if status_of(o) is None]
    assert len(unknown) == 1  # order number 100 of 150, by the 1-in-200 rule
    held = unknown[0]
    result = await default.perform(ActionRequest("u1", ActionKind.CANCEL, held.marketplace, held.order_id))
    assert result.outcome == ActionOutcome.REJECTED and "review" in result.message
    clock.advance(hours=3)  # the review is over: the order shows its real status again
    assert status_of(await default.get_order(held.marketplace, held.order_id)) is not None

    many = make_client(tmp_path / "many", clock, unknown_status_rate="10")
    orders, _, _ = await fetch_all(many)
    assert sum(status_of(o) is None for o in orders) == 15
    none = make_client(tmp_path / "none", clock, unknown_status_rate="0")
    orders, _, _ = await fetch_all(none)
    assert all(status_of(o) is not None for o in orders)


async def test_hostile_data_only_when_switched_on(tmp_path: Path, clock: FakeClock) -> None:
    def nasty(text: str) -> bool:
        return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)

    def texts(orders: list[RemoteOrder]) -> list[str]:
        return [p.name for o in orders for p in o.parties] + [line.title for o in orders for line in o.lines]

    calm, _, _ = await fetch_all(make_client(tmp_path / "calm", clock, **CALM))
    assert not any(nasty(t) for t in texts(calm))
    hostile, _, _ = await fetch_all(make_client(tmp_path / "hostile", clock, hostile_data=True, **CALM))
    assert sum(nasty(t) for t in texts(hostile)) >= 10
    assert any("\x1b" in t for t in texts(hostile))


async def test_two_clients_on_one_state_dir_share_the_world(tmp_path: Path, clock: FakeClock) -> None:
    daemon = make_client(tmp_path, clock, **CALM)
    terminal = make_client(tmp_path, clock, **CALM)
    orders, cursor, _ = await fetch_all(daemon)
    order = first(orders, "mirakl_sandbox", Status.WAITING_ACCEPTANCE)
    handle = (await terminal.perform(ActionRequest("t1", ActionKind.REFUSE, order.marketplace,
                                                   order.order_id))).handle
    clock.advance(seconds=3)
    assert (await daemon.poll(handle)).outcome == ActionOutcome.APPLIED
    changed, _, _ = await fetch_all(terminal, cursor)
    assert status_of(next(o for o in changed if o.order_id == order.order_id)) == Status.REFUSED

    # And from another process, with the same fixed clock.
    code = textwrap.dedent(f"""
        import asyncio
        from datetime import datetime
        from pathlib import Path
        from lengow_tui.connector_api import ActionKind, ActionRequest, ClientContext
        from lengow_tui_sandbox.plugin import register_connectors
        spec = register_connectors()[0]
        now = datetime.fromisoformat({clock.now.isoformat()!r})
        client = spec.client_factory(ClientContext("t", {CALM!r}, None, Path({str(tmp_path)!r}), lambda: now))
        print(asyncio.run(client.perform(ActionRequest("t1", ActionKind.REFUSE, {order.marketplace!r},
                                                       {order.order_id!r}))).outcome)
    """)
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await process.communicate()
    assert process.returncode == 0 and stdout.decode().strip() == "already_applied"
    assert [a.times_received for a in daemon.world.received_actions()] == [2]


async def test_bad_marketplaces_setting_fails_the_check(tmp_path: Path, clock: FakeClock) -> None:
    client = make_client(tmp_path, clock, marketplaces="mirakl_sandbox, ebay_fr")
    result = await client.check()
    assert not result.ok and "ebay_fr" in result.message
    with pytest.raises(ConnectorError):
        await fetch_all(client)
    only = make_client(tmp_path / "only", clock, marketplaces="amazon_sandbox", **CALM)
    orders, _, _ = await fetch_all(only)
    assert orders and {o.marketplace for o in orders} == {"amazon_sandbox"}
