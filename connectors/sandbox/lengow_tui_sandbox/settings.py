"""The sandbox's configuration fields and their parsed form.

Kept free of heavy imports: ``plugin.py`` imports :data:`CONFIG_FIELDS` when plugins are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lengow_tui.connector_api import ConfigField
from lengow_tui_sandbox.declarations import MARKETPLACE_CODES

CONFIG_FIELDS: tuple[ConfigField, ...] = (
    ConfigField("seed", "Seed", type="int", default=42,
                help="Everything in the simulated world follows from this number; a new seed is a new world."),
    ConfigField("initial_orders", "Initial orders", type="int", default=150,
                help="Orders created over the past 30 days when the world is first opened."),
    ConfigField("orders_per_hour", "New orders per hour", type="int", default=30,
                help="Arrival rate of new orders (simulated hours); 0 stops arrivals."),
    ConfigField("time_scale", "Time scale", type="int", default=1,
                help="How many times faster than real time the marketplaces move (1 = real time)."),
    ConfigField("reject_rate", "Reject rate (%)", default="5",
                help="Percentage of well-formed actions the marketplace still rejects; 0 never, 100 always."),
    ConfigField("marketplaces", "Marketplaces", default=",".join(MARKETPLACE_CODES),
                help="Comma-separated codes of the sandbox marketplaces this channel serves."),
    ConfigField("hostile_data", "Hostile data", type="bool", default=False,
                help="Plant control characters and ANSI escape sequences in a few names and titles."),
    ConfigField("unknown_status_rate", "Unknown status rate (%)", default="0.5",
                help="Percentage of orders that show a raw status the declaration does not map (0 = none)."),
)

_DEFAULTS = {f.name: f.default for f in CONFIG_FIELDS}


@dataclass(frozen=True)
class Settings:
    seed: int = 42
    initial_orders: int = 150
    orders_per_hour: int = 30
    time_scale: int = 1
    reject_rate: float = 5.0
    marketplaces: tuple[str, ...] = MARKETPLACE_CODES
    hostile_data: bool = False
    unknown_status_rate: float = 0.5
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Parse a channel's config; bad values fall back to defaults and are listed in ``problems``."""
        problems: list[str] = []

        def value(name: str) -> Any:
            raw = config.get(name)
            return _DEFAULTS[name] if raw is None or raw == "" else raw

        def integer(name: str, minimum: int) -> int:
            raw = value(name)
            try:
                number = int(str(raw).strip()) if not isinstance(raw, int) else raw
            except ValueError:
                problems.append(f"{name} must be a whole number, not {raw!r}")
                return int(_DEFAULTS[name])
            if isinstance(raw, bool) or number < minimum:
                problems.append(f"{name} must be at least {minimum}, not {raw!r}")
                return int(_DEFAULTS[name])
            return number

        def percent(name: str) -> float:
            raw = value(name)
            try:
                number = float(str(raw).strip().rstrip("%"))
            except ValueError:
                problems.append(f"{name} must be a percentage such as 5 or 0.5, not {raw!r}")
                return float(_DEFAULTS[name])
            if not 0 <= number <= 100:
                problems.append(f"{name} must be between 0 and 100, not {raw!r}")
                return float(_DEFAULTS[name])
            return number

        codes_raw = value("marketplaces")
        if isinstance(codes_raw, str):
            codes = tuple(dict.fromkeys(c.strip() for c in codes_raw.split(",") if c.strip()))
        else:
            codes = tuple(dict.fromkeys(str(c).strip() for c in codes_raw))
        unknown = [c for c in codes if c not in MARKETPLACE_CODES]
        if unknown:
            problems.append(
                f"marketplaces names unknown sandbox marketplace(s) {', '.join(repr(c) for c in unknown)}; "
                f"known: {', '.join(MARKETPLACE_CODES)}"
            )
        served = tuple(c for c in codes if c in MARKETPLACE_CODES)
        if not codes:
            problems.append(f"marketplaces is empty; give one or more of: {', '.join(MARKETPLACE_CODES)}")
        hostile = value("hostile_data")
        if isinstance(hostile, str):
            hostile = hostile.strip().lower() in ("1", "true", "yes", "on")

        return cls(
            seed=integer("seed", -(2**62)),
            initial_orders=integer("initial_orders", 0),
            orders_per_hour=integer("orders_per_hour", 0),
            time_scale=integer("time_scale", 1),
            reject_rate=percent("reject_rate"),
            marketplaces=served or MARKETPLACE_CODES,
            hostile_data=bool(hostile),
            unknown_status_rate=percent("unknown_status_rate"),
            problems=tuple(problems),
        )
