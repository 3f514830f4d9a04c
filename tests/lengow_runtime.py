"""Building a Runtime with one ``lengow`` channel pointing at a running Lengow emulator (tests)."""

from __future__ import annotations

from pathlib import Path

from lengow_tui.config import load_config
from lengow_tui.plugins import load_registry
from lengow_tui.runtime import Runtime, open_runtime


def make_lengow_runtime(tmp_path: Path, db_url: str, base_url: str, access_token: str, secret: str, *,
                        channel: str = "lengow", **settings: object) -> Runtime:
    extra = "".join(f"{key} = {value!r}\n" if not isinstance(value, str) else f'{key} = "{value}"\n'
                    for key, value in settings.items())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[paths]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[channels.{channel}]\nconnector = "lengow"\nbase_url = "{base_url}"\naccess_token = "{access_token}"\n'
        f'secret = "{secret}"\n{extra}'
    )
    registry = load_registry()
    config = load_config(path, connectors={n: c.spec for n, c in registry.connectors.items()})
    return open_runtime(config)
