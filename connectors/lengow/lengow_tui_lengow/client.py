"""The Lengow MarketplaceClient: one channel = one Lengow account, every marketplace it sells on."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from lengow_tui.connector_api import (
    Status,
    ActionKind,
    ActionOutcome,
    ActionRequest,
    ActionResult,
    AuthenticationError,
    CheckResult,
    ClientContext,
    ConnectorError,
    MalformedResponseError,
    MarketplaceClient,
    MarketplaceDeclaration,
    OrderPage,
    RateLimitedError,
    RemoteOrder,
)
from lengow_tui_lengow import actions as act
from lengow_tui_lengow import marketplaces as mp
from lengow_tui_lengow.convert import to_remote
from lengow_tui_lengow.cursor import Cursor
from lengow_tui_lengow.settings import Settings, SettingsError
from lengow_tui_lengow.transport import LengowHttp

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFINITIONS_TTL = 12 * 3600.0  # Lengow's plugins re-read marketplaces.json every 12 h
ORDERS = "/v3.0/orders"
ACTIONS = "/v3.0/orders/actions/"
MARKETPLACES = "/v3.0/marketplaces"
LOOKUP_YEARS = 10  # get_order: a date filter, or Lengow only searches the last 7 days


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


_ONCE_PER_ORDER = frozenset({ActionKind.ACCEPT, ActionKind.REFUSE, ActionKind.SHIP, ActionKind.CANCEL})

class LengowClient(MarketplaceClient):
    def __init__(self, ctx: ClientContext) -> None:
        self.ctx = ctx
        self._own_http: httpx.AsyncClient | None = None
        self.problem: str | None = None
        self._definitions: tuple[float, dict[str, Any]] | None = None
        try:
            self.settings: Settings | None = Settings.from_config(ctx.config)
        except SettingsError as exc:
            self.settings, self.problem = None, f"Lengow settings of channel {ctx.channel}: {exc}"
            return
        http = ctx.http
        if http is None:  # the host normally provides one; tools and scripts may not
            http = self._own_http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self.api = LengowHttp(http, self.settings, ctx.now)

    def _require_settings(self) -> Settings:
        if self.settings is None:
            raise ConnectorError(self.problem or "Lengow settings are invalid", retryable=False)
        return self.settings

    # --- marketplace definitions ---------------------------------------------------------------------

    async def definitions(self, *, refresh: bool = False) -> dict[str, Any]:
        """The raw ``/v3.0/marketplaces`` answer (object keyed by marketplace code), kept 12 hours."""
        self._require_settings()
        memo = self._definitions
        if memo is not None and not refresh and time.monotonic() - memo[0] < DEFINITIONS_TTL:
            return memo[1]
        data = await self.api.read_json(MARKETPLACES, "the marketplace definitions (/v3.0/marketplaces)")
        if not isinstance(data, dict):
            raise MalformedResponseError("Lengow's marketplace definitions are not a JSON object")
        self._definitions = (time.monotonic(), data)
        return data

    async def fetch_marketplaces(self) -> Sequence[MarketplaceDeclaration]:
        return mp.declarations(await self.definitions(refresh=True))

    async def _status_known(self) -> Any:
        """A predicate saying whether a marketplace's definition lists a raw status (None: unknown)."""
        try:
            definitions = await self.definitions()
        except ConnectorError as exc:
            if isinstance(exc, (AuthenticationError, RateLimitedError)):
                raise
            log.warning("Lengow marketplace definitions unavailable (%s); raw statuses used as sent", exc)
            return None
        raw: dict[str, set[str]] = {}
        for code, definition in definitions.items():
            orders = definition.get("orders") if isinstance(definition, Mapping) else None
            status = orders.get("status") if isinstance(orders, Mapping) else None
            raw[code] = {str(s) for values in (status or {}).values() if isinstance(values, list) for s in values} \
                if isinstance(status, Mapping) else set()
        return lambda marketplace, value: value in raw.get(marketplace, ())

    # --- MarketplaceClient ---------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        if self.settings is None:
            return CheckResult(ok=False, message=self.problem or "invalid settings")
        try:
            since = self.ctx.now() - timedelta(days=self.settings.initial_days)
            data = await self.api.read_json(ORDERS, "the order list",
                                            {"updated_from": _iso(since), "page_size": 1})
        except AuthenticationError as exc:
            return CheckResult(ok=False, message=str(exc))
        except ConnectorError as exc:
            return CheckResult(ok=False, message=f"cannot use Lengow at {self.settings.base_url}: {exc}")
        count = data.get("count") if isinstance(data, dict) else None
        changed = f"; {count} order(s) updated in the last {self.settings.initial_days} days" \
            if isinstance(count, int) else ""
        return CheckResult(ok=True, message=f"connected to Lengow account {self.api.account_id}{changed}")

    async def _orders_page(self, params: dict[str, Any], what: str) -> tuple[list[Any], bool]:
        data = await self.api.read_json(ORDERS, what, params)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or "next" not in data:
            raise MalformedResponseError(f"Lengow answered {what} without results and next")
        return results, bool(data.get("next"))

    async def fetch_orders(self, cursor: str | None) -> AsyncIterator[OrderPage]:
        settings = self._require_settings()
        previous = Cursor.decode(cursor)
        now = self.ctx.now()
        if previous is not None and previous.mid_pass:
            since, page, next_since = previous.since, previous.page, previous.next_since
            if previous.page_size != settings.page_size:
                page = 1  # page numbers of another size mean nothing: re-read the pass
        else:
            since = previous.since if previous else now - timedelta(days=settings.initial_days)
            page, next_since = 1, now - timedelta(seconds=settings.overlap_seconds)
        known = await self._status_known()
        seen: dict[tuple[str, str], datetime] = {}
        while True:
            params = {"updated_from": _iso(since), "ordering": "marketplace_order_date", "page": page,
                      "page_size": settings.page_size}
            raw_orders, more = await self._orders_page(params, f"the order list (page {page})")
            fresh = []
            for raw in raw_orders:
                remote = to_remote(raw, known)
                key = (remote.marketplace, remote.order_id)
                if key in seen and seen[key] >= remote.updated_at:
                    continue  # moved within this pass: already yielded
                seen[key] = remote.updated_at
                fresh.append(remote)
            done = not more or len(raw_orders) < settings.page_size
            following = Cursor(next_since, 1, settings.page_size) if done else \
                Cursor(since, page + 1, settings.page_size, next_since)
            yield OrderPage(tuple(fresh), following.encode())
            if done:
                return
            page += 1

    async def get_order(self, marketplace: str, order_id: str) -> RemoteOrder | None:
        self._require_settings()
        since = self.ctx.now() - timedelta(days=365 * LOOKUP_YEARS)
        results, _ = await self._orders_page(
            {"marketplace": marketplace, "marketplace_order_id": order_id, "updated_from": _iso(since)},
            f"order {order_id[:40]}")
        for raw in results:
            if isinstance(raw, Mapping) and raw.get("marketplace_order_id") == order_id \
                    and raw.get("marketplace") == marketplace:
                return to_remote(raw, await self._status_known())
        return None

    async def aclose(self) -> None:
        if self._own_http is not None:
            await self._own_http.aclose()

    # --- actions -------------------------------------------------------------------------------------

    async def _list_actions(self, marketplace: str, order_id: str, action_type: str,
                            line: str | None = None) -> list[Mapping[str, Any]]:
        params: dict[str, Any] = {"marketplace": marketplace, "marketplace_order_id": order_id,
                                  "action_type": action_type}
        if line is not None:
            params["line"] = line
        found: list[Mapping[str, Any]] = []
        for page in range(1, 51):  # one order's actions of one type: a page or two
            params["page"] = page
            data = await self.api.read_json(ACTIONS, f"the actions of order {order_id[:40]}", params)
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list):
                raise MalformedResponseError("Lengow answered the action list without results")
            found.extend(r for r in results if isinstance(r, Mapping))
            if not data.get("next"):
                break
        return found

    async def perform(self, request: ActionRequest) -> ActionResult:
        if self.settings is None:  # fixable by the merchant: keep the action
            return ActionResult.retryable(self.problem or "invalid settings", retry_after=300)
        what = f"the {request.kind.value} of order {request.order_id[:40]}"
        try:
            definitions = await self.definitions()
        except ConnectorError as exc:
            return _read_failure(exc, "reading the marketplace definitions")
        definition = _action_definition(definitions, request.marketplace, request.kind.value)
        if definition is None:
            return ActionResult.not_supported(f"Lengow does not offer {request.kind.value} on {request.marketplace}")
        targets = act.build_targets(request, definition, self.ctx.now())
        if isinstance(targets, str):
            return ActionResult.rejected(f"{what} cannot be sent: {targets}")
        ids: list[int] = []
        for index, target in enumerate(targets):
            outcome = await self._send(request, target, what)
            if isinstance(outcome, int):
                ids.append(outcome)
                continue
            if outcome.outcome is ActionOutcome.ALREADY_APPLIED:
                continue  # this line's action was processed by an earlier send of the same intent
            if not ids:
                return outcome  # nothing created by this call: the host retries, rejects or reconciles
            # Some targets were created: follow them, then report this one as refused.
            later = len(targets) - index - 1
            note = f"{target.label}: {outcome.message}" + (f" (and {later} later line(s) not sent)" if later else "")
            return ActionResult.pending(act.Handle(request.marketplace, request.order_id, request.kind.value,
                                                   tuple(ids), note).encode(), f"{len(ids)} Lengow action(s) queued")
        if not ids:  # every target was already processed at Lengow (a replay)
            return ActionResult.already_applied("Lengow already processed this action")
        return ActionResult.pending(act.Handle(request.marketplace, request.order_id, request.kind.value,
                                               tuple(ids)).encode(), f"{len(ids)} Lengow action(s) queued")

    async def _send(self, request: ActionRequest, target: act.Target, what: str) -> int | ActionResult:
        """Create one Lengow action (or find the identical one already there): its id, or why not."""
        params = target.params
        try:
            existing = await self._list_actions(request.marketplace, request.order_id, request.kind.value,
                                                target.line)
        except ConnectorError as exc:
            return _read_failure(exc, f"looking for {what} at Lengow")
        done_before = False  # an identical action was processed already
        for record in sorted(existing, key=lambda r: -int(r.get("id") or 0)):
            if not act.same_action(record, params):
                continue
            state = act.record_state(record)
            done_before = done_before or state == "processed"
            if state in ("queued", "sent"):
                return int(record["id"])  # plugins' rule: an identical queued action is not sent again
            if state == "processed" and (request.attempt > 1 or request.kind in _ONCE_PER_ORDER):
                # A resend of an intent whose first send may have gone through: it did. Accept, refuse,
                # ship and cancel happen once per order (or line), so an identical processed one is this
                # one even on a first attempt (a replay); a refund may rightly be repeated.
                return ActionResult.already_applied("Lengow already processed this action")
        if done_before and request.kind is ActionKind.REFUND and await self._refunded(request, target):
            # An identical refund was processed and the line (or order) already shows it: a replay. A partial
            # refund asked again on purpose finds the line still refundable and goes through.
            return ActionResult.already_applied("Lengow already processed this refund")
        answer = await self.api.act(ACTIONS, what, params)
        if isinstance(answer, ActionResult):
            return answer
        if answer.status_code >= 300:
            if done_before:
                # The same intent was processed before and the marketplace refuses it again: this is a
                # replay of it (a partial refund asked twice on purpose would have been accepted).
                return ActionResult.already_applied("Lengow already processed this action")
            return ActionResult.rejected(f"Lengow refused {what} ({target.label}): "
                                         f"{self.api.lengow_message(answer)}")
        try:
            created = answer.json()
        except ValueError:
            created = None
        action_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(action_id, int):
            # Plugins treat "no id" as not created; we cannot be sure, so the host re-reads first.
            return ActionResult.ambiguous(f"Lengow answered {what} without an action id")
        return action_id

    async def _refunded(self, request: ActionRequest, target: act.Target) -> bool:
        """Whether the order re-read now shows the refund of ``target`` (its line, else the order)."""
        try:
            remote = await self.get_order(request.marketplace, request.order_id)
            declaration = mp.declaration(request.marketplace,
                                         (await self.definitions()).get(request.marketplace))
        except ConnectorError:
            return False
        if remote is None or declaration is None:
            return False
        refund_states = (Status.REFUNDING, Status.PARTIAL_REFUNDED, Status.REFUNDED)
        if target.line is not None:
            line = next((l for l in remote.lines if l.line_id == target.line), None)
            status = declaration.status_map.line_status(line.raw_status) if line and line.raw_status else None
            if status is not None:
                return status in refund_states
        return declaration.status_map.resolve(remote.raw_status, [l.raw_status for l in remote.lines]) \
            in refund_states

    async def poll(self, handle: str) -> ActionResult:
        if self.settings is None:
            return ActionResult.ambiguous(self.problem or "invalid settings")
        try:
            parsed = act.Handle.decode(handle)
        except (ValueError, TypeError):
            return ActionResult.rejected("not a Lengow action handle; the action cannot be followed")
        try:
            records = await self._list_actions(parsed.marketplace, parsed.order_id, parsed.action_type)
        except RateLimitedError as exc:
            return ActionResult.rate_limited(exc.retry_after, "Lengow rate limit reached while polling an action")
        except ConnectorError as exc:
            # Keep following the same actions: nothing is resent while the answer is unknown.
            return ActionResult.ambiguous(f"cannot read the action's state at Lengow: {exc}")
        mine = {int(r["id"]): r for r in records if isinstance(r.get("id"), int) and parsed.matches(r["id"])}
        states = {i: act.record_state(mine[i]) if i in mine else "queued" for i in parsed.ids}
        waiting = [i for i, s in states.items() if s in ("queued", "sent")]
        if waiting:
            where = "queued at Lengow" if any(states[i] == "queued" for i in waiting) else "sent to the marketplace"
            return ActionResult.pending(handle, f"{len(waiting)} of {len(states)} Lengow action(s) {where}")
        errors = [act.error_text(mine[i]) for i, s in states.items() if s == "error"]
        done = sum(1 for s in states.values() if s == "processed")
        if errors or parsed.failed:
            reasons = "; ".join(dict.fromkeys(errors + ([parsed.failed] if parsed.failed else [])))
            partly = f" ({done} of {len(states)} part(s) were applied)" if done else ""
            return ActionResult.rejected(f"the marketplace refused {parsed.action_type}: {reasons}{partly}")
        return ActionResult.applied(f"{done} Lengow action(s) processed by the marketplace")


def _action_definition(definitions: Mapping[str, Any], marketplace: str, action_type: str) -> Mapping[str, Any] | None:
    definition = definitions.get(marketplace)
    orders = definition.get("orders") if isinstance(definition, Mapping) else None
    actions = orders.get("actions") if isinstance(orders, Mapping) else None
    found = actions.get(action_type) if isinstance(actions, Mapping) else None
    return found if isinstance(found, Mapping) else None


def _read_failure(exc: ConnectorError, what: str) -> ActionResult:
    """A failed read before creating anything: nothing was applied, so it is safe to retry."""
    if isinstance(exc, RateLimitedError):
        return ActionResult.rate_limited(exc.retry_after, f"Lengow rate limit reached while {what}")
    return ActionResult.retryable(f"{what} failed: {exc}", retry_after=300 if isinstance(exc, AuthenticationError)
                                  else None)
