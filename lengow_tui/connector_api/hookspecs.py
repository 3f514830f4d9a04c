"""The pluggy hooks a plugin implements. Project name ``lengow_tui``; entry-point group ``lengow_tui``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from lengow_tui.connector_api.spec import ConnectorSpec

PROJECT = "lengow_tui"
ENTRY_POINT_GROUP = "lengow_tui"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class ConnectorHooks:
    @hookspec
    def register_connectors(self) -> list[ConnectorSpec]:  # type: ignore[empty-body]
        """Return the connectors this plugin provides, as :class:`ConnectorSpec` objects."""
