"""Building a Runtime with one ``mirakl`` channel pointing at a running emulator (tests)."""

from __future__ import annotations

from pathlib import Path

from lengow_tui.runtime import Runtime
from sandbox_runtime import channel_runtime


def make_mirakl_runtime(tmp_path: Path, db_url: str, base_url: str, api_key: str, *,
                        operator: str = "fnac_darty", channel: str = "fnac") -> Runtime:
    return channel_runtime(tmp_path, db_url, channel, "mirakl",
                           {"base_url": base_url, "api_key": api_key, "operator": operator})
