"""The Lengow connector's config fields and their parsed form (no network imports: listed with plugins)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lengow_tui.connector_api import ConfigField

DEFAULT_BASE_URL = "https://api.lengow.io"  # production host (reference/lengow.md §1.1)
MAX_PAGE_SIZE = 100  # /v3.0/orders page_size maximum
DEFAULT_OVERLAP_SECONDS = 300
DEFAULT_INITIAL_DAYS = 30
REQUEST_LIMIT = 500  # calls per 60 s on the /v3.0/orders routes (Lengow's limit; its plugins enforce it too)

CONFIG_FIELDS: tuple[ConfigField, ...] = (
    ConfigField("access_token", "Access token", secret=True, required=True,
                help="The API access token of the Lengow (sub)account (Lengow > Settings > API)."),
    ConfigField("secret", "Secret", secret=True, required=True, help="The secret paired with the access token."),
    ConfigField("account_id", "Account id", type="int",
                help="Sent on every call. Empty: the account the keys belong to (from /access/get_token)."),
    ConfigField("base_url", "API base URL", type="url", default=DEFAULT_BASE_URL,
                help="https://api.lengow.io (production), https://api.lengow.net (sandbox) or an emulator."),
    ConfigField("initial_days", "First import window (days)", type="int", default=DEFAULT_INITIAL_DAYS,
                help="The first import reads orders updated during this many past days (Lengow applies 7 "
                     "days when no date filter is given)."),
    ConfigField("overlap_seconds", "Re-read window (seconds)", type="int", default=DEFAULT_OVERLAP_SECONDS,
                help="Each incremental import re-reads orders updated this long before the previous one began."),
    ConfigField("page_size", "Orders per page", type="int", default=MAX_PAGE_SIZE, help="1 to 100."),
    ConfigField("calls_per_minute", "Calls per minute on /v3.0/orders*", type="int", default=REQUEST_LIMIT,
                help="Client-side limit; Lengow allows 500 per minute and answers 429 beyond."),
)


class SettingsError(ValueError):
    """A channel setting cannot be used; the message names the setting, never a secret value."""


@dataclass(frozen=True)
class Settings:
    access_token: str
    secret: str
    account_id: int | None
    base_url: str
    initial_days: int
    overlap_seconds: int
    page_size: int
    calls_per_minute: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        access_token = str(config.get("access_token") or "").strip()
        secret = str(config.get("secret") or "").strip()
        if not access_token:
            raise SettingsError("access_token is missing")
        if not secret:
            raise SettingsError("secret is missing")
        base_url = str(config.get("base_url") or DEFAULT_BASE_URL).strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise SettingsError("base_url must be an http(s) URL such as https://api.lengow.io")
        for suffix in ("/v3.0", "/v3"):  # we add /v3.0/... ourselves
            if base_url.endswith(suffix):
                base_url = base_url[: -len(suffix)]
        account = config.get("account_id")
        account_id = None if account in (None, "") else _integer(config, "account_id", 0, 1, 10**12)
        return cls(
            access_token, secret, account_id, base_url,
            _integer(config, "initial_days", DEFAULT_INITIAL_DAYS, 1, 3650),
            _integer(config, "overlap_seconds", DEFAULT_OVERLAP_SECONDS, 0, 7 * 86400),
            _integer(config, "page_size", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            _integer(config, "calls_per_minute", REQUEST_LIMIT, 1, REQUEST_LIMIT),
        )


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
