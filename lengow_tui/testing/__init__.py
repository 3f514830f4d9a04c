"""The connector conformance kit: pytest checks that a connector does what the host relies on.

::

    # tests/test_conformance.py of your connector package
    from contextlib import contextmanager

    from lengow_tui.testing import ConnectorConformance, KitEnvironment

    from lengow_tui_acme.plugin import SPEC
    from lengow_tui_acme.emulator import run_emulator


    class TestAcme(ConnectorConformance):
        spec = SPEC
        entry_point_name = "acme"

        @contextmanager
        def marketplace(self, tmp_path):
            with run_emulator() as emu:
                yield KitEnvironment(config={"base_url": emu.base_url, "api_key": emu.api_key}, handle=emu)

        def inject_fault(self, env, fault): ...
        def applications(self, env, request): ...

Run it with ``pytest``; every check is one test (``test_<check>``, see :data:`CHECKS`) whose failure
says what to fix. A check that does not apply is skipped only with a written reason
(``skip_reasons``). Needs pytest; no pytest plugin (pytest-asyncio or other) is required.
The guide: docs/connector-guide.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lengow_tui.testing.checks import ActionCase, build_arguments, personal_data, resolve_status
    from lengow_tui.testing.conformance import (
        CHECKS,
        ConnectorConformance,
        Fault,
        KitEnvironment,
        RecordingTransport,
    )
    from lengow_tui.testing.serve import serve_asgi

# Names are imported on first use, so that an emulator can use ``serve_asgi`` (e.g. to run as a
# process for a demo) without importing pytest.
_WHERE = {
    "ActionCase": "checks", "build_arguments": "checks", "personal_data": "checks", "resolve_status": "checks",
    "CHECKS": "conformance", "ConnectorConformance": "conformance", "Fault": "conformance",
    "KitEnvironment": "conformance", "RecordingTransport": "conformance", "serve_asgi": "serve",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lengow_tui.testing' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"lengow_tui.testing.{module}"), name)

__all__ = [
    "CHECKS",
    "ActionCase",
    "ConnectorConformance",
    "Fault",
    "KitEnvironment",
    "RecordingTransport",
    "build_arguments",
    "personal_data",
    "resolve_status",
    "serve_asgi",
]
