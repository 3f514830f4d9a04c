"""The conformance kit (lengow_tui.testing) against the Mirakl connector and its loopback emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lengow_tui_mirakl import plugin
from lengow_tui_mirakl.emulator import run_emulator

from lengow_tui.connector_api import ActionKind, ActionRequest
from lengow_tui.testing import ConnectorConformance, Fault, KitEnvironment

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

# Emulator operations that apply each action kind (OR21 accept/refuse, OR24 ship, OR29/OR30 cancel, OR28 refund).
OPERATIONS = {
    ActionKind.ACCEPT: {"accept"}, ActionKind.REFUSE: {"refuse"}, ActionKind.SHIP: {"ship"},
    ActionKind.CANCEL: {"cancel", "cancel_lines"}, ActionKind.REFUND: {"refund"},
}


class TestMiraklConformance(ConnectorConformance):
    spec = plugin.SPEC
    plugin_module = "lengow_tui_mirakl.plugin"
    entry_point_name = "mirakl"

    @contextmanager
    def marketplace(self, tmp_path: Path) -> Iterator[KitEnvironment]:
        # A debit that takes a minute, as on a real Mirakl: an accepted order shows "accepted" first.
        with run_emulator(orders=60, seed=5, debit_delay_seconds=60) as emu:
            config = {"base_url": emu.base_url, "api_key": emu.api_key, "operator": "fnac_darty",
                      "page_size": 20, "overlap_seconds": 0}
            yield KitEnvironment(config=config, handle=emu)

    def inject_fault(self, env: KitEnvironment, fault: Fault) -> None:
        # Only the action endpoints of that order: the read before the action goes through.
        path = f"/api/orders/{fault.request.order_id}/*"
        if fault.kind == "rate_limited":
            env.handle.inject("429", path=path, retry_after=fault.retry_after, count=5)
        else:
            env.handle.inject(str(fault.status), path=path, count=5)

    def applications(self, env: KitEnvironment, request: ActionRequest) -> int:
        state = env.handle.state
        ops = OPERATIONS[request.kind]
        with state.lock:  # the most times one line (or the order) got this change
            counts = [n for (order_id, op, _target), n in state.applied_targets.items()
                      if order_id == request.order_id and op in ops]
        return max(counts, default=0)

    def plant_unknown_status(self, env: KitEnvironment) -> None:
        state = env.handle.state
        state.set_line_states(state.first_order("SHIPPING"), "KIT_UNKNOWN_STATE")
