"""Invoice and credit memo documents from the stored records: PDF and UBL that pass EN 16931."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, update

from ordino.accounts.models import Account
from ordino.catalog.models import LegalEntity
from ordino.invoicing.documents.domain import Card, Mandate
from ordino.invoicing.documents.rendering import credit_memo_document, invoice_document
from ordino.invoicing.models import CreditMemo, Invoice
from ordino.kernel.db import Database
from tests import factories
from tests.invoicing.conftest import En16931
from tests.invoicing.support import (  # noqa: F401
    CARD,
    api,
    change_order,
    drain,
    fo_id,
    frozen,
    gateways,
    item_ids,
    order_payload,
    place,
    place_and_ship,
    ship,
    sim,
    sim_server,
    world,
)

TERMS = [{"method": "invoice", "terms": "net_30"}]


@pytest.fixture
def seller(world: Database) -> Database:
    """The German seller, and ACME's VAT ID and language."""
    factories.legal_entity(world, contact_name="Jana Dvořáková", phone="+49 30 1234567-0")
    world.transaction(lambda s: s.execute(
        update(Account).where(Account.number == "ACME").values(tax_id="DE811907980", locale="de-DE")))
    return world


def _shipped_in_two_parts(db: Database, gateways: Any, api: Any, admin: dict[str, str]) -> Any:
    order = place(db, order_payload(CARD))
    drain(db, gateways)
    fo = fo_id(db, order["id"])
    ship(api, admin, fo, BOLT_M8=333, NUT_M8=1)
    drain(db, gateways)
    ship(api, admin, fo)
    drain(db, gateways)
    return order


def test_both_invoices_of_a_split_shipment_pass_en16931_and_peppol_and_render_as_pdf(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931, peppol: En16931
) -> None:
    # given a card order shipped in two parts: two invoices, each paid by card
    _shipped_in_two_parts(seller, gateways, api, admin)
    for number in ("INV-2026-000001", "INV-2026-000002"):
        # when each is asked for as UBL and as PDF
        ubl = api.get(f"/api/v1/invoices/{number}/document?format=ubl", headers=admin)
        pdf = api.get(f"/api/v1/invoices/{number}/document?format=pdf", headers=admin)
        # then the UBL passes the official rules with nothing fatal, and the PDF is a PDF
        assert ubl.status_code == 200, ubl.text
        assert ubl.headers["content-type"] == "application/xml"
        assert ubl.headers["content-disposition"] == f'inline; filename="{number}.xml"'
        assert en16931.fatal(ubl.content) == []
        assert peppol.fatal(ubl.content) == []
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF-")
    # and the first invoice says what was stored: its number, totals (VAT 24.46 × 19 % = 4.65, rounded once),
    # prepaid by card
    first = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin).text
    assert "<cbc:ID>INV-2026-000001</cbc:ID>" in first
    assert re.search(r'<cbc:TaxInclusiveAmount currencyID="EUR">29.11</cbc:TaxInclusiveAmount>', first)
    assert re.search(r'<cbc:PrepaidAmount currencyID="EUR">29.11</cbc:PrepaidAmount>', first)
    assert re.search(r'<cbc:PayableAmount currencyID="EUR">0.00</cbc:PayableAmount>', first)
    assert re.search(r'<cbc:ChargeTotalAmount currencyID="EUR">12.50</cbc:ChargeTotalAmount>', first)


def test_the_document_matches_the_invoice_record(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    _shipped_in_two_parts(seller, gateways, api, admin)
    with seller.read() as s:
        for invoice in s.execute(select(Invoice)).scalars().all():
            doc = invoice_document(s, invoice.id)
            assert (doc.totals.tax_exclusive, doc.totals.tax_total, doc.totals.tax_inclusive) == (
                invoice.net_amount, invoice.tax_amount, invoice.total_amount)
            assert doc.language == "de_DE"
            assert doc.seller.bank_account is not None and doc.seller.bank_account.iban == "DE89370400440532013000"
            assert (doc.buyer.name, doc.buyer.vat_id) == ("ACME GmbH", "DE811907980")


def test_an_invoice_terms_order_shows_its_terms_and_bank_details(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931, peppol: En16931
) -> None:
    place_and_ship(seller, gateways, api, admin, order_payload(TERMS))
    with seller.read() as s:
        doc = invoice_document(s, s.execute(select(Invoice.id)).scalar_one())
    assert (doc.payment_terms, str(doc.due_date), doc.payment_means) == (
        "Zahlbar innerhalb von 30 Tagen ohne Abzug", "2026-12-26", "58")
    assert doc.totals.payable == 3678
    ubl = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin)
    assert (en16931.fatal(ubl.content), peppol.fatal(ubl.content)) == ([], [])
    assert "<cbc:ID>DE89370400440532013000</cbc:ID>" in ubl.text


def test_a_reverse_charged_invoice_carries_category_ae_and_the_note(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931, peppol: En16931
) -> None:
    # given a French business taxed by Ordino's engine: reverse charge
    factories.account(seller, "DURAND", country="FR", tax_id="FR40303265045", locale="fr-FR")
    body = factories.order_payload(external_reference="WEB-FR", account="DURAND", tax="calculate")
    body["delivery_groups"][0]["ship_to"] = {"name": "Durand", "line1": "1 rue de la Paix", "city": "Lyon",
                                             "postal_code": "69001", "country": "FR"}
    place_and_ship(seller, gateways, api, admin, body)
    # when the invoice is rendered
    ubl = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin)
    # then it validates, with category AE, the VATEX code and the Article 196 note
    assert ubl.status_code == 200, ubl.text
    assert (en16931.fatal(ubl.content), peppol.fatal(ubl.content)) == ([], [])
    assert '<cbc:EndpointID schemeID="9957">FR40303265045</cbc:EndpointID>' in ubl.text
    assert "<cbc:TaxExemptionReasonCode>VATEX-EU-AE</cbc:TaxExemptionReasonCode>" in ubl.text
    assert "Article 196" in ubl.text
    assert api.get("/api/v1/invoices/INV-2026-000001/document?format=pdf", headers=admin).status_code == 200


def test_a_credit_memo_renders_as_a_credit_note_referring_to_the_invoice(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931, peppol: En16931
) -> None:
    # given a shipped, invoiced order and a return of 100 bolts credited
    order = place_and_ship(seller, gateways, api, admin, order_payload(CARD))
    bolts = item_ids(seller, order["id"])["BOLT-M8"]
    co = change_order(seller, order["id"], "return", [(bolts, 100, -350, 0, -67)])
    r = api.post("/api/v1/credit-memos", json={"order": order["id"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    drain(seller, gateways)
    # when it is rendered
    ubl = api.get(f"/api/v1/credit-memos/{r.json()['number']}/document?format=ubl", headers=admin)
    # then it is a valid credit note of 4.17 referring to the invoice
    assert ubl.status_code == 200, ubl.text
    assert (en16931.fatal(ubl.content), peppol.fatal(ubl.content)) == ([], [])
    assert "<CreditNote" in ubl.text
    assert "<cbc:ID>INV-2026-000001</cbc:ID>" in ubl.text
    assert re.search(r'<cbc:TaxInclusiveAmount currencyID="EUR">4.17</cbc:TaxInclusiveAmount>', ubl.text)
    with seller.read() as s:
        doc = credit_memo_document(s, s.execute(select(CreditMemo.id)).scalar_one())
    assert [(ln.sku, ln.quantity, ln.net_amount) for ln in doc.lines] == [("BOLT-M8", 100, 350)]
    # and it was refunded to the card the order was paid by
    assert (doc.payment_means, doc.card) == ("48", Card("4242", "visa"))
    assert "<cac:BillingReference>" in ubl.text and "<cbc:PrimaryAccountNumberID>4242" in ubl.text


def test_documents_of_other_accounts_and_unknown_formats_are_refused(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    from ordino.kernel.auth import Role
    from tests.conftest import api_key

    _shipped_in_two_parts(seller, gateways, api, admin)
    other = api_key(seller, Role.BUYER, factories.account(seller, "OTHER"))
    assert api.get("/api/v1/invoices/INV-2026-000001/document", headers=other).status_code == 404
    assert api.get("/api/v1/invoices/INV-2026-000001/document?format=docx", headers=admin).status_code == 422
    assert api.get("/api/v1/invoices/INV-2099-000001/document", headers=admin).status_code == 404


def test_without_a_seller_the_document_is_a_clear_conflict(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    _shipped_in_two_parts(world, gateways, api, admin)
    r = api.get("/api/v1/invoices/INV-2026-000001/document?format=pdf", headers=admin)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_card_paid_invoice_names_the_card_and_not_the_sellers_account(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931, peppol: En16931
) -> None:
    # given a card order placed with the card's brand and last four digits, shipped and invoiced
    place_and_ship(seller, gateways, api, admin, order_payload(CARD))
    # when the invoice is asked for as UBL
    ubl = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin)
    # then it is a Peppol invoice paid by card 4242 (Visa), with no IBAN to pay into, valid for both rule sets
    assert ubl.status_code == 200, ubl.text
    assert (en16931.fatal(ubl.content), peppol.fatal(ubl.content)) == ([], [])
    assert "urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>" in ubl.text
    assert re.search(r"<cac:CardAccount>\s*<cbc:PrimaryAccountNumberID>4242</cbc:PrimaryAccountNumberID>\s*"
                     r"<cbc:NetworkID>VISA</cbc:NetworkID>", ubl.text)
    assert "PayeeFinancialAccount" not in ubl.text
    assert "DE89370400440532013000" not in ubl.text
    # and the seller's contact is on it, as the German rules ask
    assert re.search(r"<cac:Contact>\s*<cbc:Name>Jana Dvořáková</cbc:Name>\s*<cbc:Telephone>\+49 30 1234567-0"
                     r"</cbc:Telephone>\s*<cbc:ElectronicMail>billing@ordino.example", ubl.text)


def test_an_invoice_on_terms_with_a_mandate_is_collected_by_sepa_direct_debit(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931, peppol: En16931
) -> None:
    # given a seller with a SEPA creditor ID, and ACME with a mandate and its Leitweg-ID as buyer reference
    seller.transaction(lambda s: s.execute(update(LegalEntity).values(sepa_creditor_id="DE98ZZZ09999999999")))
    seller.transaction(lambda s: s.execute(update(Account).where(Account.number == "ACME").values(
        direct_debit_mandate="MND-ACME-01", direct_debit_iban="DE02120300000000202051",
        buyer_reference="04011000-1234512345-06")))
    place_and_ship(seller, gateways, api, admin, order_payload(TERMS))
    with seller.read() as s:
        doc = invoice_document(s, s.execute(select(Invoice.id)).scalar_one())
    # then the invoice is paid by SEPA direct debit under the mandate
    assert (doc.payment_means, doc.mandate, doc.buyer_reference) == (
        "59", Mandate("MND-ACME-01", "DE02120300000000202051"), "04011000-1234512345-06")
    ubl = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin)
    assert ubl.status_code == 200, ubl.text
    assert (en16931.fatal(ubl.content), peppol.fatal(ubl.content)) == ([], [])
    assert re.search(r"<cac:PaymentMandate>\s*<cbc:ID>MND-ACME-01</cbc:ID>\s*<cac:PayerFinancialAccount>\s*"
                     r"<cbc:ID>DE02120300000000202051</cbc:ID>", ubl.text)
    assert '<cbc:ID schemeID="SEPA">DE98ZZZ09999999999</cbc:ID>' in ubl.text
    assert "PayeeFinancialAccount" not in ubl.text
    # and as XRechnung it carries the Leitweg-ID; apart from its own identifier it passes every Peppol rule
    xr = api.get("/api/v1/invoices/INV-2026-000001/document?format=xrechnung", headers=admin)
    assert xr.status_code == 200, xr.text
    assert "<cbc:BuyerReference>04011000-1234512345-06</cbc:BuyerReference>" in xr.text
    assert "urn:xeinkauf.de:kosit:xrechnung_3.0</cbc:CustomizationID>" in xr.text
    assert en16931.fatal(xr.content) == []
    assert [a.rule for a in peppol.fatal(xr.content)] == ["PEPPOL-EN16931-R004"]
