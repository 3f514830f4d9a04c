"""Fault injection for this emulator: the shared rules of :mod:`lengow_tui.emulation.faults`, matching
the API's paths (``/v3.0/*``) when a rule names none."""

from __future__ import annotations

from lengow_tui.emulation.faults import KINDS, FaultRule, FaultTable

DEFAULT_PATH = "/v3.0/*"

__all__ = ["DEFAULT_PATH", "KINDS", "FaultRule", "FaultTable"]
