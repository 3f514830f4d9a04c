"""``lengow-tui purge``."""

from __future__ import annotations
