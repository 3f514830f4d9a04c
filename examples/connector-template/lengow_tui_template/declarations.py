"""What Marché Exemple tells the host: its statuses, actions, carriers and documents.

Pure data, imported when plugins are listed: no network, no files.
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

# Raw status (as the marketplace API spells it) -> one of the 16 common statuses.
STATUS_MAP = StatusMap(order={
    "NOUVELLE": S.WAITING_ACCEPTANCE,
    "A_EXPEDIER": S.WAITING_SHIPMENT,
    "EXPEDIEE": S.SHIPPED,
    "LIVREE": S.CLOSED,
    "REFUSEE": S.REFUSED,
    "ANNULEE": S.CANCELED,
})

CARRIERS = (
    CarrierSpec("COLISSIMO", "Colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}"),
    CarrierSpec("CHRONOPOST", "Chronopost",
                "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={tracking_number}"),
    CarrierSpec("AUTRE", "Autre transporteur"),
)

MARCHE_EXEMPLE = MarketplaceDeclaration(
    code="marche_exemple",
    name="Marché Exemple",
    country="FR",
    status_map=STATUS_MAP,
    actions=(
        ActionSpec(ActionKind.ACCEPT, frozenset({S.WAITING_ACCEPTANCE}), result_status=S.WAITING_SHIPMENT,
                   help="Accept the order: the marketplace then waits for the shipment."),
        ActionSpec(ActionKind.REFUSE, frozenset({S.WAITING_ACCEPTANCE}), result_status=S.REFUSED, arguments=(
            ArgumentSpec("reason", "Reason", ArgType.CHOICE, required=True, accept_free_values=False,
                         valid_values=(Choice("RUPTURE", "Out of stock"), Choice("PRIX", "Price error"))),
        )),
        ActionSpec(ActionKind.SHIP, frozenset({S.WAITING_SHIPMENT}), result_status=S.SHIPPED, arguments=(
            ArgumentSpec("carrier", "Carrier", ArgType.CHOICE, required=True, accept_free_values=False,
                         valid_values=tuple(Choice(c.code, c.label) for c in CARRIERS)),
            ArgumentSpec("carrier_name", "Carrier name", required_when=(when_argument("carrier", "AUTRE"),),
                         max_length=50),
            ArgumentSpec("tracking_number", "Tracking number", required=True, max_length=40),
        )),
        ActionSpec(ActionKind.CANCEL, frozenset({S.WAITING_SHIPMENT}), result_status=S.CANCELED),
        # No refund: Marché Exemple refunds through its customer service, not through the API.
    ),
    carriers=CARRIERS,
    documents=(DocumentSpec(DocumentKind.INVOICE, "Facture", frozenset({S.SHIPPED, S.CLOSED})),),
    min_poll_interval_seconds=30,
    rate_limit_per_minute=120,
)

DECLARATIONS = (MARCHE_EXEMPLE,)
