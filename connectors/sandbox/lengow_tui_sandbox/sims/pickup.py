"""A French click & collect marketplace: whole-order decisions, parcels, letters and store pick-up.

Pick-up orders go ``PreparationRetrait`` -> (merchant "ship" = ready for collection)
``DisponibleEnMagasin`` -> ``Retiree`` when the customer collects (2-48 simulated hours, 88 %) or
``RetraitAnnule`` after five days without a visit. Parcel and letter orders follow the usual flow and
end ``Livree``. Refunds go through ``RemboursementEnCours`` for 30 simulated seconds.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from lengow_tui.connector_api import ActionKind, ActionRequest, Status
from lengow_tui_sandbox.declarations import PICKUP
from lengow_tui_sandbox.fakedata import STORES
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

_V, _A, _P = ("validate", 0.005, 0.05), ("accept", 0.2, 8), ("prepare", 0.005, 0.01)
_SH, _DL = ("ship", 2, 30), ("deliver", 48, 96)
_PAID = ("refund_paid", 0.005, 0.01)
_REFUNDABLE = ("Expediee", "Livree", "Retiree", "RemboursementDemande", "RembourseePartiellement")
_LABELS = {"tracked": "Colis suivi", "letter": "Lettre", "pickup": "Retrait en magasin"}


class PickupSim(MarketplaceSim):
    code = PICKUP.code
    declaration = PICKUP
    unknown_status = "EnVerification"
    reject_messages: ClassVar[dict[ActionKind, str]] = {
        ActionKind.ACCEPT: "Refus de la place de marché : le magasin de retrait n'accepte plus de commandes "
                           "aujourd'hui (code M12)",
        ActionKind.REFUSE: "Refus de la place de marché : la commande est déjà en cours de traitement (code M07)",
        ActionKind.SHIP: "Refus de la place de marché : numéro de suivi inconnu du transporteur (code T03)",
        ActionKind.CANCEL: "Refus de la place de marché : annulation impossible, le client a été débité (code P21)",
        ActionKind.REFUND: "Refus de la place de marché : le prestataire de paiement a refusé le remboursement "
                           "(code P40)",
    }
    scripts: ClassVar[dict[Status, tuple[Script, ...]]] = {
        Status.NEW: (Script((), 0, 0.005),),
        Status.WAITING_ACCEPTANCE: (Script(steps(_V), 0.05, 30),),
        Status.ACCEPTED: (Script(steps(_V, _A), 0, 0.004),),
        Status.WAITING_SHIPMENT: (Script(steps(_V, _A, _P), 0.1, 48),),
        Status.PICKUP_TO_PREPARE: (Script(steps(_V, _A, _P), 0.1, 24),),
        Status.SHIPPED: (Script(steps(_V, _A, _P, _SH), 1, 40),),
        Status.TO_PICKUP: (Script(steps(_V, _A, _P, ("ship", 1, 24)), 0.5, 36),),
        Status.CLOSED: (Script(steps(_V, _A, _P, _SH, _DL), 0, 20 * 24),),
        Status.PICKUP_COMPLETED: (Script(steps(_V, _A, _P, ("ship", 1, 24), ("collect", 2, 48)), 0, 20 * 24),),
        Status.PICKUP_CANCELED: (Script(steps(_V, _A, _P, ("ship", 1, 24), ("no_show", 120, 121)), 0, 15 * 24),),
        Status.REFUSED: (Script(steps(_V, ("refuse", 0.2, 8)), 0, 25 * 24),),
        Status.CANCELED: (Script(steps(_V, _A, _P, ("cancel", 1, 24)), 0, 25 * 24),),
        Status.TO_REFUND: (Script(steps(_V, _A, _P, _SH, _DL, ("refund_request", 24, 120)), 0, 4 * 24),),
        Status.REFUNDING: (Script(steps(_V, _A, _P, _SH, _DL, ("refund", 24, 120)), 0, 0.005),),
        Status.REFUNDED: (Script(steps(_V, _A, _P, _SH, _DL, ("refund", 24, 120), _PAID), 0, 12 * 24),),
        Status.PARTIAL_REFUNDED: (Script(steps(_V, _A, _P, _SH, _DL, ("refund_one", 24, 120), _PAID), 0, 12 * 24),),
    }

    def order_id(self, n: int, rng: random.Random) -> str:
        return f"CC{n:07d}"

    def line_id(self, order_id: str, index: int, rng: random.Random) -> str:
        return f"L{index + 1}"

    def delivery_type(self, rng: random.Random) -> str:
        return rng.choices(("tracked", "letter", "pickup"), weights=(50, 15, 35))[0]

    def decorate(self, order: Order, rng: random.Random) -> None:
        if order["delivery_type"] != "pickup":
            return
        code, name, street, zipcode, city = rng.choice(STORES)
        order["store"] = {"code": code, "name": name}
        order["pickup_code"] = f"{rng.randint(0, 999999):06d}"
        order["shipping"].update(company=name, address1=street, address2="", zipcode=zipcode, city=city, country="FR")

    def target_weights(self, order: Order) -> dict[Status, int]:
        if order["delivery_type"] == "pickup":
            return {
                Status.PICKUP_COMPLETED: 45, Status.TO_PICKUP: 12, Status.PICKUP_TO_PREPARE: 12,
                Status.WAITING_ACCEPTANCE: 10, Status.PICKUP_CANCELED: 6, Status.REFUSED: 4, Status.NEW: 1,
                Status.CANCELED: 4,
            }
        return {
            Status.CLOSED: 40, Status.SHIPPED: 15, Status.WAITING_SHIPMENT: 10, Status.WAITING_ACCEPTANCE: 10,
            Status.NEW: 1, Status.ACCEPTED: 1, Status.REFUSED: 3, Status.CANCELED: 5, Status.TO_REFUND: 4,
            Status.REFUNDING: 1, Status.REFUNDED: 4, Status.PARTIAL_REFUNDED: 3,
        }

    # --- state changes -------------------------------------------------------------------------

    def start(self, order: Order, tick: Tick) -> None:
        order["status"] = "EnAttente"

    def schedule_natural(self, order: Order, tick: Tick, rng: random.Random) -> None:
        status = order["status"]
        if status == "EnAttente":
            self.schedule(order, "validate", 30, tick, rng)
        elif status == "Acceptee":
            self.schedule(order, "prepare", 20, tick, rng)
        elif status == "APreparer" and rng.random() < 0.02:
            self.schedule(order, "customer_cancel", rng.uniform(2, 12) * HOUR, tick, rng)
        elif status == "Expediee":
            self.schedule(order, "deliver", rng.uniform(2, 4) * DAY, tick, rng)
        elif status == "DisponibleEnMagasin":
            if rng.random() < 0.88:
                self.schedule(order, "collect", rng.uniform(2, 48) * HOUR, tick, rng)
            else:
                self.schedule(order, "no_show", 5 * DAY, tick, rng)
        elif status in ("Livree", "Retiree") and rng.random() < 0.04:
            self.schedule(order, "refund_request", rng.uniform(1, 5) * DAY, tick, rng)
        elif status == "RemboursementEnCours":
            self.schedule(order, "refund_paid", 30, tick, rng)
        else:
            self.unschedule(order)

    _EVENTS: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {  # event -> (from statuses, to status)
        "validate": (("EnAttente",), "AValider"),
        "customer_cancel": (("APreparer",), "Annulee"),
        "deliver": (("Expediee",), "Livree"),
        "collect": (("DisponibleEnMagasin",), "Retiree"),
        "no_show": (("DisponibleEnMagasin",), "RetraitAnnule"),
        "refund_request": (("Livree", "Retiree"), "RemboursementDemande"),
    }

    def evolve(self, order: Order, kind: str, tick: Tick, rng: random.Random) -> None:
        status = order["status"]
        if kind in self._EVENTS and status in self._EVENTS[kind][0]:
            if kind == "customer_cancel":
                order["reason"] = "CLIENT"
            self._set(order, self._EVENTS[kind][1], tick, rng)
        elif kind == "prepare" and status == "Acceptee":
            self._set(order, "PreparationRetrait" if order["delivery_type"] == "pickup" else "APreparer", tick, rng)
        elif kind == "refund_paid" and status == "RemboursementEnCours":
            for refund in order["refunds"]:
                refund["state"] = "Effectue"
            self._set(order, "Remboursee" if self.fully_refunded(order) else "RembourseePartiellement", tick, rng)
        else:
            self.schedule_natural(order, tick, rng)

    def state_problem(self, order: Order, request: ActionRequest) -> str | None:
        kind, status, oid = request.kind, order["status"], order["order_id"]
        expected = {
            ActionKind.ACCEPT: ("AValider",),
            ActionKind.REFUSE: ("AValider",),
            ActionKind.SHIP: ("PreparationRetrait",) if order["delivery_type"] == "pickup" else ("APreparer",),
            ActionKind.CANCEL: ("APreparer", "PreparationRetrait"),
            ActionKind.REFUND: _REFUNDABLE,
        }.get(request.kind)
        if expected is None:
            return f"Opération {kind} inconnue"
        if status not in expected:
            return f"Commande {oid} au statut {status} : {kind} possible seulement au statut {' ou '.join(expected)}"
        if request.lines and kind != ActionKind.REFUND:
            return f"{kind} porte sur la commande entière, pas sur des lignes"
        if kind == ActionKind.REFUND:
            plan = self.plan_refund(order, request, lambda line: True)
            return plan if isinstance(plan, str) else None
        return None

    def apply(self, order: Order, request: ActionRequest, tick: Tick, rng: random.Random) -> None:
        kind = request.kind
        if kind == ActionKind.ACCEPT:
            order["dates"]["decided"] = tick.at
            self._set(order, "Acceptee", tick, rng)
        elif kind == ActionKind.REFUSE:
            order["reason"] = self.argument(request, "reason")
            self._set(order, "Refusee", tick, rng)
        elif kind == ActionKind.SHIP and order["delivery_type"] == "pickup":
            order["dates"]["ready"] = tick.at
            self._set(order, "DisponibleEnMagasin", tick, rng)
        elif kind == ActionKind.SHIP:
            code, number = self.argument(request, "carrier"), self.argument(request, "tracking_number")
            carrier = self.declaration.carrier(code)
            order["tracking"] = {
                "carrier": code, "carrier_name": carrier.label if carrier else code, "number": number,
                "url": (carrier.tracking_url(number) if carrier else None) or "", "shipped_at": tick.at,
                "method": _LABELS[order["delivery_type"]],
            }
            self._set(order, "Expediee", tick, rng)
        elif kind == ActionKind.CANCEL:
            order["reason"] = self.argument(request, "reason")
            self._set(order, "Annulee", tick, rng)
        elif kind == ActionKind.REFUND:
            plan = self.plan_refund(order, request, lambda line: True)
            assert not isinstance(plan, str)
            self.record_refunds(order, plan, self.argument(request, "reason"), "EnCours", tick)
            self._set(order, "RemboursementEnCours", tick, rng)

    # --- the payload, in the marketplace's own French keys ---------------------------------------

    @staticmethod
    def _adresse(person: dict[str, Any]) -> dict[str, Any]:
        return {
            "prenom": person["first"], "nom": person["last"], "societe": person["company"] or None,
            "ligne1": person["address1"], "ligne2": person["address2"] or None, "codePostal": person["zipcode"],
            "ville": person["city"], "pays": person["country"], "telephone": person["phone"],
        }

    def raw(self, order: Order) -> dict[str, Any]:
        items = sum(line["amount"] for line in order["lines"])
        tracking, pickup = order["tracking"], order["delivery_type"] == "pickup"
        return {
            "numeroCommande": order["order_id"],
            "statut": order["status"],
            "motifStatut": order.get("reason") or None,
            "dateCreation": iso(order["ordered_at"]),
            "dateModification": iso(order["updated_at"]),
            "dateLimiteExpedition": iso(order["deadline"]),
            "modeLivraison": order["delivery_type"],
            "libelleModeLivraison": _LABELS[order["delivery_type"]],
            "devise": order["currency"],
            "montantArticlesTTC": money(items),
            "fraisPortTTC": money(order["shipping_cents"]),
            "montantTotalTTC": money(items + order["shipping_cents"]),
            "client": {
                "prenom": order["buyer"]["first"], "nom": order["buyer"]["last"],
                "email": order["buyer"]["email"], "telephone": order["buyer"]["phone"],
            },
            "adresseFacturation": self._adresse(order["billing"]),
            "adresseLivraison": None if pickup else self._adresse(order["shipping"]),
            "magasinRetrait": order.get("store") if pickup else None,
            "codeRetrait": order.get("pickup_code") if pickup else None,
            "lignes": [
                {
                    "idLigne": line["id"], "referenceVendeur": line["sku"], "libelle": line["title"],
                    "quantite": line["qty"], "prixUnitaireTTC": money(line["amount"] // line["qty"]),
                    "montantTTC": money(line["amount"]), "montantTVA": money(line["tax"]),
                    "montantRembourse": money(line["refunded_cents"]),
                }
                for line in order["lines"]
            ],
            "expedition": None if not tracking else {
                "transporteur": tracking["carrier"], "libelleTransporteur": tracking["carrier_name"],
                "numeroSuivi": tracking["number"] or None, "urlSuivi": tracking["url"] or None,
                "dateExpedition": iso(tracking["shipped_at"]),
            },
            "remboursements": [
                {"idLigne": r["line"], "montant": money(r["amount"]), "quantite": r["qty"], "motif": r["reason"],
                 "etat": r["state"], "date": iso(r["at"])}
                for r in order["refunds"]
            ],
        }
