"""Small built-in lists for plausible European customers and products (no extra dependency).

Everything here is fictitious; e-mail domains are the reserved ``example.*`` ones and phone numbers
follow the national formats without belonging to anyone in particular.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

FIRST_NAMES = (
    "Hélène", "François", "Zoé", "Léa", "Chloé", "Manon", "Inès", "Jérôme", "Benoît", "Noël", "Gaëlle",
    "Maël", "Loïc", "Camille", "Lucas", "Hugo", "Emma", "Louis", "Jade", "Nathan", "Sarah", "Thomas",
    "Julie", "Nicolas", "Céline", "Amélie", "Raphaël", "Gabriel", "Agnès", "Frédéric", "Stéphane",
    "Anaïs", "Clément", "Margaux", "Théo", "Élodie", "Aurélien", "Sofía", "José", "Jürgen", "Björn",
    "Chiara", "Łukasz", "Siobhán", "Mathilde", "Yannick",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "Nguyen", "Müller", "Núñez",
    "Da Silva", "O'Brien", "Le Goff", "Kowalski", "Rossi", "Van den Berg", "Château", "Perrin", "Faure",
)
COMPANIES = ("", "", "", "", "", "", "SARL Atelier Bleu", "Boulangerie Perrin", "Cabinet Moreau & Associés")

STREETS_FR = (
    "rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue du Général Leclerc",
    "place de la Mairie", "chemin des Vignes", "rue Pasteur", "allée des Tilleuls", "impasse des Lilas",
    "quai de Saône", "rue Émile Zola", "avenue de la Libération", "rue des Écoles", "cours Mirabeau",
)
CITIES = {
    "FR": (
        ("75011", "Paris"), ("69003", "Lyon"), ("13006", "Marseille"), ("31000", "Toulouse"),
        ("33000", "Bordeaux"), ("44000", "Nantes"), ("59000", "Lille"), ("67000", "Strasbourg"),
        ("34000", "Montpellier"), ("35000", "Rennes"), ("06000", "Nice"), ("38000", "Grenoble"),
        ("21000", "Dijon"), ("49100", "Angers"), ("29200", "Brest"), ("63000", "Clermont-Ferrand"),
        ("76000", "Rouen"), ("87000", "Limoges"), ("64200", "Biarritz"), ("74000", "Annecy"),
        ("97400", "Saint-Denis"),
    ),
    "BE": (("1000", "Bruxelles"), ("4000", "Liège"), ("5000", "Namur")),
    "DE": (("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("20095", "Hamburg")),
    "ES": (("28013", "Madrid"), ("08002", "Barcelona"), ("41001", "Sevilla")),
    "GB": (("SW1A 1AA", "London"), ("M1 1AE", "Manchester"), ("EH1 1YZ", "Edinburgh")),
}
STREETS = {
    "DE": ("Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Gartenweg"),
    "ES": ("Calle Mayor", "Avenida de la Constitución", "Calle de Alcalá"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road"),
}
PHONE_PREFIX = {"FR": "+33 6", "BE": "+32 470", "DE": "+49 151", "ES": "+34 612", "GB": "+44 7700"}
ADDRESS2 = ("", "", "", "", "Bâtiment B", "Appartement 12", "3e étage", "Résidence Les Pins", "c/o Mairie")

# (sku, title, unit price in cents)
PRODUCTS = (
    ("SKU-CASQ-ANC-01", "Casque audio Bluetooth à réduction de bruit", 12990),
    ("SKU-CAFE-ITA-06", "Cafetière italienne 6 tasses inox", 3490),
    ("SKU-LIVR-ETR-01", "L'Étranger — Albert Camus (poche)", 790),
    ("SKU-CHRG-USBC-65", "Chargeur USB-C 65 W GaN", 3999),
    ("SKU-LAMP-LED-02", "Lampe de chevet LED tactile", 2450),
    ("SKU-YOGA-6MM", "Tapis de yoga 6 mm antidérapant", 2299),
    ("SKU-LEGO-TECH-42", "Coffret de construction Technic 42", 8999),
    ("SKU-POEL-28", "Poêle antiadhésive 28 cm induction", 2790),
    ("SKU-BOUI-17", "Bouilloire inox 1,7 L", 3290),
    ("SKU-ENCE-IP67", "Enceinte portable étanche IP67", 5990),
    ("SKU-SOUR-ERGO", "Souris sans fil ergonomique", 2990),
    ("SKU-CLAV-MECA-FR", "Clavier mécanique AZERTY rétroéclairé", 8990),
    ("SKU-JEU-DIXIT", "Jeu de société Dixit", 2990),
    ("SKU-SAC-RANDO-30", "Sac à dos randonnée 30 L", 4990),
    ("SKU-GOUR-750", "Gourde isotherme 750 ml", 1990),
    ("SKU-PERC-18V", "Perceuse-visseuse 18 V + 2 batteries", 11990),
    ("SKU-PLAI-150", "Plaid polaire 150 × 200 cm", 2490),
    ("SKU-ENCR-XL-BK", "Cartouche d'encre noire XL", 2790),
    ("SKU-MONT-SPORT", "Montre connectée sport GPS", 14990),
    ("SKU-ROBO-1000", "Robot pâtissier 1000 W", 19990),
    ("SKU-AMPO-E27", "Ampoule connectée E27 couleur", 1490),
    ("SKU-HDMI-21-2M", "Câble HDMI 2.1 — 2 m", 1290),
    ("SKU-SSD-1TO", "Disque SSD externe 1 To USB 3.2", 9990),
    ("SKU-BROS-ELEC", "Brosse à dents électrique", 4990),
    ("SKU-ASPI-BALAI", "Aspirateur balai sans fil 25,2 V", 17990),
    ("SKU-COQU-IP15", "Coque transparente pour smartphone 6,1\"", 990),
    ("SKU-TENT-3P", "Tente 3 places double toit", 7990),
    ("SKU-CAHI-A4-5", "Cahiers A4 grands carreaux (lot de 5)", 690),
    ("SKU-CREM-50", "Crème hydratante visage 50 ml", 1590),
    ("SKU-JEUV-KART", "Jeu vidéo de course — édition Switch", 4999),
)

STORES = (
    ("MAG-PAR-11", "Magasin Paris Bastille", "12 rue de la Roquette", "75011", "Paris"),
    ("MAG-LYO-03", "Magasin Lyon Part-Dieu", "17 rue du Docteur Bouchut", "69003", "Lyon"),
    ("MAG-BDX-01", "Magasin Bordeaux Sainte-Catherine", "50 rue Sainte-Catherine", "33000", "Bordeaux"),
    ("MAG-LIL-01", "Magasin Lille Euralille", "100 centre Euralille", "59000", "Lille"),
)

# Escape sequences a hostile marketplace payload might carry; the host must neutralise them.
HOSTILE_NAME_SPICES = (
    "\x1b[31mROUGE\x1b[0m ", "\x1b[2J\x1b[H", "\x07", "\u202e", "\x1b]0;pwned\x07", "\r\n", "\x00",
)
HOSTILE_TITLE_SPICES = (
    "\x1b]8;;https://evil.example/\x07cliquez ici\x1b]8;;\x07 ", "\x1b[5m", "\x08\x08\x08", "\u200b", "\x1b[?1049h",
)
EMOJI = ("🌻", "🎁", "🚲", "✨")


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    company: str
    address1: str
    address2: str
    zipcode: str
    city: str
    country: str
    email: str
    phone: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def person(rng: random.Random, country: str = "FR") -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    zipcode, city = rng.choice(CITIES.get(country, CITIES["FR"]))
    street = rng.choice(STREETS.get(country, STREETS_FR))
    number = rng.randint(1, 180)
    address1 = f"{street} {number}" if country in ("DE", "ES") else f"{number} {street}"
    if country == "GB":
        address1 = f"{number} {street}"
    domain = rng.choice(("example.com", "example.fr", "example.org", "example.net"))
    email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{domain}"
    digits = " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))
    return Person(
        first=first, last=last, company=rng.choice(COMPANIES), address1=address1,
        address2=rng.choice(ADDRESS2) if country in ("FR", "BE") else "",
        zipcode=zipcode, city=city, country=country, email=email,
        phone=f"{PHONE_PREFIX.get(country, '+33 6')} {digits}",
    )
