"""The Mirakl connector's config fields and their parsed form (no network imports: listed with plugins)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lengow_tui.connector_api import ConfigField
from lengow_tui_mirakl.declarations import OPERATOR_CODES

MAX_PAGE_SIZE = 100  # OR11 pages hold at most 100 orders
DEFAULT_OVERLAP_SECONDS = 300

CONFIG_FIELDS: tuple[ConfigField, ...] = (
    ConfigField("base_url", "API base URL", type="url", required=True,
                help="The operator's Mirakl instance, e.g. https://fnac-prod.mirakl.net (paths /api/... are added)."),
    ConfigField("api_key", "Shop API key", secret=True, required=True,
                help="Generated in the Mirakl back office (My user settings > API key); sent as the Authorization header."),
    ConfigField("shop_id", "Shop id", help="Only when the key gives access to several shops: the shop to act for."),
    ConfigField("operator", "Operator", default="mirakl",
                help="Which marketplace this channel's orders belong to: " + ", ".join(OPERATOR_CODES) + "."),
    ConfigField("overlap_seconds", "Re-read window (seconds)", type="int", default=DEFAULT_OVERLAP_SECONDS,
                help="Each incremental import re-reads orders changed this long before the previous import began."),
    ConfigField("page_size", "Orders per page", type="int", default=MAX_PAGE_SIZE, help="1 to 100 (OR11 'max')."),
    ConfigField("fetch_documents", "List documents on import", type="bool", default=True,
                help="One OR72 call per page of orders, so invoices and delivery bills show in the order list."),
)


class SettingsError(ValueError):
    """A channel setting cannot be used; the message names the setting, never a secret value."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: str
    shop_id: str | None
    operator: str
    overlap_seconds: int
    page_size: int
    fetch_documents: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        base_url = str(config.get("base_url") or "").strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise SettingsError("base_url must be an http(s) URL such as https://example.mirakl.net")
        if base_url.endswith("/api"):
            base_url = base_url[: -len("/api")]  # we add /api/... ourselves
        api_key = str(config.get("api_key") or "").strip()
        if not api_key:
            raise SettingsError("api_key is missing")
        shop_id = str(config.get("shop_id") or "").strip() or None
        operator = str(config.get("operator") or "mirakl").strip()
        if operator not in OPERATOR_CODES:
            raise SettingsError(f"operator {operator!r} is unknown; one of: {', '.join(OPERATOR_CODES)}")
        overlap = _integer(config, "overlap_seconds", DEFAULT_OVERLAP_SECONDS, 0, 7 * 86400)
        page_size = _integer(config, "page_size", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        fetch_documents = config.get("fetch_documents", True)
        if isinstance(fetch_documents, str):
            fetch_documents = fetch_documents.strip().lower() in ("1", "true", "yes", "on")
        return cls(base_url, api_key, shop_id, operator, overlap, page_size, bool(fetch_documents))


def _integer(config: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = config.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value
