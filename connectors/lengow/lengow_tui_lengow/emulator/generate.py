"""Seeded fictitious orders in Lengow's order JSON (reference/lengow.md §1.6).

Buyers are invented (reserved ``example.*`` e-mail domains). About one order in six has two packages
(two delivery addresses), as marketplaces split orders per address.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from lengow_tui_lengow.emulator import catalog

FIRST = ("Hélène", "François", "Zoé", "Léa", "Chloé", "Inès", "Jérôme", "Benoît", "Gaëlle", "Loïc", "Camille",
         "Lucas", "Emma", "Louis", "Jade", "Sarah", "Thomas", "Céline", "Raphaël", "Agnès")
LAST = ("Martin", "Bernard", "Dubois", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Garcia",
        "Roux", "Fournier", "Girard", "Mercier", "Dupont", "Lambert", "Bonnet", "Nguyen", "Le Goff", "Perrin")
STREETS = ("rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue Pasteur",
           "allée des Tilleuls", "rue Émile Zola", "cours Mirabeau", "quai de Saône")
CITIES = (("75011", "Paris"), ("69003", "Lyon"), ("13006", "Marseille"), ("31000", "Toulouse"),
          ("33000", "Bordeaux"), ("44000", "Nantes"), ("59000", "Lille"), ("35000", "Rennes"))
PRODUCTS = (("Perceuse sans fil 18V", 8990), ("Casque audio Bluetooth", 5990), ("Lampe de bureau LED", 2450),
            ("Roman de poche", 790), ("Cafetière italienne 6 tasses", 3290), ("Câble HDMI 2 m", 1190),
            ("Jeu de tournevis", 1990), ("Tapis de yoga", 2290), ("Bouilloire inox", 3990),
            ("Clé USB 64 Go", 1490))
CODES = tuple(catalog.MARKETPLACES)
DAY = 86400.0
# Cumulative shares of generated orders per status.
STATE_MIX = ((0.25, "waiting_acceptance"), (0.5, "waiting_shipment"), (0.75, "shipped"), (1.01, "closed"))


def iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds, truncated (never later than the moment itself)."""
    whole = int(ts * 1000) / 1000
    return datetime.fromtimestamp(whole, UTC).isoformat(timespec="milliseconds")


def ms(ts: float) -> float:
    return int(ts * 1000) / 1000


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def order_id_for(marketplace: str, rng: random.Random, index: int) -> str:
    if marketplace == "amazon_fr":
        return f"40{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}-{index:07d}"
    if marketplace == "cdiscount":
        return f"{rng.randint(2300, 2612)}{index:06d}{rng.choice('ABCDEFGH')}{rng.choice('JKLMNPQR')}"
    if marketplace == "manomano":
        return f"M{index:08d}{rng.randint(10, 99)}"
    return f"F{index:07d}-{rng.randint(100, 999)}"


def state_for(marketplace: str, rng: random.Random) -> str:
    """A status for a generated order: a mix of every stage, the same for the same seed."""
    draw = rng.random()
    status = next(s for limit, s in STATE_MIX if draw < limit)
    if status == "waiting_acceptance" and not catalog.has_status(marketplace, status):
        status = "new" if catalog.has_status(marketplace, "new") and draw < 0.08 else "waiting_shipment"
    if status == "closed" and not catalog.has_status(marketplace, "closed"):
        status = "shipped"
    return status


def _address(rng: random.Random, delivery_id: int | None = None) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    zipcode, city = rng.choice(CITIES)
    slug = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
    address: dict[str, Any] = {
        "company": "", "civility": rng.choice(("M.", "Mme")), "first_name": first, "last_name": last,
        "full_name": f"{first} {last}", "first_line": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
        "second_line": "", "complement": "", "zipcode": zipcode, "city": city, "state_region": "",
        "common_country_iso_a2": "FR", "phone_home": "", "phone_office": "",
        "phone_mobile": f"06{rng.randint(10000000, 99999999)}", "email": f"{slug}@example.org", "vat_number": "",
    }
    if delivery_id is not None:
        address.update({"id": delivery_id, "type": rng.choice(("PARCEL", "PARCEL", "RELAY")), "trackings": []})
    return address


def build_order(rng: random.Random, index: int, marketplace: str, created: float, status: str,
                account_id: int) -> dict[str, Any]:
    order_id = order_id_for(marketplace, rng, index)
    packages = []
    n_packages = 2 if rng.random() < 0.17 else 1
    line_no = 0
    total = tax = 0
    for p in range(n_packages):
        cart = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            line_no += 1
            title, unit = rng.choice(PRODUCTS)
            quantity = rng.choice((1, 1, 1, 2))
            amount = unit * quantity
            line_tax = amount - amount * 100 // 120
            total, tax = total + amount, tax + line_tax
            cart.append({
                "marketplace_order_line_id": f"{order_id}-{line_no}",
                "marketplace_product_id": f"MP{rng.randint(100000, 999999)}",
                "merchant_product_id": {"field": "sku", "id": f"SKU-{rng.randint(1000, 9999)}"},
                "marketplace_package_id": None,
                "marketplace_status": catalog.raw_for(marketplace, status), "lengow_status": status,
                "title": title, "category": "Maison", "url_product": None, "url_image": None,
                "amount": money(amount), "tax": money(line_tax), "discount": "0.00", "quantity": quantity,
                "created_at": iso(created), "updated_at": iso(created), "max_shipping_date": iso(created + 3 * DAY),
                "orderline_types": [],
            })
        packages.append({"delivery": _address(rng, delivery_id=index * 10 + p + 1), "cart": cart})
    shipping = rng.choice((0, 499, 690))
    billing = _address(rng) if rng.random() < 0.8 else None
    order: dict[str, Any] = {
        "marketplace": marketplace, "account_id": account_id, "marketplace_country_iso2": "FR",
        "marketplace_order_id": order_id, "merchant_order_id": [], "marketplace_customer_id": None,
        "marketplace_status": catalog.raw_for(marketplace, status), "lengow_status": status,
        "workflow_rank": 0, "marketplace_order_date": iso(created), "imported_at": iso(created + 120),
        "updated_at": iso(created + 120),
        "total_order": money(total + shipping), "total_tax": money(tax), "commission": money(total // 10),
        "processing_fee": "0.00", "shipping": money(shipping),
        "currency": {"iso_a3": "EUR", "symbol": "€", "name": "Euro"},
        "comments": "", "invoice_number": None, "invoice_url": None, "payments": [],
        "contact_address": None, "billing_address": billing, "anonymized": False,
        "order_types": [{"type": "is_prime", "label": "Prime"}] if marketplace == "amazon_fr" and index % 7 == 0
        else [],
        "meta": {}, "locale": "fr_FR", "packages": packages,
    }
    if status in ("shipped", "closed"):
        for package in packages:
            package["delivery"]["trackings"].append(tracking_json(
                "COLISSIMO", f"6A{rng.randint(10**10, 10**11 - 1)}", created + DAY,
                [line["marketplace_order_line_id"] for line in package["cart"]]))
    return order


def tracking_json(carrier: str, number: str, shipped_at: float, line_ids: list[str], url: str | None = None,
                  method: str | None = None) -> dict[str, Any]:
    if url is None and carrier.upper() == "COLISSIMO" and number:
        url = f"https://www.laposte.fr/outils/suivre-vos-envois?code={number}"
    return {"number": number, "method": method, "carrier": carrier, "url": url,
            "is_delivered_by_marketplace": False, "parcel_weight": None, "shipped_at": iso(shipped_at),
            "relay": {"id": None, "name": None}, "marketplace_order_line_ids": line_ids}
