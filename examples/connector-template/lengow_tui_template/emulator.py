"""A loopback emulator of the Marché Exemple API, for tests and demos.

    with run_emulator(orders=30) as emu:
        emu.base_url, emu.api_key   # what a channel's config needs
        emu.state                   # the orders, the ledger of applied actions, the faults

or as a process: ``python -m lengow_tui_template.emulator [--port 8765] [--orders 30]``.
Deterministic: the same ``seed`` gives the same orders.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATUSES = ("NOUVELLE", "A_EXPEDIER", "EXPEDIEE", "LIVREE", "REFUSEE", "ANNULEE")
# action -> (statuses it is possible from, status after it). "ship" on a shipped order adds a parcel.
TRANSITIONS = {
    "accept": ({"NOUVELLE"}, "A_EXPEDIER"),
    "refuse": ({"NOUVELLE"}, "REFUSEE"),
    "ship": ({"A_EXPEDIER", "EXPEDIEE"}, "EXPEDIEE"),
    "cancel": ({"A_EXPEDIER"}, "ANNULEE"),
}
FIRST = ("Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")
PRODUCTS = (("LIV-001", "Le Petit Prince", "8.90"), ("JEU-017", "Puzzle 1000 pièces", "19.99"),
            ("CUI-204", "Poêle 28 cm", "34.50"), ("JAR-330", "Arrosoir 10 L", "12.00"))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    status: int  # 429 or 5xx
    path_prefix: str
    count: int
    retry_after: float = 30.0


@dataclass
class EmulatorState:
    api_key: str = "me-test-key-7f3a9c"
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = 0
    ledger: list[dict[str, str]] = field(default_factory=list)  # every applied action, in order
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)  # idempotency key -> (order, action)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def generate(cls, orders: int = 30, seed: int = 1, **options: Any) -> EmulatorState:
        state = cls(**options)
        rng = random.Random(seed)
        start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
        for n in range(1, orders + 1):
            created = start + timedelta(minutes=17 * n)
            status = STATUSES[n % len(STATUSES)] if n > 2 else "NOUVELLE"
            lines = [{"id": i, "sku": sku, "title": title, "qty": rng.randint(1, 3), "price": price}
                     for i, (sku, title, price) in enumerate(rng.sample(PRODUCTS, rng.randint(1, 2)), 1)]
            total = sum(float(line["price"]) * line["qty"] for line in lines) + 4.90
            first, last = rng.choice(FIRST), rng.choice(LAST)
            order = {
                "id": f"ME-{n:05d}", "status": status, "created_at": _iso(created), "currency": "EUR",
                "total": f"{total:.2f}", "shipping": "4.90", "lines": lines, "parcels": [],
                "customer": {"name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}{n}@courriel.example",
                             "phone": f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {n:02d}",
                             "address": f"{rng.randint(1, 120)} rue des Lilas", "zip": "69003", "city": "Lyon",
                             "country": "FR"},
            }
            if status in ("EXPEDIEE", "LIVREE"):
                order["parcels"].append({"carrier": "COLISSIMO", "tracking_number": f"6A{n:011d}",
                                         "shipped_at": _iso(created + timedelta(days=1))})
            state._touch(order, created)
        return state

    def _touch(self, order: dict[str, Any], when: datetime | None = None) -> None:
        self.seq += 1  # every change gets the next sequence number: the connector's cursor
        order["seq"] = self.seq
        order["updated_at"] = _iso(when or datetime.now(UTC))
        order["invoice"] = order["status"] in ("EXPEDIEE", "LIVREE")
        self.orders[order["id"]] = order

    # --- what tests use ------------------------------------------------------------------------

    def fail_next(self, status: int, path_prefix: str = "/v1/", *, count: int = 1, retry_after: float = 30.0) -> None:
        """The next ``count`` requests whose path starts with ``path_prefix`` answer ``status``."""
        with self.lock:
            self.faults.append(Fault(status, path_prefix, count, retry_after))

    def applications(self, order_id: str, action: str) -> int:
        """How many times ``action`` was applied to ``order_id``."""
        with self.lock:
            return sum(1 for entry in self.ledger if entry["order_id"] == order_id and entry["action"] == action)

    def set_status(self, order_id: str, status: str) -> None:
        """Put an order in any raw status, even one the connector does not know."""
        with self.lock:
            order = self.orders[order_id]
            order["status"] = status
            self._touch(order)

    def first(self, status: str) -> str:
        return next(o["id"] for o in self.orders.values() if o["status"] == status)

    # --- the API -------------------------------------------------------------------------------

    def fault_for(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def act(self, order_id: str, action: str, arguments: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, {"error": f"commande {order_id} inconnue"}
            if key and key in self.answers:
                if self.answers[key] != (order_id, action):
                    return 409, {"error": "this Idempotency-Key was used for another action"}
                return 200, {"replayed": True, "order": order}
            if action not in TRANSITIONS:
                return 404, {"error": f"no {action} operation"}
            allowed, after = TRANSITIONS[action]
            if order["status"] not in allowed:
                return 409, {"error": f"la commande est {order['status']}: {action} impossible"}
            if action == "refuse" and arguments.get("reason") not in ("RUPTURE", "PRIX"):
                return 400, {"error": "reason must be RUPTURE or PRIX"}
            if action == "ship":
                if not arguments.get("carrier") or not arguments.get("tracking_number"):
                    return 400, {"error": "carrier and tracking_number are required"}
                order["parcels"].append({"carrier": arguments["carrier"], "carrier_name": arguments.get("carrier_name"),
                                         "tracking_number": arguments["tracking_number"],
                                         "shipped_at": _iso(datetime.now(UTC))})
            order["status"] = after
            self._touch(order)
            self.ledger.append({"order_id": order_id, "action": action, "key": key or ""})
            if key:
                self.answers[key] = (order_id, action)
            return 200, {"order": order}


def build_app(state: EmulatorState) -> Starlette:
    def authorized(request: Request) -> Response | None:
        fault = state.fault_for(request.url.path)
        if fault is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.status == 429 else {}
            return JSONResponse({"error": f"emulated HTTP {fault.status}"}, fault.status, headers=headers)
        if request.headers.get("x-api-key") != state.api_key:
            return JSONResponse({"error": "clé d'API refusée"}, 401)
        return None

    async def account(request: Request) -> Response:
        return authorized(request) or JSONResponse({"shop": "Boutique Exemple"})

    async def orders(request: Request) -> Response:
        refused = authorized(request)
        if refused:
            return refused
        after = int(request.query_params.get("after", "0"))
        limit = max(1, min(100, int(request.query_params.get("limit", "50"))))
        with state.lock:
            changed = sorted((o for o in state.orders.values() if o["seq"] > after), key=lambda o: o["seq"])
            page = changed[:limit]
        return JSONResponse({"orders": page})

    async def order(request: Request) -> Response:
        refused = authorized(request)
        if refused:
            return refused
        found = state.orders.get(request.path_params["order_id"])
        return JSONResponse(found) if found else JSONResponse({"error": "not found"}, 404)

    async def action(request: Request) -> Response:
        refused = authorized(request)
        if refused:
            return refused
        try:
            arguments = await request.json()
        except ValueError:
            arguments = {}
        status, body = state.act(request.path_params["order_id"], request.path_params["action"],
                                 arguments if isinstance(arguments, dict) else {},
                                 request.headers.get("idempotency-key"))
        return JSONResponse(body, status)

    async def invoice(request: Request) -> Response:
        refused = authorized(request)
        if refused:
            return refused
        found = state.orders.get(request.path_params["order_id"])
        if not found or not found["invoice"]:
            return JSONResponse({"error": "pas de facture"}, 404)
        pdf = b"%PDF-1.4\n% Facture " + found["id"].encode() + b"\n%%EOF\n"
        return Response(pdf, media_type="application/pdf")

    return Starlette(routes=[
        Route("/v1/account", account),
        Route("/v1/orders", orders),
        Route("/v1/orders/{order_id}", order),
        Route("/v1/orders/{order_id}/invoice", invoice),
        Route("/v1/orders/{order_id}/{action}", action, methods=["POST"]),
    ])


@dataclass
class EmulatorHandle:
    base_url: str
    api_key: str
    state: EmulatorState


@contextmanager
def run_emulator(orders: int = 30, seed: int = 1, **options: Any) -> Iterator[EmulatorHandle]:
    """Serve a fresh emulator on a loopback port for the ``with`` block."""
    from lengow_tui.testing import serve_asgi

    state = EmulatorState.generate(orders, seed, **options)
    with serve_asgi(build_app(state)) as base_url:
        yield EmulatorHandle(base_url, state.api_key, state)


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="Marché Exemple emulator")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    state = EmulatorState.generate(args.orders, args.seed)
    print(f"base_url = \"http://127.0.0.1:{args.port}\"\napi_key = \"{state.api_key}\"", flush=True)
    uvicorn.run(build_app(state), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
