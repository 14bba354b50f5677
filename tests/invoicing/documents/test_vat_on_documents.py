"""VAT on the documents of real orders: shipping over mixed rates, split shipments, appeasements,
and the format each buyer receives."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from facturx import get_xml_from_pdf  # type: ignore[import-untyped]
from sqlalchemy import select, update

from ordino.accounts.models import Account
from ordino.invoicing.models import Invoice
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.orders.models import OrderItemTaxLine
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
    place,
    place_and_ship,
    ship,
    sim,
    sim_server,
    world,
)


@pytest.fixture
def seller(world: Database) -> Database:
    """The German seller, ACME as a German business, and a book at the reduced rate."""
    factories.legal_entity(world)
    world.transaction(lambda s: s.execute(
        update(Account).where(Account.number == "ACME").values(tax_id="DE811907980", locale="de-DE")))
    factories.product(world, "BOOK-SAFE-2", name="Fachbuch Arbeitssicherheit", tax_class="reduced")
    factories.position(world, "BOOK-SAFE-2", "WH-BER", on_hand=100)
    return world


def _order(lines: list[dict[str, Any]], shipping: str = "12.50") -> dict[str, Any]:
    body = factories.order_payload(tax="calculate", payments=CARD)
    body["delivery_groups"][0]["lines"] = lines
    body["delivery_groups"][0]["shipping_charge"] = shipping
    return body


def _subtotals(ubl: str) -> list[tuple[str, str, str]]:
    """(taxable, tax, percent) of each VAT breakdown row."""
    return re.findall(r'<cac:TaxSubtotal>\s*<cbc:TaxableAmount currencyID="EUR">([0-9.]+)</cbc:TaxableAmount>\s*'
                      r'<cbc:TaxAmount currencyID="EUR">([0-9.]+)</cbc:TaxAmount>\s*<cac:TaxCategory>\s*'
                      r'<cbc:ID>S</cbc:ID>\s*<cbc:Percent>([0-9.]+)</cbc:Percent>', ubl)


def test_shipping_on_a_mixed_rate_order_is_split_over_both_rates_on_the_document(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931
) -> None:
    # given 500 bolts (17.50 at 19 %) and 2 books (49.80 at 7 %), shipping 12.50, taxed by the engine
    order = place(seller, _order([{"sku": "BOLT-M8", "quantity": 500, "unit_price": "0.0350"},
                                  {"sku": "BOOK-SAFE-2", "quantity": 2, "unit_price": "24.90"}]))
    drain(seller, gateways)
    ship(api, admin, fo_id(seller, order["id"]))
    drain(seller, gateways)
    # when the invoice is asked for as UBL
    r = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin)
    # then shipping follows the goods (3.25 at 19 %, 9.25 at 7 %), and each rate's VAT is its
    # taxable amount × rate: 20.75 → 3.94, 59.05 → 4.13
    assert r.status_code == 200, r.text
    assert en16931.fatal(r.content) == []
    charges = re.findall(r'<cbc:AllowanceChargeReasonCode>FC</cbc:AllowanceChargeReasonCode>.*?'
                         r'<cbc:Amount currencyID="EUR">([0-9.]+)</cbc:Amount>.*?<cbc:Percent>([0-9.]+)</cbc:Percent>',
                         r.text, re.S)
    assert charges == [("3.25", "19"), ("9.25", "7")]
    assert _subtotals(r.text) == [("20.75", "3.94", "19"), ("59.05", "4.13", "7")]


def test_every_invoice_of_a_split_shipment_has_its_vat_by_the_rate_and_the_order_adds_up(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931
) -> None:
    # given 300 bolts and 7 nuts, shipped in three parts, the last one small
    order = place(seller, _order([{"sku": "BOLT-M8", "quantity": 300, "unit_price": "0.0350"},
                                  {"sku": "NUT-M8", "quantity": 7, "unit_price": "0.333"}]))
    drain(seller, gateways)
    fo = fo_id(seller, order["id"])
    ship(api, admin, fo, BOLT_M8=150, NUT_M8=3)
    drain(seller, gateways)
    ship(api, admin, fo, BOLT_M8=100, NUT_M8=2)
    drain(seller, gateways)
    ship(api, admin, fo)
    drain(seller, gateways)
    with seller.read() as s:
        invoices = s.execute(select(Invoice.number, Invoice.net_amount, Invoice.tax_amount)
                             .order_by(Invoice.number)).all()
        order_tax = sum(t for t in s.execute(select(OrderItemTaxLine.amount)).scalars())
    # then each invoice but the last has VAT = net × 19 % rounded once (18.75 → 3.56, 4.16 → 0.79);
    # the last takes what is left of the order's 4.81 (0.46, and 2.42 × 19 % = 0.46 too)
    assert [tuple(i) for i in invoices] == [
        ("INV-2026-000001", 1875, 356), ("INV-2026-000002", 416, 79), ("INV-2026-000003", 242, 46),
    ]
    assert sum(i.tax_amount for i in invoices) == order_tax == 481
    for number, *_ in invoices:
        r = api.get(f"/api/v1/invoices/{number}/document?format=ubl", headers=admin)
        assert r.status_code == 200, r.text
        assert en16931.fatal(r.content) == []


def test_an_appeasement_is_a_credit_note_line_of_the_price_reduction(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931
) -> None:
    # given a shipped order and an appeasement of 5.00 (VAT 0.35) on the books, as servicing writes it
    books = _order([{"sku": "BOOK-SAFE-2", "quantity": 2, "unit_price": "24.90"}])
    order = place_and_ship(seller, gateways, api, admin, books)
    co = change_order(seller, order["id"], "appeasement", [(item_ids(seller, order["id"])["BOOK-SAFE-2"], 0, 0,
                                                            -500, -35)])
    r = api.post("/api/v1/credit-memos", json={"order": order["id"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    # when its credit note is asked for
    ubl = api.get(f"/api/v1/credit-memos/{r.json()['number']}/document?format=ubl", headers=admin)
    # then it credits one unit at 5.00, VAT 0.35 at 7 %
    assert ubl.status_code == 200, ubl.text
    assert en16931.fatal(ubl.content) == []
    assert re.search(r'<cbc:CreditedQuantity unitCode="[A-Z0-9]+">1</cbc:CreditedQuantity>\s*'
                     r'<cbc:LineExtensionAmount currencyID="EUR">5.00</cbc:LineExtensionAmount>', ubl.text)
    assert _subtotals(ubl.text) == [("5.00", "0.35", "7")]


def test_a_document_without_a_format_comes_in_the_accounts_and_the_event_names_it(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931_cii: En16931
) -> None:
    # given ACME receives Factur-X
    seller.transaction(lambda s: s.execute(
        update(Account).where(Account.number == "ACME").values(einvoice_format="facturx")))
    order = place(seller, _order([{"sku": "BOLT-M8", "quantity": 100, "unit_price": "0.0350"}]))
    drain(seller, gateways)
    ship(api, admin, fo_id(seller, order["id"]))
    # when its invoice is made and asked for without a format
    drain(seller, gateways)
    with seller.read() as s:
        event = s.execute(select(OutboxEvent.data).where(OutboxEvent.type == "invoice.created")).scalar_one()
    r = api.get("/api/v1/invoices/INV-2026-000001/document", headers=admin)
    # then the event names the format, and the document is a Factur-X PDF whose CII passes EN 16931
    assert event["document_format"] == "facturx"
    assert r.status_code == 200, r.text
    assert (r.headers["content-type"], r.headers["content-disposition"]) == (
        "application/pdf", 'inline; filename="INV-2026-000001.pdf"')
    name, xml = get_xml_from_pdf(io.BytesIO(r.content), check_xsd=True)
    assert name == "factur-x.xml"
    assert en16931_cii.fatal(xml) == []
    # and a format asked for wins over the account's
    assert api.get("/api/v1/invoices/INV-2026-000001/document?format=pdf", headers=admin).headers[
        "content-type"] == "application/pdf"
    assert api.get("/api/v1/invoices/INV-2026-000001/document?format=cii", headers=admin).headers[
        "content-type"] == "application/xml"


def test_a_credit_of_an_untaxed_supply_keeps_its_vat_category(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931
) -> None:
    # given an Austrian business's order, reverse charged, and an appeasement of 2.00 on it (no VAT)
    factories.account(seller, "WIEN", country="AT", tax_id="ATU13585627", locale="de-AT")
    body = _order([{"sku": "BOLT-M8", "quantity": 500, "unit_price": "0.0350"}])
    body["account"] = "WIEN"
    body["delivery_groups"][0]["ship_to"] = {"name": "Wien", "line1": "Mariahilfer Straße 1", "city": "Wien",
                                             "postal_code": "1060", "country": "AT"}
    order = place_and_ship(seller, gateways, api, admin, body)
    co = change_order(seller, order["id"], "appeasement", [(item_ids(seller, order["id"])["BOLT-M8"], 0, 0, -200, 0)])
    r = api.post("/api/v1/credit-memos", json={"order": order["id"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    # when its credit note is asked for
    ubl = api.get(f"/api/v1/credit-memos/{r.json()['number']}/document?format=ubl", headers=admin)
    # then the credit is reverse charged as the supply was, not zero-rated
    assert ubl.status_code == 200, ubl.text
    assert en16931.fatal(ubl.content) == []
    assert "<cbc:TaxExemptionReasonCode>VATEX-EU-AE</cbc:TaxExemptionReasonCode>" in ubl.text
    assert "<cbc:ID>Z</cbc:ID>" not in ubl.text


def test_vat_charged_in_a_foreign_currency_is_also_given_in_the_sellers_currency(
    seller: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: En16931,
    en16931_cii: En16931, peppol: En16931,
) -> None:
    # given a German business paying in CHF: German VAT charged in CHF; 1 EUR = 0.9412 CHF that day
    factories.account(seller, "SCHMIDT", country="DE", currency="CHF", locale="de-DE", tax_id="DE811907980")
    assert api.post("/api/v1/fx-rates", json={"rates": [{"base": "EUR", "quote": "CHF", "rate": "0.9412",
                                                          "effective_on": "2026-11-20"}]},
                    headers=admin).status_code in (200, 201)
    body = _order([{"sku": "BOLT-M8", "quantity": 1000, "unit_price": "0.0400"}], shipping="0")
    body.update(account="SCHMIDT", currency="CHF")
    place_and_ship(seller, gateways, api, admin, body)
    # when the invoice is asked for as UBL and as Factur-X
    ubl = api.get("/api/v1/invoices/INV-2026-000001/document?format=ubl", headers=admin)
    fx = api.get("/api/v1/invoices/INV-2026-000001/document?format=facturx", headers=admin)
    # then VAT of CHF 7.60 is also given in EUR (BT-6, BT-111): 7.60 / 0.9412 = 8.0748… → 8.07
    assert ubl.status_code == 200, ubl.text
    assert en16931.fatal(ubl.content) == [] and peppol.fatal(ubl.content) == []
    assert "<cbc:TaxCurrencyCode>EUR</cbc:TaxCurrencyCode>" in ubl.text
    assert re.search(r'<cac:TaxTotal>\s*<cbc:TaxAmount currencyID="EUR">8.07</cbc:TaxAmount>\s*</cac:TaxTotal>',
                     ubl.text)
    assert '<cbc:TaxAmount currencyID="CHF">7.60</cbc:TaxAmount>' in ubl.text
    _, xml = get_xml_from_pdf(io.BytesIO(fx.content), check_xsd=True)
    assert en16931_cii.fatal(xml) == []
    assert b'<ram:TaxTotalAmount currencyID="EUR">8.07</ram:TaxTotalAmount>' in xml
