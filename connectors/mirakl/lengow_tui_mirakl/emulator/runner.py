"""Running the emulator: in a background thread for tests (``run_emulator``) or as a process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from lengow_tui.emulation import server as serve
from lengow_tui_mirakl.emulator.app import build_app
from lengow_tui_mirakl.emulator.faults import FaultRule, FaultTable
from lengow_tui_mirakl.emulator.state import EmulatorOptions, EmulatorState


@dataclass
class EmulatorHandle:
    """A running emulator: where it listens and direct access to its world."""

    base_url: str
    api_key: str
    state: EmulatorState
    faults: FaultTable

    def inject(self, kind: str, *, path: str = "/api/*", **options: Any) -> None:
        """Same as POST /_emulator/faults: e.g. ``inject("503", path="/api/orders", count=2)``."""
        self.faults.add(FaultRule.from_json({"kind": kind, "path": path, **options}))

    def actions(self) -> dict[str, Any]:
        return self.state.actions_report()


def make_options(**options: Any) -> EmulatorOptions:
    known = {f.name for f in fields(EmulatorOptions)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown emulator option(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    return EmulatorOptions(**options)


def make_server(state: EmulatorState, faults: FaultTable, stopping: threading.Event) -> Any:
    return serve.make_server(build_app(state, faults, stopping))


@contextmanager
def run_emulator(**options: Any) -> Iterator[EmulatorHandle]:
    """Start the emulator on 127.0.0.1, a free port, in a background thread; stop it on exit.

    ``options`` are :class:`EmulatorOptions` fields (orders, seed, api_key, operator, debit_delay_seconds...).
    """
    state = EmulatorState(make_options(**options))
    faults = FaultTable()
    stopping = threading.Event()
    with serve.serve_in_thread(build_app(state, faults, stopping), stopping, name="Mirakl emulator") as url:
        yield EmulatorHandle(url, state.options.api_key, state, faults)
