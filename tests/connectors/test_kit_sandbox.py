"""The conformance kit (lengow_tui.testing) against the first-party sandbox connector.

The sandbox is in-process (no HTTP), asynchronous (actions answer ``pending`` and are processed a
few simulated seconds later) and driven by the clock it is given: the kit's ``settle`` hook moves a
fake clock on so pending actions complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lengow_tui_sandbox import plugin
from lengow_tui_sandbox.settings import Settings
from lengow_tui_sandbox.world import World

from lengow_tui.connector_api import ActionRequest
from lengow_tui.testing import ConnectorConformance, KitEnvironment


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


# No random rejections (a well-formed action must be applied); planted unknown statuses on demand.
CONFIG = {"seed": 7, "initial_orders": 150, "reject_rate": "0", "unknown_status_rate": "0", "orders_per_hour": 0}


class TestSandboxConformance(ConnectorConformance):
    spec = plugin.SPEC
    plugin_module = "lengow_tui_sandbox.plugin"
    entry_point_name = "sandbox"
    skip_reasons = {
        "check_bad_credentials": "the sandbox has no credentials: it is simulated in-process",
        "action_rate_limited": "the sandbox makes no HTTP call, so there is no 429 to answer",
        "action_server_error_retryable": "the sandbox makes no HTTP call, so there is no 5xx to answer",
    }

    @contextmanager
    def marketplace(self, tmp_path: Path) -> Iterator[KitEnvironment]:
        clock = FakeClock()
        yield KitEnvironment(config=dict(CONFIG), handle=clock, now=clock, state_dir=tmp_path / "sandbox")

    def settle(self, env: KitEnvironment) -> None:
        env.handle.now += timedelta(seconds=6)  # actions take 3-5 simulated seconds at time_scale 1

    def _world(self, env: KitEnvironment) -> World:
        assert env.state_dir is not None
        return World(env.state_dir, Settings.from_config(env.config), env.now)

    def applications(self, env: KitEnvironment, request: ActionRequest) -> int:
        received = [a for a in self._world(env).received_actions()
                    if a.order_id == request.order_id and a.kind == str(request.kind)]
        return sum(a.applied for a in received)

    def plant_unknown_status(self, env: KitEnvironment) -> None:
        env.config = {**env.config, "unknown_status_rate": "100"}  # every order shows an unmapped status
