"""CII (the XML of Factur-X / ZUGFeRD), checked by the official EN 16931 CII validation and the Factur-X XSD."""

from __future__ import annotations

from dataclasses import replace

import pytest
from facturx import xml_check_xsd
from lxml import etree  # type: ignore[import-untyped]

from ordino.invoicing.documents.cii import render_cii
from ordino.invoicing.documents.domain import Card, Document, Mandate, PaymentMeans
from ordino.invoicing.documents.errors import DocumentError
from ordino.invoicing.documents.ubl import render_ubl
from tests.conftest import shared_data
from tests.invoicing.conftest import (
    BUYER_DE,
    SCENARIOS,
    SELLER,
    En16931,
    big,
    credit_note,
    dinar,
    domestic,
    not_subject,
    paid_by_card,
    reverse_charge,
    shipping_and_discount,
)

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
TX = "rsm:SupplyChainTradeTransaction/"
AGREEMENT = TX + "ram:ApplicableHeaderTradeAgreement/"
SETTLEMENT = TX + "ram:ApplicableHeaderTradeSettlement/"
MEANS = SETTLEMENT + "ram:SpecifiedTradeSettlementPaymentMeans/"
SUMMATION = SETTLEMENT + "ram:SpecifiedTradeSettlementHeaderMonetarySummation/"

CONTACT_SELLER = replace(SELLER, contact_name="Jana Dvořáková", phone="+49 30 1234567", endpoint_id="DE136695976",
                         endpoint_scheme="9930", sepa_creditor_id="DE98ZZZ09999999999", trading_name="Ordino")
LEITWEG_BUYER = replace(BUYER_DE, endpoint_id="991-01234-56", endpoint_scheme="0204")


def parse(doc: Document) -> etree._Element:
    return etree.fromstring(render_cii(doc))


def texts(root: etree._Element, path: str) -> list[str]:
    return [el.text for el in root.xpath(path, namespaces=NS)]


def by_card() -> Document:
    return replace(paid_by_card(), card=Card("4242", "visa"), seller=CONTACT_SELLER, buyer=LEITWEG_BUYER)


def by_direct_debit() -> Document:
    return replace(domestic(), payment_means=PaymentMeans.SEPA_DIRECT_DEBIT, seller=CONTACT_SELLER,
                   mandate=Mandate("MNDT-2026-0001", "DE02 1203 0000 0000 2020 51"))


EXTRA = {"by_card": by_card, "by_direct_debit": by_direct_debit}


# ---- the official validation and the Factur-X schema ----


@pytest.mark.parametrize("name", sorted(SCENARIOS | EXTRA))
def test_every_document_passes_the_en16931_cii_rules_without_a_fatal_error_or_a_warning(
    en16931_cii: En16931, name: str
):
    # given a scenario, when rendered as CII
    xml = render_cii((SCENARIOS | EXTRA)[name]())
    # then the CEN validation reports nothing at all, and the Factur-X EN 16931 XSD accepts it
    assert en16931_cii.report(xml) == []
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True


def test_a_1000_line_invoice_passes_the_en16931_cii_rules(en16931_cii: En16931):
    # given a 1,000-line invoice with a freight charge
    doc = big(1000)
    # when rendered
    xml = render_cii(doc)
    # then nothing is fatal, every line is there and the payable amount is the document's
    assert en16931_cii.fatal(xml) == []
    root = etree.fromstring(xml)
    assert len(root.findall(TX + "ram:IncludedSupplyChainTradeLineItem", NS)) == 1000
    assert texts(root, TX + "ram:IncludedSupplyChainTradeLineItem[last()]//ram:LineID") == ["1000"]
    payable = doc.totals.payable
    assert texts(root, SUMMATION + "ram:DuePayableAmount") == [f"{payable // 100}.{payable % 100:02d}"]


def test_the_validator_passes_the_official_examples_and_reports_a_broken_document(en16931_cii: En16931):
    # given an official example, and our domestic invoice with its payable amount changed
    example = shared_data("einvoicing", "en16931", "cii_examples", "CII_example5.xml").read_bytes()
    root = parse(domestic())
    root.find(SUMMATION + "ram:DuePayableAmount", NS).text = "1.00"
    broken = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    # when validated, then the example passes and the broken one breaks BR-CO-16 (payable = total − prepaid)
    assert en16931_cii.fatal(example) == []
    assert [a.rule for a in en16931_cii.fatal(broken)] == ["BR-CO-16"]


# ---- what the XML says ----


def test_an_invoice_carries_its_header_lines_breakdown_and_totals():
    # given the domestic invoice (19 % and 7 % lines, one with a 20.00 line discount)
    root = parse(domestic())
    # then the header
    assert texts(root, "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [
        "urn:cen.eu:en16931:2017"
    ]
    assert texts(root, "rsm:ExchangedDocument/ram:ID") == ["INV-2026-000042"]
    assert texts(root, "rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert texts(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == ["20260302"]
    assert root.find("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", NS).get("format") == "102"
    # the references
    assert texts(root, AGREEMENT + "ram:BuyerReference") == ["Abteilung 4711"]
    assert texts(root, AGREEMENT + "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == ["PO-4711"]
    assert texts(root, AGREEMENT + "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID") == ["SO-000123"]
    # the second line: 3 × 149.90 − 20.00, its discount as a line allowance
    line2 = root.xpath(TX + "ram:IncludedSupplyChainTradeLineItem[2]", namespaces=NS)[0]
    assert texts(line2, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["149.90"]
    assert texts(line2, ".//ram:BilledQuantity") == ["3"]
    assert line2.find(".//ram:BilledQuantity", NS).get("unitCode") == "H87"
    allowance = "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge/"
    assert texts(line2, allowance + "ram:ChargeIndicator/udt:Indicator") == ["false"]
    assert texts(line2, allowance + "ram:ActualAmount") == ["20.00"]
    assert texts(line2, allowance + "ram:ReasonCode") == ["95"]
    assert texts(line2, allowance + "ram:Reason") == ["Mengenrabatt"]
    assert texts(line2, ".//ram:LineTotalAmount") == ["429.70"]
    # the breakdown: one row per rate, the tax point date once
    rows = root.xpath(SETTLEMENT + "ram:ApplicableTradeTax", namespaces=NS)
    assert [(texts(r, "ram:BasisAmount"), texts(r, "ram:CalculatedAmount"), texts(r, "ram:RateApplicablePercent"))
            for r in rows] == [(["447.20"], ["84.97"], ["19"]), (["101.40"], ["7.10"], ["7"])]
    assert texts(root, SETTLEMENT + "ram:ApplicableTradeTax/ram:TaxPointDate/udt:DateString") == ["20260302"]
    # the totals
    assert texts(root, SUMMATION + "*") == ["548.60", "548.60", "92.07", "640.67", "640.67"]
    assert root.find(SUMMATION + "ram:TaxTotalAmount", NS).get("currencyID") == "EUR"
    # payment: SEPA transfer to the seller's account, due date and terms
    assert texts(root, MEANS + "ram:TypeCode") == ["58"]
    assert texts(root, MEANS + "ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == ["DE89370400440532013000"]
    assert texts(root, MEANS + "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == ["COBADEFFXXX"]
    assert texts(root, SETTLEMENT + "ram:PaymentReference") == ["INV-2026-000042"]
    assert texts(root, SETTLEMENT + "ram:SpecifiedTradePaymentTerms/ram:Description") == [
        "Zahlbar innerhalb von 30 Tagen ohne Abzug"
    ]
    assert texts(root, SETTLEMENT + "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == [
        "20260401"
    ]
    # delivery
    delivery = TX + "ram:ApplicableHeaderTradeDelivery/"
    assert texts(root, delivery + "ram:ShipToTradeParty/ram:Name") == ["Müller & Söhne KG, Lager Süd"]
    assert texts(root, delivery + "ram:ActualDeliverySupplyChainEvent//udt:DateTimeString") == ["20260227"]


def test_a_credit_note_references_the_invoice_it_corrects_and_refunds_to_the_buyer():
    root = parse(credit_note())
    assert texts(root, "rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    ref = SETTLEMENT + "ram:InvoiceReferencedDocument/"
    assert texts(root, ref + "ram:IssuerAssignedID") == ["INV-2026-000042"]
    assert texts(root, ref + "ram:FormattedIssueDateTime/qdt:DateTimeString") == ["20260302"]
    assert texts(root, MEANS + "ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == ["DE02120300000000202051"]
    assert texts(root, SETTLEMENT + "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == [
        "20260330"
    ]
    assert texts(root, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content") == ["Reso merce danneggiata, RMA-000311"]


def test_document_level_allowances_and_charges_carry_their_vat_category():
    root = parse(shipping_and_discount())
    items = root.xpath(SETTLEMENT + "ram:SpecifiedTradeAllowanceCharge", namespaces=NS)
    assert [
        (texts(i, "ram:ChargeIndicator/udt:Indicator")[0], texts(i, "ram:ActualAmount")[0],
         texts(i, "ram:ReasonCode")[0], texts(i, "ram:CategoryTradeTax/ram:CategoryCode")[0],
         texts(i, "ram:CategoryTradeTax/ram:RateApplicablePercent")[0])
        for i in items
    ] == [("false", "12.45", "95", "S", "19"), ("false", "2.50", "95", "S", "7"), ("true", "12.50", "FC", "S", "19")]
    assert texts(root, SUMMATION + "ram:ChargeTotalAmount") == ["12.50"]
    assert texts(root, SUMMATION + "ram:AllowanceTotalAmount") == ["14.95"]


def test_an_exempt_row_says_why_and_a_document_not_subject_to_vat_has_no_rate():
    reverse = parse(reverse_charge())
    assert texts(reverse, SETTLEMENT + "ram:ApplicableTradeTax/ram:ExemptionReasonCode") == ["VATEX-EU-AE"]
    assert texts(reverse, SETTLEMENT + "ram:ApplicableTradeTax/ram:ExemptionReason") == ["Reverse charge"]
    assert texts(reverse, SETTLEMENT + "ram:ApplicableTradeTax/ram:RateApplicablePercent") == ["0"]
    outside = parse(not_subject())
    assert texts(outside, "//ram:CategoryCode") == ["O", "O"]
    assert texts(outside, "//ram:RateApplicablePercent") == []
    # a US account is not an IBAN: it is the payee's proprietary account number
    assert texts(outside, MEANS + "ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == []
    assert texts(outside, MEANS + "ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID") == [
        "US64SVBKUS6S3300958879"
    ]


def test_a_card_payment_names_the_card_by_its_last_four_digits_and_no_bank_account():
    root = parse(by_card())
    assert texts(root, MEANS + "ram:TypeCode") == ["48"]
    assert texts(root, MEANS + "ram:Information") == ["Visa"]
    assert texts(root, MEANS + "ram:ApplicableTradeSettlementFinancialCard/ram:ID") == ["4242"]
    assert texts(root, MEANS + "ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == []
    assert texts(root, SUMMATION + "ram:TotalPrepaidAmount") == ["640.67"]
    assert texts(root, SUMMATION + "ram:DuePayableAmount") == ["0.00"]


def test_a_direct_debit_carries_the_mandate_the_creditor_id_and_the_debited_account():
    root = parse(by_direct_debit())
    assert texts(root, MEANS + "ram:TypeCode") == ["59"]
    assert texts(root, MEANS + "ram:PayerPartyDebtorFinancialAccount/ram:IBANID") == ["DE02120300000000202051"]
    assert texts(root, SETTLEMENT + "ram:CreditorReferenceID") == ["DE98ZZZ09999999999"]
    assert texts(root, SETTLEMENT + "ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID") == ["MNDT-2026-0001"]


def test_parties_carry_contact_electronic_address_and_tax_registrations():
    root = parse(by_card())
    seller = AGREEMENT + "ram:SellerTradeParty/"
    assert texts(root, seller + "ram:Name") == ["Ordino Demo GmbH"]
    assert texts(root, seller + "ram:SpecifiedLegalOrganization/*") == ["HRB 123456 B", "Ordino"]
    assert texts(root, seller + "ram:DefinedTradeContact/ram:PersonName") == ["Jana Dvořáková"]
    assert texts(root, seller + "ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber") == [
        "+49 30 1234567"
    ]
    assert texts(root, seller + "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID") == [
        "billing@ordino.example"
    ]
    assert [(e.get("schemeID"), e.text) for e in root.findall(seller + "ram:URIUniversalCommunication/ram:URIID", NS)
            ] == [("9930", "DE136695976")]
    assert [(e.get("schemeID"), e.text) for e in root.findall(seller + "ram:SpecifiedTaxRegistration/ram:ID", NS)
            ] == [("VA", "DE136695976"), ("FC", "37/123/45678")]
    buyer = AGREEMENT + "ram:BuyerTradeParty/"
    assert [(e.get("schemeID"), e.text) for e in root.findall(buyer + "ram:URIUniversalCommunication/ram:URIID", NS)
            ] == [("0204", "991-01234-56")]
    assert texts(root, buyer + "ram:PostalTradeAddress/*") == [
        "80802", "Leopoldstraße 8", "3. OG", "München", "DE"
    ]


# ---- refusals: the same as the UBL writer's ----


def refusals(render: object, doc: Document) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as refused:
        render(doc)  # type: ignore[operator]
    return [(e.field, e.message) for e in refused.value.errors]


def test_a_document_ubl_refuses_is_refused_in_cii_with_the_same_faults():
    # given a standard-rated invoice whose seller has neither VAT ID nor tax number nor register number
    doc = replace(domestic(), seller=replace(SELLER, vat_id=None, tax_number=None, registration_id=None))
    # when rendered, then CII names exactly what UBL names
    assert refusals(render_cii, doc) == refusals(render_ubl, doc) == [
        ("seller.vat_id", "VAT categories S, Z, E and AE need the seller's VAT ID or tax number"),
        ("seller.registration_id", "the seller needs a VAT ID or a company registration number"),
    ]


def test_an_amount_with_three_decimals_is_refused():
    # given a KWD invoice whose line comes to 2.471 (EN 16931 allows two decimals)
    doc = dinar("1.2355")
    assert refusals(render_cii, doc)[0] == (
        "totals.line_total", "EN 16931 allows at most 2 decimals in an amount; KWD has 3"
    )
    # and one in whole hundredths renders, written with two decimals
    assert texts(parse(dinar()), SUMMATION + "ram:DuePayableAmount") == ["2.47"]
