"""HTTP to a Mirakl instance and what its answers mean.

Reads (import, documents) raise ConnectorError subclasses; actions turn every answer into an
ActionResult. Messages never contain the API key, and Mirakl's own messages are cut short and
scrubbed of it before they reach the merchant.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson

from lengow_tui.connector_api import (
    ActionResult,
    AuthenticationError,
    ConnectorError,
    MalformedResponseError,
    RateLimitedError,
    parse_retry_after,
)

WRONG_STATE = (400, 409, 422)


class MiraklHttp:
    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str, shop_id: str | None) -> None:
        self.http = http
        self.base_url = base_url
        self.api_key = api_key
        self.shop_id = shop_id
        # Mirakl wants the raw key in Authorization, no "Bearer" (reference §1.1).
        self.headers = {"Authorization": api_key, "Accept": "application/json"}

    def params(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params = dict(extra or {})
        if self.shop_id:
            params["shop_id"] = self.shop_id
        return params

    def scrub(self, text: str) -> str:
        if self.api_key:
            text = text.replace(self.api_key, "***")
        text = " ".join(text.split())
        return text[:300] + ("…" if len(text) > 300 else "")

    def mirakl_message(self, response: httpx.Response) -> str:
        """Mirakl's error message (``{"message": ...}``), or the status line."""
        try:
            data = json.loads(response.content)
            message = data.get("message") if isinstance(data, dict) else None
        except ValueError:
            message = None
        return self.scrub(str(message)) if message else f"HTTP {response.status_code} {response.reason_phrase}"

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None) -> httpx.Response:
        return await self.http.request(method, self.base_url + path, params=self.params(params),
                                       headers=self.headers, json=body)

    # --- reads ---------------------------------------------------------------------------------

    async def read(self, path: str, what: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = await self.request("GET", path, params=params)
        except httpx.TimeoutException:
            raise ConnectorError(f"Mirakl did not answer {what} in time") from None
        except httpx.TransportError as exc:
            raise ConnectorError(f"cannot reach Mirakl for {what} ({type(exc).__name__})") from None
        self.raise_for_read(response, what)
        return response

    async def read_json(self, path: str, what: str, params: dict[str, Any] | None = None) -> Any:
        response = await self.read(path, what, params)
        try:
            # orjson: three times faster than json on order pages, the bulk of an import's parsing.
            return orjson.loads(response.content)
        except ValueError:  # orjson.JSONDecodeError is a ValueError
            raise MalformedResponseError(
                f"Mirakl answered {what} with malformed JSON ({len(response.content)} bytes)"
            ) from None

    def raise_for_read(self, response: httpx.Response, what: str) -> None:
        code = response.status_code
        if code < 400:
            return
        if code in (401, 403):
            shop = f" for shop {self.shop_id}" if self.shop_id else ""
            raise AuthenticationError(f"Mirakl refused the API key{shop} (HTTP {code}: "
                                      f"{self.mirakl_message(response)}); check api_key and shop_id")
        if code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimitedError(f"Mirakl rate limit reached for {what}; retry in {retry_after:.0f} s",
                                   retry_after=retry_after)
        if code >= 500:
            raise ConnectorError(f"Mirakl failed {what} (HTTP {code}); will retry", retryable=True)
        raise ConnectorError(f"Mirakl refused {what}: {self.mirakl_message(response)}", retryable=False)

    # --- actions -------------------------------------------------------------------------------

    async def act(self, method: str, path: str, what: str, body: Any = None) -> httpx.Response | ActionResult:
        """The response when Mirakl accepted (2xx) or refused (400/409/422: the caller decides whether it
        is a replay); an ActionResult for everything else."""
        try:
            response = await self.request(method, path, body=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Mirakl: safe to send again.
            return ActionResult.retryable(f"cannot reach Mirakl for {what} ({type(exc).__name__})")
        except httpx.TimeoutException:
            return ActionResult.ambiguous(f"Mirakl did not answer {what} in time; it may have been applied")
        except httpx.TransportError as exc:
            return ActionResult.ambiguous(
                f"the connection broke during {what} ({type(exc).__name__}); it may have been applied")
        code = response.status_code
        if code < 300 or code in WRONG_STATE:
            return response
        message = self.mirakl_message(response)
        if code == 429:
            return ActionResult.rate_limited(parse_retry_after(response.headers.get("Retry-After")),
                                             f"Mirakl rate limit reached for {what}")
        if code in (401, 403):
            # Fixable by the merchant: keep the action instead of losing it as rejected.
            return ActionResult.retryable(f"Mirakl refused the API key for {what} (HTTP {code}); check api_key "
                                          "and shop_id", retry_after=300)
        if code == 404:
            return ActionResult.rejected(f"Mirakl does not know this order ({what}): {message}")
        if code == 503:
            retry = response.headers.get("Retry-After")
            return ActionResult.retryable(f"Mirakl is unavailable for {what} (HTTP 503)",
                                          parse_retry_after(retry) if retry else None)
        if code >= 500:
            # The operation may have run before the server failed: re-read before resending.
            return ActionResult.ambiguous(f"Mirakl failed during {what} (HTTP {code}); it may have been applied")
        return ActionResult.rejected(f"Mirakl refused {what}: {message}")
