"""The lengow-tui conformance kit, run against the Marché Exemple emulator.

Every check is a test; a failure says what to fix. Run: ``pytest`` in this folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lengow_tui.connector_api import ActionRequest
from lengow_tui.testing import ConnectorConformance, Fault, KitEnvironment

from lengow_tui_template.emulator import run_emulator
from lengow_tui_template.plugin import SPEC


class TestMarcheExemple(ConnectorConformance):
    spec = SPEC
    plugin_module = "lengow_tui_template.plugin"
    entry_point_name = "marche_exemple"

    @contextmanager
    def marketplace(self, tmp_path: Path) -> Iterator[KitEnvironment]:
        # A fresh emulator per check; a small page size so that resuming from a middle page is checked.
        with run_emulator(orders=30) as emu:
            yield KitEnvironment(config={"base_url": emu.base_url, "api_key": emu.api_key, "page_size": 7},
                                 handle=emu)

    def inject_fault(self, env: KitEnvironment, fault: Fault) -> None:
        prefix = f"/v1/orders/{fault.request.order_id}/{fault.request.kind}"
        status = 429 if fault.kind == "rate_limited" else fault.status
        env.handle.state.fail_next(status, prefix, retry_after=fault.retry_after)

    def applications(self, env: KitEnvironment, request: ActionRequest) -> int:
        return env.handle.state.applications(request.order_id, str(request.kind))

    def plant_unknown_status(self, env: KitEnvironment) -> None:
        state = env.handle.state
        state.set_status(state.first("A_EXPEDIER"), "EN_LITIGE")  # a status Marché Exemple added last week
