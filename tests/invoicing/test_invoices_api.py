"""Reading invoices and credit memos (filters, cursors, buyers' scope), fee invoices, payment
terms and credit limits of accounts, and open receivables in one query."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from ordino.accounts.models import Account
from ordino.invoicing.domain import OPEN_INVOICE_STATUSES
from ordino.invoicing.models import Invoice
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from tests import factories
from tests.conftest import api_key
from tests.invoicing.support import (  # noqa: F401
    CARD,
    Sim,
    api,
    change_order,
    count,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    item_ids,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    world,
)

TERMS = [{"method": "invoice"}]


def _fee(api: Any, admin: dict[str, str], order: str, amount: str, description: str = "Handling") -> Any:
    r = api.post("/api/v1/invoices", json={"order": order, "description": description, "amount": amount,
                                           "currency": "EUR"}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def _account_id(db: Database, number: str) -> uuid.UUID:
    with db.read() as s:
        return uuid.UUID(str(s.execute(select(Account.id).where(Account.number == number)).scalar_one()))


def test_invoices_are_listed_newest_first_with_filters_and_a_cursor(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given three fee invoices on two orders, one of them paid by remittance
    first = place(world, order_payload(TERMS, reference="WEB-1"))
    second = place(world, order_payload(TERMS, reference="WEB-2"))
    a = _fee(api, admin, first["number"], "1.00")
    b = _fee(api, admin, second["number"], "2.00")
    c = _fee(api, admin, first["number"], "3.00")
    assert api.post("/api/v1/payments", json={
        "account": "ACME", "amount": "3.00", "currency": "EUR", "reference": "B-1", "received_on": "2026-12-01",
        "applications": [{"invoice": c["number"], "amount": "3.00"}]}, headers=admin).status_code == 201
    # when they are listed two at a time
    page1 = api.get("/api/v1/invoices", params={"limit": 2}, headers=admin).json()
    page2 = api.get("/api/v1/invoices", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=admin).json()
    # then newest first, and the cursor leads to the rest
    assert [i["number"] for i in page1["items"]] == [c["number"], b["number"]]
    assert ([i["number"] for i in page2["items"]], page2["next_cursor"]) == ([a["number"]], None)
    assert "lines" not in page1["items"][0]
    # and the filters narrow the list
    def numbers(**params: str) -> list[str]:
        return [i["number"] for i in api.get("/api/v1/invoices", params=params, headers=admin).json()["items"]]

    assert numbers(order=first["number"]) == [c["number"], a["number"]]
    assert numbers(order=second["id"]) == [b["number"]]
    assert numbers(status="paid") == [c["number"]]
    assert numbers(status="open", account="ACME") == [b["number"], a["number"]]
    assert numbers(kind="shipment") == []
    assert numbers(order="SO-999999") == []
    bad = api.get("/api/v1/invoices", params={"status": "unknown"}, headers=admin)
    assert bad.status_code == 422


def test_buyers_see_only_their_accounts_documents(world: Database, sim: Sim, gateways: Any, api: Any,
                                                 admin: dict[str, str]) -> None:
    # given an invoice and a credit memo of ACME
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    co = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 10, -35, 0, -7)])
    memo = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]},
                    headers=admin).json()
    factories.account(world, "OTHER")
    acme = api_key(world, Role.BUYER, _account_id(world, "ACME"))
    other = api_key(world, Role.BUYER, _account_id(world, "OTHER"))
    # then ACME's buyer reads them, by id and by number
    assert api.get("/api/v1/invoices/INV-2026-000001", headers=acme).json()["status"] == "paid"
    assert api.get(f"/api/v1/credit-memos/{memo['id']}", headers=acme).json()["number"] == "CM-2026-000001"
    assert len(api.get("/api/v1/invoices", headers=acme).json()["items"]) == 1
    # and another account's buyer finds nothing: 404, empty lists
    for url in ("/api/v1/invoices/INV-2026-000001", f"/api/v1/credit-memos/{memo['id']}"):
        r = api.get(url, headers=other)
        assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
    assert api.get("/api/v1/invoices", headers=other).json()["items"] == []
    assert api.get("/api/v1/credit-memos", headers=other).json()["items"] == []
    assert api.get("/api/v1/invoices", params={"account": "ACME"}, headers=other).json()["items"] == []
    # and buyers create neither fee invoices nor credit memos
    assert api.post("/api/v1/invoices", json={"order": order["number"], "description": "x", "amount": "1.00",
                                              "currency": "EUR"}, headers=acme).status_code == 403


def test_a_fee_invoice_can_be_cancelled_until_money_is_applied(world: Database, sim: Sim, gateways: Any, api: Any,
                                                               admin: dict[str, str]) -> None:
    order = place(world, order_payload(TERMS))
    fee = _fee(api, admin, order["number"], "5.00")
    assert fee["available_actions"] == ["cancel"]
    r = api.post(f"/api/v1/invoices/{fee['number']}/cancel", json={"reason": "waived"}, headers=admin)
    assert (r.status_code, r.json()["status"], r.json()["available_actions"]) == (200, "cancelled", [])
    again = api.post(f"/api/v1/invoices/{fee['number']}/cancel", json={}, headers=admin)
    assert (again.status_code, again.json()["current_status"]) == (409, "cancelled")
    # a shipment invoice is credited, never cancelled
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    shipped = api.post("/api/v1/invoices/INV-2026-000002/cancel", headers=admin)
    assert (shipped.status_code, shipped.json()["type"].rsplit("/", 1)[1]) == (409, "not-cancellable")


def test_terms_and_credit_limits_are_kept_on_accounts_and_drive_due_dates(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given ACME agrees 60 days and a credit limit of 5,000.00 EUR
    etag = api.get("/api/v1/accounts/ACME", headers=admin).headers["ETag"]
    r = api.patch("/api/v1/accounts/ACME", json={"payment_terms": "net_60", "credit_limit": {
        "amount": "5000.00", "currency": "EUR"}}, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert (r.json()["payment_terms"], r.json()["credit_limit"]) == ("net_60", {"amount": "5000.00",
                                                                                "currency": "EUR"})
    with world.read() as s:
        row = s.execute(select(Account.credit_limit_amount, Account.credit_limit_currency)
                        .where(Account.number == "ACME")).one()
    assert tuple(row) == (500000, "EUR")
    # when an order on invoice names no terms, and another names its own
    plain = place(world, order_payload(TERMS, reference="WEB-1"))
    own = place(world, order_payload([{"method": "invoice", "terms": "eom"}], reference="WEB-2"))
    # then the account's terms apply to the first, the order's to the second
    assert (_fee(api, admin, plain["number"], "1.00")["due_date"], _fee(api, admin, own["number"], "1.00")["due_date"]
            ) == ("2027-01-25", "2026-11-30")
    # and wrong terms or limits are refused, naming the field
    etag = api.get("/api/v1/accounts/ACME", headers=admin).headers["ETag"]
    for body, field in (({"payment_terms": "net_0"}, "payment_terms"),
                        ({"credit_limit": {"amount": "-1.00", "currency": "EUR"}}, "credit_limit.amount"),
                        ({"credit_limit": {"amount": "1.001", "currency": "EUR"}}, "credit_limit.amount"),
                        ({"credit_limit": {"amount": "1.00", "currency": "XXX"}}, "credit_limit.currency")):
        bad = api.patch("/api/v1/accounts/ACME", json=body, headers={**admin, "If-Match": etag})
        assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (422, [field]), bad.text
    # and the limit is removed with null
    cleared = api.patch("/api/v1/accounts/ACME", json={"credit_limit": None}, headers={**admin, "If-Match": etag})
    assert cleared.json()["credit_limit"] is None
    created = api.post("/api/v1/accounts", json={"number": "NEWCO", "name": "NewCo", "currency": "EUR",
                                                 "payment_terms": "net_30_eom"}, headers=admin)
    assert (created.status_code, created.json()["payment_terms"], created.json()["credit_limit"]) == (
        201, "net_30_eom", None)


def test_open_receivables_are_one_query(world: Database, sim: Sim, gateways: Any, api: Any,
                                        admin: dict[str, str]) -> None:
    # given invoices of ACME: open, partially paid, paid and cancelled
    order = place(world, order_payload(TERMS))
    for amount in ("10.00", "20.00", "30.00", "40.00"):
        _fee(api, admin, order["number"], amount)
    api.post("/api/v1/payments", json={"account": "ACME", "amount": "25.00", "currency": "EUR", "reference": "B-1",
                                       "received_on": "2026-12-01", "applications": [
                                           {"invoice": "INV-2026-000002", "amount": "5.00"},
                                           {"invoice": "INV-2026-000003", "amount": "20.00"}]}, headers=admin)
    api.post("/api/v1/invoices/INV-2026-000004/cancel", headers=admin)
    # when the open balances are summed per account
    with world.read() as s:
        receivables = s.execute(
            select(Invoice.account_id, Invoice.currency, func.sum(Invoice.balance_amount))
            .where(Invoice.status.in_(OPEN_INVOICE_STATUSES)).group_by(Invoice.account_id, Invoice.currency)
        ).all()
    # then 10.00 + 15.00 + 10.00 (the cancelled invoice does not count)
    assert [tuple(r) for r in receivables] == [(_account_id(world, "ACME"), "EUR", 3500)]
    assert [i[1] for i in invoices(world)] == ["open", "partially_paid", "partially_paid", "cancelled"]
    assert count(world, Invoice) == 4


def test_gross_prices_are_invoiced_net_of_their_tax(world: Database, sim: Sim, gateways: Any, api: Any,
                                                    admin: dict[str, str]) -> None:
    # given an order in gross prices: 500 bolts for 17.50 including 2.79 VAT, no shipping charge
    payload = order_payload(TERMS, prices_include_tax=True)
    group = payload["delivery_groups"][0]
    group["lines"] = [{"sku": "BOLT-M8", "quantity": 500, "unit_price": "0.0350", "tax_lines": [
        {"name": "VAT 19%", "rate": "0.19", "amount": "2.79", "category": "S", "jurisdiction": "DE"}]}]
    group["shipping_charge"], group["shipping_tax_lines"] = "0.00", []
    order = place(world, payload)
    drain(world, gateways)
    # when it ships
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # then the invoice's total is the order's, its net amounts without the tax
    doc = api.get("/api/v1/invoices/INV-2026-000001", headers=admin).json()
    assert (doc["prices_include_tax"], doc["totals"]["net"], doc["totals"]["tax"], doc["totals"]["total"]) == (
        True, "14.71", "2.79", "17.50")
    assert [(ln["line_amount"], ln["net_amount"], ln["tax_lines"][0]["taxable_amount"]) for ln in doc["lines"]] == [
        ("17.50", "14.71", "14.71")]
    assert order["totals"]["grand_total"] == "17.50"


def test_tax_lines_without_vat_carry_their_exemption_reason(world: Database, sim: Sim, gateways: Any, api: Any,
                                                            admin: dict[str, str]) -> None:
    # given an intra-EU reverse-charge order (category AE, 0 %)
    payload = order_payload(TERMS)
    for line in payload["delivery_groups"][0]["lines"]:
        line["tax_lines"] = [{"name": "VAT reverse charge", "rate": "0", "amount": "0.00", "category": "AE",
                              "jurisdiction": "AT"}]
    payload["delivery_groups"][0]["shipping_tax_lines"] = []
    order = place(world, payload)
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # then each invoice tax line names the reason no VAT is charged
    doc = api.get("/api/v1/invoices/INV-2026-000001", headers=admin).json()
    assert [[(t["category"], t["rate"], t["exemption_reason_code"], t["amount"]) for t in ln["tax_lines"]]
            for ln in doc["lines"]] == [[("AE", "0", "VATEX-EU-AE", "0.00")], [("AE", "0", "VATEX-EU-AE", "0.00")], []]
