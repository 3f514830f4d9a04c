"""The three sandbox marketplaces, as the host sees them.

Each one deliberately differs from the others, the way real marketplaces do:

* ``mirakl_sandbox`` tracks status per order line (Mirakl ``order_line_state``), asks the merchant to
  accept or refuse each line, and refunds per line with Mirakl-style reason codes.
* ``amazon_sandbox`` has no acceptance step, order-level statuses, an "Other" carrier that needs a
  free carrier name, and refunds by quantity and/or amount.
* ``pickup_sandbox`` speaks French, accepts whole orders, and has store pick-up orders. Its "ship" on a
  pick-up order means "ready for collection" (the merchant put the parcel on the shelf); no carrier or
  tracking is needed then, and the order moves to ``to_pickup`` instead of ``shipped``.

Mirakl's ``RECEIVED`` (the customer got the parcel) maps to ``shipped``, not ``closed``: refunds and
incidents are still possible after delivery, and ``closed`` is kept for Mirakl's terminal ``CLOSED``.
"""

from __future__ import annotations

from lengow_tui.connector_api import (
    ActionKind,
    ActionSpec,
    ArgType,
    ArgumentSpec,
    CarrierSpec,
    Choice,
    DocumentKind,
    DocumentSpec,
    MarketplaceDeclaration,
    Status,
    StatusMap,
    when_argument,
    when_order,
)

S = Status
MIN_POLL_SECONDS = 5  # a sandbox can be polled often: it keeps the demo lively

# --- Mirakl-like ---------------------------------------------------------------------------------

MIRAKL_STATES: dict[str, Status] = {
    "STAGING": S.NEW,
    "WAITING_ACCEPTANCE": S.WAITING_ACCEPTANCE,
    "WAITING_DEBIT": S.ACCEPTED,
    "WAITING_DEBIT_PAYMENT": S.ACCEPTED,
    "SHIPPING": S.WAITING_SHIPMENT,
    "SHIPPED": S.SHIPPED,
    "TO_COLLECT": S.TO_PICKUP,
    "RECEIVED": S.SHIPPED,
    "CLOSED": S.CLOSED,
    "REFUSED": S.REFUSED,
    "CANCELED": S.CANCELED,
    "INCIDENT_OPEN": S.TO_REFUND,
    "WAITING_REFUND": S.REFUNDING,
    "REFUNDED": S.REFUNDED,
}

MIRAKL_CARRIERS = (
    CarrierSpec("COLISSIMO", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}"),
    CarrierSpec(
        "CHRONOPOST", "Chronopost",
        "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking_number}",
    ),
    CarrierSpec("UPS", "UPS", "https://www.ups.com/track?tracknum={tracking_number}"),
    CarrierSpec("DHL", "DHL Express", "https://www.dhl.com/fr-fr/home/tracking.html?tracking-id={tracking_number}"),
    CarrierSpec(
        "MONDIAL_RELAY", "Mondial Relay",
        "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition={tracking_number}",
    ),
    CarrierSpec("DPD", "DPD France", "https://trace.dpd.fr/fr/trace/{tracking_number}"),
)

# Mirakl refund reasons come from the operator's RE01 list (type REFUND); codes are operator-defined.
MIRAKL_REFUND_REASONS = (
    Choice("10", "Item not received"),
    Choice("11", "Item damaged"),
    Choice("12", "Item not as described"),
    Choice("13", "Wrong item sent"),
    Choice("14", "Customer withdrawal (return)"),
    Choice("15", "Missing part"),
    Choice("16", "Commercial gesture"),
)

MIRAKL = MarketplaceDeclaration(
    code="mirakl_sandbox",
    name="Mirakl sandbox (Fnac-style)",
    status_map=StatusMap(order=MIRAKL_STATES, lines=MIRAKL_STATES, derive_from_lines=True),
    actions=(
        ActionSpec(ActionKind.ACCEPT, frozenset({S.WAITING_ACCEPTANCE}), per_line=True, partial=True,
                   result_status=S.ACCEPTED, help="Accept the selected lines (Mirakl OR21)."),
        ActionSpec(ActionKind.REFUSE, frozenset({S.WAITING_ACCEPTANCE}), per_line=True, partial=True,
                   result_status=S.REFUSED, help="Refuse the selected lines (Mirakl OR21)."),
        ActionSpec(
            ActionKind.SHIP, frozenset({S.WAITING_SHIPMENT}), result_status=S.SHIPPED,
            arguments=(
                ArgumentSpec("carrier", "Carrier", ArgType.CHOICE, required=True,
                             valid_values=tuple(Choice(c.code, c.label) for c in MIRAKL_CARRIERS),
                             accept_free_values=False),
                ArgumentSpec("tracking_number", "Tracking number", required=True, max_length=64),
            ),
            help="Send tracking (OR23) then confirm shipment (OR24).",
        ),
        ActionSpec(ActionKind.CANCEL, frozenset({S.WAITING_SHIPMENT}), result_status=S.CANCELED,
                   help="Cancel the whole order (OR29)."),
        ActionSpec(
            ActionKind.REFUND, frozenset({S.SHIPPED, S.CLOSED, S.TO_REFUND, S.PARTIAL_REFUNDED}),
            per_line=True, partial=True, result_status=S.REFUNDING,
            arguments=(
                ArgumentSpec("reason", "Refund reason", ArgType.CHOICE, required=True,
                             valid_values=MIRAKL_REFUND_REASONS, accept_free_values=False),
            ),
            help="Refund lines, fully or by amount (OR28). Refunds are paid a little later (WAITING_REFUND).",
        ),
    ),
    carriers=MIRAKL_CARRIERS,
    documents=(
        DocumentSpec(DocumentKind.INVOICE, "Customer invoice",
                     frozenset({S.SHIPPED, S.CLOSED, S.TO_REFUND, S.REFUNDING, S.REFUNDED, S.PARTIAL_REFUNDED})),
        DocumentSpec(DocumentKind.DELIVERY_SLIP, "Delivery slip", frozenset({S.WAITING_SHIPMENT, S.SHIPPED})),
        DocumentSpec(DocumentKind.CREDIT_NOTE, "Credit note", frozenset({S.REFUNDED, S.PARTIAL_REFUNDED})),
    ),
    delivery_types=(Choice("STD", "Standard"), Choice("EXP", "Express")),
    min_poll_interval_seconds=MIN_POLL_SECONDS,
    country="FR",
)

# --- Amazon-like ---------------------------------------------------------------------------------

AMAZON_STATES: dict[str, Status] = {
    "PendingAvailability": S.NEW,
    "Pending": S.NEW,
    "Unshipped": S.WAITING_SHIPMENT,
    "PartiallyShipped": S.WAITING_SHIPMENT,
    "Shipped": S.SHIPPED,
    "InvoiceUnconfirmed": S.SHIPPED,
    "Canceled": S.CANCELED,
    "Unfulfillable": S.CANCELED,
    "PartiallyRefunded": S.PARTIAL_REFUNDED,
    "Refunded": S.REFUNDED,
}

AMAZON_CARRIERS = (
    CarrierSpec("Colissimo", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}"),
    CarrierSpec("Chronopost", "Chronopost",
                "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking_number}"),
    CarrierSpec("UPS", "UPS", "https://www.ups.com/track?tracknum={tracking_number}"),
    CarrierSpec("DHL", "DHL", "https://www.dhl.com/de-de/home/tracking.html?tracking-id={tracking_number}"),
    CarrierSpec("DPD", "DPD", "https://tracking.dpd.de/status/fr_FR/parcel/{tracking_number}"),
    CarrierSpec("GLS", "GLS", "https://gls-group.com/FR/fr/suivi-colis?match={tracking_number}"),
    CarrierSpec("Royal Mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{tracking_number}"),
    CarrierSpec("Other", "Other (give the carrier name)"),
)

AMAZON_CANCEL_REASONS = tuple(
    Choice(code, label) for code, label in (
        ("NoInventory", "No inventory"),
        ("ShippingAddressUndeliverable", "Shipping address undeliverable"),
        ("CustomerExchange", "Customer exchange"),
        ("BuyerCanceled", "Buyer canceled"),
        ("GeneralAdjustment", "General adjustment"),
        ("CarrierCreditDecision", "Carrier credit decision"),
        ("RiskAssessmentInformationNotValid", "Risk assessment information not valid"),
        ("CarrierCoverageFailure", "Carrier coverage failure"),
        ("CustomerReturn", "Customer return"),
        ("MerchandiseNotReceived", "Merchandise not received"),
    )
)

AMAZON_REFUND_REASONS = tuple(
    Choice(code, label) for code, label in (
        ("CustomerReturn", "Customer return"),
        ("ProductOutofStock", "Product out of stock"),
        ("PriceError", "Price error"),
        ("CouldNotShip", "Could not ship"),
        ("DifferentItem", "Different item"),
        ("CustomerCancel", "Customer cancel"),
        ("GeneralAdjustment", "General adjustment"),
        ("CustomerAddressIncorrect", "Customer address incorrect"),
        ("Exchange", "Exchange"),
        ("Other", "Other"),
    )
)

AMAZON = MarketplaceDeclaration(
    code="amazon_sandbox",
    name="Amazon sandbox (Seller Central-style)",
    status_map=StatusMap(order=AMAZON_STATES),
    actions=(
        ActionSpec(
            ActionKind.SHIP, frozenset({S.WAITING_SHIPMENT}), result_status=S.SHIPPED,
            arguments=(
                ArgumentSpec("carrier", "Carrier", ArgType.CHOICE, required=True,
                             valid_values=tuple(Choice(c.code, c.label) for c in AMAZON_CARRIERS),
                             accept_free_values=False),
                ArgumentSpec("carrier_name", "Carrier name", max_length=50,
                             required_when=(when_argument("carrier", "Other"),)),
                ArgumentSpec("tracking_number", "Tracking number", required=True, max_length=64),
                ArgumentSpec("shipping_method", "Shipping method", max_length=50,
                             help="Free text, e.g. 'Standard 48h'"),
                ArgumentSpec("ship_date", "Ship date", ArgType.DATE, help="Defaults to now"),
            ),
            help="Confirm shipment (confirmShipment) for all remaining items.",
        ),
        ActionSpec(
            ActionKind.CANCEL, frozenset({S.NEW, S.WAITING_SHIPMENT}), result_status=S.CANCELED,
            arguments=(
                ArgumentSpec("reason", "Cancellation reason", ArgType.CHOICE, required=True,
                             valid_values=AMAZON_CANCEL_REASONS, accept_free_values=False),
            ),
            help="Cancel the order through an order acknowledgement feed.",
        ),
        ActionSpec(
            ActionKind.REFUND, frozenset({S.SHIPPED, S.PARTIAL_REFUNDED}), per_line=True, partial=True,
            result_status=S.REFUNDED,
            arguments=(
                ArgumentSpec("reason", "Adjustment reason", ArgType.CHOICE, required=True,
                             valid_values=AMAZON_REFUND_REASONS, accept_free_values=False),
            ),
            help="Refund items by quantity and/or amount through a payment adjustment feed.",
        ),
    ),
    carriers=AMAZON_CARRIERS,
    documents=(
        DocumentSpec(DocumentKind.PACKING_SLIP, "Packing slip", frozenset({S.WAITING_SHIPMENT})),
        DocumentSpec(DocumentKind.INVOICE, "VAT invoice",
                     frozenset({S.SHIPPED, S.REFUNDED, S.PARTIAL_REFUNDED})),
    ),
    delivery_types=(
        Choice("Standard", "Standard"),
        Choice("Expedited", "Expedited"),
        Choice("NextDay", "Next day"),
    ),
    min_poll_interval_seconds=MIN_POLL_SECONDS,
    country="FR",
)

# --- Store pick-up marketplace (French vocabulary) -------------------------------------------------

PICKUP_STATES: dict[str, Status] = {
    "EnAttente": S.NEW,
    "AValider": S.WAITING_ACCEPTANCE,
    "Acceptee": S.ACCEPTED,
    "APreparer": S.WAITING_SHIPMENT,
    "PreparationRetrait": S.PICKUP_TO_PREPARE,
    "DisponibleEnMagasin": S.TO_PICKUP,
    "Retiree": S.PICKUP_COMPLETED,
    "RetraitAnnule": S.PICKUP_CANCELED,
    "Expediee": S.SHIPPED,
    "Livree": S.CLOSED,
    "Refusee": S.REFUSED,
    "Annulee": S.CANCELED,
    "RemboursementDemande": S.TO_REFUND,
    "RemboursementEnCours": S.REFUNDING,
    "Remboursee": S.REFUNDED,
    "RembourseePartiellement": S.PARTIAL_REFUNDED,
}

PICKUP_CARRIERS = (
    CarrierSpec("COLISSIMO", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}"),
    CarrierSpec("CHRONOPOST", "Chronopost",
                "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking_number}"),
    CarrierSpec("LETTRE_SUIVIE", "La Poste — Lettre suivie",
                "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}"),
    CarrierSpec("LETTRE_VERTE", "La Poste — Lettre verte (sans suivi)"),
    CarrierSpec("MONDIAL_RELAY", "Mondial Relay",
                "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition={tracking_number}"),
)

PICKUP_CANCEL_REASONS = (
    Choice("RUPTURE", "Rupture de stock"),
    Choice("CLIENT", "Demande du client"),
    Choice("PRIX", "Erreur de prix"),
    Choice("AUTRE", "Autre motif"),
)
PICKUP_REFUSE_REASONS = (
    Choice("RUPTURE", "Rupture de stock"),
    Choice("MAGASIN_FERME", "Magasin fermé"),
    Choice("AUTRE", "Autre motif"),
)
PICKUP_REFUND_REASONS = (
    Choice("RETOUR", "Retour client"),
    Choice("DEFAUT", "Produit défectueux"),
    Choice("NON_RETIRE", "Commande non retirée"),
    Choice("GESTE", "Geste commercial"),
    Choice("AUTRE", "Autre motif"),
)

PICKUP = MarketplaceDeclaration(
    code="pickup_sandbox",
    name="Click & Collect sandbox",
    status_map=StatusMap(order=PICKUP_STATES),
    actions=(
        ActionSpec(ActionKind.ACCEPT, frozenset({S.WAITING_ACCEPTANCE}), result_status=S.ACCEPTED),
        ActionSpec(
            ActionKind.REFUSE, frozenset({S.WAITING_ACCEPTANCE}), result_status=S.REFUSED,
            arguments=(ArgumentSpec("reason", "Motif de refus", ArgType.CHOICE, valid_values=PICKUP_REFUSE_REASONS,
                                    accept_free_values=False),),
        ),
        ActionSpec(
            ActionKind.SHIP, frozenset({S.WAITING_SHIPMENT, S.PICKUP_TO_PREPARE}), result_status=S.SHIPPED,
            arguments=(
                ArgumentSpec("carrier", "Transporteur", ArgType.CHOICE,
                             valid_values=tuple(Choice(c.code, c.label) for c in PICKUP_CARRIERS),
                             accept_free_values=False,
                             required_when=(when_order("delivery_type", "tracked", "letter"),)),
                ArgumentSpec("tracking_number", "Numéro de suivi", max_length=64,
                             required_when=(when_order("delivery_type", "tracked"),)),
            ),
            help=(
                "Parcel and letter orders: shipped with the carrier (tracking required for tracked parcels). "
                "Store pick-up orders: 'ship' means ready for collection; no carrier or tracking, and the "
                "order moves to To Pickup rather than Shipped."
            ),
        ),
        ActionSpec(
            ActionKind.CANCEL, frozenset({S.WAITING_SHIPMENT, S.PICKUP_TO_PREPARE}), result_status=S.CANCELED,
            arguments=(ArgumentSpec("reason", "Motif d'annulation", ArgType.CHOICE, valid_values=PICKUP_CANCEL_REASONS,
                                    accept_free_values=False, default="RUPTURE"),),
        ),
        ActionSpec(
            ActionKind.REFUND,
            frozenset({S.SHIPPED, S.CLOSED, S.PICKUP_COMPLETED, S.TO_REFUND, S.PARTIAL_REFUNDED}),
            per_line=True, partial=True, result_status=S.REFUNDING,
            arguments=(ArgumentSpec("reason", "Motif de remboursement", ArgType.CHOICE, required=True,
                                    valid_values=PICKUP_REFUND_REASONS, accept_free_values=False),),
        ),
    ),
    carriers=PICKUP_CARRIERS,
    documents=(
        DocumentSpec(DocumentKind.PACKING_SLIP, "Bon de préparation",
                     frozenset({S.WAITING_SHIPMENT, S.PICKUP_TO_PREPARE})),
        DocumentSpec(DocumentKind.DELIVERY_SLIP, "Bon de retrait", frozenset({S.TO_PICKUP})),
        DocumentSpec(
            DocumentKind.INVOICE, "Facture",
            frozenset({S.SHIPPED, S.CLOSED, S.PICKUP_COMPLETED, S.TO_REFUND, S.REFUNDING, S.REFUNDED,
                       S.PARTIAL_REFUNDED}),
        ),
    ),
    delivery_types=(
        Choice("tracked", "Tracked parcel"), Choice("letter", "Letter"), Choice("pickup", "Store pick-up"),
    ),
    min_poll_interval_seconds=MIN_POLL_SECONDS,
    country="FR",
)

DECLARATIONS: tuple[MarketplaceDeclaration, ...] = (MIRAKL, AMAZON, PICKUP)
MARKETPLACE_CODES: tuple[str, ...] = tuple(d.code for d in DECLARATIONS)


def declaration(code: str) -> MarketplaceDeclaration | None:
    for candidate in DECLARATIONS:
        if candidate.code == code:
            return candidate
    return None
