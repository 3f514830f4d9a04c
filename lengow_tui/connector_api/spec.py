"""Registration objects: what a plugin's ``register_connectors`` hook returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lengow_tui.domain import MarketplaceDeclaration

if TYPE_CHECKING:  # keep importing a plugin free of network libraries
    import httpx

    from lengow_tui.connector_api.client import MarketplaceClient

API_VERSION = 1
"""The connector API version this host implements. See docs/connector-api.md for what it promises."""

SUPPORTED_API_VERSIONS = frozenset({1})
"""The ``ConnectorSpec.api_version`` values this host loads (the current one and, during a transition,
the previous one)."""

_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SECRET_HINT = re.compile(r"(secret|password|passwd|token|api_key|apikey|private)", re.I)


@dataclass(frozen=True)
class ConfigField:
    """One setting of a channel of this connector.

    Rendered as CLI flags, TUI form fields and config-file validation. ``secret`` values are read from
    the config file or an environment variable, and never logged or shown.
    """

    name: str
    label: str
    type: Literal["text", "int", "bool", "url", "path"] = "text"
    secret: bool = False
    required: bool = False
    default: Any = None
    help: str = ""


@dataclass(frozen=True)
class ClientContext:
    """What the host gives a connector to build a client for one channel."""

    channel: str  # the channel's name in the merchant's config
    config: Mapping[str, Any]  # validated values of the connector's config fields, secrets included
    http: httpx.AsyncClient | None  # shared client with timeouts set by the host; None when not needed
    state_dir: Path  # a private directory for the connector's own files (token cache, sandbox world)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class ConnectorSpec:
    """A connector, as registered by a plugin.

    ``marketplaces`` is the static list of marketplace declarations. A connector whose marketplaces
    are only known at run time (e.g. read from a platform) sets ``dynamic_marketplaces=True`` and
    implements ``MarketplaceClient.fetch_marketplaces``; the host caches what it returns.
    ``client_factory`` is called with a :class:`ClientContext`; import network code inside it, not at
    module level, so that listing plugins stays cheap.
    """

    name: str
    title: str
    client_factory: Callable[[ClientContext], MarketplaceClient]
    api_version: int = API_VERSION
    config_fields: tuple[ConfigField, ...] = ()
    marketplaces: tuple[MarketplaceDeclaration, ...] = ()
    dynamic_marketplaces: bool = False
    description: str = ""
    docs_url: str = ""

    def marketplace(self, code: str) -> MarketplaceDeclaration | None:
        """The declaration of marketplace ``code``, or ``None``."""
        for declaration in self.marketplaces:
            if declaration.code == code:
                return declaration
        return None

    def check(self) -> list[str]:
        """Every problem with this registration, as sentences a plugin author can act on."""
        problems: list[str] = []
        where = f"connector {self.name!r}"
        if not isinstance(self.name, str) or not _SLUG.match(self.name):
            problems.append(f"{where}: name must be a lowercase slug (letters, digits, underscore)")
        if not isinstance(self.title, str) or not self.title.strip():
            problems.append(f"{where}: title is empty")
        if self.api_version not in SUPPORTED_API_VERSIONS:
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_API_VERSIONS))
            problems.append(f"{where}: api_version {self.api_version!r} is not supported (supported: {supported})")
        if not callable(self.client_factory):
            problems.append(f"{where}: client_factory is not callable")
        names: set[str] = set()
        for cfg in self.config_fields:
            if not _SLUG.match(cfg.name):
                problems.append(f"{where}: config field {cfg.name!r} must be a lowercase identifier")
            if cfg.name in names:
                problems.append(f"{where}: config field {cfg.name!r} declared twice")
            names.add(cfg.name)
            if _SECRET_HINT.search(cfg.name) and not cfg.secret:
                problems.append(f"{where}: config field {cfg.name!r} looks like a secret; mark it secret=True")
        if not self.marketplaces and not self.dynamic_marketplaces:
            problems.append(f"{where}: declares no marketplace")
        codes: set[str] = set()
        for declaration in self.marketplaces:
            if not isinstance(declaration, MarketplaceDeclaration):
                problems.append(f"{where}: marketplaces holds {type(declaration).__name__}, not MarketplaceDeclaration")
                continue
            if declaration.code in codes:
                problems.append(f"{where}: marketplace {declaration.code!r} declared twice")
            codes.add(declaration.code)
            problems.extend(f"{where}: {p}" for p in declaration.check())
        return problems
