"""Building a Runtime for tests: a config file in tmp_path with one channel (the sandbox by default)."""

from __future__ import annotations

from pathlib import Path

from lengow_tui.config import load_config
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime, open_runtime

DEFAULTS: dict[str, object] = {"seed": 7, "reject_rate": "0", "time_scale": 5, "unknown_status_rate": "0"}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


def channel_runtime(tmp_path: Path, url: str, channel: str, connector: str, settings: dict[str, object], *,
                    extra_toml: str = "") -> Runtime:
    """A runtime over ``url`` with one channel of ``connector`` configured with ``settings``."""
    lines = "\n".join(f"{k} = {_toml_value(v)}" for k, v in settings.items())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[paths]\ndata_dir = "{tmp_path / "data"}"\n{extra_toml}\n'
        f'[channels.{channel}]\nconnector = "{connector}"\n{lines}\n'
    )
    registry = load_registry()
    config = load_config(path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config)


def make_runtime(tmp_path: Path, url: str, *, extra_toml: str = "", **settings: object) -> Runtime:
    """A runtime whose channel ``shop`` uses the sandbox with predictable settings (no rejections)."""
    return channel_runtime(tmp_path, url, "shop", "sandbox", DEFAULTS | settings, extra_toml=extra_toml)
