"""Fault injection for this emulator: the shared rules of :mod:`lengow_tui.emulation.faults`, matching
the API's paths (``/api/*``) when a rule names none."""

from __future__ import annotations

from lengow_tui.emulation.faults import KINDS, FaultRule, FaultTable

DEFAULT_PATH = "/api/*"

__all__ = ["DEFAULT_PATH", "KINDS", "FaultRule", "FaultTable"]
