"""Peppol BIS Billing 3.0 and XRechnung flavours of the UBL writer, checked by the official rules."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree  # type: ignore[import-untyped]

from ordino.invoicing.documents.domain import Card, Document, Mandate, PaymentMeans
from ordino.invoicing.documents.errors import DocumentError
from ordino.invoicing.documents.ubl import CUSTOMIZATION_IDS, Flavour, render_ubl
from tests.invoicing.conftest import BUYER_CH, SCENARIOS, SELLER, Validator, domestic, paid_by_card, yen

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
PEPPOL_ID = CUSTOMIZATION_IDS[Flavour.PEPPOL]


def texts(xml: bytes, path: str) -> list[str]:
    return [el.text for el in etree.fromstring(xml).xpath(path, namespaces=NS)]


def refusals(doc: Document, flavour: Flavour) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as refused:
        render_ubl(doc, flavour)
    return [(e.field, e.message) for e in refused.value.errors]


def as_peppol(xml: bytes) -> bytes:
    """The XML with the Peppol specification identifier in place of its own."""
    root = etree.fromstring(xml)
    root.find("cbc:CustomizationID", NS).text = PEPPOL_ID
    return bytes(etree.tostring(root))


def direct_debit() -> Document:
    return replace(domestic(), payment_means=PaymentMeans.SEPA_DIRECT_DEBIT,
                   mandate=Mandate("MND-2026-0042", "DE02120300000000202051"))


# ---- the official rules ----


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_document_as_peppol_passes_en16931_and_peppol(en16931: Validator, peppol: Validator, name: str):
    xml = render_ubl(SCENARIOS[name](), Flavour.PEPPOL)
    assert (en16931.fatal(xml), peppol.fatal(xml)) == ([], [])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_document_as_xrechnung_passes_en16931_and_every_peppol_rule_but_the_identifier(
    en16931: Validator, peppol: Validator, name: str
):
    # given the document as XRechnung: its CustomizationID is XRechnung's, which Peppol's R004 does not know
    xml = render_ubl(SCENARIOS[name](), Flavour.XRECHNUNG)
    # then EN 16931 passes, Peppol objects to nothing but the identifier, and with Peppol's identifier nothing
    assert en16931.fatal(xml) == []
    assert [a.rule for a in peppol.fatal(xml)] == ["PEPPOL-EN16931-R004"]
    assert peppol.fatal(as_peppol(xml)) == []


def test_a_direct_debit_passes_both_rule_sets(en16931: Validator, peppol: Validator):
    for flavour in (Flavour.PEPPOL, Flavour.XRECHNUNG):
        xml = render_ubl(direct_debit(), flavour)
        assert (en16931.fatal(xml), peppol.fatal(as_peppol(xml))) == ([], [])


def test_the_validator_catches_a_card_payment_that_carries_the_sellers_iban(peppol: Validator):
    # given our valid card-paid invoice, with the seller's account added to its payment means afterwards
    root = etree.fromstring(render_ubl(paid_by_card(), Flavour.PEPPOL))
    means = root.find("cac:PaymentMeans", NS)
    account = etree.SubElement(means, "{%s}PayeeFinancialAccount" % NS["cac"])  # noqa: UP031
    etree.SubElement(account, "{%s}ID" % NS["cbc"]).text = "DE89370400440532013000"  # noqa: UP031
    # then the German rules reject it (DE-R-024): this is why a card payment never names an account
    assert [a.rule for a in peppol.fatal(etree.tostring(root))] == ["DE-R-024-2"]


def test_the_validator_catches_a_missing_buyer_endpoint(peppol: Validator):
    root = etree.fromstring(render_ubl(domestic(), Flavour.PEPPOL))
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    endpoint.getparent().remove(endpoint)
    assert [a.rule for a in peppol.fatal(etree.tostring(root))] == ["PEPPOL-EN16931-R010"]


# ---- what each flavour writes ----


def test_each_flavour_names_its_specification_and_profile():
    doc = domestic()
    assert texts(render_ubl(doc), "cbc:CustomizationID | cbc:ProfileID") == ["urn:cen.eu:en16931:2017"]
    assert texts(render_ubl(doc, Flavour.PEPPOL), "cbc:CustomizationID | cbc:ProfileID") == [
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
        "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
    ]
    assert texts(render_ubl(doc, Flavour.XRECHNUNG), "cbc:CustomizationID | cbc:ProfileID") == [
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
        "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
    ]


def test_a_party_without_an_address_of_its_own_is_reached_at_its_vat_id():
    # given a German seller and buyer without electronic addresses
    xml = render_ubl(domestic(), Flavour.PEPPOL)
    # then each is addressed by its VAT ID under the German VAT scheme 9930
    endpoints = etree.fromstring(xml).xpath("//cac:Party/cbc:EndpointID", namespaces=NS)
    assert [(e.get("schemeID"), e.text) for e in endpoints] == [("9930", "DE136695976"), ("9930", "DE811907980")]
    # and an address of its own wins
    doc = replace(domestic(), buyer=replace(domestic().buyer, endpoint_scheme="0204",
                                            endpoint_id="04011000-1234512345-06"))
    assert texts(render_ubl(doc, Flavour.PEPPOL), "cac:AccountingCustomerParty//cbc:EndpointID") == [
        "04011000-1234512345-06"]


def test_the_seller_contact_is_written_in_full():
    xml = render_ubl(domestic(), Flavour.PEPPOL)
    assert texts(xml, "cac:AccountingSupplierParty/cac:Party/cac:Contact/*") == [
        "Jana Dvořáková", "+49 30 1234567", "billing@ordino.example"]


def test_a_card_payment_names_the_last_four_digits_and_the_network_only():
    xml = render_ubl(paid_by_card(), Flavour.PEPPOL)
    assert texts(xml, "cac:PaymentMeans/cbc:PaymentMeansCode | cac:PaymentMeans/cac:CardAccount/*") == [
        "48", "4242", "VISA"]
    assert texts(xml, "//cac:PayeeFinancialAccount/cbc:ID") == []


def test_a_direct_debit_names_the_mandate_the_debited_iban_and_the_creditor_id():
    xml = render_ubl(direct_debit(), Flavour.PEPPOL)
    assert texts(xml, "cac:PaymentMeans/cbc:PaymentMeansCode | cac:PaymentMeans/cac:PaymentMandate//cbc:ID") == [
        "59", "MND-2026-0042", "DE02120300000000202051"]
    assert texts(xml, "cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='SEPA']") == [
        "DE98ZZZ09999999999"]
    assert texts(xml, "//cac:PayeeFinancialAccount/cbc:ID") == []


def test_peppol_allows_one_note_unless_seller_and_buyer_are_german():
    two = ("Lieferung frei Haus", "Reso merce danneggiata")
    german = render_ubl(replace(domestic(), notes=two), Flavour.PEPPOL)
    assert texts(german, "cbc:Note") == list(two)
    swiss = render_ubl(replace(domestic(), notes=two, buyer=BUYER_CH), Flavour.PEPPOL)
    assert texts(swiss, "cbc:Note") == ["Lieferung frei Haus\nReso merce danneggiata"]


def test_a_price_a_yen_amount_cannot_round_to_is_given_for_the_whole_quantity():
    # 3 × ¥333.5 = ¥1000.5, invoiced as ¥1001: Peppol (R120) wants quantity × price within 0.02
    xml = render_ubl(yen(), Flavour.PEPPOL)
    assert texts(xml, "cac:InvoiceLine[1]/cac:Price/*") == ["1001", "3"]
    assert texts(xml, "cac:InvoiceLine[2]/cac:Price/*") == ["1480"]


# ---- refusals, each naming the field ----


def test_a_seller_peppol_cannot_reach_is_refused_and_a_buyer_without_an_address_is_written_without_one():
    # given a Swiss buyer with neither an electronic address nor a VAT ID, and a seller with an e-mail scheme
    buyer = replace(BUYER_CH, endpoint_scheme=None, endpoint_id=None)
    seller = replace(SELLER, endpoint_scheme="EM", endpoint_id="billing@ordino.example")
    doc = replace(domestic(), buyer=buyer, seller=seller)
    # then plain EN 16931 renders it, Peppol names the seller's fault
    assert render_ubl(doc).startswith(b"<?xml")
    assert refusals(doc, Flavour.PEPPOL) == [("seller.endpoint_scheme", "'EM' is not in the Peppol EAS code list")]
    # and with a reachable seller, the buyer (say a consumer: not on the network) has no EndpointID
    xml = etree.fromstring(render_ubl(replace(doc, seller=SELLER), Flavour.PEPPOL))
    assert xml.findall(".//{*}AccountingCustomerParty//{*}EndpointID") == []
    assert len(xml.findall(".//{*}AccountingSupplierParty//{*}EndpointID")) == 1


def test_an_endpoint_scheme_outside_the_eas_list_is_refused_by_the_document():
    with pytest.raises(DocumentError) as refused:
        replace(domestic(), buyer=replace(domestic().buyer, endpoint_scheme="9999", endpoint_id="X"))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("buyer.endpoint_scheme",
         "'9999' is not in the EAS code list (e.g. 0088 GLN, 0204 Leitweg-ID, 0208, 9930, EM)"),
    ]


def test_a_german_invoice_without_the_sellers_contact_or_card_digits_is_refused():
    doc = replace(paid_by_card(), seller=replace(SELLER, contact_name=None, phone=None), card=None)
    message = "German invoices name the seller's contact, telephone and e-mail (DE-R-005/6/7)"
    assert refusals(doc, Flavour.PEPPOL) == [
        ("seller.contact_name", message), ("seller.phone", message),
        ("card.last4", "a card payment names the card's last four digits (DE-R-024)"),
    ]


def test_a_direct_debit_needs_the_mandate_creditor_id_and_debited_iban():
    with pytest.raises(DocumentError) as refused:
        replace(domestic(), payment_means=PaymentMeans.SEPA_DIRECT_DEBIT)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("mandate", "a SEPA direct debit (59) needs the mandate reference")]
    doc = replace(direct_debit(), seller=replace(SELLER, sepa_creditor_id=None), mandate=Mandate("MND-1"))
    assert refusals(doc, Flavour.XRECHNUNG) == [
        ("seller.sepa_creditor_id", "a SEPA direct debit needs the seller's creditor ID (DE-R-030)"),
        ("mandate.debited_iban", "a SEPA direct debit needs the debited IBAN (DE-R-031)"),
    ]


def test_xrechnung_and_german_invoices_need_the_buyer_reference():
    message = "German invoices and XRechnung carry the buyer reference, for public buyers their Leitweg-ID (DE-R-015)"
    swiss = replace(domestic(), buyer_reference=None, buyer=BUYER_CH)
    assert render_ubl(swiss, Flavour.PEPPOL).startswith(b"<?xml")  # the PO number is enough for Peppol (R003)
    assert refusals(swiss, Flavour.XRECHNUNG) == [("buyer_reference", message)]
    assert refusals(replace(domestic(), buyer_reference=None), Flavour.PEPPOL) == [("buyer_reference", message)]


def test_a_card_needs_its_last_four_digits_only():
    with pytest.raises(DocumentError) as refused:
        replace(paid_by_card(), card=Card("4242424242424242", "visa"))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("card.last4", "must be the card's last four digits")]
