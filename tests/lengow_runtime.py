"""Building a Runtime with one ``lengow`` channel pointing at a running Lengow emulator (tests)."""

from __future__ import annotations

from pathlib import Path

from lengow_tui.runtime import Runtime
from sandbox_runtime import channel_runtime


def make_lengow_runtime(tmp_path: Path, db_url: str, base_url: str, access_token: str, secret: str, *,
                        channel: str = "lengow", **settings: object) -> Runtime:
    return channel_runtime(tmp_path, db_url, channel, "lengow",
                           {"base_url": base_url, "access_token": access_token, "secret": secret, **settings})
