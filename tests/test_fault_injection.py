"""Fault injection: the sync engine against a misbehaving Mirakl (the loopback emulator over real HTTP).

Acceptance check of "Headless sync you can trust": 429 with Retry-After (seconds and HTTP date),
500/502/503, timeouts, connection resets, truncated JSON and wrong-state rejections, on imports and on
actions, through the host (``sync_once``, ``queue_action``). Sync completes, retries as specified,
rejections reach the user with the marketplace's message, nothing is lost or applied twice.

Time passes without sleeping: after asserting a backoff or a rate gate, the test moves
``next_attempt_at`` / ``ChannelGate.blocked_until`` into the past.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lengow_tui_mirakl.client import MiraklClient
from lengow_tui_mirakl.emulator import EmulatorHandle, run_emulator
from mirakl_runtime import make_mirakl_runtime
from sqlalchemy import func
from sqlmodel import col, select
from typer.testing import CliRunner

from lengow_tui.runtime import Runtime
from lengow_tui.services.actions import list_actions, queue_action, requeue_action
from lengow_tui.services.orders import order_detail
from lengow_tui.store.models import Action, ActionAttempt, ChannelGate, Order, OrderEvent, SyncCursor
from lengow_tui.store.types import utcnow
from lengow_tui.sync import clients, outbox
from lengow_tui.sync.rate_gate import gate_delay
from lengow_tui.sync.run import ChannelSyncResult, sync_once

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CHANNEL = "fnac"
ORDERS = 150  # two OR11 pages of 100
CLIENT_TIMEOUT = 2.0  # the host's HTTP timeout during these tests (30 s in production)
STALL = 4.0  # how long a "timeout" fault keeps the caller waiting: longer than CLIENT_TIMEOUT
UNFINISHED = ("queued", "sending", "awaiting_confirmation", "retrying")
DB_KINDS = ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)]


# --- fixtures and helpers ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def short_http_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "HTTP_TIMEOUT", httpx.Timeout(CLIENT_TIMEOUT, connect=CLIENT_TIMEOUT))


@pytest.fixture
def emu() -> Iterator[EmulatorHandle]:
    with run_emulator(orders=ORDERS, seed=21) as handle:
        yield handle


def db_url_for(request: pytest.FixtureRequest, db: str) -> str:
    return request.getfixturevalue(f"{db}_url")


@pytest.fixture
def runtime(emu: EmulatorHandle, tmp_path: Path, sqlite_url: str) -> Iterator[Runtime]:
    rt = make_mirakl_runtime(tmp_path, sqlite_url, emu.base_url, emu.api_key)
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def imported(runtime: Runtime) -> Runtime:
    """The runtime after a clean first import (no faults)."""
    result = sync_pass(runtime, deliver=False)
    assert result.imported is not None and result.imported.error is None, result
    assert stored_orders(runtime) == ORDERS
    return runtime


def sync_pass(runtime: Runtime, **options: Any) -> ChannelSyncResult:
    (result,) = asyncio.run(sync_once(runtime, **options))
    assert result.error is None, result.error
    return result


def stored_orders(runtime: Runtime) -> int:
    with runtime.store.read() as session:
        return session.exec(select(func.count()).select_from(Order)).one()


def assert_every_order_once(runtime: Runtime, emu: EmulatorHandle) -> None:
    with runtime.store.read() as session:
        refs = list(session.exec(select(Order.marketplace_order_id)))
    assert len(refs) == len(set(refs)), "an order was imported twice"
    assert set(refs) == set(emu.state.world.ids), (
        f"lost: {sorted(set(emu.state.world.ids) - set(refs))[:5]}, unknown: {sorted(set(refs) - set(emu.state.world.ids))[:5]}")


def cursor_row(runtime: Runtime) -> SyncCursor:
    with runtime.store.read() as session:
        row = session.get(SyncCursor, runtime.channel_id(CHANNEL))
    assert row is not None
    return row


def gate_row(runtime: Runtime) -> ChannelGate | None:
    with runtime.store.read() as session:
        return session.get(ChannelGate, runtime.channel_id(CHANNEL))


def local_order(runtime: Runtime, emu: EmulatorHandle, status: str, *, skip: set[int] = frozenset()) -> Order:
    """An order in ``status`` (no pending action, not in ``skip``) whose emulator copy is in that state too."""
    with runtime.store.read() as session:
        for order in session.exec(select(Order).where(Order.status == status).order_by(Order.id)):
            if order.id in skip or order.pending_actions:
                continue
            remote = emu.state.order(order.marketplace_order_id)
            wanted = {"waiting_acceptance": "WAITING_ACCEPTANCE", "waiting_shipment": "SHIPPING"}[status]
            if remote and all(line["order_line_state"] == wanted for line in remote["order_lines"]):
                return order
    raise LookupError(f"no {status} order left")


def queue(runtime: Runtime, order: Order, kind: str) -> int:
    arguments = {"carrier": "COLISSIMO", "tracking_number": f"6A{order.id:011d}"} if kind == "ship" else {}
    queued = queue_action(runtime, order.id, kind, arguments, source="cli")  # type: ignore[arg-type]
    assert queued.ok, queued.problems
    assert queued.action_id is not None
    return queued.action_id


def action(runtime: Runtime, action_id: int) -> Action:
    with runtime.store.read() as session:
        row = session.get(Action, action_id)
    assert row is not None
    return row


def attempts_of(runtime: Runtime, action_id: int) -> list[ActionAttempt]:
    with runtime.store.read() as session:
        return list(session.exec(select(ActionAttempt).where(ActionAttempt.action_id == action_id)
                                 .order_by(col(ActionAttempt.id))))


def time_passes(runtime: Runtime) -> None:
    """Everything waiting becomes due: retry backoffs and the channel's rate gate are over."""
    past = utcnow() - timedelta(seconds=1)
    with runtime.store.write() as session:
        for row in session.exec(select(Action).where(col(Action.state).in_(UNFINISHED))):
            row.next_attempt_at = past
            session.add(row)
        gate = session.get(ChannelGate, runtime.channel_id(CHANNEL))
        if gate is not None:
            gate.blocked_until = past
            session.add(gate)


def applied(emu: EmulatorHandle, remote_id: str, operation: str) -> int:
    return sum(c["count"] for c in emu.actions()["applied_counts"]
               if c["order_id"] == remote_id and c["operation"] == operation)


def calls_for(emu: EmulatorHandle, remote_id: str, operation: str) -> list[dict[str, Any]]:
    return [c for c in emu.actions()["calls"] if c["order_id"] == remote_id and c["operation"] == operation]


def within_backoff(row: Action, before: datetime, after: datetime) -> None:
    """next_attempt_at lies within the full-jitter bound of the attempt just made."""
    ceiling = min(outbox.BACKOFF_CAP_SECONDS, outbox.BACKOFF_BASE_SECONDS * 2 ** max(0, row.attempts - 1))
    assert row.next_attempt_at is not None
    assert before <= row.next_attempt_at <= after + timedelta(seconds=ceiling), (
        f"attempt {row.attempts}: next attempt {row.next_attempt_at} outside [{before}, {after} + {ceiling} s]")


def drive_to_the_end(runtime: Runtime, max_passes: int = 20) -> None:
    """Sync passes, time passing in between, until no action is unfinished (bounded)."""
    for _ in range(max_passes):
        sync_pass(runtime)
        with runtime.store.read() as session:
            left = list(session.exec(select(Action.id, Action.state).where(col(Action.state).in_(UNFINISHED))))
        if not left:
            return
        time_passes(runtime)
    pytest.fail(f"actions still unfinished after {max_passes} passes: {left}")


def cli_actions_list(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from lengow_tui.cli import app, state

    monkeypatch.setattr(state, "config_path", None)
    monkeypatch.delenv("LENGOW_TUI_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    config = runtime.config.path
    assert config is not None
    result = CliRunner().invoke(app, ["--config", str(config), "actions", "list", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


# --- imports -------------------------------------------------------------------------------------------

IMPORT_FAULTS = {  # fault kind -> what the user reads in the failed pass
    "500": "HTTP 500", "502": "HTTP 502", "503": "HTTP 503", "timeout": "in time",
    "reset": "cannot reach Mirakl", "truncated": "malformed JSON",
}


def fault_on_second_page(emu: EmulatorHandle, kind: str, **options: Any) -> None:
    """The first OR11 page of the pass is served, the second answers ``kind`` (once)."""
    emu.inject(kind, path="/api/orders", method="GET", count=1, after=1, **options)


@pytest.mark.parametrize("kind", sorted(IMPORT_FAULTS))
def test_a_failed_import_page_fails_the_pass_visibly_and_the_next_pass_completes(
        kind: str, emu: EmulatorHandle, runtime: Runtime):
    fault_on_second_page(emu, kind, seconds=STALL)
    first = sync_pass(runtime, deliver=False).imported
    assert first is not None and first.pages == 1 and first.orders == 100
    assert first.error and IMPORT_FAULTS[kind] in first.error, first.error
    assert "failed:" in first.summary() and first.deferred_seconds == 0
    assert cursor_row(runtime).last_error == first.error and cursor_row(runtime).last_success_at is None
    assert gate_row(runtime).consecutive_failures == 1
    assert stored_orders(runtime) == 100  # the committed page stays
    assert emu.faults.to_json() == []  # the fault did fire
    emu.state.add_orders(4)  # the marketplace moves on meanwhile
    emu.state.advance_orders(3)
    second = sync_pass(runtime, deliver=False).imported
    assert second is not None and second.error is None, second.error
    assert cursor_row(runtime).last_error is None and cursor_row(runtime).last_success_at is not None
    assert gate_row(runtime).consecutive_failures == 0
    assert_every_order_once(runtime, emu)


@pytest.mark.parametrize("db", DB_KINDS)
def test_import_faults_on_every_page_then_recovery(db: str, request: pytest.FixtureRequest,
                                                   emu: EmulatorHandle, tmp_path: Path):
    rt = make_mirakl_runtime(tmp_path, db_url_for(request, db), emu.base_url, emu.api_key)
    try:
        errors = []
        for kind in ("503", "reset", "truncated", "500"):
            emu.inject(kind, path="/api/orders", method="GET", count=1)  # the first page of the pass
            result = sync_pass(rt, deliver=False).imported
            assert result is not None and result.error and result.pages == 0
            errors.append(cursor_row(rt).last_error)
        assert all(errors) and len(set(errors)) == 4, errors
        assert gate_row(rt).consecutive_failures == 4 and stored_orders(rt) == 0
        result = sync_pass(rt, deliver=False).imported
        assert result is not None and result.error is None and result.created == ORDERS
        assert_every_order_once(rt, emu)
    finally:
        rt.close()


@pytest.mark.parametrize("kind", ["429", "429_date"])
def test_import_429_closes_the_rate_gate_for_retry_after_and_defers(
        kind: str, emu: EmulatorHandle, runtime: Runtime):
    fault_on_second_page(emu, kind, retry_after=120)
    before = utcnow()
    first = sync_pass(runtime, deliver=False).imported
    after = utcnow()
    assert first is not None and first.error is None, first.error  # deferred, not failed
    assert 110 <= first.deferred_seconds <= 120, first.deferred_seconds
    assert "rate-limited" in first.summary()
    assert first.pages == 1 and stored_orders(runtime) == 100
    assert cursor_row(runtime).last_error is None
    gate = gate_row(runtime)
    assert gate is not None and gate.blocked_until is not None and gate.consecutive_failures == 0
    assert before + timedelta(seconds=110) <= gate.blocked_until <= after + timedelta(seconds=120)
    assert 100 <= gate_delay(runtime, runtime.channel_id(CHANNEL)) <= 120
    # While the gate is closed nobody calls the marketplace: an armed fault stays armed.
    emu.inject("500", path="/api/orders", count=1)
    again = sync_pass(runtime, deliver=False).imported
    assert again is not None and again.pages == 0 and again.error is None and again.deferred_seconds > 100
    assert [f["kind"] for f in emu.faults.to_json()] == ["500"]
    emu.faults.clear()
    time_passes(runtime)
    resumed = sync_pass(runtime, deliver=False).imported
    assert resumed is not None and resumed.error is None and resumed.deferred_seconds == 0
    assert resumed.created == ORDERS - 100  # resumed from the committed cursor
    assert_every_order_once(runtime, emu)


# --- actions -------------------------------------------------------------------------------------------

def test_503_retries_with_full_jitter_backoff_then_done_or_dead(imported: Runtime, emu: EmulatorHandle):
    runtime = imported
    order = local_order(runtime, emu, "waiting_acceptance")
    doomed = local_order(runtime, emu, "waiting_acceptance", skip={order.id})
    ok_id, doomed_id = queue(runtime, order, "accept"), queue(runtime, doomed, "accept")
    emu.inject("503", path=f"/api/orders/{order.marketplace_order_id}/accept", count=outbox.MAX_ATTEMPTS - 1)
    emu.inject("503", path=f"/api/orders/{doomed.marketplace_order_id}/accept", count=outbox.MAX_ATTEMPTS)
    for attempt in range(1, outbox.MAX_ATTEMPTS):
        before = utcnow()
        sync_pass(runtime, do_import=False)
        after = utcnow()
        for action_id in (ok_id, doomed_id):
            row = action(runtime, action_id)
            assert row.state == "retrying" and row.attempts == attempt and not row.needs_reconcile
            assert "503" in (row.last_error or "")
            within_backoff(row, before, after)
        time_passes(runtime)
    sync_pass(runtime, do_import=False)
    done, dead = action(runtime, ok_id), action(runtime, doomed_id)
    assert done.state == "done" and done.attempts == outbox.MAX_ATTEMPTS
    assert dead.state == "dead" and dead.attempts == outbox.MAX_ATTEMPTS
    outcomes = [a.outcome for a in attempts_of(runtime, ok_id)]
    assert outcomes == ["retryable"] * (outbox.MAX_ATTEMPTS - 1) + ["applied"]
    assert applied(emu, order.marketplace_order_id, "accept") == 1
    assert applied(emu, doomed.marketplace_order_id, "accept") == 0
    # Dead is not lost: re-queued, it goes through.
    assert requeue_action(runtime, doomed_id) is None
    drive_to_the_end(runtime)
    assert action(runtime, doomed_id).state == "done"
    assert applied(emu, doomed.marketplace_order_id, "accept") == 1 and emu.actions()["duplicates"] == []


AMBIGUOUS = [  # (fault, action, endpoint the fault hits, did the marketplace apply it?)
    ("500", "accept", "accept", False),
    ("502", "ship", "ship", False),
    ("timeout", "accept", "accept", False),
    ("reset", "ship", "ship", False),
    ("apply_then_500", "accept", "accept", True),
    ("apply_then_500", "ship", "ship", True),
    ("apply_then_reset", "ship", "ship", True),
    ("apply_then_reset", "accept", "accept", True),
]


@pytest.mark.parametrize(("kind", "verb", "endpoint", "was_applied"), AMBIGUOUS,
                         ids=[f"{k}-{v}" for k, v, _, _ in AMBIGUOUS])
def test_ambiguous_outcomes_are_reconciled_before_any_resend(
        kind: str, verb: str, endpoint: str, was_applied: bool,
        imported: Runtime, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch):
    runtime = imported
    order = local_order(runtime, emu, "waiting_acceptance" if verb == "accept" else "waiting_shipment")
    remote_id = order.marketplace_order_id
    action_id = queue(runtime, order, verb)
    emu.inject(kind, path=f"/api/orders/{remote_id}/{endpoint}", count=1, seconds=STALL)
    before = utcnow()
    first = sync_pass(runtime, do_import=False).delivered
    after = utcnow()
    assert first.retrying == 1 and first.done == 0
    row = action(runtime, action_id)
    assert row.state == "retrying" and row.needs_reconcile and row.attempts == 1
    assert "may have been applied" in (row.last_error or ""), row.last_error
    within_backoff(row, before, after)
    assert [a.outcome for a in attempts_of(runtime, action_id)] == ["ambiguous"]
    assert applied(emu, remote_id, verb) == (1 if was_applied else 0)

    # The next attempt re-reads the order first; it resends only when the change is not visible.
    events: list[tuple[str, Any]] = []
    real_reconcile, real_perform = outbox._reconcile, MiraklClient.perform

    async def spy_reconcile(rt, channel, client, act, order_row):  # type: ignore[no-untyped-def]
        seen = await real_reconcile(rt, channel, client, act, order_row)
        events.append(("re-read", seen))
        return seen

    async def spy_perform(self, request):  # type: ignore[no-untyped-def]
        events.append(("send", request.attempt))
        return await real_perform(self, request)

    monkeypatch.setattr(outbox, "_reconcile", spy_reconcile)
    monkeypatch.setattr(MiraklClient, "perform", spy_perform)
    time_passes(runtime)
    second = sync_pass(runtime, do_import=False).delivered
    assert second.done == 1, second
    expected = [("re-read", True)] if was_applied else [("re-read", False), ("send", 2)]
    assert events == expected
    row = action(runtime, action_id)
    assert row.state == "done" and not row.needs_reconcile and row.last_error is None
    final = attempts_of(runtime, action_id)[-1]
    assert final.outcome == ("already_applied" if was_applied else "applied")
    assert applied(emu, remote_id, verb) == 1
    calls = calls_for(emu, remote_id, verb)
    assert [c["applied"] for c in calls] == ([True] if was_applied else [False, True]), calls
    assert emu.actions()["duplicates"] == []
    with runtime.store.read() as session:
        refreshed = session.get(Order, order.id)
    assert refreshed is not None and refreshed.pending_actions == 0
    assert refreshed.status == ("shipped" if verb == "ship" else refreshed.status)
    assert refreshed.status != order.status


@pytest.mark.parametrize("kind", ["429", "429_date"])
def test_action_429_is_not_an_attempt_and_closes_the_gate(kind: str, imported: Runtime, emu: EmulatorHandle):
    runtime = imported
    first_order = local_order(runtime, emu, "waiting_acceptance")
    second_order = local_order(runtime, emu, "waiting_shipment")
    first_id, second_id = queue(runtime, first_order, "accept"), queue(runtime, second_order, "ship")
    emu.inject(kind, path="/api/orders/*/accept", count=1, retry_after=90)
    before = utcnow()
    delivered = sync_pass(runtime, do_import=False).delivered
    after = utcnow()
    assert delivered.rate_limited == 1 and 80 <= delivered.deferred_seconds <= 90
    assert "rate-limited" in delivered.summary()
    limited, untouched = action(runtime, first_id), action(runtime, second_id)
    assert limited.state == "retrying" and limited.attempts == 0 and not limited.needs_reconcile
    assert "rate limit" in (limited.last_error or "")
    assert limited.next_attempt_at is not None
    assert before + timedelta(seconds=80) <= limited.next_attempt_at <= after + timedelta(seconds=90)
    assert untouched.state == "queued" and untouched.attempts == 0  # handed back unsent
    assert calls_for(emu, second_order.marketplace_order_id, "tracking") == []
    gate = gate_row(runtime)
    assert gate is not None and gate.blocked_until is not None and "429" in (gate.reason or "")
    assert before + timedelta(seconds=80) <= gate.blocked_until <= after + timedelta(seconds=90)
    assert 70 <= gate_delay(runtime, runtime.channel_id(CHANNEL)) <= 90
    # The gate holds for the whole channel: imports and deliveries wait.
    waiting = sync_pass(runtime)
    assert waiting.imported is not None and waiting.imported.deferred_seconds > 70 and waiting.imported.error is None
    assert waiting.delivered.deferred_seconds > 70 and waiting.delivered.done == 0
    assert action(runtime, second_id).state == "queued"
    time_passes(runtime)
    drive_to_the_end(runtime)
    assert action(runtime, first_id).state == "done" and action(runtime, first_id).attempts == 1
    assert action(runtime, second_id).state == "done"
    assert applied(emu, first_order.marketplace_order_id, "accept") == 1
    assert applied(emu, second_order.marketplace_order_id, "ship") == 1
    assert emu.actions()["duplicates"] == []


def test_truncated_json_in_the_action_flow(imported: Runtime, emu: EmulatorHandle):
    runtime = imported
    # 1. The read of the order before sending is cut short: nothing was sent, so a plain retry.
    fresh = local_order(runtime, emu, "waiting_acceptance")
    fresh_id = queue(runtime, fresh, "accept")
    emu.inject("truncated", path="/api/orders", method="GET", count=1)
    sync_pass(runtime, do_import=False)
    row = action(runtime, fresh_id)
    assert row.state == "retrying" and row.attempts == 1 and not row.needs_reconcile
    assert "malformed JSON" in (row.last_error or ""), row.last_error
    assert calls_for(emu, fresh.marketplace_order_id, "accept") == []
    # 2. The answer to the action itself is cut short (a refund answers with a JSON body): Mirakl's
    #    2xx status says it was applied; the body carries nothing the host needs.
    with runtime.store.read() as session:
        shipped = session.exec(select(Order).where(Order.status == "shipped", Order.raw_status == "SHIPPED")
                               .order_by(Order.id)).first()
    assert shipped is not None
    refund_id = queue_action(runtime, shipped.id, "refund", {"reason": "14"}, source="cli")  # type: ignore[arg-type]
    assert refund_id.ok, refund_id.problems
    emu.inject("truncated", path="/api/orders/refund", count=1)
    # 3. An ambiguous accept whose reconciliation read is cut short: still unknown, no resend.
    lost = local_order(runtime, emu, "waiting_acceptance", skip={fresh.id})
    lost_id = queue(runtime, lost, "accept")
    emu.inject("apply_then_500", path=f"/api/orders/{lost.marketplace_order_id}/accept", count=1)
    time_passes(runtime)
    sync_pass(runtime, do_import=False)
    assert action(runtime, fresh_id).state == "done"
    refund = action(runtime, refund_id.action_id)  # type: ignore[arg-type]
    assert refund.state == "done", refund.last_error
    refunds = calls_for(emu, shipped.marketplace_order_id, "refund")  # one record per refunded line
    assert refunds and all(c["fault"] == "truncated" and c["applied"] for c in refunds), refunds
    row = action(runtime, lost_id)
    assert row.state == "retrying" and row.needs_reconcile
    emu.inject("truncated", path="/api/orders", method="GET", count=1)
    time_passes(runtime)
    sync_pass(runtime, do_import=False)
    row = action(runtime, lost_id)
    assert row.state == "retrying" and row.needs_reconcile and row.attempts == 2
    assert "MalformedResponseError" in (row.last_error or ""), row.last_error
    assert len(calls_for(emu, lost.marketplace_order_id, "accept")) == 1  # not resent
    drive_to_the_end(runtime)
    assert action(runtime, lost_id).state == "done"
    assert attempts_of(runtime, lost_id)[-1].outcome == "already_applied"
    for remote in (fresh.marketplace_order_id, lost.marketplace_order_id):
        assert applied(emu, remote, "accept") == 1, remote
    assert calls_for(emu, shipped.marketplace_order_id, "refund") == refunds  # never resent
    assert emu.actions()["duplicates"] == []


@pytest.mark.parametrize("verb", ["accept", "ship"])
def test_wrong_state_is_rejected_with_the_marketplace_message_shown_to_the_user(
        verb: str, imported: Runtime, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch):
    runtime = imported
    order = local_order(runtime, emu, "waiting_acceptance" if verb == "accept" else "waiting_shipment")
    action_id = queue(runtime, order, verb)
    emu.state.set_line_states(order.marketplace_order_id, "CANCELED")  # the customer cancelled meanwhile
    delivered = sync_pass(runtime, do_import=False).delivered
    assert delivered.rejected == 1
    row = action(runtime, action_id)
    mirakl_says = "its state is CANCELED"
    assert row.state == "rejected" and row.attempts == 1 and mirakl_says in (row.last_error or ""), row.last_error
    (listed,) = [r for r in list_actions(runtime) if r.id == action_id]
    assert listed.state == "rejected" and mirakl_says in (listed.last_error or "")
    as_json = json.loads(cli_actions_list(runtime, monkeypatch, "--json", "--state", "rejected"))
    assert [a["id"] for a in as_json] == [action_id] and mirakl_says in as_json[0]["last_error"]
    table = cli_actions_list(runtime, monkeypatch, "--state", "rejected")
    assert "rejected" in table and "Mirakl refused" in table, table
    with runtime.store.read() as session:
        detail = order_detail(session, order.id)  # type: ignore[arg-type]
        assert detail is not None
        history = [e.message or "" for e in detail.events if e.action_id == action_id]
        refreshed = session.get(Order, order.id)
    assert any("rejected by the marketplace" in m and mirakl_says in m for m in history), history
    assert refreshed is not None and refreshed.pending_actions == 0
    # Terminal: never sent again.
    calls = len(emu.actions()["calls"])
    time_passes(runtime)
    sync_pass(runtime, do_import=False)
    assert len(emu.actions()["calls"]) == calls and action(runtime, action_id).state == "rejected"
    assert applied(emu, order.marketplace_order_id, verb) == 0


# --- everything at once --------------------------------------------------------------------------------

@pytest.mark.parametrize("db", DB_KINDS)
def test_a_storm_of_faults_then_calm_nothing_lost_nothing_applied_twice(
        db: str, request: pytest.FixtureRequest, emu: EmulatorHandle, tmp_path: Path):
    runtime = make_mirakl_runtime(tmp_path, db_url_for(request, db), emu.base_url, emu.api_key)
    try:
        _storm(runtime, emu)
    finally:
        runtime.close()


def _storm(runtime: Runtime, emu: EmulatorHandle) -> None:
    emu.state.add_orders(20)  # enough orders waiting for acceptance
    assert sync_pass(runtime).imported.error is None  # type: ignore[union-attr]
    planned: dict[int, tuple[str, str, str]] = {}  # action id -> (kind, remote id, expected final state)
    used: set[int] = set()
    for verb, status, count in (("accept", "waiting_acceptance", 10), ("ship", "waiting_shipment", 10)):
        for _ in range(count):
            order = local_order(runtime, emu, status, skip=used)
            used.add(order.id)  # type: ignore[arg-type]
            planned[queue(runtime, order, verb)] = (verb, order.marketplace_order_id, "done")
    for verb, status in (("accept", "waiting_acceptance"), ("ship", "waiting_shipment")):
        order = local_order(runtime, emu, status, skip=used)
        used.add(order.id)  # type: ignore[arg-type]
        planned[queue(runtime, order, verb)] = (verb, order.marketplace_order_id, "rejected")
        emu.state.set_line_states(order.marketplace_order_id, "CANCELED")
    # Every kind of fault, on reads and on every action endpoint, some certain, some by chance.
    storm = [
        {"kind": "503", "path": "/api/orders/*/accept", "count": 3},
        {"kind": "500", "path": "/api/orders/*/ship", "count": 2},
        {"kind": "502", "path": "/api/orders/*/tracking", "count": 2},
        {"kind": "reset", "path": "/api/orders/*/accept", "count": 2},
        {"kind": "apply_then_500", "path": "/api/orders/*/accept", "count": 2},
        {"kind": "apply_then_reset", "path": "/api/orders/*/ship", "count": 2},
        {"kind": "timeout", "path": "/api/orders/*/ship", "count": 1, "seconds": STALL},
        {"kind": "429", "path": "/api/orders/*/tracking", "count": 1, "retry_after": 30},
        {"kind": "429_date", "path": "/api/orders", "method": "GET", "count": 1, "retry_after": 30},
        {"kind": "truncated", "path": "/api/orders", "method": "GET", "count": 2},
        {"kind": "apply_then_500", "path": "/api/orders/*", "probability": 0.15, "seed": 3},
        {"kind": "503", "path": "/api/orders*", "probability": 0.1, "seed": 4},
        {"kind": "reset", "path": "/api/orders*", "probability": 0.05, "seed": 5},
    ]
    for item in storm:
        emu.inject(**item)
    for round_no in range(8):
        emu.state.add_orders(3)
        emu.state.advance_orders(2)
        sync_pass(runtime)
        time_passes(runtime)
    emu.faults.clear()  # calm
    drive_to_the_end(runtime)
    assert sync_pass(runtime).imported.error is None  # type: ignore[union-attr]
    with runtime.store.read() as session:
        final = {a.id: a for a in session.exec(select(Action))}
    assert set(final) == set(planned), "an action was lost or appeared from nowhere"
    wrong = {i: (final[i].state, final[i].last_error) for i, (_, _, want) in planned.items() if final[i].state != want}
    assert not wrong, wrong
    report = emu.actions()
    assert report["duplicates"] == []
    for action_id, (verb, remote_id, want) in planned.items():
        assert applied(emu, remote_id, verb) == (1 if want == "done" else 0), (action_id, verb, remote_id)
        if want == "rejected":
            assert "its state is CANCELED" in (final[action_id].last_error or "")
    faulted = {c["fault"] for c in report["calls"] if c["fault"]}
    assert {"503", "500", "502", "reset", "apply_then_500", "apply_then_reset", "timeout", "429"} <= faulted, faulted
    assert_every_order_once(runtime, emu)
    assert cursor_row(runtime).last_error is None
    with runtime.store.read() as session:
        pending = session.exec(select(func.count()).select_from(Order).where(Order.pending_actions != 0)).one()
    assert pending == 0
