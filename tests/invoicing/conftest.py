"""Document builders for the renderer tests, and the official validations, compiled once.

The validators run the CEN/TC434 EN 16931 validation XSLT for UBL and the OpenPeppol BIS Billing 3.0
rules compiled to XSLT (both from ../shared/data) with Saxon; the SVRL report each returns lists
every rule that fired, with its flag (fatal or warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ordino.invoicing.documents.domain import (
    Address,
    AllowanceCharge,
    BankAccount,
    Card,
    Delivery,
    Document,
    DocumentKind,
    InvoiceReference,
    Line,
    Party,
    PaymentMeans,
    compute_breakdown,
    compute_totals,
    line_amount,
)
from ordino.kernel.money import allocate_minor
from ordino.tax.domain import EXPORT_TEXT, REVERSE_CHARGE_TEXT, Category
from tests.conftest import shared_data

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
STANDARD = Category.STANDARD

SELLER = Party(
    name="Ordino Demo GmbH",
    address=Address(("Friedrichstraße 123",), "Berlin", "DE", "10117"),
    vat_id="DE136695976",
    registration_id="HRB 123456 B",
    tax_number="37/123/45678",
    register_court="Amtsgericht Charlottenburg",
    managing_directors="Jana Dvořáková",
    email="billing@ordino.example",
    bank_account=BankAccount("DE89370400440532013000", "COBADEFFXXX", "Commerzbank Berlin"),
    contact_name="Jana Dvořáková",
    phone="+49 30 1234567",
    sepa_creditor_id="DE98ZZZ09999999999",
)
BUYER_DE = Party(
    name="Müller & Söhne KG",
    address=Address(("Leopoldstraße 8", "3. OG"), "München", "DE", "80802"),
    vat_id="DE811907980",
    email="einkauf@mueller-soehne.example",
)
BUYER_AT = Party(
    name="Wiener Stahlbau Ges.m.b.H.",
    address=Address(("Mariahilfer Straße 1",), "Wien", "AT", "1060"),
    vat_id="ATU13585627",
)
BUYER_CH = Party(
    name="Zürcher Präzision AG",
    address=Address(("Bahnhofstrasse 10",), "Zürich", "CH", "8001"),
    endpoint_scheme="0183",  # Swiss UID, the company has no VAT ID on this invoice
    endpoint_id="CHE109322551",
)
BUYER_PL = Party(
    name="Zakład Usług Technicznych „Łódź” Sp. z o.o.",
    address=Address(("ul. Piotrkowska 104",), "Łódź", "PL", "90-926"),
    vat_id="PL7251801126",
)


def line(
    n: int,
    quantity: str | int,
    unit_price: str,
    rate: str = "0.19",
    category: Category = STANDARD,
    *,
    currency: str = "EUR",
    discount: int = 0,
    **changes: Any,
) -> Line:
    """Line `n` whose net amount is computed the way Ordino computes it."""
    q, p, r = Decimal(quantity), Decimal(unit_price), Decimal(rate)
    fields: dict[str, Any] = {
        "id": str(n),
        "name": f"Sechskantschraube M{n % 20 + 4} verzinkt",
        "sku": f"BOLT-{n:05d}",
        "unit_code": "H87",
        "discount": discount,
        "discount_reason": "Mengenrabatt" if discount else None,
    }
    fields.update(changes)
    return Line(quantity=q, unit_price=p, net_amount=line_amount(q, p, currency) - discount, category=category,
                rate=r, **fields)


def build(
    lines: Sequence[Line],
    *,
    allowances: Sequence[AllowanceCharge] = (),
    charges: Sequence[AllowanceCharge] = (),
    exemptions: dict[Category, tuple[str | None, str | None]] | None = None,
    prepaid: int = 0,
    **fields: Any,
) -> Document:
    """A German domestic invoice in EUR around `lines`, with breakdown and totals computed."""
    breakdown = compute_breakdown(lines, allowances, charges, exemptions)
    values: dict[str, Any] = {
        "kind": DocumentKind.INVOICE,
        "number": "INV-2026-000042",
        "issue_date": date(2026, 3, 2),
        "due_date": date(2026, 4, 1),
        "tax_point_date": date(2026, 3, 2),
        "currency": "EUR",
        "language": "de",
        "seller": SELLER,
        "buyer": BUYER_DE,
        "buyer_reference": "Abteilung 4711",
        "purchase_order": "PO-4711",
        "order_number": "SO-000123",
        "delivery": Delivery(BUYER_DE.address, "Müller & Söhne KG, Lager Süd", date(2026, 2, 27)),
        "payment_terms": "Zahlbar innerhalb von 30 Tagen ohne Abzug",
        "payment_means": PaymentMeans.SEPA_CREDIT_TRANSFER,
    }
    values.update(fields)
    values.setdefault("payment_reference", values["number"])
    return Document(
        lines=tuple(lines), allowances=tuple(allowances), charges=tuple(charges), tax_breakdown=breakdown,
        totals=compute_totals(lines, breakdown, allowances, charges, prepaid), **values,
    )


def domestic() -> Document:
    """DE 19 % and 7 % lines, one with a line discount."""
    return build([
        line(1, 500, "0.0350"),
        line(2, 3, "149.90", discount=2000),
        line(3, 12, "8.45", "0.07", name="Fachbuch Schraubenverbindungen", sku="BOOK-77", unit_code="C62"),
    ])


def changed(doc: Document, **changes: Any) -> Document:
    return replace(doc, **changes)


def reverse_charge() -> Document:
    """Services to an Austrian business: VAT reverse charged (AE), with the legal note."""
    return build(
        [line(1, 16, "95.00", "0", Category.REVERSE_CHARGE, name="Montage und Inbetriebnahme", sku="SRV-INST",
              unit_code="HUR"),
         line(2, 1, "450.00", "0", Category.REVERSE_CHARGE, name="Schulung Bedienpersonal", sku="SRV-TRAIN")],
        exemptions={Category.REVERSE_CHARGE: ("Reverse charge", "VATEX-EU-AE")},
        notes=(REVERSE_CHARGE_TEXT,), buyer=BUYER_AT, language="en", number="INV-2026-000043",
        delivery=None, buyer_reference="Projekt Wien-Süd",
    )


def export() -> Document:
    """Goods to Switzerland, in CHF, exempt as an export (G), printed in French."""
    return build(
        [line(1, 40, "18.75", "0", Category.EXPORT, currency="CHF", name="Roulement à billes 6204-2RS"),
         line(2, 2, "1249.00", "0", Category.EXPORT, currency="CHF", name="Moteur pas à pas NEMA 23")],
        exemptions={Category.EXPORT: ("Exportation hors UE, exonérée (art. 146 directive 2006/112/CE)",
                                      "VATEX-EU-G")},
        notes=(EXPORT_TEXT,), buyer=BUYER_CH, currency="CHF", language="fr_CH", number="INV-2026-000044",
        delivery=Delivery(BUYER_CH.address, None, date(2026, 2, 27)),
    )


def zero_and_exempt() -> Document:
    """A 0 % line (Z: solar modules in Germany), an exempt training (E) and a standard line, in Spanish."""
    return build(
        [line(1, 24, "189.00", "0", Category.ZERO, name="Módulo fotovoltaico 430 W", sku="PV-430"),
         line(2, 1, "600.00", "0", Category.EXEMPT, name="Curso de formación profesional", sku="EDU-1",
              unit_code="DAY"),
         line(3, 2, "49.90", name="Cable solar 6 mm² (rollo 50 m)", sku="CBL-6")],
        exemptions={Category.EXEMPT: ("Exento: formación profesional (art. 132(1)(i) directiva 2006/112/CE)",
                                      "VATEX-EU-132-1I")},
        language="es", number="INV-2026-000045",
    )


def credit_note() -> Document:
    """Two returned items credited against invoice INV-2026-000042, refunded by transfer, in Italian."""
    return build(
        [line(1, 200, "0.0350", name="Sechskantschraube M5 verzinkt"),
         line(3, 2, "8.45", "0.07", name="Fachbuch Schraubenverbindungen", sku="BOOK-77", unit_code="C62")],
        kind=DocumentKind.CREDIT_NOTE, number="CN-2026-000007", issue_date=date(2026, 3, 20),
        due_date=date(2026, 3, 30), preceding_invoices=(InvoiceReference("INV-2026-000042", date(2026, 3, 2)),),
        buyer=replace(BUYER_DE, bank_account=BankAccount("DE02120300000000202051", "BYLADEM1001")),
        payment_terms=None, payment_reference="CN-2026-000007", language="it", delivery=None,
        notes=("Reso merce danneggiata, RMA-000311",),
    )


def shipping_and_discount() -> Document:
    """A shipping charge (FC) and a 5 % order discount split over the two VAT rates, in Dutch."""
    lines = [line(1, 10, "24.90"), line(2, 4, "12.50", "0.07", name="Handboek", sku="BOOK-1", unit_code="C62")]
    by_rate = [ln.net_amount for ln in lines]  # one line per rate here
    discounts = allocate_minor(sum(by_rate) * 5 // 100, by_rate)
    return build(
        lines,
        allowances=[AllowanceCharge(discounts[0], STANDARD, Decimal("0.19"), "Orderkorting 5 %", "95"),
                    AllowanceCharge(discounts[1], STANDARD, Decimal("0.07"), "Orderkorting 5 %", "95")],
        charges=[AllowanceCharge(1250, STANDARD, Decimal("0.19"), "Verzending", "FC")],
        language="nl", number="INV-2026-000046",
    )


def yen() -> Document:
    """An export to Japan in JPY (no decimals): 3 × ¥333.5 rounds half up to ¥1001."""
    buyer = Party("Tanaka Seimitsu K.K.", Address(("2-7-1 Marunouchi",), "Chiyoda-ku, Tokyo", "JP", "100-0005"),
                  endpoint_scheme="0188", endpoint_id="7010001008844")  # Japanese corporate number
    return build(
        [line(1, 3, "333.5", "0", Category.EXPORT, currency="JPY", name="Precision gauge block"),
         line(2, 12, "1480", "0", Category.EXPORT, currency="JPY", name="Calibration certificate")],
        exemptions={Category.EXPORT: ("Export outside the EU", "VATEX-EU-G")}, buyer=buyer, currency="JPY",
        language="en", number="INV-2026-000047", delivery=None,
    )


def dinar(unit_price: str = "1.235") -> Document:
    """An export to Kuwait in KWD (three decimals); EN 16931 allows two, so amounts are whole hundredths."""
    buyer = Party("Al-Rashid Trading Co.", Address(("Block 3, Street 12",), "Kuwait City", "KW", "13001"),
                  endpoint_scheme="0088", endpoint_id="6291041500213")  # GLN
    return build(
        [line(1, 2, unit_price, "0", Category.EXPORT, currency="KWD", name="Hydraulic valve")],
        exemptions={Category.EXPORT: ("Export outside the EU", "VATEX-EU-G")}, buyer=buyer, currency="KWD",
        language="en", number="INV-2026-000048", delivery=None,
    )


def paid_by_card() -> Document:
    """Captured by card before invoicing: everything prepaid, nothing left to pay."""
    doc = domestic()
    total = doc.totals.tax_inclusive
    return build(doc.lines, prepaid=total, payment_means=PaymentMeans.BANK_CARD, payment_terms=None,
                 number="INV-2026-000049", language="en", card=Card("4242", "visa"))


def intra_community() -> Document:
    """Goods to a Polish business: an exempt intra-community supply (K), printed in Polish."""
    return build(
        [line(1, 100, "3.80", "0", Category.INTRA_COMMUNITY, name="Śruba sześciokątna M8 ocynkowana"),
         line(2, 5, "129.00", "0", Category.INTRA_COMMUNITY, name="Klucz dynamometryczny 20–100 Nm")],
        exemptions={Category.INTRA_COMMUNITY: ("Wewnątrzwspólnotowa dostawa towarów", "VATEX-EU-IC")},
        buyer=BUYER_PL, language="pl", number="INV-2026-000050",
        delivery=Delivery(BUYER_PL.address, None, date(2026, 2, 27)),
    )


def not_subject() -> Document:
    """A seller outside any VAT regime (no VAT ID): every line not subject to VAT (O), in USD."""
    seller = Party("Ordino Inc.", Address(("500 Market Street",), "San Francisco", "US", "94105", "CA"),
                   registration_id="C1234567", email="billing@ordino-inc.example",
                   bank_account=BankAccount("US64SVBKUS6S3300958879", "SVBKUS6S"),
                   endpoint_scheme="9959", endpoint_id="943123456",  # US employer identification number
                   contact_name="Dana Whitfield", phone="+1 415 555 0142")
    return build(
        [line(1, 1, "2500.00", "0", Category.OUTSIDE_SCOPE, currency="USD", name="Annual support subscription")],
        exemptions={Category.OUTSIDE_SCOPE: ("Not subject to VAT", "VATEX-EU-O")}, seller=seller,
        buyer=replace(BUYER_DE, vat_id=None, endpoint_scheme="0204", endpoint_id="04011000-1234512345-06"),
        currency="USD", language="en", number="US-2026-000001",
        delivery=None, payment_terms="Net 30", payment_means=PaymentMeans.CREDIT_TRANSFER,
    )


def big(count: int = 10_000) -> Document:
    """A 10,000-line invoice: 19 % and 7 % lines, prices with four decimals, long names on every 5th."""
    lines = [
        line(i, i % 7 + 1, f"{i % 50 + 1}.{i % 10_000:04d}", "0.07" if i % 3 == 0 else "0.19",
             name=f"Sechskantschraube M{i % 20 + 4} × {i % 90 + 10} mm, Edelstahl A2"
             + (", Vollgewinde nach ISO 4017, Festigkeitsklasse 70, Packung zu 100 Stück" if i % 5 == 0 else ""))
        for i in range(1, count + 1)
    ]
    return build(lines, charges=[AllowanceCharge(2990, STANDARD, Decimal("0.19"), "Fracht", "FC")],
                 number="INV-2026-010000")


SCENARIOS = {
    "domestic": domestic,
    "reverse_charge": reverse_charge,
    "export": export,
    "zero_and_exempt": zero_and_exempt,
    "credit_note": credit_note,
    "shipping_and_discount": shipping_and_discount,
    "yen": yen,
    "dinar": dinar,
    "paid_by_card": paid_by_card,
    "intra_community": intra_community,
    "not_subject": not_subject,
}


@dataclass(frozen=True)
class Assertion:
    rule: str
    flag: str
    text: str
    location: str


class Validator:
    """An official validation compiled to XSLT 2.0 (EN 16931 for UBL or CII from CEN/TC434, Peppol BIS 3)
    run by Saxon."""

    def __init__(self, xslt: Path) -> None:
        from saxonche import PySaxonProcessor

        self._processor = PySaxonProcessor(license=False)
        compiler = self._processor.new_xslt30_processor()
        self._stylesheet = compiler.compile_stylesheet(stylesheet_file=str(xslt))

    def report(self, xml: bytes) -> list[Assertion]:
        """Every failed assertion (and successful report) in the SVRL output."""
        node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        svrl = etree.fromstring(self._stylesheet.transform_to_string(xdm_node=node).encode("utf-8"))
        fired = svrl.xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL)
        return [
            Assertion(a.get("id"), a.get("flag"), " ".join(a.findtext("svrl:text", "", SVRL).split()),
                      a.get("location"))
            for a in fired
        ]

    def fatal(self, xml: bytes) -> list[Assertion]:
        return [a for a in self.report(xml) if a.flag == "fatal"]


En16931 = Validator  # the name the first tests knew it by


@pytest.fixture(scope="session")
def en16931() -> Validator:
    # saxonche is a pinned dev dependency: a missing one fails the tests rather than skipping them.
    return Validator(shared_data("einvoicing", "en16931", "xslt", "EN16931-UBL-validation.xslt"))


@pytest.fixture(scope="session")
def peppol() -> Validator:
    """The OpenPeppol BIS Billing 3.0 rules (run after EN 16931: a Peppol document passes both)."""
    return Validator(shared_data("einvoicing", "peppol_bis_billing3", "xslt", "PEPPOL-EN16931-UBL.xslt"))


@pytest.fixture(scope="session")
def en16931_cii() -> Validator:
    """The same validation for CII (the XML of Factur-X / ZUGFeRD)."""
    return Validator(shared_data("einvoicing", "en16931", "xslt", "EN16931-CII-validation.xslt"))


@pytest.fixture(scope="session")
def big_document() -> Document:
    return big()
