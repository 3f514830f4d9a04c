"""An Amazon-like marketplace: no acceptance step, order-level status, refunds by adjustment.

Pending orders become Unshipped once payment is authorized (30 simulated seconds); shipping confirms
every remaining item; Amazon has no "closed", so shipped orders stay Shipped unless refunded. A few
shipped orders are refunded by Amazon itself after a customer return.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, ClassVar

from lengow_tui.connector_api import ActionKind, ActionRequest, Status
from lengow_tui_sandbox.declarations import AMAZON
from lengow_tui_sandbox.sims.base import (
    DAY,
    HOUR,
    MarketplaceSim,
    Order,
    Script,
    Tick,
    iso,
    money,
    steps,
)

_CHANNELS = (  # (sales channel, MarketplaceId, currency, country, weight)
    ("Amazon.fr", "A13V1IB3VIYZZH", "EUR", "FR", 80),
    ("Amazon.de", "A1PA6795UKMFR9", "EUR", "DE", 10),
    ("Amazon.es", "A1RKKUPIHCS9HS", "EUR", "ES", 5),
    ("Amazon.co.uk", "A1F83G8C2ARO7P", "GBP", "GB", 5),
)
_MARKETPLACE_IDS = {c[0]: c[1] for c in _CHANNELS}
_REFUNDABLE_STATUSES = ("Shipped", "InvoiceUnconfirmed", "PartiallyRefunded")
_AU, _SH = ("authorize", 0.005, 0.5), ("ship", 4, 48)


class AmazonSim(MarketplaceSim):
    code = AMAZON.code
    declaration = AMAZON
    unknown_status = "UnderReview"
    reject_messages: ClassVar[dict[ActionKind, str]] = {
        ActionKind.SHIP: "Feed processing report: error 18028 — the carrier does not serve the shipping address "
                         "for this ship service level",
        ActionKind.CANCEL: "Feed processing report: error 25 — the order was already picked by the fulfilment "
                           "network and cannot be canceled",
        ActionKind.REFUND: "Feed processing report: error 18214 — the adjustment exceeds the amount available "
                           "for refund on the payment instrument",
    }
    scripts: ClassVar[dict[Status, tuple[Script, ...]]] = {
        Status.NEW: (Script((), 0, 0.005),),
        Status.WAITING_SHIPMENT: (Script(steps(_AU), 0.1, 60), Script(steps(_AU, ("ship_part", 4, 24)), 0, 24)),
        Status.SHIPPED: (Script(steps(_AU, _SH), 0, 26 * 24),),
        Status.CANCELED: (
            Script(steps(("payment_declined", 0.005, 0.01)), 0, 25 * 24),
            Script(steps(_AU, ("buyer_cancel", 1, 24)), 0, 25 * 24),
            Script(steps(_AU, ("cancel", 1, 24)), 0, 25 * 24),
        ),
        Status.REFUNDED: (
            Script(steps(_AU, _SH, ("refund", 48, 240)), 0, 15 * 24),
            Script(steps(_AU, _SH, ("customer_return", 72, 240)), 0, 15 * 24),
        ),
        Status.PARTIAL_REFUNDED: (Script(steps(_AU, _SH, ("refund_one", 48, 240)), 0, 15 * 24),),
    }

    def order_id(self, n: int, rng: random.Random) -> str:
        return f"{rng.randint(402, 408)}-{rng.randint(10**6, 10**7 - 1)}-{n % 10**7:07d}"

    def line_id(self, order_id: str, index: int, rng: random.Random) -> str:
        return f"{rng.randint(10**12, 10**13 - 1)}{index}"

    def channel(self, rng: random.Random) -> tuple[str, str, str]:
        name, _id, currency, country, _w = rng.choices(_CHANNELS, weights=[c[4] for c in _CHANNELS])[0]
        return name, currency, country

    def delivery_type(self, rng: random.Random) -> str:
        return rng.choices(("Standard", "Expedited", "NextDay"), weights=(75, 20, 5))[0]

    def decorate(self, order: Order, rng: random.Random) -> None:
        # Amazon hides the buyer's address behind a relay; the merchant only ever sees this one.
        relay = f"{rng.getrandbits(48):012x}@marketplace.amazon.example"
        order["buyer"]["email"] = order["billing"]["email"] = relay
        order["shipping"]["email"] = ""

    def target_weights(self, order: Order) -> dict[Status, int]:
        return {
            Status.SHIPPED: 62, Status.WAITING_SHIPMENT: 14, Status.NEW: 2, Status.CANCELED: 8,
            Status.REFUNDED: 6, Status.PARTIAL_REFUNDED: 5,
        }

    # --- state changes -------------------------------------------------------------------------

    def start(self, order: Order, tick: Tick) -> None:
        order["status"] = "Pending"

    def schedule_natural(self, order: Order, tick: Tick, rng: random.Random) -> None:
        status = order["status"]
        if status == "Pending":
            self.schedule(order, "payment_declined" if rng.random() < 0.02 else "authorize", 30, tick, rng)
        elif status == "Unshipped" and rng.random() < 0.02:
            self.schedule(order, "buyer_cancel", rng.uniform(2, 12) * HOUR, tick, rng)
        elif status == "Shipped" and rng.random() < 0.03:
            self.schedule(order, "customer_return", rng.uniform(3, 10) * DAY, tick, rng)
        else:
            self.unschedule(order)

    def _ship(self, order: Order, line_ids: set[str], carrier_code: str, number: str, tick: Tick,
              carrier_name: str = "", method: str = "", ship_date: str = "") -> None:
        carrier = self.declaration.carrier(carrier_code)
        for line in order["lines"]:
            if line["id"] in line_ids:
                line["shipped_qty"] = line["qty"]
        order["tracking"] = {
            "carrier": carrier_code, "number": number, "method": method, "shipped_at": tick.at,
            "carrier_name": carrier_name or (carrier.label if carrier else carrier_code),
            "url": (carrier.tracking_url(number) if carrier else None) or "", "ship_date": ship_date,
        }

    def evolve(self, order: Order, kind: str, tick: Tick, rng: random.Random) -> None:
        status = order["status"]
        if kind == "authorize" and status == "Pending":
            self._set(order, "Unshipped", tick, rng)
        elif kind == "payment_declined" and status == "Pending":
            order["reason"] = "PaymentDeclined"
            self._set(order, "Canceled", tick, rng)
        elif kind == "buyer_cancel" and status == "Unshipped":
            order["reason"] = "BuyerCanceled"
            self._set(order, "Canceled", tick, rng)
        elif kind == "ship_part" and status == "Unshipped" and len(order["lines"]) > 1:
            self._ship(order, {order["lines"][0]["id"]}, "Colissimo", f"6A{rng.randint(10**10, 10**11)}", tick)
            self._set(order, "PartiallyShipped", tick, rng)
        elif kind == "customer_return" and status == "Shipped":
            plan = [(line, self.refundable(line), line["qty"] - line["refunded_qty"]) for line in order["lines"]]
            self.record_refunds(order, plan, "CustomerReturn", "Posted", tick)
            self._set(order, "Refunded", tick, rng)
        else:
            self.schedule_natural(order, tick, rng)

    def state_problem(self, order: Order, request: ActionRequest) -> str | None:
        kind, status, oid = request.kind, order["status"], order["order_id"]
        if kind == ActionKind.SHIP:
            if status not in ("Unshipped", "PartiallyShipped"):
                return (f"InvalidInput: order {oid} is {status}; only Unshipped or PartiallyShipped orders "
                        "can be confirmed")
            if request.lines:
                return "InvalidInput: this seller account confirms whole orders; do not list order items"
            return None
        if kind == ActionKind.CANCEL:
            if status == "PartiallyShipped":
                return f"InvalidInput: order {oid} has shipped items; refund them instead of canceling"
            if status not in ("Pending", "Unshipped"):
                return f"InvalidInput: order {oid} is {status}; only Pending or Unshipped orders can be canceled"
            return None
        if kind == ActionKind.REFUND:
            if status not in _REFUNDABLE_STATUSES:
                return f"InvalidInput: order {oid} is {status}; only shipped orders can be adjusted"
            plan = self.plan_refund(order, request, lambda line: line["shipped_qty"] > 0)
            return f"InvalidInput: {plan}" if isinstance(plan, str) else None
        return f"InvalidInput: {kind} is not supported by this marketplace"

    def apply(self, order: Order, request: ActionRequest, tick: Tick, rng: random.Random) -> None:
        kind = request.kind
        if kind == ActionKind.SHIP:
            self._ship(
                order, {line["id"] for line in order["lines"]}, self.argument(request, "carrier"),
                self.argument(request, "tracking_number"), tick, carrier_name=self.argument(request, "carrier_name"),
                method=self.argument(request, "shipping_method"), ship_date=self.argument(request, "ship_date"),
            )
            self._set(order, "Shipped", tick, rng)
        elif kind == ActionKind.CANCEL:
            order["reason"] = self.argument(request, "reason")
            self._set(order, "Canceled", tick, rng)
        elif kind == ActionKind.REFUND:
            plan = self.plan_refund(order, request, lambda line: line["shipped_qty"] > 0)
            assert not isinstance(plan, str)
            self.record_refunds(order, plan, self.argument(request, "reason"), "Posted", tick)
            self._set(order, "Refunded" if self.fully_refunded(order) else "PartiallyRefunded", tick, rng)

    # --- the SP-API-shaped payload ---------------------------------------------------------------

    def raw(self, order: Order) -> dict[str, Any]:
        currency = order["currency"]

        def price(cents: int) -> dict[str, str]:
            return {"CurrencyCode": currency, "Amount": f"{money(cents):.2f}"}

        ship, tracking = order["shipping"], order["tracking"]
        total = sum(line["amount"] for line in order["lines"]) + order["shipping_cents"]
        shipped = sum(line["shipped_qty"] for line in order["lines"])
        return {
            "AmazonOrderId": order["order_id"],
            "PurchaseDate": iso(order["ordered_at"]),
            "LastUpdateDate": iso(order["updated_at"]),
            "OrderStatus": order["status"],
            "FulfillmentChannel": "MFN",
            "SalesChannel": order["channel"],
            "MarketplaceId": _MARKETPLACE_IDS.get(order["channel"], "A13V1IB3VIYZZH"),
            "ShipServiceLevel": f"{order['delivery_type']} {ship['country']} Dom",
            "ShipmentServiceLevelCategory": order["delivery_type"],
            "OrderTotal": price(total),
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": sum(line["qty"] for line in order["lines"]) - shipped,
            "PaymentMethod": "Other",
            "IsPrime": order["delivery_type"] != "Standard",
            "IsBusinessOrder": bool(order["billing"]["company"]),
            "LatestShipDate": iso(order["deadline"]),
            "CancellationReason": order.get("reason") or None,
            "BuyerInfo": {
                "BuyerEmail": order["buyer"]["email"],
                "BuyerName": f"{order['buyer']['first']} {order['buyer']['last']}",
            },
            "ShippingAddress": {
                "Name": f"{ship['first']} {ship['last']}", "AddressLine1": ship["address1"],
                "AddressLine2": ship["address2"] or None, "City": ship["city"], "PostalCode": ship["zipcode"],
                "CountryCode": ship["country"], "Phone": ship["phone"],
                "AddressType": "Commercial" if ship["company"] else "Residential",
            },
            "OrderItems": [
                {
                    "OrderItemId": line["id"], "SellerSKU": line["sku"],
                    "ASIN": f"B0{zlib.crc32(line['sku'].encode()):08X}",
                    "Title": line["title"], "QuantityOrdered": line["qty"], "QuantityShipped": line["shipped_qty"],
                    "ItemPrice": price(line["amount"]), "ItemTax": price(line["tax"]),
                }
                for line in order["lines"]
            ],
            "Packages": [] if not tracking else [{
                "carrierCode": tracking["carrier"], "carrierName": tracking["carrier_name"],
                "trackingNumber": tracking["number"], "shippingMethod": tracking["method"] or None,
                "shipDate": tracking.get("ship_date") or iso(tracking["shipped_at"]),
            }],
            "Adjustments": [
                {"OrderItemId": r["line"], "AdjustmentReason": r["reason"], "Amount": price(r["amount"]),
                 "QuantityCancelled": r["qty"], "PostedDate": iso(r["at"])}
                for r in order["refunds"]
            ],
        }
