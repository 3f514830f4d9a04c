"""The conformance kit (lengow_tui.testing) against the Lengow API connector and its loopback emulator.

The Lengow connector declares no marketplace in its spec (``dynamic_marketplaces=True``): the kit asks
its client's ``fetch_marketplaces()`` for them (``GET /v3.0/marketplaces`` on the emulator) and checks
statuses, actions, arguments and orders against what came back. Lengow actions are asynchronous
(queued, sent, processed): the client answers ``pending`` and the kit's ``settle`` moves the emulator's
clock on between polls; the client's clock is the emulator's, as in tests/connectors/test_lengow.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lengow_tui_lengow import plugin
from lengow_tui_lengow.emulator import EmulatorHandle, run_emulator

from lengow_tui.connector_api import ActionKind, ActionRequest, ActionSpec, Status, StatusMap
from lengow_tui.testing import ConnectorConformance, Fault, KitEnvironment

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

ACTION_DELAY = 1.0  # emulator: queued -> sent -> processed, one simulated second each


def _clock(emu: EmulatorHandle):
    return lambda: datetime.fromtimestamp(emu.state.now(), UTC)


class TestLengowConformance(ConnectorConformance):
    spec = plugin.SPEC
    plugin_module = "lengow_tui_lengow.plugin"
    entry_point_name = "lengow"


    @contextmanager
    def marketplace(self, tmp_path: Path) -> Iterator[KitEnvironment]:
        # Every marketplace of the emulator's catalogue; a small page size so resuming mid-way is checked.
        with run_emulator(orders=60, seed=5, action_delay_seconds=ACTION_DELAY) as emu:
            config = {"base_url": emu.base_url, "access_token": emu.access_token, "secret": emu.secret,
                      "page_size": 20, "overlap_seconds": 0}
            yield KitEnvironment(config=config, handle=emu, now=_clock(emu))

    def settle(self, env: KitEnvironment) -> None:
        env.handle.state.advance_clock(ACTION_DELAY)

    def inject_fault(self, env: KitEnvironment, fault: Fault) -> None:
        # Every Lengow action goes through /v3.0/orders/actions/ (the look-up for an identical action,
        # then the creation); the order and marketplace definitions reads before it go through.
        kind = "429" if fault.kind == "rate_limited" else str(fault.status)
        options = {"retry_after": fault.retry_after} if fault.kind == "rate_limited" else {}
        env.handle.inject(kind, path="/v3.0/orders/actions/*", count=5, **options)

    def applications(self, env: KitEnvironment, request: ActionRequest) -> int:
        state = env.handle.state
        with state.lock:  # the most times one line (or the order) got this change
            counts = [n for (order_id, action_type, _target), n in state.applied.items()
                      if order_id == request.order_id and action_type == request.kind.value]
        return max(counts, default=0)

    def plant_unknown_status(self, env: KitEnvironment) -> None:
        # A marketplace word the definitions do not list, with a lengow_status this host does not know
        # either (otherwise the connector falls back on the lengow_status, which is mapped).
        state = env.handle.state
        order_id = state.world.orders[0]["marketplace_order_id"]
        state.set_raw_status(order_id, "KitUnknownState", lengow_status="kit_unknown_status")


# --- the kit's dynamic-marketplace checks can fail ------------------------------------------------------
# Variants of the Lengow connector whose fetch_marketplaces() misbehaves, run through the same kit class:
# each check must fail and say what is wrong (the classes are not collected: names without "Test").

def _variant(fetch):
    from lengow_tui_lengow.client import LengowClient

    class Variant(LengowClient):
        async def fetch_marketplaces(self):
            return await fetch(self)

    return replace(plugin.SPEC, client_factory=lambda ctx: Variant(ctx))


def _kit(spec) -> ConnectorConformance:
    class Kit(TestLengowConformance):
        expected_failures = {}

    Kit.spec = spec
    return Kit()


async def _broken_declarations(client):
    from lengow_tui_lengow.client import LengowClient

    good = list(await LengowClient.fetch_marketplaces(client))
    first = good[0]
    bad_map = StatusMap(order={**first.status_map.order, "KitSent": "shipped_ok"})
    bad_action = ActionSpec(ActionKind.CANCEL, frozenset(), result_status=Status.CANCELED)
    return [replace(first, status_map=bad_map, actions=(*[a for a in first.actions if a.kind != ActionKind.CANCEL],
                                                        bad_action)), *good[1:], good[1]]


def test_the_kit_checks_fetched_declarations(tmp_path: Path) -> None:
    kit = _kit(_variant(_broken_declarations))
    with pytest.raises(pytest.fail.Exception, match=r"maps raw 'KitSent' \(order level\) to 'shipped_ok'"):
        kit.test_declaration_status_map(tmp_path / "a")
    with pytest.raises(pytest.fail.Exception, match=r"action 'cancel' of marketplace '\w+' is allowed from no status"):
        kit.test_declaration_actions(tmp_path / "b")
    with pytest.raises(pytest.fail.Exception) as fetched:
        kit.test_declaration_fetched_marketplaces(tmp_path / "c")
    assert "the host leaves this marketplace out" in str(fetched.value)
    assert "twice: the host keeps the first" in str(fetched.value)


def test_the_kit_fails_a_dynamic_connector_without_fetch_marketplaces(tmp_path: Path) -> None:
    async def missing(client):
        raise NotImplementedError

    with pytest.raises(pytest.fail.Exception, match=r"does not implement fetch_marketplaces\(\)"):
        _kit(_variant(missing)).test_declaration_arguments(tmp_path)


def test_the_kit_fails_orders_of_a_marketplace_that_was_not_fetched(tmp_path: Path) -> None:
    async def only_first(client):
        from lengow_tui_lengow.client import LengowClient

        return list(await LengowClient.fetch_marketplaces(client))[:1]

    kit = _kit(_variant(only_first))
    with pytest.raises(pytest.fail.Exception, match=r"which fetch_marketplaces\(\) did not return"):
        kit.test_pull_records_validate(tmp_path)
    with pytest.raises(pytest.fail.Exception, match="returned no declaration"):
        _kit(_variant(lambda client: _empty())).test_declaration_fetched_marketplaces(tmp_path / "empty")


async def _empty():
    return []
