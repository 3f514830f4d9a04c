"""Building a Runtime with one ``mirakl`` channel pointing at a running emulator (tests)."""

from __future__ import annotations

from pathlib import Path

from lengow_tui.config import load_config
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime, open_runtime


def make_mirakl_runtime(tmp_path: Path, db_url: str, base_url: str, api_key: str, *,
                        operator: str = "fnac_darty", channel: str = "fnac") -> Runtime:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[paths]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[channels.{channel}]\nconnector = "mirakl"\nbase_url = "{base_url}"\napi_key = "{api_key}"\n'
        f'operator = "{operator}"\n'
    )
    registry = load_registry()
    config = load_config(path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config)
