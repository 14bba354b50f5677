"""Order to cash, end to end on each database: intake, authorization, routing, shipments,
invoices, ensure funds, remittances, credit memos and refunds, through the API and the worker."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from typing import Any

from ordino.invoicing.models import CreditMemo, Invoice, PaymentApplication, Remittance
from ordino.kernel.db import Database
from tests.invoicing.support import (  # noqa: F401
    CARD,
    GRAND_TOTAL,
    Sim,
    api,
    cancel_rest,
    change_order,
    count,
    credit_memos,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    item_ids,
    money_trail,
    order_payload,
    payments,
    place,
    ship,
    sim,
    sim_server,
    summary,
    world,
)


def test_card_order_shipped_in_two_parts_is_invoiced_twice_and_each_invoice_captured_exactly(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order of 36.78 EUR, authorized and routed to one warehouse
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    assert summary(world, order["id"]) == (GRAND_TOTAL, 0, 0)
    fo = fo_id(world, order["id"])
    # when 333 bolts and 1 nut ship, then the rest
    ship(api, admin, fo, BOLT_M8=333, NUT_M8=1)
    drain(world, gateways)
    ship(api, admin, fo)
    drain(world, gateways)
    # then there are two invoices: the first with its shares of the lines and the whole shipping
    # charge, its VAT 24.46 × 19 % rounded once (4.65: the bolts' share of tax gives up the cent the
    # shares round over), the second with the rest, together exactly the order's grand total
    assert invoices(world) == [("INV-2026-000001", "paid", 2911, 2911, 0), ("INV-2026-000002", "paid", 767, 767, 0)]
    first = api.get("/api/v1/invoices/INV-2026-000001", headers=admin).json()
    assert [(ln["sku"], ln["quantity"], ln["unit_price"], ln["line_amount"], ln["adjustment_amount"],
             ln["net_amount"], ln["tax_amount"]) for ln in first["lines"]] == [
        ("BOLT-M8", 333, "0.035", "11.66", "0.00", "11.66", "2.21"),
        ("NUT-M8", 1, "0.333", "0.33", "-0.03", "0.30", "0.06"),
        (None, 1, "12.50", "12.50", "0.00", "12.50", "2.38"),
    ]
    assert first["totals"] == {"net": "24.46", "tax": "4.65", "total": "29.11", "applied": "29.11", "balance": "0.00"}
    assert first["lines"][1]["adjustments"] == [{"name": "Loyalty discount", "reference": "LOYAL10", "amount": "-0.03"}]
    assert first["lines"][0]["tax_lines"] == [{
        "name": "VAT 19%", "rate": "0.19", "category": "S", "jurisdiction": "DE", "exemption_reason_code": None,
        "taxable_amount": "11.66", "amount": "2.21",
    }]
    assert (first["payment_terms"], first["invoice_date"], first["due_date"], first["supply_date"]) == (
        "due_on_receipt", "2026-11-26", "2026-11-26", "2026-11-26")
    second = api.get("/api/v1/invoices/INV-2026-000002", headers=admin).json()
    assert [(ln["sku"], ln["quantity"], ln["line_amount"], ln["adjustment_amount"], ln["tax_amount"])
            for ln in second["lines"]] == [("BOLT-M8", 167, "5.84", "0.00", "1.12"),
                                           ("NUT-M8", 2, "0.67", "-0.07", "0.11")]
    # and each invoice was captured exactly, once each at the gateway
    assert payments(world) == [("authorization", "closed", 3678), ("capture", "succeeded", 2911),
                               ("capture", "succeeded", 767)]
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 2}
    assert [a["source"] for a in first["applications"]] == ["capture"]
    assert summary(world, order["id"]) == (3678, 3678, 0)
    assert money_trail(world, order["id"])["unapplied"] == 0


def test_invoice_terms_order_stays_open_until_its_remittance(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order on net 30 terms, shipped in full
    order = place(world, order_payload([{"method": "invoice", "terms": "net_30"}]))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # then its invoice is open, due in 30 days, and nothing was captured
    doc = api.get("/api/v1/invoices", params={"order": order["number"]}, headers=admin).json()["items"][0]
    assert (doc["number"], doc["status"], doc["payment_terms"], doc["due_date"], doc["totals"]["balance"]) == (
        "INV-2026-000001", "open", "net_30", "2026-12-26", "36.78")
    assert sim.stats()["performed"] == {}
    # when the buyer's bank transfer is recorded against it in two parts
    first = api.post("/api/v1/payments", json={
        "account": "ACME", "amount": "30.00", "currency": "EUR", "reference": "BANK-2026-1201",
        "received_on": "2026-12-01", "applications": [{"invoice": "INV-2026-000001", "amount": "30.00"}],
    }, headers=admin)
    assert first.status_code == 201, first.text
    assert invoices(world) == [("INV-2026-000001", "partially_paid", 3678, 3000, 678)]
    rest = api.post("/api/v1/payments", json={
        "account": "ACME", "amount": "6.78", "currency": "EUR", "reference": "BANK-2026-1215",
        "received_on": "2026-12-15", "applications": [{"invoice": doc["id"], "amount": "6.78"}],
    }, headers=admin)
    assert rest.status_code == 201, rest.text
    # then the invoice is paid, by the two remittances
    assert invoices(world) == [("INV-2026-000001", "paid", 3678, 3678, 0)]
    paid = api.get(f"/api/v1/invoices/{doc['id']}", headers=admin).json()
    assert [(a["source"], a["amount"]) for a in paid["applications"]] == [("remittance", "30.00"),
                                                                           ("remittance", "6.78")]
    assert rest.json()["applications"] == [{"invoice": {"id": doc["id"], "number": "INV-2026-000001"},
                                            "amount": "6.78"}]
    assert rest.headers["Location"] == f"/api/v1/remittances/{rest.json()['id']}"


def test_credit_memo_of_a_cancel_is_refunded_to_the_card(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order whose whole authorization was captured up front
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    auth = api.get("/api/v1/payments", params={"order": order["id"], "kind": "authorization"},
                   headers=admin).json()["items"][0]
    assert api.post(f"/api/v1/payments/{auth['id']}/capture", json={}, headers=admin).status_code == 201
    # when 400 of its 500 bolts and the nuts ship
    fo = fo_id(world, order["id"])
    ship(api, admin, fo, BOLT_M8=400, NUT_M8=3)
    drain(world, gateways)
    # then the invoice is paid from the money captured before, with no new capture
    assert invoices(world) == [("INV-2026-000001", "paid", 3261, 3261, 0)]
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1}
    # when the 100 other bolts are cancelled (3.50 and their VAT 0.67), credited, and the worker
    # ensures the credit memo's refund
    cancel_rest(api, admin, fo)
    bolts = item_ids(world, order["id"])["BOLT-M8"]
    co = change_order(world, order["id"], "cancel", [(bolts, 100, -350, 0, -67)])
    r = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    drain(world, gateways)
    # then 4.17 went back to the card, and the credit memo is closed by that refund
    assert credit_memos(world) == [("CM-2026-000001", "closed", 417, 417, 0, 0)]
    memo = api.get(f"/api/v1/credit-memos/{r.json()['id']}", headers=admin).json()
    assert [(ln["sku"], ln["quantity"], ln["line_amount"], ln["tax_amount"], ln["invoiced"])
            for ln in memo["lines"]] == [("BOLT-M8", 100, "3.50", "0.67", False)]
    assert [(x["source"], x["amount"], x["status"]) for x in memo["refunds"]] == [("unapplied", "4.17", "applied")]
    assert summary(world, order["id"]) == (3678, 3678, 417)
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1, "refund": 1}
    assert money_trail(world, order["id"]) == {"captured": 3678, "refunded": 417, "applied": 3261,
                                               "given_back_applied": 0, "unapplied": 0}


def test_every_refusal_names_the_field_and_writes_nothing(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order on invoice terms with an open invoice of 36.78, and a cancel change order credited
    order = place(world, order_payload([{"method": "invoice", "terms": "net_30"}]))
    drain(world, gateways)
    bolts = item_ids(world, order["id"])["BOLT-M8"]
    fo = fo_id(world, order["id"])
    ship(api, admin, fo, BOLT_M8=400, NUT_M8=3)
    drain(world, gateways)
    cancel_rest(api, admin, fo)
    co = change_order(world, order["id"], "cancel", [(bolts, 100, -350, 0, -67)])
    assert api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]},
                    headers=admin).status_code == 201
    before = (invoices(world), count(world, Remittance), count(world, PaymentApplication), count(world, CreditMemo),
              count(world, Invoice))
    body = {"account": "ACME", "amount": "50.00", "currency": "EUR", "reference": "BANK-1", "received_on": "2026-12-01",
            "applications": [{"invoice": "INV-2026-000001", "amount": "50.00"}]}
    cases: list[tuple[str, dict[str, Any], int, str]] = [
        ("/api/v1/payments", body, 409, "applications[0].amount"),
        ("/api/v1/payments", {**body, "amount": "10.00", "currency": "USD",
                              "applications": [{"invoice": "INV-2026-000001", "amount": "10.00"}]}, 422, "currency"),
        ("/api/v1/payments", {**body, "amount": "10.00",
                              "applications": [{"invoice": "INV-2026-000099", "amount": "10.00"}]},
         422, "applications[0].invoice"),
        ("/api/v1/payments", {**body, "amount": "10.00"}, 422, "applications"),
        ("/api/v1/credit-memos", {"order": order["number"], "change_orders": [str(co)]}, 409, "change_orders[0]"),
        ("/api/v1/credit-memos", {"order": "SO-999999", "change_orders": [str(co)]}, 422, "order"),
        ("/api/v1/invoices", {"order": order["number"], "description": "Handling", "amount": "5.00",
                              "currency": "USD"}, 422, "currency"),
        ("/api/v1/invoices", {"order": order["number"], "description": "Handling", "amount": "5.001",
                              "currency": "EUR"}, 422, "amount"),
    ]
    for url, payload, status, field in cases:
        # when the refused request is sent
        r = api.post(url, json=payload, headers=admin)
        # then it is a problem naming the field
        assert r.status_code == status, (url, payload, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    # and nothing was written
    assert (invoices(world), count(world, Remittance), count(world, PaymentApplication), count(world, CreditMemo),
            count(world, Invoice)) == before
