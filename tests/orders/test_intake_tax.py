"""Orders taxed by Ordino's engine at intake (issue 5): EU VAT and US sales tax, exact amounts.

The goods are 500 × 0.0350 = 17.50 with 12.50 shipping (DESIGN §6) unless a case says otherwise.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ordino.kernel.db import Database
from ordino.orders.models import OrderItemTaxLine, OrderSummary
from tests import factories

ORDERS = "/api/v1/orders"


def _ship_to(country: str, city: str, postal_code: str, region: str | None = None) -> dict[str, Any]:
    return {"name": "Receiving", "line1": "Main street 1", "city": city, "postal_code": postal_code,
            "country": country, "region": region}


def _order(ref: str, ship_to: dict[str, Any] | None = None, account: str = "ACME", **kw: Any) -> dict[str, Any]:
    body = factories.order_payload(external_reference=ref, account=account, tax="calculate", **kw)
    if ship_to is not None:
        body["delivery_groups"][0]["ship_to"] = ship_to
    return body


def _taxes(doc: dict[str, Any]) -> list[tuple[str | None, str | None, str, str | None]]:
    """(type, rate, amount, category) of every tax line of the order, items first."""
    return [
        (item["type"], t["rate"], t["amount"], t["category"])
        for group in doc["delivery_groups"] for item in group["items"] for t in item["tax_lines"]
    ]


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_domestic_german_b2b_order_pays_19_percent_on_goods_and_shipping(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a German seller and a German business buyer
    factories.intake_world(db)
    # when an order is placed for delivery in Berlin
    r = client.post(ORDERS, json=_order("T-DE"), headers=admin)
    # then 19 % of 30.00 is 5.70, rounded once for the rate and spread over the lines (EN 16931)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["tax"] == "calculate"
    assert _taxes(doc) == [("product", "0.19", "3.33", "S"), ("delivery_charge", "0.19", "2.37", "S")]
    assert doc["totals"]["tax"] == "5.70"
    assert doc["totals"]["grand_total"] == "35.70"
    assert doc["tax_notes"] == []
    # and the same is stored: a reload shows the same tax lines and totals
    again = client.get(f"{ORDERS}/{doc['id']}", headers=admin).json()
    assert _taxes(again) == _taxes(doc)
    assert again["totals"] == doc["totals"]


def test_a_french_business_with_a_valid_vat_id_is_reverse_charged(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a French buyer whose VAT ID passes validation
    factories.intake_world(db)
    factories.account(db, "DURAND", country="FR", tax_id="FR40303265045")
    # when goods ship from Germany to Lyon
    r = client.post(ORDERS, json=_order("T-FR", _ship_to("FR", "Lyon", "69001"), account="DURAND"), headers=admin)
    # then no VAT is charged, category AE, with the legal note
    assert r.status_code == 201, r.text
    doc = r.json()
    assert _taxes(doc) == [("product", "0", "0.00", "AE"), ("delivery_charge", "0", "0.00", "AE")]
    assert doc["delivery_groups"][0]["items"][0]["tax_lines"][0]["exemption_reason_code"] == "VATEX-EU-AE"
    assert doc["totals"]["grand_total"] == "30.00"
    assert [n["code"] for n in doc["tax_notes"]] == ["reverse_charge"]
    assert "Article 196" in doc["tax_notes"][0]["text"]


def test_an_invalid_vat_id_is_refused_by_default_and_nothing_is_written(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a French business whose VAT ID fails the check digits, and a seller that refuses them
    factories.intake_world(db)
    factories.account(db, "DURAND", country="FR", tax_id="FR00000000000")
    # when it orders
    r = client.post(ORDERS, json=_order("T-BAD", _ship_to("FR", "Lyon", "69001"), account="DURAND"), headers=admin)
    # then the order is refused naming the account, and nothing is written
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["account"]
    assert (_count(db, OrderSummary), _count(db, OrderItemTaxLine)) == (0, 0)


def test_an_invalid_vat_id_is_taxed_as_b2c_when_the_seller_says_so(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a seller taxing invalid VAT IDs as consumer sales
    factories.legal_entity(db, invalid_vat_id="tax_as_b2c")
    factories.account(db, "DURAND", country="FR", tax_id="FR00000000000")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8")
    # when the buyer with the invalid VAT ID orders for Lyon
    r = client.post(ORDERS, json=_order("T-B2C", _ship_to("FR", "Lyon", "69001"), account="DURAND"), headers=admin)
    # then French VAT of 20 % applies (6.00 of 30.00) and a note says why
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["totals"]["tax"] == "6.00"
    assert "invalid_vat_id" in [n["code"] for n in doc["tax_notes"]]


def test_a_french_consumer_pays_french_vat(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given an account marked as a consumer in its tax profile
    factories.intake_world(db)
    factories.account(db, "DUPONT", country="FR")
    r = client.put("/api/v1/accounts/DUPONT/tax-profile", json={"business": False}, headers=admin)
    assert r.status_code == 200, r.text
    # when goods ship to Paris
    r = client.post(ORDERS, json=_order("T-OSS", _ship_to("FR", "Paris", "75001"), account="DUPONT"), headers=admin)
    # then the destination's 20 % applies: 6.00 on 30.00
    assert r.status_code == 201, r.text
    assert _taxes(r.json()) == [("product", "0.2", "3.50", "S"), ("delivery_charge", "0.2", "2.50", "S")]
    assert r.json()["totals"]["grand_total"] == "36.00"


def test_an_export_to_switzerland_is_zero_rated(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    factories.account(db, "BRUNNER", country="CH", currency="CHF")
    r = client.post(ORDERS, json=_order("T-CH", _ship_to("CH", "Zürich", "8001"), account="BRUNNER"),
                    headers=admin)
    assert r.status_code == 201, r.text
    assert _taxes(r.json()) == [("product", "0", "0.00", "G"), ("delivery_charge", "0", "0.00", "G")]
    assert [n["code"] for n in r.json()["tax_notes"]] == ["export"]


def test_a_reduced_rate_product_pays_7_percent(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a book (reduced rate) next to the bolts
    factories.intake_world(db)
    factories.product(db, "BOOK-1", tax_class="reduced")
    body = _order("T-RED")
    body["delivery_groups"][0]["shipping_charge"] = "0.00"
    body["delivery_groups"][0]["lines"].append({"sku": "BOOK-1", "quantity": 1, "unit_price": "20.00"})
    # when the order is placed
    r = client.post(ORDERS, json=body, headers=admin)
    # then the bolts pay 19 % (3.325 → 3.33) and the book 7 % (1.40)
    assert r.status_code == 201, r.text
    assert _taxes(r.json()) == [("product", "0.19", "3.33", "S"), ("product", "0.07", "1.40", "S")]


def test_the_rate_in_force_on_the_order_date_applies(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a Finnish consumer; Finland's standard rate went from 24 % to 25.5 % on 2024-09-01
    factories.intake_world(db)
    factories.account(db, "VIRTANEN", country="FI")
    client.put("/api/v1/accounts/VIRTANEN/tax-profile", json={"business": False}, headers=admin)
    helsinki = _ship_to("FI", "Helsinki", "00100")
    # when one order is dated the day before and one the day of the change
    before = client.post(ORDERS, json=_order("T-FI-1", helsinki, account="VIRTANEN",
                                             ordered_at="2024-08-31T12:00:00Z"), headers=admin)
    after = client.post(ORDERS, json=_order("T-FI-2", helsinki, account="VIRTANEN",
                                            ordered_at="2024-09-01T12:00:00Z"), headers=admin)
    # then 24 % of 30.00 = 7.20, and 25.5 % = 7.65
    assert before.status_code == after.status_code == 201, (before.text, after.text)
    assert [r.json()["totals"]["tax"] for r in (before, after)] == ["7.20", "7.65"]


def _us_world(db: Database) -> None:
    factories.legal_entity(db, "ORDINO-US", name="Ordino Supply Inc.", line1="1 Market St", city="San Francisco",
                           postal_code="94105", region="CA", country="US", vat_id=None, iban=None, bic=None)
    factories.account(db, "GLAKES", country="US", currency="USD")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8")


def _us_order(ref: str, ship_to: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = _order(ref, ship_to, account="GLAKES", currency="USD", **kw)
    body["delivery_groups"][0]["lines"][0]["unit_price"] = "0.20"  # 500 × 0.20 = 100.00
    body["delivery_groups"][0]["shipping_charge"] = "15.00"
    return body


def test_a_los_angeles_delivery_pays_the_district_rate_and_no_tax_on_shipping(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _us_world(db)
    r = client.post(ORDERS, json=_us_order("T-LA", _ship_to("US", "Los Angeles", "90012", "CA")), headers=admin)
    assert r.status_code == 201, r.text
    assert _taxes(r.json()) == [("product", "0.0975", "9.75", "S"), ("delivery_charge", "0", "0.00", "E")]
    assert r.json()["totals"]["grand_total"] == "124.75"


def test_texas_taxes_goods_and_shipping_at_the_state_rate(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _us_world(db)
    r = client.post(ORDERS, json=_us_order("T-TX", _ship_to("US", "Lubbock", "79401", "TX")), headers=admin)
    assert r.status_code == 201, r.text
    # 6.25 % per line: 6.25 and 0.9375 → 0.94; Lubbock's local tax is not in the tables, a note says so
    assert _taxes(r.json()) == [("product", "0.0625", "6.25", "S"), ("delivery_charge", "0.0625", "0.94", "S")]
    assert [n["code"] for n in r.json()["tax_notes"]] == ["local_taxes_not_included"]


def test_dallas_pays_the_combined_state_and_local_rate(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _us_world(db)
    r = client.post(ORDERS, json=_us_order("T-DAL", _ship_to("US", "Dallas", "75201", "TX")), headers=admin)
    assert r.status_code == 201, r.text
    # 6.25 % state + 2 % local per line: 8.25 and 1.2375 → 1.24
    assert _taxes(r.json()) == [("product", "0.0825", "8.25", "S"), ("delivery_charge", "0.0825", "1.24", "S")]
    assert r.json()["tax_notes"] == []


def test_an_exemption_certificate_exempts_until_it_expires(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a Texas resale certificate valid until 2026-06-30
    _us_world(db)
    r = client.put("/api/v1/accounts/GLAKES/tax-profile", headers=admin, json={"certificates": [
        {"number": "TX-RESALE-0042", "regions": ["US-TX"], "reason": "resale", "expires_on": "2026-06-30"},
    ]})
    assert r.status_code == 200, r.text
    dallas = _ship_to("US", "Dallas", "75201", "TX")
    # when it orders before and after the expiry
    valid = client.post(ORDERS, json=_us_order("T-EX-1", dallas, ordered_at="2026-06-30T12:00:00Z"), headers=admin)
    expired = client.post(ORDERS, json=_us_order("T-EX-2", dallas, ordered_at="2026-07-01T12:00:00Z"), headers=admin)
    # then the first pays nothing (E) and the second is taxed, with a note naming the certificate
    assert valid.status_code == expired.status_code == 201, (valid.text, expired.text)
    assert valid.json()["totals"]["tax"] == "0.00"
    assert {t[3] for t in _taxes(valid.json())} == {"E"}
    assert expired.json()["totals"]["tax"] == "9.49"  # 8.25 % of 100.00 and of 15.00 (1.2375 → 1.24)
    assert expired.json()["tax_notes"][0]["code"] == "exemption_certificate_expired"


def test_tax_lines_cannot_be_sent_when_ordino_calculates(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    body = _order("T-GIVEN")
    body["delivery_groups"][0]["lines"][0]["tax_lines"] = [{"name": "VAT", "amount": "3.33", "rate": "0.19"}]
    r = client.post(ORDERS, json=body, headers=admin)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["delivery_groups[0].lines[0].tax_lines"]
    assert _count(db, OrderSummary) == 0


def test_an_order_without_a_seller_is_refused(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given no legal entity at all
    factories.account(db, "ACME")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8")
    r = client.post(ORDERS, json=_order("T-NONE"), headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "channel"
    assert _count(db, OrderSummary) == 0


def test_a_us_address_without_a_state_is_refused_naming_the_field(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _us_world(db)
    r = client.post(ORDERS, json=_us_order("T-NOSTATE", _ship_to("US", "Dallas", "75201")), headers=admin)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["delivery_groups[0].ship_to.region"]
    assert _count(db, OrderSummary) == 0


def test_channel_taxes_are_kept_when_tax_is_given(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given order pricing (the default tax mode is then 'given')
    factories.intake_world(db)
    body = factories.order_payload(external_reference="T-CHANNEL")
    body["delivery_groups"][0]["lines"][0]["tax_lines"] = [{"name": "VAT 19%", "amount": "3.33", "rate": "0.19"}]
    r = client.post(ORDERS, json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["tax"] == "given"
    assert _taxes(r.json()) == [("product", "0.19", "3.33", None)]
