"""Demo master data: sales channels, locations, and B2B customer companies.

The companies are made up (e-mail domains use the reserved `.example` TLD); their cities, postal
codes and streets are real, and their VAT / tax ids carry correct check digits (see taxids).
"""

from __future__ import annotations

from dataclasses import dataclass

from ordino.demo import taxids


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    code: str
    name: str
    kind: str


CHANNELS = (
    ChannelSpec("web", "Web shop", "web"),
    ChannelSpec("marketplace", "Industrial marketplace", "marketplace"),
    ChannelSpec("pos", "Trade counters", "pos"),
    ChannelSpec("edi", "EDI (X12 850 / EDIFACT ORDERS)", "edi"),
    ChannelSpec("phone", "Phone and e-mail sales", "phone"),
)


@dataclass(frozen=True, slots=True)
class LocationSpec:
    code: str
    name: str
    kind: str  # warehouse | store
    place: str  # catalog.places code
    line1: str


LOCATIONS = (
    LocationSpec("WH-DUI", "Duisburg distribution centre", "warehouse", "DUI", "Europaallee 20"),
    LocationSpec("WH-VNL", "Venlo Benelux hub", "warehouse", "VNL", "Celsiusweg 35"),
    LocationSpec("WH-LYS", "Lyon warehouse", "warehouse", "LYS", "12 Rue Jean Baldassini"),
    LocationSpec("WH-MIL", "Milan warehouse", "warehouse", "MIL", "Via Fabio Filzi 27"),
    LocationSpec("WH-WAW", "Warsaw warehouse", "warehouse", "WAW", "ul. Grójecka 19"),
    LocationSpec("WH-BHX", "Birmingham warehouse", "warehouse", "BHX", "1 Navigation Street"),
    LocationSpec("WH-MEM", "Memphis distribution center", "warehouse", "MEM", "4000 Shelby Drive"),
    LocationSpec("WH-OSA", "Osaka warehouse", "warehouse", "OSA", "1-3-1 Umeda, Kita-ku"),
    LocationSpec("ST-HAM", "Trade counter Hamburg", "store", "HAM", "Am Sandtorkai 50"),
    LocationSpec("ST-MUC", "Trade counter Munich", "store", "MUC", "Sonnenstraße 24"),
)


@dataclass(frozen=True, slots=True)
class AddressSpec:
    kind: str  # billing | shipping
    reference: str
    name: str
    line1: str
    postal_code: str
    city: str
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ContactSpec:
    first_name: str
    last_name: str
    title: str
    phone: str


@dataclass(frozen=True, slots=True)
class CompanySpec:
    number: str
    name: str
    country: str
    currency: str
    locale: str  # BCP 47
    place: str  # catalog.places code of the head office (time zone of its buyers)
    tax_id: str
    domain: str
    contacts: tuple[ContactSpec, ...]
    addresses: tuple[AddressSpec, ...]
    channels: dict[str, int]  # channel code: weight
    terms: str  # invoice payment terms
    card_share: int  # percent of web / marketplace orders paid by card
    price_factor: str  # contract price level against the list price
    weight: int  # share of the demo's orders
    parent: str | None = None
    store: str | None = None  # the trade counter its POS orders are collected from

    @property
    def billing(self) -> AddressSpec:
        return next(a for a in self.addresses if a.kind == "billing")

    @property
    def shipping(self) -> tuple[AddressSpec, ...]:
        return tuple(a for a in self.addresses if a.kind == "shipping")


def _addr(kind: str, ref: str, name: str, line1: str, postal: str, city: str,
          region: str | None = None) -> AddressSpec:
    return AddressSpec(kind, ref, name, line1, postal, city, region)


def _c(first: str, last: str, title: str, phone: str) -> ContactSpec:
    return ContactSpec(first, last, title, phone)


COMPANIES = (
    # The account that the order example of the README and the API docs refers to.
    CompanySpec(
        "ACME", "ACME Industrial Supply GmbH", "DE", "EUR", "de-DE", "BER", taxids.de_vat("81240967"),
        "acme-industrial.example",
        (_c("Katrin", "Vogel", "Einkaufsleiterin", "+49 30 2847 1100"),
         _c("Deniz", "Aydin", "Wareneingang", "+49 30 2847 1140")),
        (_addr("billing", "HQ", "ACME Industrial Supply GmbH, Buchhaltung", "Invalidenstraße 1", "10115", "Berlin"),
         _addr("shipping", "BER", "ACME Receiving", "Invalidenstraße 1", "10115", "Berlin")),
        {"web": 3, "edi": 1, "phone": 1}, "net_30", 30, "1.00", 6,
    ),
    CompanySpec(
        "HANSA", "Hansa Maschinenbau GmbH", "DE", "EUR", "de-DE", "HAM", taxids.de_vat("27184305"),
        "hansa-maschinenbau.example",
        (_c("Jana", "Petersen", "Leiterin Einkauf", "+49 40 7890 1200"),
         _c("Malte", "Hinrichs", "Disponent", "+49 40 7890 1245")),
        (_addr("billing", "HQ", "Hansa Maschinenbau GmbH, Buchhaltung", "Billstraße 120", "20539", "Hamburg"),
         _addr("shipping", "HH-WERK", "Hansa Maschinenbau GmbH, Wareneingang Werk Hamburg",
               "Andreas-Meyer-Straße 9", "22113", "Hamburg"),
         _addr("shipping", "DU-LAGER", "Hansa Maschinenbau GmbH, Lager Duisburg", "Hafenstraße 12",
               "47119", "Duisburg")),
        {"edi": 6, "web": 2, "phone": 1, "pos": 1}, "net_45", 0, "0.88", 14, store="ST-HAM",
    ),
    CompanySpec(
        "HANSA-SUED", "Hansa Maschinenbau Süd GmbH", "DE", "EUR", "de-DE", "MUC", taxids.de_vat("31620958"),
        "hansa-maschinenbau.example",
        (_c("Thomas", "Huber", "Einkauf", "+49 89 3564 220"),
         _c("Sabine", "Wimmer", "Lagerleitung", "+49 89 3564 231")),
        (_addr("billing", "HQ", "Hansa Maschinenbau Süd GmbH, Kreditoren", "Frankfurter Ring 150", "80807",
               "München"),
         _addr("shipping", "MUC", "Hansa Maschinenbau Süd GmbH, Warenannahme Tor 2", "Frankfurter Ring 150",
               "80807", "München"),
         _addr("shipping", "GAR", "Hansa Maschinenbau Süd GmbH, Montage Garching", "Daimlerstraße 8",
               "85748", "Garching bei München")),
        {"web": 4, "phone": 2, "pos": 2}, "net_45", 10, "0.88", 8, parent="HANSA", store="ST-MUC",
    ),
    CompanySpec(
        "DURAND", "Atelier Durand Industrie SAS", "FR", "EUR", "fr-FR", "LYS", taxids.fr_vat("40128733"),
        "durand-industrie.example",
        (_c("Camille", "Durand", "Responsable achats", "+33 4 72 80 14 50"),
         _c("Julien", "Morel", "Chef d'atelier", "+33 4 72 80 14 62")),
        (_addr("billing", "SIEGE", "Atelier Durand Industrie SAS, Comptabilité", "27 Rue de Gerland", "69007",
               "Lyon"),
         _addr("shipping", "ATELIER", "Atelier Durand Industrie SAS, Réception", "14 Rue du Dauphiné",
               "69800", "Saint-Priest"),
         _addr("shipping", "GERLAND", "Atelier Durand Industrie SAS, Magasin Gerland", "27 Rue de Gerland",
               "69007", "Lyon")),
        {"web": 5, "marketplace": 2, "phone": 1}, "net_30", 20, "0.95", 8,
    ),
    CompanySpec(
        "VDMEER", "Van der Meer Installatietechniek B.V.", "NL", "EUR", "nl-NL", "RTM",
        taxids.nl_vat("81452376"), "vandermeer-installatie.example",
        (_c("Sanne", "de Vries", "Inkoper", "+31 10 294 3310"),
         _c("Daan", "Bakker", "Magazijnbeheerder", "+31 10 294 3322")),
        (_addr("billing", "HQ", "Van der Meer Installatietechniek B.V., Administratie", "Marconistraat 16",
               "3029 AK", "Rotterdam"),
         _addr("shipping", "WAALHAVEN", "Van der Meer Installatietechniek B.V., Magazijn",
               "Waalhaven Oostzijde 85", "3087 BM", "Rotterdam"),
         _addr("shipping", "PROJECT-AMS", "Van der Meer, bouwplaats Amsterdam-Noord", "Distelweg 89",
               "1031 HD", "Amsterdam")),
        {"web": 4, "marketplace": 2, "edi": 2}, "net_30", 15, "0.94", 8,
    ),
    CompanySpec(
        "ALPENBAU", "Alpenbau Haustechnik GmbH", "AT", "EUR", "de-AT", "VIE", taxids.at_vat("6427318"),
        "alpenbau-haustechnik.example",
        (_c("Lukas", "Gruber", "Einkauf", "+43 1 604 2281"),
         _c("Anna", "Hofer", "Projektleitung", "+43 1 604 2290")),
        (_addr("billing", "HQ", "Alpenbau Haustechnik GmbH, Buchhaltung", "Laxenburger Straße 154", "1100",
               "Wien"),
         _addr("shipping", "LAGER", "Alpenbau Haustechnik GmbH, Lager Wiener Neudorf", "Industriestraße 7",
               "2351", "Wiener Neudorf")),
        {"web": 3, "phone": 2}, "net_30", 10, "0.96", 6,
    ),
    CompanySpec(
        "BIANCHI", "Officine Bianchi S.r.l.", "IT", "EUR", "it-IT", "MIL", taxids.it_vat("0582713015"),
        "officinebianchi.example",
        (_c("Giulia", "Bianchi", "Responsabile acquisti", "+39 02 6671 4480"),
         _c("Marco", "Ferrari", "Capo magazzino", "+39 02 6671 4492")),
        (_addr("billing", "SEDE", "Officine Bianchi S.r.l., Amministrazione", "Via Giovanni Battista Pirelli 20",
               "20124", "Milano", "MI"),
         _addr("shipping", "STAB", "Officine Bianchi S.r.l., Stabilimento", "Via dell'Industria 14", "20093",
               "Cologno Monzese", "MI")),
        {"web": 3, "phone": 2, "marketplace": 1}, "net_60", 10, "0.97", 7,
    ),
    CompanySpec(
        "PENNINE", "Pennine Fabrication Ltd", "GB", "GBP", "en-GB", "MAN", taxids.gb_vat("2874419"),
        "penninefab.example",
        (_c("Oliver", "Hughes", "Procurement Manager", "+44 161 872 4410"),
         _c("Emma", "Clarke", "Stores Supervisor", "+44 161 872 4425")),
        (_addr("billing", "HO", "Pennine Fabrication Ltd, Accounts Payable", "Westinghouse Road, Trafford Park",
               "M17 1PY", "Manchester"),
         _addr("shipping", "TRAFFORD", "Pennine Fabrication Ltd, Goods In", "Westinghouse Road, Trafford Park",
               "M17 1PY", "Manchester"),
         _addr("shipping", "BHX", "Pennine Fabrication Ltd, Tyseley Works", "Wharfdale Road, Tyseley",
               "B11 2DE", "Birmingham")),
        {"web": 4, "phone": 2, "marketplace": 1}, "net_30", 25, "0.95", 8,
    ),
    CompanySpec(
        "BRUNNER", "Brunner Präzisionstechnik AG", "CH", "CHF", "de-CH", "ZRH", taxids.ch_vat("11637240"),
        "brunner-praezision.example",
        (_c("Reto", "Brunner", "Leiter Einkauf", "+41 44 275 31 10"),
         _c("Nadine", "Keller", "Logistik", "+41 44 275 31 24")),
        (_addr("billing", "HQ", "Brunner Präzisionstechnik AG, Kreditoren", "Hardturmstrasse 101", "8005",
               "Zürich"),
         _addr("shipping", "KLOTEN", "Brunner Präzisionstechnik AG, Warenannahme", "Industriestrasse 21",
               "8302", "Kloten")),
        {"web": 3, "phone": 1, "edi": 1}, "net_30", 0, "1.00", 5,
    ),
    CompanySpec(
        "GLAKES", "Great Lakes Precision Components Inc.", "US", "USD", "en-US", "CHI", taxids.us_ein("364718205"),
        "greatlakesprecision.example",
        (_c("Michael", "Kowalski", "Purchasing Manager", "+1 312 555 0142"),
         _c("Danielle", "Brooks", "MRO Buyer", "+1 312 555 0178")),
        (_addr("billing", "HQ", "Great Lakes Precision Components, Accounts Payable", "2200 S Halsted St",
               "60608", "Chicago", "IL"),
         _addr("shipping", "PLANT1", "Great Lakes Precision Components, Receiving Dock 3", "2200 S Halsted St",
               "60608", "Chicago", "IL"),
         _addr("shipping", "PLANT2", "Great Lakes Precision Components, Plant 2", "1400 W 37th St", "60609",
               "Chicago", "IL")),
        {"edi": 5, "web": 3, "phone": 1}, "net_30", 10, "0.85", 10,
    ),
    CompanySpec(
        "LONESTAR", "Lone Star Facility Services LLC", "US", "USD", "en-US", "DAL", taxids.us_ein("752946318"),
        "lonestarfacility.example",
        (_c("Carlos", "Ramirez", "Procurement Lead", "+1 214 555 0193"),
         _c("Ashley", "Nguyen", "Warehouse Coordinator", "+1 214 555 0117")),
        (_addr("billing", "HQ", "Lone Star Facility Services LLC, Accounts Payable", "2001 Irving Blvd",
               "75207", "Dallas", "TX"),
         _addr("shipping", "DC", "Lone Star Facility Services, Distribution", "4500 Singleton Blvd", "75212",
               "Dallas", "TX")),
        {"web": 4, "marketplace": 3, "phone": 1}, "net_30", 40, "0.97", 7,
    ),
    CompanySpec(
        "KANSAI", "Kansai Seimitsu Kogyo K.K.", "JP", "JPY", "ja-JP", "OSA", taxids.jp_invoice_number("120001093387"),
        "kansai-seimitsu.example",
        (_c("Haruto", "Tanaka", "Purchasing Section Chief", "+81 6 6441 2031"),
         _c("Yui", "Nakamura", "Materials Control", "+81 6 6441 2047")),
        (_addr("billing", "HQ", "Kansai Seimitsu Kogyo K.K., Accounting", "3-6-1 Nakanoshima, Kita-ku",
               "530-0005", "Osaka", "Osaka"),
         _addr("shipping", "NANKO", "Kansai Seimitsu Kogyo K.K., Nanko Plant", "2-1-5 Nanko-kita, Suminoe-ku",
               "559-0034", "Osaka", "Osaka")),
        {"web": 2, "edi": 3, "phone": 1}, "net_60", 0, "0.98", 6,
    ),
    CompanySpec(
        "WISLA", "Wisła Instalacje Sp. z o.o.", "PL", "PLN", "pl-PL", "WAW", taxids.pl_vat("525231784"),
        "wisla-instalacje.example",
        (_c("Katarzyna", "Nowak", "Kierownik zakupów", "+48 22 845 3107"),
         _c("Piotr", "Wiśniewski", "Magazynier", "+48 22 845 3119")),
        (_addr("billing", "HQ", "Wisła Instalacje Sp. z o.o., Księgowość", "ul. Postępu 14", "02-676",
               "Warszawa"),
         _addr("shipping", "MAGAZYN", "Wisła Instalacje Sp. z o.o., Magazyn", "ul. Annopol 3", "03-236",
               "Warszawa")),
        {"web": 3, "marketplace": 2, "phone": 1}, "net_30", 30, "0.96", 6,
    ),
    CompanySpec(
        "NORRLAND", "Norrland Verktyg AB", "SE", "SEK", "sv-SE", "STO", taxids.se_vat("556712408"),
        "norrlandverktyg.example",
        (_c("Erik", "Lindqvist", "Inköpschef", "+46 8 720 41 10"),
         _c("Maja", "Johansson", "Lagerchef", "+46 8 720 41 26")),
        (_addr("billing", "HQ", "Norrland Verktyg AB, Ekonomi", "Årstaängsvägen 11", "117 43", "Stockholm"),
         _addr("shipping", "ARLANDA", "Norrland Verktyg AB, Centrallager", "Pionjärvägen 4", "195 61",
               "Arlandastad")),
        {"web": 3, "edi": 1, "phone": 1}, "net_30", 10, "0.96", 5,
    ),
)


def company(number: str) -> CompanySpec:
    return next(c for c in COMPANIES if c.number == number)
