"""The simulated marketplaces, by code."""

from __future__ import annotations

from lengow_tui_sandbox.sims.amazon import AmazonSim
from lengow_tui_sandbox.sims.base import MarketplaceSim
from lengow_tui_sandbox.sims.mirakl import MiraklSim
from lengow_tui_sandbox.sims.pickup import PickupSim

SIMS: dict[str, MarketplaceSim] = {sim.code: sim for sim in (MiraklSim(), AmazonSim(), PickupSim())}
ARRIVAL_WEIGHTS = {"mirakl_sandbox": 40, "amazon_sandbox": 40, "pickup_sandbox": 20}

__all__ = ["ARRIVAL_WEIGHTS", "SIMS", "MarketplaceSim"]
