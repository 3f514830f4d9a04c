"""The Marché Exemple client: how lengow-tui talks to the marketplace's HTTP API.

API (as the emulator implements it): ``X-Api-Key`` header; ``GET /v1/account``;
``GET /v1/orders?after=<seq>&limit=<n>`` (orders changed after a change sequence number, oldest first);
``GET /v1/orders/<id>``; ``POST /v1/orders/<id>/<accept|refuse|ship|cancel>`` with an
``Idempotency-Key`` header; ``GET /v1/orders/<id>/invoice`` (PDF).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from lengow_tui.connector_api import (
    ActionRequest,
    ActionResult,
    AuthenticationError,
    CheckResult,
    ClientContext,
    ConnectorError,
    DocumentContent,
    DocumentKind,
    MalformedResponseError,
    MarketplaceClient,
    OrderPage,
    PartyRole,
    RateLimitedError,
    RemoteDocument,
    RemoteLine,
    RemoteOrder,
    RemoteParty,
    RemoteTracking,
    parse_retry_after,
)

from lengow_tui_template.declarations import CARRIERS, MARCHE_EXEMPLE

# Log ids, statuses, counts and timings; never config values (the API key) nor customer data.
log = logging.getLogger(__name__)

CODE = MARCHE_EXEMPLE.code


def _cents(value: Any) -> int:
    return int(round(float(value) * 100))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def to_remote(raw: dict[str, Any]) -> RemoteOrder:
    """One order of the API -> the connector API's RemoteOrder (raises KeyError/ValueError on bad shapes)."""
    customer = raw.get("customer") or {}
    address = RemoteParty(
        role=PartyRole.SHIPPING, name=customer.get("name", ""), address1=customer.get("address", ""),
        zipcode=customer.get("zip", ""), city=customer.get("city", ""), country=customer.get("country", ""),
        email=customer.get("email", ""), phone=customer.get("phone", ""),
    )
    parcels = raw.get("parcels") or []
    tracking = None
    if parcels:
        last = parcels[-1]
        carrier = next((c for c in CARRIERS if c.code == last["carrier"]), None)
        tracking = RemoteTracking(
            carrier_code=last["carrier"], carrier_name=last.get("carrier_name") or (carrier.label if carrier else ""),
            tracking_number=last["tracking_number"],
            tracking_url=(carrier.tracking_url(last["tracking_number"]) if carrier else None) or "",
            shipped_at=_time(last["shipped_at"]),
        )
    documents = ()
    if raw.get("invoice"):
        documents = (RemoteDocument(f"{raw['id']}:invoice", DocumentKind.INVOICE, f"facture-{raw['id']}.pdf"),)
    lines = tuple(
        RemoteLine(line_id=str(line["id"]), sku=line["sku"], title=line["title"], quantity=int(line["qty"]),
                   amount_cents=_cents(line["price"]) * int(line["qty"]))
        for line in raw["lines"]
    )
    return RemoteOrder(
        marketplace=CODE, order_id=str(raw["id"]), raw_status=str(raw["status"]),
        updated_at=_time(raw["updated_at"]), ordered_at=_time(raw["created_at"]), currency=raw["currency"],
        total_cents=_cents(raw["total"]), shipping_cents=_cents(raw.get("shipping", 0)), lines=lines,
        parties=(address,) if customer else (), tracking=tracking, documents=documents, raw=raw,
    )


class MarcheExempleClient(MarketplaceClient):
    def __init__(self, ctx: ClientContext) -> None:
        self.ctx = ctx
        self.base_url = str(ctx.config.get("base_url") or "").rstrip("/")
        self.page_size = max(1, min(100, int(ctx.config.get("page_size") or 50)))
        # The host gives a shared client with its timeouts; scripts and tools may not.
        self._own_http = None if ctx.http is not None else httpx.AsyncClient(timeout=10)
        self.http: httpx.AsyncClient = ctx.http or self._own_http  # type: ignore[assignment]

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"X-Api-Key": str(self.ctx.config.get("api_key") or ""), "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _get(self, path: str, what: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """A read: the answer, or an exception the host understands (its message names no secret)."""
        try:
            response = await self.http.get(self.base_url + path, params=params, headers=self._headers())
        except httpx.TransportError as exc:
            raise ConnectorError(f"Marché Exemple did not answer {what}: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise AuthenticationError(f"Marché Exemple refused the API key (HTTP {response.status_code}); "
                                      "check api_key in the channel's config")
        if response.status_code == 429:
            raise RateLimitedError(f"Marché Exemple rate limited {what}",
                                   retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            raise ConnectorError(f"Marché Exemple failed {what} (HTTP {response.status_code})", retryable=True)
        return response

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise MalformedResponseError(f"Marché Exemple answered {what} with something that is not JSON") from None

    async def check(self) -> CheckResult:
        if not self.base_url.startswith(("http://", "https://")):
            return CheckResult(ok=False, message="base_url must be an http(s) URL")
        try:
            response = await self._get("/v1/account", "the account check")
        except ConnectorError as exc:
            return CheckResult(ok=False, message=str(exc))
        shop = self._json(response, "the account check").get("shop", "?")
        return CheckResult(ok=True, message=f"connected to Marché Exemple as {shop}")

    async def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        # The cursor is the marketplace's change sequence number of the last order we yielded.
        after = int(cursor) if cursor and cursor.isdigit() else 0
        while True:
            response = await self._get("/v1/orders", f"the order list (after {after})",
                                       {"after": after, "limit": self.page_size})
            if response.status_code != 200:
                raise ConnectorError(f"Marché Exemple answered HTTP {response.status_code} to the order list")
            body = self._json(response, "the order list")
            try:
                raws = body["orders"]
                orders = tuple(to_remote(raw) for raw in raws)
                last = max((int(raw["seq"]) for raw in raws), default=after)
            except (KeyError, TypeError, ValueError) as exc:
                raise MalformedResponseError(f"an order of Marché Exemple has an unexpected shape ({exc!r})") from None
            log.debug("marche_exemple: %d order(s) after change %d", len(orders), after)
            if not orders:
                return
            yield OrderPage(orders, str(last))
            if len(orders) < self.page_size:
                return
            after = last

    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        response = await self._get(f"/v1/orders/{quote(order_id, safe='')}", f"order {order_id}")
        if response.status_code == 404:
            return None
        try:
            return to_remote(self._json(response, f"order {order_id}"))
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponseError(f"order {order_id} has an unexpected shape ({exc!r})") from None

    async def perform(self, request: ActionRequest) -> ActionResult:
        declared = MARCHE_EXEMPLE.action(request.kind)
        if declared is None:  # answer before any HTTP call: the marketplace has no such operation
            return ActionResult.not_supported(f"Marché Exemple has no {request.kind} operation")
        path = f"/v1/orders/{quote(request.order_id, safe='')}/{request.kind}"
        try:
            # action_id is the same for every retry of one intent: the marketplace applies it once.
            response = await self.http.post(self.base_url + path, json=dict(request.arguments),
                                            headers=self._headers(idempotency_key=request.action_id))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
            return ActionResult.retryable(f"Marché Exemple is unreachable ({type(exc).__name__})")
        except httpx.TransportError as exc:  # sent, but we never saw the answer
            return ActionResult.ambiguous(f"no answer from Marché Exemple ({type(exc).__name__})")
        status = response.status_code
        log.debug("marche_exemple: %s on order %s -> HTTP %d", request.kind, request.order_id, status)
        if status == 429:
            return ActionResult.rate_limited(parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            return ActionResult.retryable(f"Marché Exemple failed (HTTP {status})")
        if status in (401, 403):  # fixable by the merchant: keep the action, retry later
            return ActionResult.retryable("Marché Exemple refused the API key; check api_key", retry_after=300)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if 200 <= status < 300:
            if body.get("replayed"):
                return ActionResult.already_applied("Marché Exemple had already applied this action")
            return ActionResult.applied()
        # 400, 404, 409: refused; the marketplace's message says why (shown to the merchant).
        return ActionResult.rejected(str(body.get("error") or f"refused (HTTP {status})"))

    async def list_documents(self, marketplace: str, order_id: str) -> Sequence[RemoteDocument]:
        order = await self.get_order(marketplace, order_id)
        return () if order is None else order.documents

    async def fetch_document(self, marketplace: str, order_id: str, document: RemoteDocument) -> DocumentContent:
        if document.kind != DocumentKind.INVOICE:
            raise ConnectorError(f"Marché Exemple has no {document.kind} documents", retryable=False)
        response = await self._get(f"/v1/orders/{quote(order_id, safe='')}/invoice", f"the invoice of {order_id}")
        if response.status_code != 200:
            raise ConnectorError(f"no invoice for order {order_id} (HTTP {response.status_code})", retryable=False)
        return DocumentContent(document.filename, response.headers.get("content-type", "application/pdf"),
                               response.content)

    async def aclose(self) -> None:
        if self._own_http is not None:
            await self._own_http.aclose()
