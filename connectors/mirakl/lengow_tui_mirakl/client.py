"""The Mirakl MarketplaceClient: one channel = one shop on one operator's Mirakl instance."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import httpx

from lengow_tui.connector_api import (
    ListedOrder,
    ActionKind,
    ActionRequest,
    ActionResult,
    AuthenticationError,
    CheckResult,
    ClientContext,
    ConnectorError,
    DocumentContent,
    LineSelection,
    MalformedResponseError,
    MarketplaceClient,
    OrderPage,
    RemoteDocument,
    RemoteOrder,
)
from lengow_tui_mirakl import actions as act
from lengow_tui_mirakl.convert import ZIP_PREFIX, documents_by_order, to_listed, to_remote
from lengow_tui_mirakl.cursor import Cursor
from lengow_tui_mirakl.declarations import OTHER_CARRIER, declaration
from lengow_tui_mirakl.settings import Settings, SettingsError
from lengow_tui_mirakl.transport import MiraklHttp

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Orders in these states have no documents yet: OR72 is not asked about them.
NO_DOCUMENTS = frozenset({"STAGING", "WAITING_ACCEPTANCE", "REFUSED"})


def _mirakl_time(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class MiraklClient(MarketplaceClient):
    def __init__(self, ctx: ClientContext) -> None:
        self.ctx = ctx
        self._own_http: httpx.AsyncClient | None = None
        self.problem: str | None = None
        self._carriers: dict[str, dict[str, Any]] | None = None
        self._reasons: dict[str, set[str]] | None = None
        try:
            self.settings: Settings | None = Settings.from_config(ctx.config)
        except SettingsError as exc:
            self.settings, self.problem = None, f"Mirakl settings of channel {ctx.channel}: {exc}"
            return
        self.marketplace = self.settings.operator
        self.declaration = declaration(self.marketplace)
        http = ctx.http
        if http is None:  # the host normally provides one; tools and scripts may not
            http = self._own_http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self.api = _make_http(http, self.settings)

    # --- helpers -------------------------------------------------------------------------------

    def _require_settings(self) -> Settings:
        if self.settings is None:
            raise ConnectorError(self.problem or "Mirakl settings are invalid", retryable=False)
        return self.settings

    async def _orders_json(self, params: dict[str, Any], what: str) -> tuple[list[Any], int]:
        data = await self.api.read_json("/api/orders", what, params)
        orders = data.get("orders") if isinstance(data, dict) else None
        total = data.get("total_count") if isinstance(data, dict) else None
        if not isinstance(orders, list) or not isinstance(total, int):
            raise MalformedResponseError(f"Mirakl answered {what} without an orders list and total_count")
        return orders, total

    async def _documents(self, orders: Sequence[Any]) -> dict[str, list[RemoteDocument]]:
        ids = [o["order_id"] for o in orders if o.get("order_state") not in NO_DOCUMENTS]
        if not ids or not self._require_settings().fetch_documents:
            return {}
        payload = await self.api.read_json("/api/orders/documents", "the document list (OR72)",
                                           {"order_ids": ",".join(ids)})
        return documents_by_order(payload)

    async def _raw_order(self, order_id: str) -> dict[str, Any] | None:
        orders, _ = await self._orders_json({"order_ids": order_id}, f"order {order_id[:40]} (OR11)")
        for order in orders:
            if isinstance(order, dict) and order.get("order_id") == order_id:
                return order
        return None

    # --- MarketplaceClient ---------------------------------------------------------------------

    async def check(self) -> CheckResult:
        if self.settings is None:
            return CheckResult(ok=False, message=self.problem or "invalid settings")
        try:
            account = await self.api.read_json("/api/account", "the shop account (A01)")
        except AuthenticationError as exc:
            return CheckResult(ok=False, message=str(exc))
        except ConnectorError as exc:
            return CheckResult(ok=False, message=f"cannot use Mirakl at {self.settings.base_url}: {exc}")
        name = account.get("shop_name") if isinstance(account, dict) else None
        shop = account.get("shop_id") if isinstance(account, dict) else None
        market = self.declaration.name if self.declaration else self.marketplace
        return CheckResult(ok=True, message=f"connected to Mirakl shop {name or '?'} (id {shop}) for {market}")

    async def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        settings = self._require_settings()
        previous = Cursor.decode(cursor)
        if previous is not None and previous.mid_pass:
            since, offset, next_since = previous.since, previous.offset, previous.next_since
        else:
            since, offset = (previous.since if previous else None), 0
            next_since = self.ctx.now() - timedelta(seconds=settings.overlap_seconds)
        seen: dict[str, Any] = {}
        while True:
            params: dict[str, Any] = {"max": settings.page_size, "offset": offset, "sort": "dateCreated",
                                      "order": "asc"}
            if since is not None:
                params["start_update_date"] = _mirakl_time(since)
            raw_orders, total = await self._orders_json(params, f"the order list (OR11, offset {offset})")
            fresh: dict[str, tuple[Any, ListedOrder]] = {}
            for raw in raw_orders:
                listed = to_listed(raw, self.marketplace)
                # Mirakl subtracts a delta from start_update_date: orders older than what we asked for
                # were imported by the previous pass (it began later than they changed).
                if since is not None and listed.updated_at < since:
                    continue
                last = seen.get(listed.order_id)
                if last is not None and last >= listed.updated_at:
                    continue  # moved within this pass: already yielded
                seen[listed.order_id] = listed.updated_at
                fresh[listed.order_id] = (raw, listed)
            offset += len(raw_orders)
            done = len(raw_orders) < settings.page_size or offset >= total
            following = Cursor(next_since) if done else Cursor(since, offset, next_since)
            # Listed, not converted: the host loads only the orders it lacks or holds older, so a
            # re-read of unchanged orders costs neither conversion nor the documents call (OR72).
            yield OrderPage((), following.encode(), listed=tuple(listed for _, listed in fresh.values()),
                            load=partial(self._load_listed, fresh))
            if done:
                return

    async def _load_listed(self, fresh: dict[str, tuple[Any, ListedOrder]],
                           wanted: Sequence[ListedOrder]) -> tuple[RemoteOrder, ...]:
        raws = [fresh[order.order_id][0] for order in wanted]
        orders = [to_remote(raw, self.marketplace) for raw in raws]
        documents = await self._documents(raws) if raws else {}
        return tuple(_with_documents(order, documents.get(order.order_id, ())) for order in orders)

    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        self._require_settings()
        raw = await self._raw_order(order_id)
        if raw is None:
            return None
        documents = await self._documents([raw])
        return to_remote(raw, self.marketplace, documents.get(order_id, ()))

    async def list_documents(self, marketplace: str, order_id: str) -> Sequence[RemoteDocument]:
        self._require_settings()
        payload = await self.api.read_json("/api/orders/documents", "the document list (OR72)",
                                           {"order_ids": order_id})
        return tuple(documents_by_order(payload).get(order_id, ()))

    async def fetch_document(self, marketplace: str, order_id: str, document: RemoteDocument) -> DocumentContent:
        self._require_settings()
        bundle = document.document_id.startswith(ZIP_PREFIX)
        params = {"order_ids": order_id} if bundle else {"document_ids": document.document_id}
        response = await self.api.read("/api/orders/documents/download", "a document download (OR73)", params)
        data = response.content
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if not bundle and content_type == "application/zip":
            # One id should give the file itself; unwrap a one-file ZIP if an instance zips anyway.
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                if len(names) != 1:
                    raise MalformedResponseError(f"Mirakl sent {len(names)} files for one document")
                data = archive.read(names[0])
            content_type = document.content_type
        if bundle and not zipfile.is_zipfile(io.BytesIO(data)):
            raise MalformedResponseError("Mirakl's document bundle (OR73) is not a ZIP file")
        return DocumentContent(filename=document.filename, content_type=content_type or document.content_type,
                               data=data)

    async def aclose(self) -> None:
        if self._own_http is not None:
            await self._own_http.aclose()

    # --- actions -------------------------------------------------------------------------------

    async def perform(self, request: ActionRequest) -> ActionResult:
        if self.settings is None:  # fixable by the merchant: keep the action
            return ActionResult.retryable(self.problem or "invalid settings", retry_after=300)
        try:
            order = await self._raw_order(request.order_id)
        except ConnectorError as exc:
            return _read_failure(exc, "reading the order before the action")
        if order is None:
            return ActionResult.rejected(f"Mirakl does not know order {request.order_id}")
        line_ids = [s.line_id for s in request.lines] or [
            str(line.get("order_line_id")) for line in order.get("order_lines") or ()
            if line.get("order_line_state") not in act.STOPPED]
        if request.attempt > 1 and act.effect_visible(request.kind, order, line_ids, request.arguments.get("reason")):
            return ActionResult.already_applied("Mirakl already shows this change")
        handlers = {
            ActionKind.ACCEPT: self._accept_or_refuse, ActionKind.REFUSE: self._accept_or_refuse,
            ActionKind.SHIP: self._ship, ActionKind.CANCEL: self._cancel, ActionKind.REFUND: self._refund,
        }
        handler = handlers.get(request.kind)
        if handler is None:
            return ActionResult.not_supported(f"Mirakl connector does not support {request.kind}")
        selections = request.lines or tuple(LineSelection(i) for i in line_ids)
        return await handler(request, order, selections)

    async def _outcome(self, answer: httpx.Response | ActionResult, request: ActionRequest, what: str,
                       line_ids: Sequence[str]) -> ActionResult | None:
        """None when Mirakl accepted; else the result (a refused replay becomes already_applied)."""
        if isinstance(answer, ActionResult):
            return answer
        if answer.status_code < 300:
            return None
        message = self.api.mirakl_message(answer)
        try:
            now = await self._raw_order(request.order_id)
        except ConnectorError:
            now = None
        if now is not None and act.effect_visible(request.kind, now, line_ids, request.arguments.get("reason")):
            return ActionResult.already_applied(f"Mirakl already shows this change ({message})")
        return ActionResult.rejected(f"Mirakl refused {what}: {message}")

    async def _accept_or_refuse(self, request: ActionRequest, order: dict[str, Any],
                                selections: Sequence[LineSelection]) -> ActionResult:
        line_ids = [s.line_id for s in selections]
        verb = "acceptance" if request.kind == ActionKind.ACCEPT else "refusal"
        what = f"the {verb} of order {request.order_id} (OR21)"
        answer = await self.api.act("PUT", f"/api/orders/{_path(request.order_id)}/accept", what,
                                    act.accept_body(request, line_ids))
        failed = await self._outcome(answer, request, what, line_ids)
        return failed or ActionResult.applied(f"{len(line_ids)} line(s) {'accepted' if verb == 'acceptance' else 'refused'}")

    async def _tracking_body(self, arguments: dict[str, str]) -> dict[str, Any] | ActionResult:
        carrier = arguments.get("carrier", "")
        number = arguments.get("tracking_number") or None
        if carrier.upper() == OTHER_CARRIER:
            body: dict[str, Any] = {"carrier_name": arguments.get("carrier_name", "")}
            if arguments.get("carrier_url"):
                body["carrier_url"] = arguments["carrier_url"]
        else:
            registered = await self._carrier_list()
            if isinstance(registered, ActionResult):
                return registered
            if carrier in registered:
                body = {"carrier_code": carrier}
            else:
                # Declared here but not registered on this instance (SH21): send it as an unknown carrier.
                spec = self.declaration.carrier(carrier) if self.declaration else None
                body = {"carrier_name": spec.label if spec else carrier}
                url = arguments.get("carrier_url") or (spec.tracking_url(number or "") if spec else None)
                if url:
                    body["carrier_url"] = url
        if number:
            body["tracking_number"] = number
        return body

    async def _ship(self, request: ActionRequest, order: dict[str, Any],
                    selections: Sequence[LineSelection]) -> ActionResult:
        body = await self._tracking_body(dict(request.arguments))
        if isinstance(body, ActionResult):
            return body
        path = f"/api/orders/{_path(request.order_id)}"
        what = f"the tracking of order {request.order_id} (OR23)"
        failed = await self._outcome(await self.api.act("PUT", path + "/tracking", what, body), request, what, [])
        if failed is not None:
            return failed
        what = f"the shipment of order {request.order_id} (OR24)"
        failed = await self._outcome(await self.api.act("PUT", path + "/ship", what), request, what, [])
        return failed or ActionResult.applied("tracking sent and shipment confirmed")

    async def _cancel(self, request: ActionRequest, order: dict[str, Any],
                      selections: Sequence[LineSelection]) -> ActionResult:
        line_ids = [s.line_id for s in selections]
        if act.is_full_cancel(order, selections):
            what = f"the cancellation of order {request.order_id} (OR29)"
            answer = await self.api.act("PUT", f"/api/orders/{_path(request.order_id)}/cancel", what)
        else:
            reason = request.arguments.get("reason", "")
            problem = await self._check_reason("CANCELATION", reason)
            if problem is not None:
                return problem
            what = f"the cancellation of {len(line_ids)} line(s) of order {request.order_id} (OR30)"
            answer = await self.api.act("PUT", "/api/orders/cancel", what, act.cancel_body(order, selections, reason))
        failed = await self._outcome(answer, request, what, line_ids)
        return failed or ActionResult.applied(f"{len(line_ids)} line(s) canceled")

    async def _refund(self, request: ActionRequest, order: dict[str, Any],
                      selections: Sequence[LineSelection]) -> ActionResult:
        reason = request.arguments.get("reason", "")
        problem = await self._check_reason("REFUND", reason)
        if problem is not None:
            return problem
        line_ids = [s.line_id for s in selections]
        known = act.lines_by_id(order)
        missing = [i for i in line_ids if i not in known]
        if missing:
            return ActionResult.rejected(f"order {request.order_id} has no line {missing[0]}")
        body = act.refund_body(order, selections, reason, request.arguments.get("refund_shipping") == "yes")
        what = f"the refund of {len(line_ids)} line(s) of order {request.order_id} (OR28)"
        failed = await self._outcome(await self.api.act("PUT", "/api/orders/refund", what, body), request, what,
                                     line_ids)
        total = sum(r["amount"] + r.get("shipping_amount", 0) for r in body["refunds"])
        return failed or ActionResult.applied(f"refund of {total:.2f} {order.get('currency_iso_code') or ''} requested")

    # --- reference lists (SH21 carriers, RE01 reasons), read once per client ---------------------

    async def _carrier_list(self) -> dict[str, dict[str, Any]] | ActionResult:
        if self._carriers is None:
            try:
                data = await self.api.read_json("/api/shipping/carriers", "the carrier list (SH21)")
            except ConnectorError as exc:
                return _read_failure(exc, "reading the carrier list (SH21)")
            carriers = data.get("carriers") if isinstance(data, dict) else None
            if not isinstance(carriers, list):
                return ActionResult.retryable("Mirakl's carrier list (SH21) is malformed")
            self._carriers = {str(c.get("code")): c for c in carriers if isinstance(c, dict) and c.get("code")}
        return self._carriers

    async def _check_reason(self, reason_type: str, code: str) -> ActionResult | None:
        if self._reasons is None:
            try:
                data = await self.api.read_json("/api/reasons", "the reason list (RE01)")
            except ConnectorError as exc:
                return _read_failure(exc, "reading the reason list (RE01)")
            reasons = data.get("reasons") if isinstance(data, dict) else None
            if not isinstance(reasons, list):
                return ActionResult.retryable("Mirakl's reason list (RE01) is malformed")
            found: dict[str, set[str]] = {}
            for reason in reasons:
                if isinstance(reason, dict) and reason.get("code") and reason.get("is_shop_right", True):
                    found.setdefault(str(reason.get("type")), set()).add(str(reason["code"]))
            self._reasons = found
        valid = self._reasons.get(reason_type, set())
        if code not in valid:
            listed = ", ".join(sorted(valid)) or "none"
            return ActionResult.rejected(f"reason {code!r} is not a {reason_type} reason on this Mirakl instance "
                                         f"(RE01 lists: {listed})")
        return None


def _make_http(http: httpx.AsyncClient, settings: Settings) -> MiraklHttp:
    return MiraklHttp(http, settings.base_url, settings.api_key, settings.shop_id)


def _path(order_id: str) -> str:
    from urllib.parse import quote

    return quote(order_id, safe="")


def _with_documents(order: RemoteOrder, documents: Sequence[RemoteDocument]) -> RemoteOrder:
    if not documents:
        return order
    from dataclasses import replace

    return replace(order, documents=tuple(documents))


def _read_failure(exc: ConnectorError, what: str) -> ActionResult:
    """A failed read before sending anything: nothing was applied, so it is safe to retry."""
    from lengow_tui.connector_api import RateLimitedError

    if isinstance(exc, RateLimitedError):
        return ActionResult.rate_limited(exc.retry_after, f"Mirakl rate limit reached while {what}")
    return ActionResult.retryable(f"{what} failed: {exc}", retry_after=300 if isinstance(exc, AuthenticationError)
                                  else None)
