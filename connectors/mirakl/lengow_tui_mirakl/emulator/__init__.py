"""A loopback emulator of the Mirakl seller API subset the connector uses (tests, benchmarks, demo).

    with run_emulator(orders=500, seed=3) as emu:
        emu.base_url, emu.api_key, emu.state   # direct access to the world

or as a process: ``python -m lengow_tui_mirakl.emulator --port 0 --orders N --seed S`` (prints its base
URL first). See docs/connectors/mirakl.md for the control endpoints and fault switches.
"""

from lengow_tui_mirakl.emulator.runner import EmulatorHandle, run_emulator
from lengow_tui_mirakl.emulator.state import EmulatorOptions, EmulatorState

__all__ = ["EmulatorHandle", "EmulatorOptions", "EmulatorState", "run_emulator"]
