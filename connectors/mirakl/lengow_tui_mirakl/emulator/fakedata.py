"""Fictitious French buyers and products for the emulator (e-mail domains are reserved example.* ones)."""

from __future__ import annotations

FIRST_NAMES = (
    "Hélène", "François", "Zoé", "Léa", "Chloé", "Manon", "Inès", "Jérôme", "Benoît", "Noël", "Gaëlle",
    "Maël", "Loïc", "Camille", "Lucas", "Hugo", "Emma", "Louis", "Jade", "Nathan", "Sarah", "Thomas",
    "Julie", "Nicolas", "Céline", "Amélie", "Raphaël", "Gabriel", "Agnès", "Frédéric", "Stéphane",
    "Anaïs", "Clément", "Margaux", "Théo", "Élodie", "Aurélien", "Mathilde", "Yannick", "Océane",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "Nguyen", "Le Goff", "Perrin",
    "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Gauthier", "Chevalier",
)
CIVILITIES = ("M.", "Mme", "Mme", "M.")
STREETS = (
    "rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue du Général Leclerc",
    "place de la Mairie", "chemin des Vignes", "rue Pasteur", "allée des Tilleuls", "impasse des Lilas",
    "quai de Saône", "rue Émile Zola", "avenue de la Libération", "rue des Écoles", "cours Mirabeau",
)
CITIES = (
    ("75011", "Paris"), ("69003", "Lyon"), ("13006", "Marseille"), ("31000", "Toulouse"),
    ("33000", "Bordeaux"), ("44000", "Nantes"), ("59000", "Lille"), ("67000", "Strasbourg"),
    ("34000", "Montpellier"), ("35000", "Rennes"), ("06000", "Nice"), ("38000", "Grenoble"),
    ("21000", "Dijon"), ("49100", "Angers"), ("29200", "Brest"), ("63000", "Clermont-Ferrand"),
    ("76000", "Rouen"), ("87000", "Limoges"), ("64200", "Biarritz"), ("74000", "Annecy"),
)
ADDRESS2 = ("", "", "", "", "", "Bâtiment B", "Appartement 12", "3e étage", "Résidence Les Pins")
DOMAINS = ("example.com", "example.fr", "example.org", "example.net")

# (shop sku, title, unit price in cents incl. VAT, VAT rate %, category)
PRODUCTS = (
    ("SKU-CASQ-ANC-01", "Casque audio Bluetooth à réduction de bruit", 12990, 20.0, "audio"),
    ("SKU-CAFE-ITA-06", "Cafetière italienne 6 tasses inox", 3490, 20.0, "cuisine"),
    ("SKU-LIVR-ETR-01", "L'Étranger — Albert Camus (poche)", 790, 5.5, "livres"),
    ("SKU-CHRG-USBC-65", "Chargeur USB-C 65 W GaN", 3999, 20.0, "informatique"),
    ("SKU-LAMP-LED-02", "Lampe de chevet LED tactile", 2450, 20.0, "maison"),
    ("SKU-YOGA-6MM", "Tapis de yoga 6 mm antidérapant", 2299, 20.0, "sport"),
    ("SKU-LEGO-TECH-42", "Coffret de construction Technic 42", 8999, 20.0, "jouets"),
    ("SKU-POEL-28", "Poêle antiadhésive 28 cm induction", 2790, 20.0, "cuisine"),
    ("SKU-BOUI-17", "Bouilloire inox 1,7 L", 3290, 20.0, "cuisine"),
    ("SKU-ENCE-IP67", "Enceinte portable étanche IP67", 5990, 20.0, "audio"),
    ("SKU-SOUR-ERGO", "Souris sans fil ergonomique", 2990, 20.0, "informatique"),
    ("SKU-CLAV-MECA-FR", "Clavier mécanique AZERTY rétroéclairé", 8990, 20.0, "informatique"),
    ("SKU-JEU-DIXIT", "Jeu de société Dixit", 2990, 20.0, "jouets"),
    ("SKU-SAC-RANDO-30", "Sac à dos randonnée 30 L", 4990, 20.0, "sport"),
    ("SKU-GOUR-750", "Gourde isotherme 750 ml", 1990, 20.0, "sport"),
    ("SKU-PERC-18V", "Perceuse-visseuse 18 V + 2 batteries", 11990, 20.0, "bricolage"),
    ("SKU-PLAI-150", "Plaid polaire 150 × 200 cm", 2490, 20.0, "maison"),
    ("SKU-MONT-SPORT", "Montre connectée sport GPS", 14990, 20.0, "sport"),
    ("SKU-ROBO-1000", "Robot pâtissier 1000 W", 19990, 20.0, "cuisine"),
    ("SKU-AMPO-E27", "Ampoule connectée E27 couleur", 1490, 20.0, "maison"),
    ("SKU-HDMI-21-2M", "Câble HDMI 2.1 — 2 m", 1290, 20.0, "informatique"),
    ("SKU-SSD-1TO", "Disque SSD externe 1 To USB 3.2", 9990, 20.0, "informatique"),
    ("SKU-ASPI-BALAI", "Aspirateur balai sans fil 25,2 V", 17990, 20.0, "electromenager"),
    ("SKU-TENT-3P", "Tente 3 places double toit", 7990, 20.0, "sport"),
    ("SKU-CAHI-A4-5", "Cahiers A4 grands carreaux (lot de 5)", 690, 20.0, "papeterie"),
    ("SKU-BD-ASTX-01", "Astérix le Gaulois — album", 1099, 5.5, "livres"),
    ("SKU-LAVE-8KG", "Lave-linge hublot 8 kg", 44990, 20.0, "electromenager"),
    ("SKU-CANA-3P", "Canapé 3 places tissu gris", 59900, 20.0, "meuble"),
)
