"""Fault injection for loopback marketplace emulators: "the next N requests matching P answer K", or
"each request matching P answers K with probability p" (seeded, so a run can be replayed).

Shared by the first-party emulators (and free for third-party ones): each applies the rules in its own
ASGI layer and gives its API's path as ``default_path``."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

KINDS = frozenset({
    "429",  # Retry-After in seconds
    "429_date",  # Retry-After as an HTTP date
    "500", "502", "503",
    "timeout",  # answer only after `seconds` (longer than the client's timeout)
    "reset",  # close the connection without any response
    "truncated",  # a 200 whose JSON body is cut in half
    "apply_then_500",  # the action is applied, then the answer is a 500
    "apply_then_reset",  # the action is applied, then the connection is dropped
})


@dataclass
class FaultRule:
    kind: str
    path: str = "/*"
    method: str | None = None
    count: int | None = None  # remaining matches; None = no limit (probability rules)
    probability: float | None = None
    seed: int = 0
    retry_after: float = 2.0
    seconds: float = 35.0
    after: int = 0  # let this many matching requests through first (e.g. fail only the second page)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, data: Any, *, default_path: str = "/*") -> FaultRule:
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        kind = str(data.get("kind", ""))
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of: {', '.join(sorted(KINDS))}")
        count = data.get("count")
        probability = data.get("probability")
        if count is None and probability is None:
            count = 1
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive whole number")
        if probability is not None and not (isinstance(probability, (int, float)) and 0 <= probability <= 1):
            raise ValueError("probability must be between 0 and 1")
        seed = int(data.get("seed", 0))
        after = data.get("after", 0)
        if not isinstance(after, int) or after < 0:
            raise ValueError("after must be a whole number, 0 or more")
        return cls(kind=kind, path=str(data.get("path", default_path)), method=(data.get("method") or None),
                   count=count, probability=None if probability is None else float(probability), seed=seed,
                   retry_after=float(data.get("retry_after", 2.0)), seconds=float(data.get("seconds", 35.0)),
                   after=after, rng=random.Random(seed))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "method": self.method, "count": self.count,
                "probability": self.probability, "seed": self.seed, "retry_after": self.retry_after,
                "seconds": self.seconds, "after": self.after}


class FaultTable:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self.lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def match(self, method: str, path: str) -> FaultRule | None:
        if not self.rules:
            return None
        with self.lock:
            for rule in list(self.rules):
                if rule.method and rule.method.upper() != method:
                    continue
                if not fnmatchcase(path, rule.path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.probability is not None and rule.rng.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self.rules.remove(rule)
                return rule
        return None

    def to_json(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.to_json() for r in self.rules]


# --- answering with a fault (ASGI) -------------------------------------------------------------------

ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]
ErrorResponse = Callable[..., ASGIApp]  # (status, message, headers=None) -> an ASGI response in the API's style


async def answer_with_fault(
    rule: FaultRule, scope: dict[str, Any], receive: Any, send: Any, *, error: ErrorResponse, api: ASGIApp,
    stopping: threading.Event, swallowed: Callable[[str, int], None], too_many: str = "Too many requests",
) -> None:
    """Answer the request with ``rule``'s fault. The kinds that fail before the API (429, 5xx, timeout,
    reset) call ``swallowed(kind, status)`` so the emulator can log a call the API never saw; the others
    (truncated, apply_then_*) run ``api`` first, then spoil or drop its answer."""
    from starlette.responses import Response

    kind = rule.kind
    if kind in ("429", "429_date"):
        retry = str(int(rule.retry_after)) if kind == "429" else formatdate(time.time() + rule.retry_after, usegmt=True)
        swallowed(kind, 429)
        await error(429, too_many, {"Retry-After": retry})(scope, receive, send)
        return
    if kind in ("500", "502", "503"):
        swallowed(kind, int(kind))
        if kind == "500":
            await error(500, "Internal Server Error")(scope, receive, send)
        else:  # what a proxy in front of the API answers: HTML, not the API's JSON
            text = {"502": "Bad Gateway", "503": "Service Unavailable"}[kind]
            await Response(f"<html><body><h1>{kind} {text}</h1></body></html>", status_code=int(kind),
                           media_type="text/html")(scope, receive, send)
        return
    if kind == "timeout":
        swallowed(kind, 504)
        waited = 0.0
        while waited < rule.seconds and not stopping.is_set():
            await asyncio.sleep(0.05)
            waited += 0.05
        await error(504, "Gateway Timeout")(scope, receive, send)
        return
    if kind == "reset":
        swallowed(kind, 0)
        drop_connection(receive)
        return
    captured: dict[str, Any] = {"start": None, "body": bytearray()}

    async def capture(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            captured["start"] = message
        elif message["type"] == "http.response.body":
            captured["body"] += message.get("body", b"")

    await api(scope, receive, capture)
    if kind == "truncated" and captured["start"] is not None:
        body = bytes(captured["body"])[: max(1, len(captured["body"]) // 2)]
        headers = [(k, v) for k, v in captured["start"].get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": captured["start"]["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif kind == "apply_then_500":
        await error(500, "Internal Server Error")(scope, receive, send)
    else:  # apply_then_reset
        drop_connection(receive)


def drop_connection(receive: Any) -> None:
    """Close the TCP connection without answering (uvicorn's request cycle holds the transport)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("this server does not let the emulator drop a connection")
    cycle.disconnected = True  # type: ignore[union-attr]  # uvicorn must not try to answer a 500 now
    transport.abort()


def faults_endpoint(faults: FaultTable, default_path: str) -> Callable[[Any], Awaitable[Any]]:
    """The ``/_emulator/faults`` control route: GET lists the rules, POST adds one (``{"kind", ...}``) or
    several (``{"faults": [...]}``; ``"clear": true`` first), all valid or none added; DELETE clears."""
    from starlette.responses import JSONResponse

    async def endpoint(request: Any) -> Any:
        if request.method == "DELETE":
            faults.clear()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            try:
                data = json.loads(await request.body() or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("a JSON object is expected")
                if data.get("clear"):
                    faults.clear()
                items = data["faults"] if "faults" in data else ([data] if "kind" in data else [])
                rules = [FaultRule.from_json(item, default_path=default_path) for item in items]
                for rule in rules:
                    faults.add(rule)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"faults": faults.to_json()})

    return endpoint
