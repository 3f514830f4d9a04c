"""A loopback emulator of the Lengow API v3 subset the connector uses (tests, benchmarks, demo).

    with run_emulator(orders=200, seed=3) as emu:
        emu.base_url, emu.access_token, emu.secret, emu.state   # direct access to the world

or as a process: ``python -m lengow_tui_lengow.emulator --port 0 --orders N --seed S`` (prints its base
URL first). See docs/connectors/lengow.md for the control endpoints and fault switches.
"""

from lengow_tui_lengow.emulator.runner import EmulatorHandle, run_emulator
from lengow_tui_lengow.emulator.state import EmulatorOptions, EmulatorState

__all__ = ["EmulatorHandle", "EmulatorOptions", "EmulatorState", "run_emulator"]
