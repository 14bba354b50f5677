"""UBL 2.1 invoices and credit notes, checked by the official EN 16931 validation (CEN/TC434 XSLT)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ordino.invoicing.documents.domain import Document, TaxSubtotal, compute_totals
from ordino.invoicing.documents.errors import DocumentError
from ordino.invoicing.documents.ubl import Flavour, render_ubl
from ordino.tax.domain import Category, RoundingMode
from tests.conftest import shared_data
from tests.invoicing.conftest import (
    BUYER_AT,
    SCENARIOS,
    SELLER,
    En16931,
    build,
    credit_note,
    dinar,
    domestic,
    intra_community,
    line,
    not_subject,
    paid_by_card,
    reverse_charge,
    shipping_and_discount,
    yen,
)

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
EXAMPLES = ("einvoicing", "en16931", "ubl_examples")


def parse(doc: Document) -> etree._Element:
    return etree.fromstring(render_ubl(doc))


def texts(root: etree._Element, path: str) -> list[str]:
    return [el.text for el in root.xpath(path, namespaces=NS)]


def refusals(doc: Document) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as refused:
        render_ubl(doc)
    return [(e.field, e.message) for e in refused.value.errors]


# ---- the official validation ----


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_document_passes_the_en16931_rules_without_a_fatal_error_or_a_warning(en16931: En16931, name: str):
    xml = render_ubl(SCENARIOS[name]())
    assert en16931.report(xml) == []


def test_a_10000_line_invoice_passes_the_en16931_rules(en16931: En16931, big_document: Document):
    root_xml = render_ubl(big_document)
    assert en16931.report(root_xml) == []
    root = etree.fromstring(root_xml)
    assert len(root.findall("cac:InvoiceLine", NS)) == 10_000
    assert texts(root, "cac:InvoiceLine[last()]/cbc:ID") == ["10000"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == [
        f"{Decimal(big_document.totals.payable).scaleb(-2):f}"
    ]


def test_the_validator_passes_the_official_examples_and_reports_a_broken_one(en16931: En16931):
    # given the official examples, which are valid
    folder = shared_data(*EXAMPLES)
    for path in sorted(folder.iterdir()):
        assert en16931.fatal(path.read_bytes()) == [], path.name

    # when the payable amount of one of them is changed by a cent
    root = etree.parse(str(folder / "ubl-tc434-example1.xml")).getroot()
    payable = root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS)
    payable.text = f"{Decimal(payable.text) + Decimal('0.01'):f}"

    # then the validator reports the broken sum as fatal
    assert [(a.rule, a.flag) for a in en16931.fatal(etree.tostring(root))] == [("BR-CO-16", "fatal")]


def test_the_validator_catches_a_reverse_charge_without_the_buyers_vat_id(en16931: En16931):
    # given our valid reverse-charge invoice, with the buyer's VAT ID removed from the XML afterwards
    root = parse(reverse_charge())
    scheme = root.find("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme", NS)
    scheme.getparent().remove(scheme)

    # then the official rules reject it: this is why `render_ubl` refuses such a document itself
    assert [a.rule for a in en16931.fatal(etree.tostring(root))] == ["BR-AE-02"]


def test_the_validator_catches_a_wrong_tax_amount_in_our_output(en16931: En16931):
    root = parse(domestic())
    root.find("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", NS).text = "84.96"
    assert [a.rule for a in en16931.fatal(etree.tostring(root))] == ["BR-CO-14"]


# ---- the structure, compared with the official examples ----


def _children(elements: Iterable[etree._Element]) -> list[list[str]]:
    return [[etree.QName(child).localname for child in el if isinstance(child.tag, str)] for el in elements]


def _order(sequences: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) for names in sequences for i, a in enumerate(names) for b in names[i + 1:] if a != b}


STRUCTURES = ["/*", "/*/cac:AccountingSupplierParty/cac:Party", "/*/cac:AccountingCustomerParty/cac:Party",
              "//cac:PostalAddress", "/*/cac:Delivery", "/*/cac:PaymentMeans", "/*/cac:AllowanceCharge",
              "//cac:TaxSubtotal", "//cac:TaxCategory", "/*/cac:LegalMonetaryTotal", "/*/cac:InvoiceLine",
              "/*/cac:CreditNoteLine", "//cac:Item", "//cac:PartyLegalEntity"]
# Elements of the EN 16931 UBL binding that none of the official examples happens to use.
UNUSED_BY_EXAMPLES = {"CompanyLegalForm", "SalesOrderID", "TaxExemptionReasonCode", "PaymentDueDate", "CardAccount",
                      "PaymentMandate"}


@pytest.mark.parametrize("path", STRUCTURES)
def test_elements_come_in_the_order_and_with_the_names_of_the_official_examples(path: str):
    examples = [etree.parse(str(p)).getroot() for p in sorted(shared_data(*EXAMPLES).iterdir())]
    ours = [etree.fromstring(render_ubl(make(), flavour)) for make in SCENARIOS.values() for flavour in Flavour]

    def children(roots: list[etree._Element], kind: str | None) -> list[list[str]]:
        picked = [r for r in roots if kind is None or etree.QName(r).localname == kind]
        return _children(el for r in picked for el in r.xpath(path, namespaces=NS))

    # names: every element we write at this place appears there in some example (of either kind)
    known = {name for names in children(examples, None) for name in names}
    assert {name for names in children(ours, None) for name in names} - known <= UNUSED_BY_EXAMPLES
    # order: no two of our elements in the opposite order of an example of the same kind
    for kind in ("Invoice", "CreditNote"):
        allowed = _order(children(examples, kind if path == "/*" else None))
        mine = _order(children(ours, kind))
        assert sorted((a, b) for a, b in mine if (b, a) in allowed and (a, b) not in allowed) == []
    assert children(ours, None)  # the path exists in our documents


# ---- what the XML says, exactly ----


def test_a_domestic_invoice_in_ubl():
    root = parse(domestic())
    assert etree.QName(root).localname == "Invoice"
    assert texts(root, "cbc:CustomizationID") == ["urn:cen.eu:en16931:2017"]
    assert texts(root, "cbc:InvoiceTypeCode | cbc:DueDate | cbc:TaxPointDate | cbc:BuyerReference") == [
        "2026-04-01", "380", "2026-03-02", "Abteilung 4711",
    ]
    assert texts(root, "cac:OrderReference/*") == ["PO-4711", "SO-000123"]
    assert texts(root, "cac:LegalMonetaryTotal/*") == ["548.60", "548.60", "640.67", "640.67"]
    assert [texts(sub, ".//cbc:TaxableAmount | .//cbc:TaxAmount | .//cbc:ID[1] | .//cbc:Percent")
            for sub in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)] == [
        ["447.20", "84.97", "S", "19", "VAT"], ["101.40", "7.10", "S", "7", "VAT"],
    ]
    assert texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount") == ["17.50", "429.70", "101.40"]
    assert texts(root, "cac:InvoiceLine/cac:Price/cbc:PriceAmount") == ["0.035", "149.90", "8.45"]
    assert texts(root, "cac:InvoiceLine[1]/cbc:InvoicedQuantity") == ["500"]
    assert root.find("cac:InvoiceLine/cbc:InvoicedQuantity", NS).get("unitCode") == "H87"
    assert texts(root, "cac:InvoiceLine[2]/cac:AllowanceCharge/*") == ["false", "95", "Mengenrabatt", "20.00"]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode | cac:PaymentMeans/cbc:PaymentID") == [
        "58", "INV-2026-000042",
    ]
    assert texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount//cbc:ID") == [
        "DE89370400440532013000", "COBADEFFXXX",
    ]
    assert texts(root, "cac:AccountingSupplierParty//cac:PartyTaxScheme/cbc:CompanyID") == [
        "DE136695976", "37/123/45678",
    ]


def test_a_credit_note_refers_to_its_invoice_and_carries_its_due_date_in_payment_means():
    root = parse(credit_note())
    assert etree.QName(root).localname == "CreditNote"
    assert texts(root, "cbc:CreditNoteTypeCode") == ["381"]
    assert root.find("cbc:DueDate", NS) is None
    assert texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/*") == ["INV-2026-000042", "2026-03-02"]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentDueDate") == ["2026-03-30"]
    assert texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["DE02120300000000202051"]
    assert texts(root, "cac:CreditNoteLine/cbc:CreditedQuantity") == ["200", "2"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["26.41"]


def test_a_credit_note_due_date_without_payment_means_still_travels():
    root = parse(replace(credit_note(), payment_means=None))
    assert texts(root, "cac:PaymentMeans/cbc:*") == ["1", "2026-03-30", "CN-2026-000007"]
    assert texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["DE02120300000000202051"]


def test_shipping_is_a_charge_and_the_discount_an_allowance_per_rate():
    root = parse(shipping_and_discount())
    assert [texts(ac, "cbc:* | cac:TaxCategory/cbc:ID | cac:TaxCategory/cbc:Percent")
            for ac in root.findall("cac:AllowanceCharge", NS)] == [
        ["false", "95", "Orderkorting 5 %", "12.45", "S", "19"],
        ["false", "95", "Orderkorting 5 %", "2.50", "S", "7"],
        ["true", "FC", "Verzending", "12.50", "S", "19"],
    ]
    assert texts(root, "cac:LegalMonetaryTotal/*") == ["299.00", "296.55", "347.20", "14.95", "12.50", "347.20"]


def test_a_card_payment_captured_before_invoicing_is_prepaid():
    root = parse(paid_by_card())
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PrepaidAmount | cac:LegalMonetaryTotal/cbc:PayableAmount") == [
        "640.67", "0.00",
    ]
    assert texts(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["48"]


def test_reverse_charge_states_category_reason_and_note():
    root = parse(reverse_charge())
    assert texts(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/*[not(self::cac:TaxScheme)]") == [
        "AE", "0", "VATEX-EU-AE", "Reverse charge",
    ]
    assert texts(root, "cbc:Note") == [
        "Reverse charge: VAT to be accounted for by the recipient (Article 196, Directive 2006/112/EC)",
    ]
    assert texts(root, "cac:AccountingCustomerParty//cac:PartyTaxScheme/cbc:CompanyID") == ["ATU13585627"]


def test_not_subject_to_vat_has_no_rate_anywhere():
    root = parse(not_subject())
    assert texts(root, "//cbc:Percent") == []
    assert texts(root, "//cac:ClassifiedTaxCategory/cbc:ID | //cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["O", "O"]


def test_yen_amounts_have_no_decimals():
    root = parse(yen())
    assert texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount") == ["1001", "17760"]
    assert texts(root, "cac:InvoiceLine/cac:Price/cbc:PriceAmount") == ["333.5", "1480"]
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["18761"]
    assert {el.get("currencyID") for el in root.xpath("//*[@currencyID]")} == {"JPY"}


def test_a_three_decimal_currency_renders_when_its_amounts_are_whole_hundredths():
    root = parse(dinar("1.235"))  # 2 × 1.235 = 2.470
    assert texts(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["2.47"]
    assert texts(root, "cac:InvoiceLine/cac:Price/cbc:PriceAmount") == ["1.235"]


def test_a_three_decimal_amount_that_en16931_cannot_carry_is_refused():
    # 2 × 1.2345 = 2.469: EN 16931 allows two decimals (BR-DEC-*), so the fils cannot be written
    message = "EN 16931 allows at most 2 decimals in an amount; KWD has 3"
    assert refusals(dinar("1.2345")) == [
        ("totals.line_total", message), ("totals.tax_exclusive", message), ("totals.tax_inclusive", message),
        ("totals.payable", message), ("lines[0].net_amount", message), ("tax_breakdown[0].taxable_amount", message),
    ]


# ---- what EN 16931 asks of the parties: refused before anything is written ----


def test_reverse_charge_needs_the_buyers_vat_id():
    assert refusals(replace(reverse_charge(), buyer=replace(BUYER_AT, vat_id=None))) == [
        ("buyer.vat_id", "reverse charge (AE) needs the buyer's VAT ID"),
    ]


def test_an_intra_community_supply_needs_both_vat_ids_and_the_delivery():
    doc = intra_community()
    assert refusals(replace(doc, delivery=None, buyer=replace(doc.buyer, vat_id=None))) == [
        ("buyer.vat_id", "an intra-community supply (K) needs the buyer's VAT ID"),
        ("delivery.date", "an intra-community supply (K) needs the delivery date"),
        ("delivery.address", "an intra-community supply (K) needs the delivery country"),
    ]


def test_standard_rated_sales_need_the_sellers_vat_id_or_tax_number():
    assert refusals(replace(domestic(), seller=replace(SELLER, vat_id=None, tax_number=None))) == [
        ("seller.vat_id", "VAT categories S, Z, E and AE need the seller's VAT ID or tax number"),
    ]
    seller = replace(SELLER, vat_id=None, registration_id=None)
    assert refusals(replace(domestic(), seller=seller)) == [
        ("seller.registration_id", "the seller needs a VAT ID or a company registration number"),
    ]
    assert refusals(replace(domestic(), seller=replace(SELLER, vat_id="136695976"))) == [
        ("seller.vat_id", "'136695976' does not start with a country code"),
    ]


def test_not_subject_to_vat_excludes_vat_ids_and_other_categories():
    doc = not_subject()
    assert refusals(replace(doc, seller=replace(doc.seller, vat_id="DE136695976"))) == [
        ("seller.vat_id", "a document not subject to VAT (O) cannot carry the seller's VAT ID"),
    ]
    mixed = build([*doc.lines, line(2, 1, "10.00", currency="USD")], seller=SELLER, currency="USD",
                  exemptions={Category.OUTSIDE_SCOPE: ("Not subject to VAT", "VATEX-EU-O")}, buyer=doc.buyer)
    assert refusals(mixed) == [
        ("lines", "a document not subject to VAT (O) cannot have lines in other VAT categories"),
        ("seller.vat_id", "a document not subject to VAT (O) cannot carry the seller's VAT ID"),
    ]


def test_vat_rounded_per_line_is_refused_once_it_drifts_a_whole_unit_from_the_rate():
    # given 300 lines of 0.03 at 19 %, taxed line by line: 0.01 each, 3.00 in all, against 1.71 at the rate
    lines = [line(n, 1, "0.03") for n in range(1, 301)]
    breakdown = (TaxSubtotal(Category.STANDARD, Decimal("0.19"), 900, 300),)
    # when it is made a document, then it is refused as EN 16931 (BR-CO-17) would refuse it
    with pytest.raises(DocumentError) as refused:
        replace(build(lines), tax_rounding=RoundingMode.PER_LINE, tax_breakdown=breakdown,
                totals=compute_totals(lines, breakdown))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("tax_breakdown[0].tax_amount", "is 300, a whole unit or more off taxable amount × rate (171)"),
    ]
