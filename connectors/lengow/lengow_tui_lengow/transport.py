"""HTTP to the Lengow API: the token, ``account_id`` on every call, the client-side limit, and what
answers mean.

Authentication (reference/lengow.md §1.2): ``POST /access/get_token`` with ``access_token`` + ``secret``
(form-encoded) gives ``{"token", "account_id"}``; the raw token goes in ``Authorization`` (no "Bearer").
A token lives one hour; like Lengow's plugins we renew it after 3000 s, and at once when a call answers
401/403 (expired or revoked), retrying that call once. Reads raise ConnectorError subclasses; actions
turn every answer into an ActionResult. Messages never contain the keys or the token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from lengow_tui.connector_api import (
    ActionResult,
    AuthenticationError,
    ConnectorError,
    MalformedResponseError,
    RateLimitedError,
    parse_retry_after,
)
from lengow_tui_lengow.ratelimit import CallWindow
from lengow_tui_lengow.settings import Settings

TOKEN_LIFETIME = timedelta(seconds=3000)  # Lengow's is 3600 s; renewed early as its plugins do
AUTH_CODES = (401, 403)
LIMITED_PREFIX = "/v3.0/orders"  # /v3.0/orders, /v3.0/orders/moi/, /v3.0/orders/actions/: 500 calls/min
# Lengow's validation answers ("530 Logical Error" in its legacy docs): the call changed nothing.
REFUSALS = (400, 409, 422, 530)


class ClientSideLimit(RateLimitedError):
    """Our own 500 calls/minute budget is spent: the call was not made."""


class LengowHttp:
    def __init__(self, http: httpx.AsyncClient, settings: Settings, now: Callable[[], datetime]) -> None:
        self.http = http
        self.settings = settings
        self.now = now
        self.account_id: int | None = settings.account_id
        self.window = CallWindow(settings.calls_per_minute)
        self._token: str | None = None
        self._token_at: datetime | None = None

    # --- messages ------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        for secret in (self.settings.access_token, self.settings.secret, self._token):
            if secret:
                text = text.replace(secret, "***")
        text = " ".join(text.split())
        return text[:300] + ("…" if len(text) > 300 else "")

    def lengow_message(self, response: httpx.Response) -> str:
        """Lengow's error text (``{"error": {"message", "code"}}``), or the status line."""
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        message: Any = None
        if isinstance(data, dict):
            error = data.get("error")
            message = error.get("message") if isinstance(error, dict) else error or data.get("detail")
        return self.scrub(str(message)) if message else f"HTTP {response.status_code} {response.reason_phrase}"

    def _account(self) -> str:
        return f" for account {self.account_id}" if self.account_id is not None else ""

    # --- the token -----------------------------------------------------------------------------

    async def token(self, *, force: bool = False) -> str:
        fresh = self._token_at is not None and self.now() - self._token_at < TOKEN_LIFETIME
        if self._token and fresh and not force:
            return self._token
        what = "a token (/access/get_token)"
        try:
            response = await self.http.post(self.settings.base_url + "/access/get_token",
                                            data={"access_token": self.settings.access_token,
                                                  "secret": self.settings.secret},
                                            headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise ConnectorError(f"Lengow did not answer {what} in time") from None
        except httpx.TransportError as exc:
            raise ConnectorError(f"cannot reach Lengow at {self.settings.base_url} ({type(exc).__name__})") from None
        code = response.status_code
        if code in (400, 401, 403):
            raise AuthenticationError(f"Lengow refused the access_token/secret pair (HTTP {code}: "
                                      f"{self.lengow_message(response)}); check access_token and secret")
        self.raise_for_read(response, what)
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponseError(f"Lengow answered {what} without a token")
        if self.account_id is None:
            account = data.get("account_id") if isinstance(data, dict) else None
            if not isinstance(account, int):
                raise MalformedResponseError(f"Lengow answered {what} without account_id; set account_id")
            self.account_id = account
        self._token, self._token_at = token, self.now()
        return token

    # --- one call ------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      data: dict[str, Any] | None = None) -> httpx.Response:
        """One call with the token and ``account_id``; a 401/403 renews the token and retries once.

        Raises ClientSideLimit before calling when the minute's budget is spent, the token errors of
        :meth:`token`, and httpx transport errors."""
        for attempt in (1, 2):
            token = await self.token(force=attempt == 2)
            if path.startswith(LIMITED_PREFIX):
                wait = self.window.reserve()
                if wait:
                    raise ClientSideLimit(f"{self.settings.calls_per_minute} calls per minute on Lengow's order "
                                          f"routes reached; next call in {wait:.0f} s", retry_after=wait)
            query = {**(params or {}), "account_id": self.account_id}  # mandatory on every call
            body = {**data, "account_id": self.account_id} if data is not None else None
            response = await self.http.request(method, self.settings.base_url + path, params=query, data=body,
                                               headers={"Authorization": token, "Accept": "application/json"})
            if response.status_code not in AUTH_CODES or attempt == 2:
                return response
        raise AssertionError("unreachable")

    # --- reads ---------------------------------------------------------------------------------

    async def read_json(self, path: str, what: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self.request("GET", path, params=params)
        except httpx.TimeoutException:
            raise ConnectorError(f"Lengow did not answer {what} in time") from None
        except httpx.TransportError as exc:
            raise ConnectorError(f"cannot reach Lengow for {what} ({type(exc).__name__})") from None
        self.raise_for_read(response, what)
        try:
            return json.loads(response.content)
        except ValueError:
            raise MalformedResponseError(
                f"Lengow answered {what} with malformed JSON ({len(response.content)} bytes)") from None

    def raise_for_read(self, response: httpx.Response, what: str) -> None:
        code = response.status_code
        if code < 400:
            return
        if code in AUTH_CODES:
            raise AuthenticationError(f"Lengow refused the token{self._account()} even after renewing it "
                                      f"(HTTP {code}: {self.lengow_message(response)}); check access_token, "
                                      "secret and account_id")
        if code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimitedError(f"Lengow rate limit reached for {what}; retry in {retry_after:.0f} s",
                                   retry_after=retry_after)
        if code >= 500 and code != 530:
            raise ConnectorError(f"Lengow failed {what} (HTTP {code}); will retry", retryable=True)
        raise ConnectorError(f"Lengow refused {what}: {self.lengow_message(response)}", retryable=False)

    # --- actions -------------------------------------------------------------------------------

    async def act(self, path: str, what: str, data: dict[str, Any]) -> httpx.Response | ActionResult:
        """The response when Lengow created the action (2xx) or refused it (400/530: nothing created);
        an ActionResult for everything else."""
        try:
            response = await self.request("POST", path, data=data)
        except RateLimitedError as exc:  # our own budget, or get_token answering 429: nothing was sent
            return ActionResult.rate_limited(exc.retry_after, f"Lengow rate limit reached before {what}")
        except AuthenticationError as exc:
            # Fixable by the merchant: keep the action instead of losing it as rejected.
            return ActionResult.retryable(str(exc), retry_after=300)
        except ConnectorError as exc:  # the token could not be read: nothing was sent
            return ActionResult.retryable(f"{what} not sent: {exc}")
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return ActionResult.retryable(f"cannot reach Lengow for {what} ({type(exc).__name__})")
        except httpx.TimeoutException:
            return ActionResult.ambiguous(f"Lengow did not answer {what} in time; it may have been created")
        except httpx.TransportError as exc:
            return ActionResult.ambiguous(
                f"the connection broke during {what} ({type(exc).__name__}); it may have been created")
        code = response.status_code
        if code < 300 or code in REFUSALS:
            return response
        if code == 429:
            return ActionResult.rate_limited(parse_retry_after(response.headers.get("Retry-After")),
                                             f"Lengow rate limit reached for {what}")
        if code in AUTH_CODES:
            return ActionResult.retryable(f"Lengow refused the token{self._account()} for {what} (HTTP {code}); "
                                          "check access_token, secret and account_id", retry_after=300)
        if code == 404:
            return ActionResult.rejected(f"Lengow does not know this order ({what}): {self.lengow_message(response)}")
        if code == 503:
            retry = response.headers.get("Retry-After")
            return ActionResult.retryable(f"Lengow is unavailable for {what} (HTTP 503)",
                                          parse_retry_after(retry) if retry else None)
        if code >= 500:
            # The action may have been created before the server failed: re-read before resending.
            return ActionResult.ambiguous(f"Lengow failed during {what} (HTTP {code}); it may have been created")
        return ActionResult.rejected(f"Lengow refused {what}: {self.lengow_message(response)}")
