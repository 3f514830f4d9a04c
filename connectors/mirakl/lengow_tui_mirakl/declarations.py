"""What the host knows about Mirakl marketplaces: one state machine, many operators.

Every Mirakl operator (Fnac Darty, Carrefour, Decathlon, ...) runs the same Mirakl order workflow
(``order_state`` / ``order_line_state``, see docs/connectors/mirakl.md), so the declarations share the
status map and the actions; they differ by name, carrier list and delivery types. Reason codes and
carrier codes are operator-defined in Mirakl (RE01 / SH21): the lists here are the defaults the
emulator serves; the client checks them against the instance at run time.
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
)

S = Status

# Raw Mirakl states (order_state and order_line_state share one value set) -> common status.
# RECEIVED stays "shipped": refunds and incidents are still possible after delivery; "closed" is
# kept for the terminal CLOSED. INCIDENT_CLOSED happens after shipment, so it falls back to shipped.
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
    "INCIDENT_CLOSED": S.SHIPPED,
    "REFUNDED": S.REFUNDED,
}

# Line markers the connector derives from a line's ``refunds[]`` (Mirakl keeps the line's own state
# while a refund is pending or when only part of the line was refunded). WAITING_REFUND and
# WAITING_REFUND_PAYMENT are Mirakl refund states; PARTIALLY_REFUNDED is the connector's own word.
LINE_REFUND_MARKERS: dict[str, Status] = {
    "WAITING_REFUND": S.REFUNDING,
    "WAITING_REFUND_PAYMENT": S.REFUNDING,
    "PARTIALLY_REFUNDED": S.PARTIAL_REFUNDED,
}
LINE_STATES: dict[str, Status] = {**MIRAKL_STATES, **LINE_REFUND_MARKERS}

OTHER_CARRIER = "OTHER"  # not a Mirakl code: the connector sends carrier_name (+ carrier_url) instead

# SH21 tracking URLs use Mirakl's {trackingId} placeholder; declarations use the host's {tracking_number}.
_BASE_CARRIERS: tuple[CarrierSpec, ...] = (
    CarrierSpec("COLISSIMO", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}"),
    CarrierSpec("CHRONOPOST", "Chronopost",
                "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking_number}"),
    CarrierSpec("UPS", "UPS", "https://www.ups.com/track?tracknum={tracking_number}"),
    CarrierSpec("DHL", "DHL Express", "https://www.dhl.com/fr-fr/home/tracking.html?tracking-id={tracking_number}"),
    CarrierSpec("DPD", "DPD France", "https://trace.dpd.fr/fr/trace/{tracking_number}"),
    CarrierSpec("GLS", "GLS", "https://gls-group.com/FR/fr/suivi-colis?match={tracking_number}"),
    CarrierSpec("MONDIAL_RELAY", "Mondial Relay",
                "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition={tracking_number}"),
    CarrierSpec("COLIS_PRIVE", "Colis Privé", "https://www.colisprive.com/moncolis/pages/detailColis.aspx?numColis={tracking_number}"),
    CarrierSpec("LETTRE_VERTE", "La Poste — Lettre verte (sans suivi)"),
)
_HEAVY_CARRIERS: tuple[CarrierSpec, ...] = (
    CarrierSpec("GEODIS", "Geodis", "https://espace-client.geodis.com/services/tracking?ref={tracking_number}"),
    CarrierSpec("DB_SCHENKER", "DB Schenker", "https://www.dbschenker.com/app/tracking-public/?refNumber={tracking_number}"),
)


def tracked_carrier_codes(carriers: tuple[CarrierSpec, ...]) -> tuple[str, ...]:
    """Carriers with a tracking URL need a tracking number (the emulator enforces it like Mirakl)."""
    return tuple(c.code for c in carriers if c.tracking_url_template)


# RE01 reasons (codes are operator-defined; these are the defaults the emulator serves).
REFUND_REASONS: tuple[Choice, ...] = (
    Choice("13", "Item not received"),
    Choice("14", "Item damaged on arrival"),
    Choice("15", "Item not as described"),
    Choice("16", "Wrong item sent"),
    Choice("17", "Customer withdrawal (return)"),
    Choice("18", "Missing part"),
    Choice("19", "Commercial gesture"),
)
CANCEL_REASONS: tuple[Choice, ...] = (
    Choice("31", "Out of stock"),
    Choice("32", "Price error"),
    Choice("33", "Customer request"),
    Choice("34", "Undeliverable address"),
)
DELIVERY_TYPES: tuple[Choice, ...] = (
    Choice("STD", "Standard delivery"),
    Choice("EXP", "Express delivery"),
    Choice("PUDO", "Pick-up point delivery"),
)
YES_NO = (Choice("no", "No"), Choice("yes", "Yes"))

_AFTER_SHIPMENT = frozenset({S.SHIPPED, S.CLOSED, S.TO_PICKUP, S.TO_REFUND, S.REFUNDING, S.REFUNDED,
                             S.PARTIAL_REFUNDED})


def _actions(carriers: tuple[CarrierSpec, ...]) -> tuple[ActionSpec, ...]:
    carrier_choices = tuple(Choice(c.code, c.label) for c in carriers) + (
        Choice(OTHER_CARRIER, "Other carrier (give its name)"),
    )
    return (
        ActionSpec(ActionKind.ACCEPT, frozenset({S.WAITING_ACCEPTANCE}), per_line=True, partial=True,
                   result_status=S.ACCEPTED, help="Accept the selected lines (Mirakl OR21)."),
        ActionSpec(ActionKind.REFUSE, frozenset({S.WAITING_ACCEPTANCE}), per_line=True, partial=True,
                   result_status=S.REFUSED, help="Refuse the selected lines (Mirakl OR21)."),
        ActionSpec(
            ActionKind.SHIP, frozenset({S.WAITING_SHIPMENT}), result_status=S.SHIPPED,
            arguments=(
                ArgumentSpec("carrier", "Carrier", ArgType.CHOICE, required=True, valid_values=carrier_choices,
                             accept_free_values=False, help="From the operator's carrier list (SH21)."),
                ArgumentSpec("tracking_number", "Tracking number", max_length=100,
                             required_when=(when_argument("carrier", *tracked_carrier_codes(carriers)),)),
                ArgumentSpec("carrier_name", "Carrier name", max_length=100,
                             required_when=(when_argument("carrier", OTHER_CARRIER),),
                             help="Only for a carrier the operator does not list."),
                ArgumentSpec("carrier_url", "Tracking URL", max_length=500,
                             help="Full tracking URL, for a carrier the operator does not list."),
            ),
            help="Send the tracking (OR23), then confirm the shipment (OR24).",
        ),
        ActionSpec(
            ActionKind.CANCEL, frozenset({S.ACCEPTED, S.WAITING_SHIPMENT}), per_line=True, partial=True,
            result_status=S.CANCELED,
            arguments=(
                ArgumentSpec("reason", "Cancellation reason", ArgType.CHOICE, required=True,
                             valid_values=CANCEL_REASONS, accept_free_values=False, default="31"),
            ),
            help="Every line in full: cancel the order (OR29). Some lines or quantities: cancel lines (OR30).",
        ),
        ActionSpec(
            ActionKind.REFUND, frozenset({S.SHIPPED, S.CLOSED, S.TO_PICKUP, S.TO_REFUND, S.PARTIAL_REFUNDED}),
            per_line=True, partial=True, result_status=S.REFUNDING,
            arguments=(
                ArgumentSpec("reason", "Refund reason", ArgType.CHOICE, required=True,
                             valid_values=REFUND_REASONS, accept_free_values=False),
                ArgumentSpec("refund_shipping", "Refund the line's shipping too", ArgType.CHOICE,
                             valid_values=YES_NO, accept_free_values=False, default="no"),
            ),
            help="Refund lines in full or by amount (OR28), with the tax breakdown when the order has taxes. "
                 "The operator pays the refund later (WAITING_REFUND, then REFUNDED).",
        ),
    )


def _documents() -> tuple[DocumentSpec, ...]:
    return (
        DocumentSpec(DocumentKind.DELIVERY_SLIP, "Delivery bill", frozenset({S.WAITING_SHIPMENT}) | _AFTER_SHIPMENT),
        DocumentSpec(DocumentKind.INVOICE, "Customer invoice", _AFTER_SHIPMENT),
        DocumentSpec(DocumentKind.OTHER, "All documents (ZIP)", _AFTER_SHIPMENT),
    )


def _operator(code: str, name: str, carriers: tuple[CarrierSpec, ...]) -> MarketplaceDeclaration:
    return MarketplaceDeclaration(
        code=code,
        name=name,
        status_map=StatusMap(order=MIRAKL_STATES, lines=LINE_STATES, derive_from_lines=True),
        actions=_actions(carriers),
        carriers=carriers,
        documents=_documents(),
        delivery_types=DELIVERY_TYPES,
        # Mirakl's documented maximum for OR11 is one poll per minute (reference §1.2).
        min_poll_interval_seconds=60,
        country="FR",
    )


GENERIC = _operator("mirakl", "Mirakl marketplace", _BASE_CARRIERS)
DECLARATIONS: tuple[MarketplaceDeclaration, ...] = (
    GENERIC,
    _operator("fnac_darty", "Fnac Darty", _BASE_CARRIERS),
    _operator("carrefour", "Carrefour", _BASE_CARRIERS),
    _operator("decathlon", "Decathlon", _BASE_CARRIERS),
    _operator("leroy_merlin", "Leroy Merlin", _BASE_CARRIERS + _HEAVY_CARRIERS),
    _operator("conforama", "Conforama", _BASE_CARRIERS + _HEAVY_CARRIERS),
    _operator("boulanger", "Boulanger", _BASE_CARRIERS + _HEAVY_CARRIERS),
)
OPERATOR_CODES: tuple[str, ...] = tuple(d.code for d in DECLARATIONS)


def declaration(code: str) -> MarketplaceDeclaration | None:
    for candidate in DECLARATIONS:
        if candidate.code == code:
            return candidate
    return None
