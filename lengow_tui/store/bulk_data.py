"""Reference data for :mod:`lengow_tui.store.bulk`: marketplaces, status words, people, carriers, products.

Kept small on purpose: :func:`people` and :func:`catalog` combine these lists into pools (512 residents per
country, 4096 products) from which the generator picks by index.
"""

from __future__ import annotations

import random
import unicodedata

# channel -> (share, line-level statuses?, marketplaces "code:country:currency:weight", doc share %)
CHANNELS: dict[str, tuple[int, bool, str, int]] = {
    "amazon": (
        40,
        False,
        "amazon_fr:FR:EUR:45 amazon_de:DE:EUR:20 amazon_it:IT:EUR:10 amazon_es:ES:EUR:10 "
        "amazon_uk:GB:GBP:8 amazon_pl:PL:PLN:4 amazon_nl:NL:EUR:3",
        10,
    ),
    "fnac": (20, True, "fnac_fr:FR:EUR:80 fnac_be:BE:EUR:10 fnac_es:ES:EUR:6 fnac_pt:PT:EUR:4", 70),
    "cdiscount": (25, True, "cdiscount:FR:EUR:1", 60),
    "manomano": (
        15,
        False,
        "manomano_fr:FR:EUR:70 manomano_es:ES:EUR:10 manomano_it:IT:EUR:10 manomano_de:DE:EUR:10",
        50,
    ),
}
# Raw status words per channel ("review" = a raw status the marketplace map does not know): Mirakl (Fnac),
# Amazon SP-API, Cdiscount and ManoMano vocabularies. States these APIs only imply (refunds, pickup) get
# words in the marketplace's style.
MIRAKL = {
    "new": "STAGING",
    "waiting_acceptance": "WAITING_ACCEPTANCE",
    "accepted": "WAITING_DEBIT_PAYMENT WAITING_DEBIT",
    "waiting_shipment": "SHIPPING",
    "shipped": "SHIPPED",
    "closed": "CLOSED CLOSED RECEIVED",
    "refused": "REFUSED",
    "canceled": "CANCELED",
    "refunding": "WAITING_REFUND",
    "refunded": "REFUNDED",
    "partial_refunded": "PARTIALLY_REFUNDED",
    "to_pickup": "TO_COLLECT",
    "to_refund": "INCIDENT_OPEN",
    "review": "INCIDENT_CLOSED",
}
RAW: dict[str, dict[str, str]] = {
    "fnac": MIRAKL,
    "amazon": {
        "new": "Pending PendingAvailability",
        "waiting_shipment": "Unshipped Unshipped Unshipped PartiallyShipped",
        "shipped": "Shipped Shipped InvoiceUnconfirmed",
        "closed": "Delivered",
        "canceled": "Canceled Unfulfillable",
        "refunding": "RefundPending",
        "refunded": "Refunded",
        "partial_refunded": "PartiallyRefunded",
        "to_refund": "CancellationRequested",
        "to_pickup": "ReadyForPickup",
        "pickup_completed": "PickedUp",
        "pickup_canceled": "RefusedPickup",
        "review": "PendingVerification",
    },
    "cdiscount": {
        "new": "PaymentInProgress",
        "waiting_acceptance": "WaitingForSellerAcceptation",
        "accepted": "AcceptedBySeller",
        "waiting_shipment": "WaitingForShipmentAcceptation",
        "shipped": "Shipped",
        "closed": "Filled",
        "refused": "RefusedBySeller",
        "canceled": "CancelledByCustomer AutomaticCancellation PaymentRefused ShipmentRefusedBySeller",
        "pickup_to_prepare": "WaitingForStorePreparation",
        "to_pickup": "AvailableOnStore",
        "pickup_completed": "PickedUp",
        "pickup_canceled": "NonPickedUpByCustomer",
        "review": "WaitingForFianetValidation",
    },
    "manomano": {
        "new": "WAITING_PAYMENT",
        "waiting_acceptance": "PENDING",
        "waiting_shipment": "PREPARATION",
        "shipped": "SHIPPED",
        "closed": "RECEIVED",
        "refused": "REFUSED",
        "canceled": "CANCELLED",
        "refunding": "REFUNDING",
        "refunded": "REFUNDED",
        "review": "REMORSE_PERIOD",
    },
}

# status, share per 10,000 orders, where it sits in time (0 = two years ago, 1 = now: open orders are recent)
STATUSES: list[tuple[str | None, int, float, float]] = [
    ("closed", 5460, 0.0, 0.97),
    ("shipped", 1500, 0.85, 1.0),
    ("waiting_shipment", 800, 0.97, 1.0),
    ("waiting_acceptance", 400, 0.99, 1.0),
    ("accepted", 300, 0.985, 1.0),
    ("canceled", 500, 0.0, 1.0),
    ("refused", 200, 0.0, 1.0),
    ("refunded", 300, 0.0, 0.97),
    ("partial_refunded", 100, 0.0, 0.97),
    ("refunding", 100, 0.8, 1.0),
    ("to_refund", 100, 0.8, 1.0),
    ("new", 50, 0.995, 1.0),
    ("pickup_to_prepare", 40, 0.97, 1.0),
    ("to_pickup", 40, 0.95, 1.0),
    ("pickup_completed", 50, 0.0, 0.97),
    ("pickup_canceled", 30, 0.0, 0.97),
    (None, 30, 0.0, 1.0),  # None: unknown raw status, needs review
]
# when none of the channels knows a status (e.g. only Amazon: no acceptance step), use this one instead
FALLBACK = {
    "waiting_acceptance": "waiting_shipment",
    "accepted": "waiting_shipment",
    "pickup_to_prepare": "waiting_shipment",
    "to_pickup": "shipped",
    "pickup_completed": "closed",
    "pickup_canceled": "canceled",
    "partial_refunded": "refunded",
    "refunded": "canceled",
    "to_refund": "refunding",
    "refunding": "canceled",
    "new": "waiting_shipment",
    "refused": "canceled",
}
# seconds from ordered_at to the marketplace's last update: (minimum, spread); others (432000, 1728000)
UPDATE_DELAY = {
    "new": (60, 600),
    "waiting_acceptance": (60, 3600),
    "accepted": (600, 7200),
    "waiting_shipment": (600, 20000),
    "shipped": (86400, 172800),
    "closed": (864000, 1728000),
}

# country: first names, last names, streets, "zip/city", phone prefix:digits, address format, VAT %, mails
COUNTRIES: dict[str, tuple[str, ...]] = {
    "FR": (
        "Léa Emma Chloé Camille Manon Inès Lucas Hugo Louis Gabriel Arthur Jules Nathan Paul",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Roux",
        "rue de la République|avenue Victor Hugo|rue Pasteur|boulevard Gambetta|rue des Lilas",
        "75011/Paris|69003/Lyon|13006/Marseille|31000/Toulouse|44000/Nantes|33000/Bordeaux|59000/Lille|"
        "67000/Strasbourg|35000/Rennes|34000/Montpellier",
        "+336:8",
        "{n} {s}",
        "20",
        "gmail.com orange.fr free.fr laposte.net hotmail.fr",
    ),
    "BE": (
        "Lucas Noah Louis Emma Olivia Louise Arthur Mila Jules Elena",
        "Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Dubois Lambert",
        "rue Royale|avenue Louise|Kerkstraat|rue de la Station",
        "1000/Bruxelles|4000/Liège|5000/Namur|2000/Antwerpen|9000/Gent",
        "+324:8",
        "{s} {n}",
        "21",
        "gmail.com skynet.be telenet.be",
    ),
    "ES": (
        "Lucía Sofía Martina María Hugo Martín Daniel Pablo Alejandro Paula",
        "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Ruiz",
        "Calle Mayor|Avenida de la Constitución|Calle Real|Paseo de Gracia",
        "28013/Madrid|08007/Barcelona|46002/Valencia|41001/Sevilla|48001/Bilbao",
        "+346:8",
        "{s}, {n}",
        "21",
        "gmail.com hotmail.es yahoo.es",
    ),
    "PT": (
        "João Maria Ana Francisco Beatriz Tiago Inês Rodrigo",
        "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins",
        "Rua Augusta|Avenida da Liberdade|Rua de Santa Catarina",
        "1100-053/Lisboa|4000-322/Porto|3000-150/Coimbra",
        "+3519:8",
        "{s}, {n}",
        "23",
        "gmail.com sapo.pt",
    ),
    "DE": (
        "Mia Emma Hannah Sophia Leon Paul Lukas Jonas Felix Marie Elias Lena",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Wolf",
        "Hauptstraße|Bahnhofstraße|Gartenstraße|Schulstraße|Lindenweg",
        "10115/Berlin|20095/Hamburg|80331/München|50667/Köln|60311/Frankfurt am Main|70173/Stuttgart",
        "+4915:9",
        "{s} {n}",
        "19",
        "gmail.com web.de gmx.de t-online.de",
    ),
    "IT": (
        "Sofia Giulia Aurora Alice Leonardo Francesco Alessandro Lorenzo Matteo Chiara",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco",
        "Via Roma|Via Garibaldi|Corso Italia|Via Dante",
        "00184/Roma|20121/Milano|10121/Torino|80133/Napoli|50122/Firenze|40121/Bologna",
        "+393:9",
        "{s}, {n}",
        "22",
        "gmail.com libero.it alice.it",
    ),
    "GB": (
        "Olivia Amelia Isla Ava Oliver George Harry Noah Jack Charlie",
        "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson",
        "High Street|Station Road|Church Lane|Victoria Road|Green Lane",
        "SW1A 1AA/London|M1 1AE/Manchester|B1 1BB/Birmingham|LS1 4AP/Leeds|EH1 1YZ/Edinburgh",
        "+447:9",
        "{n} {s}",
        "20",
        "gmail.com outlook.com btinternet.com",
    ),
    "NL": (
        "Emma Julia Mila Noah Sem Liam Lucas Tess",
        "de Jong|Jansen|de Vries|van den Berg|Bakker|Visser|Smit|Meijer",
        "Dorpsstraat|Kerkstraat|Molenweg|Stationsweg",
        "1012 AB/Amsterdam|3011 AD/Rotterdam|3511 AX/Utrecht|2511 CV/Den Haag",
        "+316:8",
        "{s} {n}",
        "21",
        "gmail.com ziggo.nl kpnmail.nl",
    ),
    "PL": (
        "Zofia Julia Maja Hanna Antoni Jan Jakub Aleksander Szymon Franciszek",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński",
        "ul. Marszałkowska|ul. Długa|ul. Polna|ul. Lipowa",
        "00-001/Warszawa|30-001/Kraków|50-001/Wrocław|80-001/Gdańsk|60-001/Poznań",
        "+485:8",
        "{s} {n}",
        "23",
        "gmail.com wp.pl onet.pl o2.pl",
    ),
}
# carrier: tracking prefix, digits, suffix, URL prefix (tracking appended)
CARRIERS: dict[str, tuple[str, int, str, str]] = {
    "Colissimo": ("6A", 11, "", "https://www.laposte.fr/outils/suivre-vos-envois?code="),
    "Chronopost": ("XW", 9, "FR", "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT="),
    "Mondial Relay": ("", 8, "", "https://www.mondialrelay.fr/suivi-de-colis/?NumeroExpedition="),
    "DPD": ("", 14, "", "https://tracking.dpd.de/status/en_US/parcel/"),
    "GLS": ("", 11, "", "https://gls-group.com/track/"),
    "UPS": ("1Z", 16, "", "https://www.ups.com/track?tracknum="),
    "DHL": ("00340", 15, "", "https://www.dhl.com/de-en/home/tracking.html?tracking-id="),
    "Hermes": ("H", 19, "", "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation#"),
    "Royal Mail": ("JD", 9, "GB", "https://www.royalmail.com/track-your-item#/tracking-results/"),
    "Correos": (
        "PQ",
        14,
        "",
        "https://www.correos.es/es/es/herramientas/localizador/envios/detalle?tracking-number=",
    ),
    "BRT": ("", 12, "", "https://vas.brt.it/vas/sped_det_show.hsm?referer=sped_numspe_par.htm&Nspediz="),
    "InPost": ("", 24, "", "https://inpost.pl/sledzenie-przesylek?number="),
    "bpost": ("32", 22, "", "https://track.bpost.cloud/btr/web/#/search?itemCode="),
    "PostNL": ("3S", 13, "", "https://jouw.postnl.nl/track-and-trace/"),
    "CTT": ("DA", 9, "PT", "https://www.ctt.pt/feapl_2/app/open/objectSearch/objectSearch.jspx?objects="),
}
COUNTRY_CARRIERS = {
    "FR": "Colissimo|Colissimo|Chronopost|DPD|GLS|UPS",
    "BE": "bpost|DPD|Mondial Relay",
    "ES": "Correos|Correos|DPD|UPS",
    "PT": "CTT|CTT|DPD",
    "DE": "DHL|DHL|Hermes|DPD|GLS",
    "IT": "BRT|GLS|UPS",
    "GB": "Royal Mail|Royal Mail|DPD|UPS",
    "NL": "PostNL|PostNL|DHL",
    "PL": "InPost|InPost|DPD",
}
DELIVERY = "PARCEL " * 12 + "RELAY " * 4 + "EXPRESS " * 3 + "LETTER"
# category: brands | products with base price in cents | variants with price factor %
CATALOG = [
    (
        "BRI",
        "Bosch Makita DeWalt Ryobi Stanley Black+Decker",
        "Perceuse visseuse 18V:8990 Scie circulaire 1400W:11990 "
        "Ponceuse orbitale:5490 Niveau laser croix:7990 Coffret de forets 50 pièces:2490 "
        "Meuleuse 125 mm:6990",
        "avec 2 batteries:150 en coffret:110 sans batterie:80 kit complet:170",
    ),
    (
        "HIF",
        "Samsung Sony JBL Philips Logitech Xiaomi",
        "Casque Bluetooth:7990 Enceinte portable:5990 Souris sans "
        "fil:2490 Écran 27 pouces:24990 Clé USB 128 Go:1590 Chargeur rapide 65W:3490",
        "noir:100 blanc:100 bleu:105 édition 2024:120",
    ),
    (
        "MAI",
        "Tefal Moulinex SEB Dyson Rowenta KitchenAid",
        "Poêle 28 cm:3490 Robot pâtissier:29990 Aspirateur "
        "balai:19990 Fer à repasser vapeur:5990 Bouilloire 1,7 L:3990 Cafetière filtre:4490",
        "inox:110 rouge:100 pack famille:140 compact:90",
    ),
    (
        "JEU",
        "LEGO Playmobil Hasbro Ravensburger Mattel Asmodee",
        "Set de construction:4990 Jeu de société:2990 "
        "Puzzle 1000 pièces:1690 Figurine articulée:1990 Coffret découverte:3490 Véhicule radiocommandé:5990",
        "dès 6 ans:100 dès 8 ans:110 édition collector:160 format voyage:70",
    ),
]
CURRENCY_RATE = {"EUR": 100, "GBP": 86, "PLN": 430}  # price factor in % of the EUR price

RELAY_CARRIER = {
    "PL": "InPost",
    "DE": "Hermes",
    "IT": "BRT",
    "GB": "DPD",
    "NL": "PostNL",
}  # else Mondial Relay
SHIPPING_FEE = {"PARCEL": 490, "RELAY": 390, "EXPRESS": 990, "LETTER": 290, "CLICK_AND_COLLECT": 0}
FREE_SHIPPING_FROM = 4900  # EUR cents: PARCEL and RELAY deliveries above this are free


def priced(spec: str) -> list[tuple[str, int]]:
    """ "Drill 18V:8990 Saw:4990" -> [("Drill 18V", 8990), ("Saw", 4990)]."""
    out, words = [], []
    for word in spec.split(" "):
        name, _, value = word.partition(":")
        words.append(name)
        if value:
            out.append((" ".join(words), int(value)))
            words = []
    return out


def people(rng: random.Random, country: str, size: int = 512) -> list[tuple[str, ...]]:
    """(name, company, address1, address2, zipcode, city, country, email, phone, casefolded name)."""
    firsts, lasts, streets, cities, phone, fmt, _, mails = COUNTRIES[country]
    last_names = lasts.split("|") if "|" in lasts else lasts.split()
    prefix, digits = phone.split(":")
    out = []
    for _ in range(size):
        first, last = rng.choice(firsts.split()), rng.choice(last_names)
        zipcode, city = rng.choice(cities.split("|")).split("/")
        address2 = rng.choice(["", "", "", "", "", f"Apt {rng.randint(1, 60)}", f"Bât. {rng.choice('ABCD')}"])
        company = f"{last} {'SARL' if country == 'FR' else '& Co'}" if rng.random() < 0.1 else ""
        local = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        email = f"{local.lower().replace(' ', '')}{rng.randint(1, 99)}@{rng.choice(mails.split())}"
        address1 = fmt.format(n=rng.randint(1, 180), s=rng.choice(streets.split("|")))
        out.append(
            (
                f"{first} {last}",
                company,
                address1,
                address2,
                zipcode,
                city,
                country,
                email,
                f"{prefix}{rng.randrange(10 ** int(digits)):0{digits}d}",
                f"{first} {last}".casefold(),
            )
        )
    return out


def catalog(rng: random.Random, size: int = 4096) -> list[tuple[str, str, int, str]]:
    """(sku, title, price in EUR cents, "sku title" casefolded for search_text)."""
    out = []
    for i in range(size):
        prefix, brands, products, variants = CATALOG[i % len(CATALOG)]
        (product, price), (variant, factor) = rng.choice(priced(products)), rng.choice(priced(variants))
        title = f"{rng.choice(brands.split())} {product} {variant}"
        sku = f"{prefix}-{rng.randrange(10**6):06d}-{i:04d}"
        out.append((sku, title, price * factor // 1000 * 10 + 9, f"{sku} {title}".casefold()))
    return out
