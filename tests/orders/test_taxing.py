"""Who taxes an order at intake: orders without tax lines, addresses with a county, a plugged-in provider."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordino.tax import (
    Category,
    LineTax,
    RoundingMode,
    SellerTaxSettings,
    TaxContext,
    TaxError,
    TaxLine,
    TaxLineInput,
    TaxResult,
    TaxSubtotal,
)
from tests import factories

ORDERS = "/api/v1/orders"
README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_order() -> dict[str, Any]:
    """The order the README places (its ORDER='…' block), as sent."""
    match = re.search(r"ORDER='(\{.*?\})'", README.read_text(encoding="utf-8"), re.S)
    assert match is not None, "README.md has no ORDER='…' example"
    body: dict[str, Any] = json.loads(match.group(1))
    return body


def _taxes(doc: dict[str, Any]) -> list[tuple[str, str, str | None, str, str, str | None]]:
    """(type, name, rate, amount, taxable amount, category) of every tax line, items first."""
    return [
        (item["type"], t["name"], t["rate"], t["amount"], t["taxable_amount"], t["category"])
        for group in doc["delivery_groups"] for item in group["items"] for t in item["tax_lines"]
    ]


def test_the_readme_order_without_tax_lines_is_taxed_at_19_percent(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given the README's world: a German seller, the German business ACME, the bolts
    factories.intake_world(db)
    body = _readme_order()
    assert (body["pricing"], "tax" in body) == ("order", False)
    assert not any(line.get("tax_lines") for g in body["delivery_groups"] for line in g["lines"])
    # when its order (order pricing, no tax lines) is placed
    r = client.post(ORDERS, json=body, headers=admin)
    # then Ordino taxes it: 19 % S on 30.00 is 5.70, once for the rate, spread over the lines
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["tax"] == "calculate"
    assert _taxes(doc) == [
        ("product", "VAT 19%", "0.19", "3.33", "17.50", "S"),
        ("delivery_charge", "VAT 19%", "0.19", "2.37", "12.50", "S"),
    ]
    assert doc["totals"] == {"product": "17.50", "adjustment": "0.00", "delivery": "12.50", "tax": "5.70",
                             "grand_total": "35.70"}
    # and the README says so
    assert "(17.50 + 12.50 shipping = 30.00 EUR, and 5.70 VAT at 19 %: 35.70 EUR)" in README.read_text(
        encoding="utf-8"
    )


def test_an_order_that_says_given_but_brings_no_tax_lines_is_taxed_too(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    r = client.post(ORDERS, json=factories.order_payload(external_reference="T-EMPTY", tax="given"), headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["tax"], r.json()["totals"]["tax"]) == ("calculate", "5.70")


def test_an_exemption_given_as_a_zero_tax_line_is_kept_as_given(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a channel that declares the goods and the shipping exempt (category E, 0.00)
    factories.intake_world(db)
    body = factories.order_payload(external_reference="T-EXEMPT")
    exempt = [{"name": "VAT exempt", "amount": "0.00", "rate": "0", "category": "E"}]
    body["delivery_groups"][0]["lines"][0]["tax_lines"] = exempt
    body["delivery_groups"][0]["shipping_tax_lines"] = exempt
    r = client.post(ORDERS, json=body, headers=admin)
    # then Ordino keeps the channel's lines: no tax, category E
    assert r.status_code == 201, r.text
    assert r.json()["tax"] == "given"
    assert [(t[0], t[3], t[5]) for t in _taxes(r.json())] == [
        ("product", "0.00", "E"), ("delivery_charge", "0.00", "E")
    ]
    assert r.json()["totals"]["tax"] == "0.00"


def _us_world(db: Any) -> None:
    factories.legal_entity(db, "ORDINO-US", name="Ordino Supply Inc.", line1="1 Market St", city="San Francisco",
                           postal_code="94105", region="CA", country="US", vat_id=None, iban=None, bic=None)
    factories.account(db, "GLAKES", country="US", currency="USD")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8")


def _us_order(ref: str, ship_to: dict[str, Any]) -> dict[str, Any]:
    body = factories.order_payload(external_reference=ref, account="GLAKES", currency="USD")
    group = body["delivery_groups"][0]
    group["ship_to"] = {"name": "Receiving", "line1": "4100 Admiralty Way", **ship_to}
    group["lines"][0]["unit_price"] = "0.20"  # 500 × 0.20 = 100.00
    group["shipping_charge"] = "0.00"
    return body


def test_marina_del_rey_without_a_county_pays_9_75_percent(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a delivery to Marina del Rey (unincorporated Los Angeles County), ZIP 90292, no county
    _us_world(db)
    where = {"city": "Marina del Rey", "postal_code": "90292", "region": "CA", "country": "US"}
    r = client.post(ORDERS, json=_us_order("T-MDR", where), headers=admin)
    # then the county's rate from CDTFA's table applies, not the statewide 7.25 %
    assert r.status_code == 201, r.text
    assert _taxes(r.json()) == [("product", "CA sales tax 9.75%", "0.0975", "9.75", "100.00", "S")]
    assert [n["code"] for n in r.json()["tax_notes"]] == ["city_not_found"]


def test_a_county_given_on_the_ship_to_is_used_and_kept(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given an unincorporated place in Kern County (8.25 %) whose ZIP code is not in the tables
    _us_world(db)
    where = {"city": "Lost Hills", "postal_code": "00000", "region": "CA", "county": "Kern", "country": "US"}
    body = _us_order("T-KERN", where)
    body["bill_to"] = {"name": "Accounts payable", "line1": "1 Main St", "city": "Bakersfield", "region": "CA",
                       "county": "Kern", "country": "US"}
    r = client.post(ORDERS, json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert [t[3] for t in _taxes(r.json())] == ["8.25"]
    # and both addresses keep their county, also when read again
    again = client.get(f"{ORDERS}/{r.json()['id']}", headers=admin).json()
    for doc in (r.json(), again):
        assert doc["delivery_groups"][0]["ship_to"]["county"] == "Kern"
        assert doc["bill_to"]["county"] == "Kern"


def test_a_brooklyn_delivery_pays_new_york_city_tax(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _us_world(db)
    where = {"city": "Brooklyn", "postal_code": "11201", "region": "NY", "country": "US"}
    r = client.post(ORDERS, json=_us_order("T-BK", where), headers=admin)
    assert r.status_code == 201, r.text
    # 8.875 % of 100.00 = 8.875 → 8.88
    assert _taxes(r.json()) == [("product", "NY sales tax 8.875%", "0.08875", "8.88", "100.00", "S")]


def test_a_county_longer_than_100_characters_is_refused(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    _us_world(db)
    where = {"city": "X", "postal_code": "90292", "region": "CA", "county": "K" * 101, "country": "US"}
    r = client.post(ORDERS, json=_us_order("T-LONG", where), headers=admin)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["delivery_groups[0].ship_to.county"]


class FakeProvider:
    """An external tax service as a deployment would plug it in: 10 % on every line, or a refusal."""

    def calculate(self, lines: Sequence[TaxLineInput], context: TaxContext, seller: SellerTaxSettings) -> TaxResult:
        if context.ship_to.postal_code == "99999":
            raise TaxError("ship_to.postal_code", "the tax service does not know '99999'")
        rate = Decimal("0.1")
        taxed = tuple(
            LineTax(ln.line_id, ln.amount, ln.amount // 10, ln.amount + ln.amount // 10,
                    (TaxLine("Service tax 10%", rate, ln.amount // 10, ln.amount, "XX-SERVICE", Category.STANDARD),))
            for ln in lines
        )
        subtotal = TaxSubtotal("Service tax 10%", Category.STANDARD, rate, "XX-SERVICE",
                               sum(ln.amount for ln in lines), sum(t.tax_amount for t in taxed))
        return TaxResult(context.currency, "service", RoundingMode.PER_LINE, False, taxed, (subtotal,))


def test_a_provider_named_by_the_setting_taxes_the_order(db, client, admin, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # given a deployment that plugs in its tax service
    factories.intake_world(db)
    monkeypatch.setenv("ORDINO_TAX_PROVIDER", f"{__name__}:FakeProvider")
    # when an order without tax lines is placed
    r = client.post(ORDERS, json=factories.order_payload(external_reference="T-SERVICE"), headers=admin)
    # then the service's tax lines are the order's: 10 % of 17.50 and of 12.50
    assert r.status_code == 201, r.text
    assert [(t[1], t[3]) for t in _taxes(r.json())] == [("Service tax 10%", "1.75"), ("Service tax 10%", "1.25")]
    assert r.json()["totals"]["tax"] == "3.00"
    # and a refusal of the service names the request's field, and nothing is written
    body = factories.order_payload(external_reference="T-SERVICE-2")
    body["delivery_groups"][0]["ship_to"]["postal_code"] = "99999"
    refused = client.post(ORDERS, json=body, headers=admin)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["delivery_groups[0].ship_to.postal_code"]
    # and without the setting Ordino's own engine taxes again (19 %: 5.70)
    monkeypatch.delenv("ORDINO_TAX_PROVIDER")
    again = client.post(ORDERS, json=factories.order_payload(external_reference="T-OWN"), headers=admin)
    assert again.json()["totals"]["tax"] == "5.70"
