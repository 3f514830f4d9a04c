"""The emulator's HTTP surface: the Lengow API v3 subset (``/access/get_token``, ``/v3.0/...``), control
endpoints under ``/_emulator`` (loopback only, no auth), and a thin ASGI layer in front for faults,
rate limits, the token and ``account_id``."""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lengow_tui_lengow.emulator import operations as ops
from lengow_tui.emulation.faults import answer_with_fault, faults_endpoint
from lengow_tui_lengow.emulator.faults import DEFAULT_PATH, FaultRule, FaultTable
from lengow_tui_lengow.emulator.state import EmulatorState, LengowError, RejectRule

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = "application/json"
LOOPBACK = ("127.0.0.1", "::1", "localhost", "testclient")


def lengow_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"message": message, "code": status}}).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    """Form-encoded (what Lengow's plugins send) or JSON parameters."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise LengowError(400, "JSON parse error") from None
        if not isinstance(data, dict):
            raise LengowError(400, "a JSON object is expected")
        return {str(k): str(v) for k, v in data.items() if v is not None}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _route(path: str) -> str:
    """The rate-limited route a path belongs to (Lengow counts per route and method)."""
    return path.rstrip("/") or "/"


def build_app(state: EmulatorState, faults: FaultTable, stopping: threading.Event) -> Callable[..., Awaitable[None]]:
    async def get_token(request: Request) -> Response:
        try:
            form = await _form(request)
        except LengowError as exc:
            return lengow_error(exc.status, exc.message)
        if form.get("access_token") != state.options.access_token or form.get("secret") != state.options.secret:
            return lengow_error(400, "Authentication error - Secret is not accepted")
        return JSONResponse({"token": state.issue_token(), "account_id": state.options.account_id,
                             "user_id": 1})

    async def orders(request: Request) -> Response:
        try:
            body = ops.list_orders(state, request.query_params, str(request.url).split("?")[0])
        except LengowError as exc:
            return lengow_error(exc.status, exc.message)
        return Response(body, media_type=JSON)

    async def actions(request: Request) -> Response:
        if request.method == "GET":
            try:
                return JSONResponse(ops.list_actions(state, request.query_params, str(request.url).split("?")[0]))
            except LengowError as exc:
                return lengow_error(exc.status, exc.message)
        fault = request.scope.get("emulator_fault")
        params: dict[str, str] = {}
        try:
            params = await _form(request)
            record = ops.create_action(state, params)
        except LengowError as exc:
            state.record("POST", request.url.path, exc.status, order_id=params.get("marketplace_order_id"),
                         action_type=params.get("action_type"), message=exc.message, fault=fault)
            return lengow_error(exc.status, exc.message)
        state.record("POST", request.url.path, 201, action_id=record["id"], order_id=record["marketplace_order_id"],
                     action_type=record["action_type"], fault=fault)
        return JSONResponse(record, status_code=201)

    async def marketplaces(request: Request) -> Response:
        return JSONResponse(ops.marketplaces(state, request.query_params))

    # --- control -------------------------------------------------------------------------------

    async def control_actions(request: Request) -> Response:
        return JSONResponse(state.actions_report())

    control_faults = faults_endpoint(faults, DEFAULT_PATH)

    async def control_orders(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
            if not isinstance(data, dict):
                raise ValueError("a JSON object is expected")
            if data.get("advance_clock_seconds"):
                state.advance_clock(float(data["advance_clock_seconds"]))
            created = state.add_orders(int(data.get("new", 0) or 0))
            advanced = state.advance_orders(int(data.get("advance", 0) or 0), data.get("advance_ids")) \
                if data.get("advance") or data.get("advance_ids") else []
        except (ValueError, TypeError, LookupError, LengowError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"created": created, "advanced": advanced, "total": len(state.world)})

    async def control_clock(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
            state.advance_clock(float(data.get("advance_seconds", 0)))
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"now": state.now()})

    async def control_tokens(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")
        expired = state.expire_tokens() if isinstance(data, dict) and data.get("expire") else 0
        return JSONResponse({"expired": expired, "token_requests": state.token_requests})

    async def control_rejections(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
            if not isinstance(data, dict) or not data.get("message"):
                raise ValueError("give at least a message")
            rule = RejectRule(str(data["message"]), data.get("order_id"), data.get("action_type"),
                              int(data.get("count", 1)))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        with state.lock:
            state.rejections.append(rule)
        return JSONResponse({"rejections": len(state.rejections)})

    async def control_reset(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")
        faults.clear()
        state.reset(orders=data.get("orders"), seed=data.get("seed"))
        return JSONResponse({"total": len(state.world)})

    async def control_state(request: Request) -> Response:
        with state.lock:
            counts: dict[str, int] = {}
            for order in state.world.orders:
                counts[order["lengow_status"]] = counts.get(order["lengow_status"], 0) + 1
            return JSONResponse({"orders": len(state.world), "statuses": counts, "now": state.now(),
                                 "token_requests": state.token_requests, "actions": len(state.actions)})

    routes = [
        Route("/access/get_token", get_token, methods=["POST"]),
        Route("/v3.0/orders", orders, methods=["GET"]),
        Route("/v3.0/orders/", orders, methods=["GET"]),
        Route("/v3.0/orders/actions/", actions, methods=["GET", "POST"]),
        Route("/v3.0/orders/actions", actions, methods=["GET", "POST"]),
        Route("/v3.0/marketplaces", marketplaces, methods=["GET"]),
        Route("/v3.0/marketplaces/", marketplaces, methods=["GET"]),
        Route("/_emulator/actions", control_actions, methods=["GET"]),
        Route("/_emulator/faults", control_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/orders", control_orders, methods=["POST"]),
        Route("/_emulator/clock", control_clock, methods=["POST"]),
        Route("/_emulator/tokens", control_tokens, methods=["POST"]),
        Route("/_emulator/rejections", control_rejections, methods=["POST"]),
        Route("/_emulator/reset", control_reset, methods=["POST"]),
        Route("/_emulator/state", control_state, methods=["GET"]),
    ]
    return GatewayLayer(Starlette(routes=routes), state, faults, stopping)


class GatewayLayer:
    """What sits in front of Lengow's API: loopback guard for control endpoints, faults, rate limit,
    the token and account_id."""

    def __init__(self, app: Any, state: EmulatorState, faults: FaultTable, stopping: threading.Event) -> None:
        self.app, self.state, self.faults, self.stopping = app, state, faults, stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if path.startswith("/_emulator"):
            client = scope.get("client") or ("127.0.0.1", 0)
            if client[0] not in LOOPBACK:
                return await lengow_error(403, "control endpoints answer loopback clients only")(scope, receive, send)
            return await self.app(scope, receive, send)
        if not (path.startswith("/v3.0/") or path == "/access/get_token"):
            return await lengow_error(404, "Not found.")(scope, receive, send)
        self.state.tick()  # time passes for the marketplaces between requests
        method: str = scope["method"]
        rule = self.faults.match(method, path)
        if rule is not None:
            scope["emulator_fault"] = rule.kind
            if await self._fault(rule, scope, receive, send):
                return
        route = _route(path)
        wait = self.state.rate_check(route, method)
        if wait is not None:
            limit = self.state.options.rate_limit_per_minute
            return await lengow_error(429, f"Request limitation: {limit} reached on {route}",
                                      {"Retry-After": str(int(wait + 0.999))})(scope, receive, send)
        problem = self._auth_problem(scope)
        if problem is not None:
            return await lengow_error(*problem)(scope, receive, send)
        await self.app(scope, receive, send)

    def _auth_problem(self, scope: Scope) -> tuple[int, str] | None:
        if scope["path"] == "/access/get_token":
            return None
        headers = dict(scope.get("headers") or [])
        token = headers.get(b"authorization", b"").decode("latin-1").strip()
        expires = self.state.tokens.get(token)
        if not token or expires is None:
            return 401, "Invalid token"
        if expires <= self.state.now():
            return 403, f"Token: {token} is expired"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        account = query.get("account_id")
        if not account:
            return 400, "account_id: this parameter is mandatory"
        if account != str(self.state.options.account_id):
            return 403, f"You do not have access to account {account[:20]}"
        return None

    def _log_swallowed(self, scope: Scope, kind: str, status: int) -> None:
        if scope["method"] == "POST" and scope["path"].startswith("/v3.0/orders/actions"):
            self.state.record("POST", scope["path"], status, message=f"fault {kind}", fault=kind)

    async def _fault(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer with the fault (the spoiling kinds run the API first, then spoil its answer)."""

        async def api(scope: Scope, receive: Receive, send: Send) -> None:
            problem = self._auth_problem(scope)
            if problem is not None:
                await lengow_error(*problem)(scope, receive, send)
                return
            await self.app(scope, receive, send)

        await answer_with_fault(rule, scope, receive, send, error=lengow_error, api=api, stopping=self.stopping,
                                swallowed=lambda kind, status: self._log_swallowed(scope, kind, status),
                                too_many="Request limitation: fault injected")
        return True


