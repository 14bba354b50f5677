"""Every invoice and credit memo Ordino issues is an e-invoice that buyers' systems accept.

Orders of every kind are placed, taxed by Ordino's engine, shipped (some in parts), paid by card
or on terms, returned and appeased, through the real flows; then every document is asked for
through the API as UBL (Peppol BIS Billing 3), XRechnung and Factur-X, and validated with the
official EN 16931 rules (UBL and CII) and the OpenPeppol rules.
"""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from facturx import get_xml_from_pdf  # type: ignore[import-untyped]
from sqlalchemy import select, update

from ordino.accounts.models import Account
from ordino.invoicing.models import CreditMemo, Invoice
from ordino.kernel.db import Database
from tests import factories
from tests.invoicing.conftest import Validator
from tests.invoicing.support import (  # noqa: F401
    api,
    change_order,
    drain,
    fo_id,
    frozen,
    gateways,
    item_ids,
    place,
    ship,
    sim,
    sim_server,
    world,
)

CARD = [{"method": "card", "gateway": "simulator", "token": "tok_visa"}]
TERMS = [{"method": "invoice", "terms": "net_30"}]
BIG_LINES = 2_000


@dataclass(frozen=True)
class Buyer:
    number: str
    country: str
    currency: str
    locale: str
    city: str
    postal_code: str
    tax_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    business: bool = True


BUYERS = (
    Buyer("ACME", "DE", "EUR", "de-DE", "Berlin", "10115", "DE811907980"),
    Buyer("WIEN", "AT", "EUR", "de-AT", "Wien", "1060", "ATU13585627"),
    Buyer("DURAND", "FR", "EUR", "fr-FR", "Lyon", "69001", business=False),
    Buyer("ROSSI", "IT", "EUR", "it-IT", "Milano", "20121", business=False),
    Buyer("JANSEN", "NL", "EUR", "nl-NL", "Utrecht", "3511", business=False),
    Buyer("BRUX", "BE", "EUR", "fr-BE", "Bruxelles", "1000", "BE0403170701",
          {"endpoint_scheme": "0208", "endpoint_id": "0403170701"}),
    Buyer("ZUERICH", "CH", "CHF", "de-CH", "Zürich", "8001", "CHE116281710"),
    Buyer("LONDON", "GB", "GBP", "en-GB", "London", "EC1A 1BB", "GB980780684"),
    Buyer("NYC", "US", "USD", "en-US", "New York", "10001", "12-3456789",
          {"endpoint_scheme": "0060", "endpoint_id": "060704780"}),
    Buyer("STHLM", "SE", "SEK", "sv-SE", "Stockholm", "111 52", "SE556036079301",
          {"endpoint_scheme": "0007", "endpoint_id": "5560360793"}),
    Buyer("BUND", "DE", "EUR", "de-DE", "Bonn", "53113", "DE811907980",
          {"einvoice_format": "xrechnung", "buyer_reference": "991-01234-44"}),
)


@pytest.fixture
def trading(world: Database) -> Database:
    """A German seller with its contact and register; buyers in eight countries; goods at three VAT
    classes (standard bolts and nuts, reduced-rate books, exempt training)."""
    factories.legal_entity(
        world, phone="+49 30 1234567", contact_name="Jana Dvořáková", tax_number="37/123/45678",
        registration_number="HRB 123456 B", register_court="Amtsgericht Charlottenburg",
        managing_directors="Jana Dvořáková", endpoint_scheme="9930", endpoint_id="DE136695976",
    )
    world.transaction(lambda s: s.execute(update(Account).where(Account.number == "ACME").values(
        tax_id="DE811907980", locale="de-DE")))
    for b in BUYERS[1:]:
        factories.account(world, b.number, name=f"{b.number.title()} Handel", country=b.country,
                          currency=b.currency, locale=b.locale, tax_id=b.tax_id, **b.extra)
    factories.product(world, "BOOK-SAFE-2", name="Fachbuch Arbeitssicherheit, 2. Auflage", tax_class="reduced",
                      unit_of_measure="C62")
    factories.product(world, "TRAIN-1", name="Schulung Drehmomentmontage", tax_class="exempt",
                      unit_of_measure="HUR")
    factories.product(world, "GLOVES-BX", name="Nitrilhandschuhe, Box zu 100", unit_of_measure="XBX")
    for sku in ("BOOK-SAFE-2", "TRAIN-1", "GLOVES-BX"):
        factories.position(world, sku, "WH-BER", on_hand=10_000)
    return world


def _order(buyer: Buyer, lines: list[tuple[str, int, str]], *, reference: str, payments: list[dict[str, Any]],
           shipping: str = "12.50", gross: bool = False, **extra: Any) -> dict[str, Any]:
    body = factories.order_payload(
        external_reference=reference, account=buyer.number, currency=buyer.currency, tax="calculate",
        prices_include_tax=gross, payments=payments, po_number=f"PO-{reference}", **extra,
    )
    group = body["delivery_groups"][0]
    group["ship_to"] = {"name": f"{buyer.number.title()} Wareneingang", "line1": "Hauptstraße 1",
                        "city": buyer.city, "postal_code": buyer.postal_code, "country": buyer.country}
    group["shipping_charge"] = shipping
    group["lines"] = [{"sku": sku, "quantity": q, "unit_price": price} for sku, q, price in lines]
    return body


class Trade:
    """Places, ships and services orders through the real flows."""

    def __init__(self, db: Database, gateways: Any, api: Any, admin: dict[str, str]) -> None:
        self.db, self.gateways, self.api, self.admin = db, gateways, api, admin

    def consumers(self) -> None:
        for b in BUYERS:
            if not b.business:
                r = self.api.put(f"/api/v1/accounts/{b.number}/tax-profile", json={"business": False},
                                 headers=self.admin)
                assert r.status_code == 200, r.text

    def order(self, body: dict[str, Any], parts: list[dict[str, int]] | None = None) -> dict[str, Any]:
        """Place `body` and ship it: in `parts` (units per SKU, underscores for dashes), then the rest."""
        order = place(self.db, body)
        drain(self.db, self.gateways)
        fo = fo_id(self.db, order["id"])
        for part in parts or []:
            ship(self.api, self.admin, fo, **part)
            drain(self.db, self.gateways)
        ship(self.api, self.admin, fo)
        drain(self.db, self.gateways)
        return order

    def credit(self, order: dict[str, Any], kind: str, changes: list[tuple[str, int, int, int, int]]) -> None:
        """A change order of `kind` (sku, quantity, line, adjustment, tax deltas) and its credit memo."""
        ids = item_ids(self.db, order["id"])
        co = change_order(self.db, order["id"], kind, [(ids[sku], *rest) for sku, *rest in changes])
        r = self.api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]},
                          headers=self.admin)
        assert r.status_code == 201, r.text
        drain(self.db, self.gateways)

    def fee(self, order: dict[str, Any], description: str, amount: str, taxes: list[dict[str, str]],
            currency: str = "EUR") -> None:
        r = self.api.post("/api/v1/invoices", json={"order": order["number"], "description": description,
                                                    "amount": amount, "currency": currency, "tax_lines": taxes},
                          headers=self.admin)
        assert r.status_code == 201, r.text
        drain(self.db, self.gateways)


def _orders(trade: Trade) -> None:
    acme, wien, durand, rossi, jansen, brux, zuerich, london, nyc, sthlm, bund = BUYERS
    # domestic: standard and reduced rates with shipping (split over both rates), card and terms
    mixed = trade.order(_order(acme, [("BOLT-M8", 500, "0.0350"), ("BOOK-SAFE-2", 2, "24.90")],
                               reference="DE-MIXED", payments=CARD))
    trade.order(_order(acme, [("BOLT-M8", 1000, "0.0350"), ("GLOVES-BX", 3, "6.50"), ("BOOK-SAFE-2", 1, "24.90")],
                       reference="DE-TERMS", payments=TERMS), parts=[{"GLOVES_BX": 3}])
    # a split shipment in three parts, the last one small
    trade.order(_order(acme, [("BOLT-M8", 300, "0.0350"), ("NUT-M8", 7, "0.333"), ("BOOK-SAFE-2", 3, "9.99")],
                       reference="DE-SPLIT", payments=CARD),
                parts=[{"BOLT_M8": 150, "NUT_M8": 3}, {"BOLT_M8": 100, "BOOK_SAFE_2": 2, "NUT_M8": 2}])
    # exempt training with a reason, beside standard goods; prices that include VAT
    exempt = trade.order(_order(acme, [("TRAIN-1", 8, "95.00"), ("BOLT-M8", 200, "0.0350")],
                                reference="DE-EXEMPT", payments=TERMS, shipping="0"))
    trade.order(_order(acme, [("GLOVES-BX", 4, "7.74"), ("BOOK-SAFE-2", 1, "26.64")], reference="DE-GROSS",
                       payments=CARD, gross=True), parts=[{"GLOVES_BX": 1}])
    # reverse charge to an Austrian and a Belgian business, and a Swedish one in SEK
    at = trade.order(_order(wien, [("BOLT-M8", 2000, "0.0350"), ("BOOK-SAFE-2", 5, "24.90")],
                            reference="AT-B2B", payments=TERMS), parts=[{"BOLT_M8": 1000}])
    be = trade.order(_order(brux, [("BOLT-M8", 400, "0.0350"), ("NUT-M8", 100, "0.333")], reference="BE-B2B",
                            payments=TERMS), parts=[{"NUT_M8": 40}])
    se = trade.order(_order(sthlm, [("BOLT-M8", 800, "0.40"), ("GLOVES-BX", 10, "72.00")], reference="SE-B2B",
                            payments=TERMS, shipping="140.00"), parts=[{"GLOVES_BX": 4}])
    # consumers elsewhere in the EU: their country's VAT
    fr = trade.order(_order(durand, [("BOLT-M8", 100, "0.0350"), ("BOOK-SAFE-2", 1, "24.90")],
                            reference="FR-B2C", payments=CARD), parts=[{"BOOK_SAFE_2": 1}])
    it = trade.order(_order(rossi, [("GLOVES-BX", 2, "6.50"), ("BOOK-SAFE-2", 2, "24.90")], reference="IT-B2C",
                            payments=CARD), parts=[{"BOOK_SAFE_2": 1}])
    nl = trade.order(_order(jansen, [("NUT-M8", 30, "0.333")], reference="NL-B2C", payments=CARD, shipping="4.95"))
    # exports in CHF, GBP and USD
    ch = trade.order(_order(zuerich, [("BOLT-M8", 1000, "0.038"), ("GLOVES-BX", 5, "7.10")],
                            reference="CH-EXPORT", payments=TERMS, shipping="18.00"), parts=[{"GLOVES_BX": 5}])
    gb = trade.order(_order(london, [("BOLT-M8", 1000, "0.031"), ("BOOK-SAFE-2", 2, "21.50")],
                            reference="GB-EXPORT", payments=CARD, shipping="11.00"))
    us = trade.order(_order(nyc, [("BOLT-M8", 2000, "0.042")], reference="US-EXPORT", payments=TERMS,
                            shipping="35.00"), parts=[{"BOLT_M8": 500}])
    # a public buyer that asks for XRechnung with its Leitweg-ID
    trade.order(_order(bund, [("BOLT-M8", 250, "0.0350"), ("TRAIN-1", 2, "95.00")], reference="DE-BUND",
                       payments=TERMS), parts=[{"TRAIN_1": 2}])

    # returns and appeasements credited (change orders as servicing writes them)
    trade.credit(mixed, "return", [("BOLT-M8", -100, -350, 0, -67)])
    trade.credit(mixed, "appeasement", [("BOOK-SAFE-2", 0, 0, -500, -35)])
    trade.credit(exempt, "appeasement", [("TRAIN-1", 0, 0, -5000, 0)])
    trade.credit(at, "return", [("BOOK-SAFE-2", -2, -4980, 0, 0)])
    trade.credit(se, "appeasement", [("GLOVES-BX", 0, 0, -2000, 0)])
    trade.credit(fr, "return", [("BOOK-SAFE-2", -1, -2490, 0, -137)])
    trade.credit(ch, "return", [("GLOVES-BX", -1, -710, 0, 0)])
    trade.credit(gb, "appeasement", [("BOLT-M8", 0, 0, -300, 0)])
    trade.credit(us, "return", [("BOLT-M8", -500, -2100, 0, 0)])
    trade.credit(be, "return", [("NUT-M8", -10, -333, 0, 0)])
    trade.credit(it, "appeasement", [("GLOVES-BX", 0, 0, -200, -44)])
    trade.credit(nl, "return", [("NUT-M8", -3, -100, 0, -21)])
    # fees invoiced on their own: restocking in Germany, handling on an export
    trade.fee(mixed, "Wiedereinlagerungsgebühr", "10.00", [{"name": "VAT 19%", "rate": "0.19", "amount": "1.90",
                                                              "category": "S", "jurisdiction": "DE"}])
    trade.fee(ch, "Frais de dossier export", "25.00", [{"name": "Export", "rate": "0", "amount": "0.00",
                                                         "category": "G", "jurisdiction": "CH"}], currency="CHF")


def _big_order(trade: Trade, db: Database) -> None:
    skus = [f"SCR-{n:03d}" for n in range(200)]
    for n, sku in enumerate(skus):
        factories.product(db, sku, name=f"Spanplattenschraube 4,0 × {n % 80 + 16} mm, Torx, verzinkt",
                          tax_class="reduced" if n % 10 == 0 else "standard", unit_of_measure="H87")
        factories.position(db, sku, "WH-BER", on_hand=1_000)
    lines = [(skus[n % 200], n % 3 + 1, f"0.{n % 90 + 10:02d}{n % 7}") for n in range(BIG_LINES)]
    trade.order(_order(BUYERS[0], lines, reference="DE-BIG", payments=TERMS))


Check = Callable[[bytes], list[str]]


def _refused(r: Any) -> list[str]:
    errors = r.json().get("errors") or [{"field": "", "message": r.json().get("detail")}]
    return [f"HTTP {r.status_code} {e['field']}: {e['message']}" for e in errors]


def _fatal(validator: Validator) -> Check:
    return lambda xml: sorted(f"{a.rule}: {a.text}" for a in validator.fatal(xml))


def test_every_document_passes_en16931_and_peppol_as_ubl_xrechnung_and_factur_x(
    trading: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str], en16931: Validator,
    en16931_cii: Validator, peppol: Validator,
) -> None:
    # given orders of every kind, invoiced and credited through the real flows
    trade = Trade(trading, gateways, api, admin)
    trade.consumers()
    _orders(trade)
    _big_order(trade, trading)
    consumers = {b.number for b in BUYERS if not b.business}
    with trading.read() as s:
        invoices = s.execute(select(Invoice.number, Account.number).join(Account, Account.id == Invoice.account_id)
                             .order_by(Invoice.number)).all()
        memos = s.execute(select(CreditMemo.number, Account.number)
                          .join(Account, Account.id == CreditMemo.account_id).order_by(CreditMemo.number)).all()
    assert len(invoices) + len(memos) >= 40
    # when each is asked for in every format, then every validator finds nothing fatal
    cii_rules = _fatal(en16931_cii)

    def ubl_rules(xml: bytes, fmt: str, consumer: bool) -> list[str]:
        found = _fatal(en16931)(xml) + _fatal(peppol)(xml)
        # Peppol's R004 asks for the Peppol specification identifier; an XRechnung carries its own
        # (its German rules, DE-R-*, are in the Peppol set and do apply). A consumer has no
        # electronic address (R010): Peppol is a network of businesses and public buyers.
        waived = ("PEPPOL-EN16931-R004:",) if fmt == "xrechnung" else ()
        waived += ("PEPPOL-EN16931-R010:",) if consumer else ()
        return [f for f in found if not f.startswith(waived)] if waived else found

    found: dict[str, list[str]] = {}
    documents = [("invoices", *n) for n in invoices] + [("credit-memos", *n) for n in memos]
    for path, number, account in documents:
        url = f"/api/v1/{path}/{number}/document"
        for fmt in ("ubl", "xrechnung"):
            r = api.get(f"{url}?format={fmt}", headers=admin)
            problems = _refused(r) if r.status_code != 200 else ubl_rules(r.content, fmt, account in consumers)
            if problems:
                found[f"{number} {fmt}"] = problems
        r = api.get(f"{url}?format=facturx", headers=admin)
        if r.status_code != 200:
            found[f"{number} facturx"] = _refused(r)
            continue
        _, xml = get_xml_from_pdf(io.BytesIO(r.content), check_xsd=True)
        if problems := cii_rules(xml):
            found[f"{number} facturx"] = problems
    assert found == {}, "\n".join(f"{k}: {p[:300]}" for k, v in found.items() for p in v)
