"""The marketplaces the emulator serves from ``GET /v3.0/marketplaces``, in Lengow's format.

Shapes follow reference/lengow.md §3 (``orders.status`` lengow_status -> raw statuses, ``orders.actions``
with ``status``, ``args``, ``optional_args``, ``args_description``, ``orders.carriers``). The raw status
words and argument lists are modelled on the help-centre pages cited there; they are the emulator's
world, not a copy of Lengow's live definitions.
"""

from __future__ import annotations

from typing import Any

FR_CARRIERS = {"COLISSIMO": {"label": "Colissimo"}, "CHRONOPOST": {"label": "Chronopost"},
               "DPD": {"label": "DPD"}, "UPS": {"label": "UPS"}, "MONDIALRELAY": {"label": "Mondial Relay"}}


def _desc(type_: str = "string", valid: dict[str, str] | None = None, default: str | None = None,
          free: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_, "depends_on": None}
    if valid is not None:
        out["valid_values"] = {code: {"label": label} for code, label in valid.items()}
    if default is not None:
        out["default_value"] = default
    if free is not None:
        out["accept_free_values"] = free
    return out


AMAZON_FR: dict[str, Any] = {
    "name": "Amazon France", "legacy_code": "amazon", "package": "mp_amazon", "country": "FRA",
    "country_iso_a2": "FR", "features": [],
    "orders": {
        "status": {
            "new": ["Pending"], "waiting_shipment": ["Unshipped", "PartiallyShipped"], "shipped": ["Shipped"],
            "canceled": ["Canceled"], "refunded": ["Refunded"], "partial_refunded": ["PartiallyRefunded"],
        },
        "actions": {
            "ship": {
                "status": ["waiting_shipment"],
                "args": ["carrier", "shipping_method", "tracking_number", "shipping_date"],
                "optional_args": ["carrier_name"],
                "args_description": {
                    "carrier": _desc("list", {**{c: v["label"] for c, v in FR_CARRIERS.items()}, "Other": "Other"},
                                     free=False),
                    "shipping_method": _desc(default="Standard"),
                    "tracking_number": _desc(), "shipping_date": _desc(), "carrier_name": _desc(),
                },
            },
            "cancel": {
                "status": ["new", "waiting_shipment"], "args": ["reason"], "optional_args": [],
                "args_description": {"reason": _desc("list", {"NoInventory": "No inventory",
                                                              "CustomerExchange": "Customer exchange",
                                                              "BuyerCanceled": "Buyer canceled"},
                                                     default="NoInventory", free=False)},
            },
            "refund": {
                "status": ["shipped", "partial_refunded"], "args": ["reason", "line"],
                "optional_args": ["refund_price", "refund_shipping_price"],
                "args_description": {
                    "reason": _desc("list", {"ProductOutofStock": "Product out of stock",
                                             "CustomerReturn": "Customer return", "PriceError": "Price error",
                                             "Other": "Other"}, free=False),
                    "line": _desc("line_number"), "refund_price": _desc(), "refund_shipping_price": _desc(),
                },
            },
        },
        "carriers": FR_CARRIERS, "shipping_methods": {"Standard": {"label": "Standard"}},
    },
}

CDISCOUNT: dict[str, Any] = {
    "name": "Cdiscount", "legacy_code": "cdiscount", "package": "mp_cdiscount", "country": "FRA",
    "country_iso_a2": "FR", "features": [],
    "orders": {
        "status": {
            "waiting_acceptance": ["WaitingForSellerAcceptation"], "accepted": ["AcceptedBySeller"],
            "waiting_shipment": ["WaitingForShipmentAcceptation"], "shipped": ["Shipped"], "closed": ["Filled"],
            "refused": ["RefusedBySeller"], "canceled": ["CancelledByCustomer", "ShipmentRefusedBySeller"],
            "refunded": ["Refunded"],
        },
        "actions": {
            "accept": {"status": ["waiting_acceptance"], "args": [], "optional_args": [], "args_description": {}},
            "refuse": {"status": ["waiting_acceptance"], "args": [], "optional_args": [], "args_description": {}},
            "ship": {
                "status": ["waiting_shipment"], "args": ["carrier", "tracking_number"],
                "optional_args": ["tracking_url"],
                "args_description": {"carrier": _desc("list", free=False), "tracking_number": _desc(),
                                     "tracking_url": _desc()},
            },
            "refund": {"status": ["shipped", "closed"], "args": [], "optional_args": [], "args_description": {}},
        },
        "carriers": FR_CARRIERS,
    },
}

MANOMANO: dict[str, Any] = {
    "name": "ManoMano", "legacy_code": "manomano", "package": "mp_manomano", "country": "FRA",
    "country_iso_a2": "FR", "features": [],
    "orders": {
        "status": {
            "new": ["INIT"], "waiting_acceptance": ["PENDING"], "refused": ["REFUSED"],
            "waiting_shipment": ["WAITING_SHIPMENT", "PREPARATION"], "shipped": ["SHIPPED"], "closed": ["RECEIVED"],
            "canceled": ["CANCELLED"], "refunded": ["REFUNDED"], "partial_refunded": ["PARTIALLY_REFUNDED"],
        },
        "actions": {
            "accept": {"status": ["waiting_acceptance"], "args": [], "optional_args": [], "args_description": {}},
            "refuse": {"status": ["waiting_acceptance"], "args": [], "optional_args": [], "args_description": {}},
            "ship": {
                "status": ["waiting_shipment"], "args": ["carrier", "tracking_number"],
                "optional_args": ["carrier_name", "tracking_url"],
                "args_description": {
                    "carrier": _desc("list", {**{c: v["label"] for c, v in FR_CARRIERS.items()}, "Other": "Other"},
                                     free=False),
                    "tracking_number": _desc(), "carrier_name": _desc(), "tracking_url": _desc(),
                },
            },
            "refund": {
                "status": ["shipped", "closed", "partial_refunded"], "args": ["line", "refund_reason"],
                "optional_args": ["refund_quantity"],
                "args_description": {
                    "line": _desc("line_number"), "refund_quantity": _desc("quantity"),
                    "refund_reason": _desc("list", {"damaged": "Damaged product", "not_received": "Not received",
                                                    "retracted": "Customer retraction"}, default="retracted",
                                           free=False),
                },
            },
        },
        "carriers": FR_CARRIERS,
    },
}

FNAC: dict[str, Any] = {
    "name": "Fnac", "legacy_code": "fnac", "package": "mp_mirakl", "country": "FRA", "country_iso_a2": "FR",
    "features": [],
    "orders": {
        "status": {
            "new": ["STAGING"], "waiting_acceptance": ["WAITING_ACCEPTANCE"],
            "accepted": ["WAITING_DEBIT", "WAITING_DEBIT_PAYMENT"], "waiting_shipment": ["SHIPPING"],
            "shipped": ["SHIPPED"], "refused": ["REFUSED"], "closed": ["CLOSED", "RECEIVED"],
            "canceled": ["CANCELED"], "refunding": ["WAITING_REFUND", "WAITING_REFUND_PAYMENT"],
            "refunded": ["REFUNDED"],
        },
        "actions": {
            "accept": {"status": ["waiting_acceptance"], "args": ["line"], "optional_args": [],
                       "args_description": {"line": _desc("line_number")}},
            "refuse": {"status": ["waiting_acceptance"], "args": ["line"], "optional_args": [],
                       "args_description": {"line": _desc("line_number")}},
            "ship": {
                "status": ["waiting_shipment"], "args": ["carrier"], "optional_args": ["tracking_number", "tracking_url"],
                "args_description": {"carrier": _desc("list"), "tracking_number": _desc(), "tracking_url": _desc()},
            },
            "cancel": {
                "status": ["accepted", "waiting_shipment"], "args": ["reason"],
                "optional_args": ["line", "cancel_quantity"],
                "args_description": {
                    "reason": _desc("list", {"31": "Out of stock", "33": "Customer request"}, default="31", free=False),
                    "line": _desc("line_number"), "cancel_quantity": _desc("quantity"),
                },
            },
            "refund": {
                "status": ["shipped", "closed"], "args": ["line", "refund_reason"], "optional_args": ["refund_price"],
                "args_description": {
                    "line": _desc("line_number"), "refund_price": _desc(),
                    "refund_reason": _desc("list", {"14": "Damaged product", "17": "Customer return"}, default="17",
                                           free=False),
                },
            },
        },
        "carriers": FR_CARRIERS,
    },
}

MARKETPLACES: dict[str, dict[str, Any]] = {"amazon_fr": AMAZON_FR, "cdiscount": CDISCOUNT, "manomano": MANOMANO,
                                           "fnac": FNAC}


def raw_for(marketplace: str, lengow_status: str) -> str:
    """The first raw word the marketplace uses for ``lengow_status`` (the emulator's canonical one)."""
    words = MARKETPLACES[marketplace]["orders"]["status"].get(lengow_status)
    if not words:
        raise KeyError(f"{marketplace} has no {lengow_status} status")
    return str(words[0])


def has_status(marketplace: str, lengow_status: str) -> bool:
    return bool(MARKETPLACES[marketplace]["orders"]["status"].get(lengow_status))


def action_def(marketplace: str, action_type: str) -> dict[str, Any] | None:
    return MARKETPLACES[marketplace]["orders"]["actions"].get(action_type)
