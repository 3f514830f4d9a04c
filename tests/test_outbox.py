"""Outbox delivery against a scripted marketplace: the rate gate, Retry-After, shutdown, dead and
cancelled actions. (Fault injection over real HTTP is in the Mirakl emulator tests.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from lengow_tui.config import parse_config_text
from lengow_tui.connector_api import (
    ActionKind,
    ActionRequest,
    ActionResult,
    ActionSpec,
    CheckResult,
    ConnectorSpec,
    MarketplaceClient,
    MarketplaceDeclaration,
    OrderPage,
    RateLimitedError,
    RemoteLine,
    RemoteOrder,
    Status,
    StatusMap,
    hookimpl,
)
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime
from lengow_tui.services.actions import cancel_action, list_actions, queue_action, requeue_action
from lengow_tui.store import open_store
from lengow_tui.store.models import Action, ChannelGate, Order
from lengow_tui.sync import outbox
from lengow_tui.sync.rate_gate import gate_delay
from lengow_tui.sync.run import sync_once

MP = MarketplaceDeclaration(
    code="script_mp", name="Scripted",
    status_map=StatusMap(order={"OPEN": Status.WAITING_ACCEPTANCE, "OK": Status.ACCEPTED}),
    actions=(ActionSpec(ActionKind.ACCEPT, allowed_from=(Status.WAITING_ACCEPTANCE,), result_status=Status.ACCEPTED),),
)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Script:
    """What the fake marketplace answers, shared by the test and the client it builds."""

    def __init__(self) -> None:
        self.answers: list[ActionResult] = []
        self.performed: list[str] = []
        self.fetch_error: Exception | None = None
        self.fetches = 0


SCRIPT = Script()


class ScriptedClient(MarketplaceClient):
    async def check(self) -> CheckResult:
        return CheckResult(True)

    async def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        SCRIPT.fetches += 1
        if SCRIPT.fetch_error is not None:
            raise SCRIPT.fetch_error
        if cursor is None:
            yield OrderPage(tuple(_order(n) for n in range(3)), "c1")

    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        return _order(int(order_id[1:]))

    async def perform(self, request: ActionRequest) -> ActionResult:
        SCRIPT.performed.append(request.order_id)
        return SCRIPT.answers.pop(0) if SCRIPT.answers else ActionResult.applied()


def _order(n: int) -> RemoteOrder:
    return RemoteOrder(marketplace="script_mp", order_id=f"S{n}", raw_status="OPEN", updated_at=T0, ordered_at=T0,
                       currency="EUR", total_cents=1000, lines=(RemoteLine(f"S{n}-1", "SKU", "Mug", 1, 1000),))


class Plugin:
    @hookimpl
    def register_connectors(self) -> list[ConnectorSpec]:
        return [ConnectorSpec(name="scripted", title="Scripted", client_factory=lambda ctx: ScriptedClient(),
                              marketplaces=(MP,))]


@pytest.fixture
def runtime(tmp_path: Path, sqlite_url: str):
    global SCRIPT
    SCRIPT.__init__()  # type: ignore[misc]
    registry = load_registry(extra_plugins=[("scripted", Plugin())], use_entry_points=False)
    connectors = {name: c.spec for name, c in registry.connectors.items()}
    config = parse_config_text(f'[paths]\ndata_dir = "{tmp_path}"\n[channels.shop]\nconnector = "scripted"\n',
                               path=tmp_path / "c.toml", connectors=connectors)
    rt = Runtime(config=config, registry=registry, store=open_store(sqlite_url))
    asyncio.run(sync_once(rt, deliver=False))
    yield rt
    rt.close()


def _queue_all(runtime: Runtime) -> list[int]:
    with runtime.store.read() as session:
        ids = [o.id for o in session.exec(select(Order).order_by(Order.marketplace_order_id))]
    return [queue_action(runtime, i, "accept").action_id for i in ids]  # type: ignore[misc,arg-type]


def _actions(runtime: Runtime) -> dict[int, Action]:
    with runtime.store.read() as session:
        return {a.id: a for a in session.exec(select(Action))}  # type: ignore[misc]


def test_retry_after_closes_the_channel_gate_and_hands_back_the_other_actions(runtime: Runtime):
    first, second, third = _queue_all(runtime)
    SCRIPT.answers = [ActionResult.rate_limited(120, "slow down")]
    result = asyncio.run(sync_once(runtime, do_import=False))[0].delivered
    assert result.rate_limited == 1 and 119 <= result.deferred_seconds <= 120
    assert SCRIPT.performed == ["S0"]  # the other two were not sent while the channel waits
    actions = _actions(runtime)
    assert actions[first].state == "retrying" and actions[first].attempts == 0  # a 429 is not a failed try
    assert actions[first].next_attempt_at >= datetime.now(UTC) + timedelta(seconds=100)  # type: ignore[operator]
    for other in (second, third):
        assert actions[other].state == "queued" and actions[other].attempts == 0 and actions[other].lease_owner is None
    assert 100 < gate_delay(runtime, runtime.channel_id("shop")) <= 120
    # Every worker sees the gate: the next pass sends nothing and imports nothing.
    fetches = SCRIPT.fetches
    again = asyncio.run(sync_once(runtime))[0]
    assert SCRIPT.performed == ["S0"] and SCRIPT.fetches == fetches
    assert again.imported is not None and again.imported.deferred_seconds > 100 and again.imported.error is None
    # Once the gate opens, the queued actions go out.
    with runtime.store.write() as session:
        gate = session.get(ChannelGate, runtime.channel_id("shop"))
        gate.blocked_until = datetime.now(UTC) - timedelta(seconds=1)  # type: ignore[union-attr]
        session.add(gate)
    asyncio.run(sync_once(runtime, do_import=False))
    assert SCRIPT.performed == ["S0", "S1", "S2"]
    assert [_actions(runtime)[i].state for i in (second, third)] == ["done", "done"]


def test_a_rate_limited_import_is_deferred_not_failed(runtime: Runtime):
    SCRIPT.fetch_error = RateLimitedError("429 from the marketplace", retry_after=30)
    imported = asyncio.run(sync_once(runtime, deliver=False))[0].imported
    assert imported is not None and imported.error is None and 29 <= imported.deferred_seconds <= 30
    assert "rate-limited" in imported.summary()
    assert 0 < gate_delay(runtime, runtime.channel_id("shop")) <= 30


def test_release_leases_marks_in_flight_actions_for_reconciliation(runtime: Runtime):
    first, second, _ = _queue_all(runtime)
    claimed = outbox.claim_due(runtime, runtime.channel_id("shop"), "w1", limit=2)
    assert claimed == [first, second]
    assert outbox.release_leases(runtime, "w1") == 2
    for action in (_actions(runtime)[i] for i in claimed):
        assert action.lease_owner is None and action.state == "retrying" and action.needs_reconcile
    # Before resending, the order is re-read: our scripted marketplace still shows OPEN, so it is sent.
    asyncio.run(sync_once(runtime, do_import=False))
    assert sorted(SCRIPT.performed) == ["S0", "S1", "S2"]


def test_stop_hands_back_claimed_actions_unsent(runtime: Runtime):
    _queue_all(runtime)
    stop = asyncio.Event()
    stop.set()

    async def deliver() -> None:
        from lengow_tui.sync.clients import open_client

        async with open_client(runtime, "shop") as client:
            await outbox.deliver_channel(runtime, "shop", client, "w1", stop=stop)

    asyncio.run(deliver())
    assert SCRIPT.performed == []
    assert {a.state for a in _actions(runtime).values()} == {"queued"}


def test_dead_actions_can_be_requeued_and_queued_ones_cancelled(runtime: Runtime, monkeypatch):
    first, second, _ = _queue_all(runtime)
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 1)
    SCRIPT.answers = [ActionResult.retryable("HTTP 503")]
    asyncio.run(sync_once(runtime, do_import=False))
    dead = _actions(runtime)[first]
    assert dead.state == "dead" and dead.last_error == "HTTP 503"
    assert cancel_action(runtime, second) is not None  # already done, cannot cancel
    assert "only dead actions" in (requeue_action(runtime, second) or "")
    assert requeue_action(runtime, first) is None
    requeued = _actions(runtime)[first]
    assert requeued.state == "queued" and requeued.attempts == 0
    with runtime.store.read() as session:
        assert session.get(Order, requeued.order_id).pending_actions == 1  # type: ignore[union-attr]
    assert cancel_action(runtime, first) is None
    assert _actions(runtime)[first].state == "cancelled"
    rows = list_actions(runtime, states=["cancelled"])
    assert [r.id for r in rows] == [first] and rows[0].order_reference == "S0"


def test_a_crashed_local_worker_s_claims_are_reconciled_without_waiting_for_the_lease(runtime: Runtime):
    import socket
    import subprocess
    import sys

    first, _, _ = _queue_all(runtime)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs, as after a SIGKILL
    channel = runtime.channel_id("shop")
    assert outbox.claim_due(runtime, channel, f"{socket.gethostname()}:{gone.pid}", limit=1) == [first]
    assert outbox.claim_due(runtime, channel, "elsewhere:1", limit=1) == [first]  # taken over at once
    assert _actions(runtime)[first].needs_reconcile  # re-read before it is sent again
    # A live owner's lease holds: nobody else takes the action until it expires.
    assert outbox.claim_due(runtime, channel, "another:2", limit=3) == [i for i in _actions(runtime) if i != first]
