"""On invoice terms, what a credit memo credits of invoiced goods that were never paid is applied to
the order's open invoices, oldest first, each at most its balance."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from ordino.invoicing.models import PaymentApplication
from ordino.kernel.db import Database
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    change_order,
    credit_memos,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    item_ids,
    money_trail,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    world,
)

TERMS = [{"method": "invoice", "terms": "net_30"}]


def _credit(api: Any, admin: dict[str, str], order: Any, co: uuid.UUID) -> Any:
    r = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def _remit(api: Any, admin: dict[str, str], invoice: str, amount: str, reference: str) -> None:
    r = api.post("/api/v1/payments", json={
        "account": "ACME", "amount": amount, "currency": "EUR", "reference": reference, "received_on": "2026-12-01",
        "applications": [{"invoice": invoice, "amount": amount}]}, headers=admin)
    assert r.status_code == 201, r.text


def _on_terms(db: Database, gateways: Any, api: Any, admin: dict[str, str], **units: int) -> Any:
    """An order on invoice terms (36.78), routed; `units` of it shipped and invoiced."""
    order = place(db, order_payload(TERMS))
    drain(db, gateways)
    ship(api, admin, fo_id(db, order["id"]), **units)
    drain(db, gateways)
    return order


def _appeasement(db: Database, order: Any, minor: int) -> uuid.UUID:
    return change_order(db, order["id"], "appeasement", [(item_ids(db, order["id"])["BOLT-M8"], 0, 0, -minor, 0)],
                        tax_lines=False)


def _credit_rows(db: Database) -> list[tuple[uuid.UUID, int, str]]:
    with db.read() as s:
        rows = s.execute(select(PaymentApplication.invoice_id, PaymentApplication.amount, PaymentApplication.status)
                         .where(PaymentApplication.credit_memo_id.is_not(None)).order_by(PaymentApplication.id)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_a_return_on_invoice_terms_is_applied_to_the_open_invoice(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order on invoice terms, shipped and invoiced for 36.78, nothing paid yet
    order = _on_terms(world, gateways, api, admin)
    # when 100 bolts (3.50 + VAT 0.67) are returned, credited, and the worker ensures refunds
    memo = _credit(api, admin, order, change_order(
        world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)]))
    drain(world, gateways)
    # then the credit lowers what the invoice still asks for, and the credit memo is settled
    assert invoices(world) == [("INV-2026-000001", "partially_paid", 3678, 417, 3261)]
    assert credit_memos(world) == [("CM-2026-000001", "closed", 417, 0, 0, 0)]
    invoice = api.get("/api/v1/invoices/INV-2026-000001", headers=admin).json()
    assert [(a["source"], a["credit_memo_id"], a["payment_id"], a["amount"], a["status"])
            for a in invoice["applications"]] == [("credit_memo", memo["id"], None, "4.17", "applied")]
    doc = api.get(f"/api/v1/credit-memos/{memo['number']}", headers=admin).json()
    assert doc["totals"] == {"net": "3.50", "tax": "0.67", "total": "4.17", "refunded": "0.00", "not_charged": "0.00",
                             "applied": "4.17", "balance": "0.00"}
    assert [(a["invoice"], a["amount"]) for a in doc["applications"]] == [
        ({"id": invoice["id"], "number": "INV-2026-000001"}, "4.17")]
    # and no money moved
    assert sim.stats()["performed"] == {}
    assert money_trail(world, order["id"]) == {"captured": 0, "refunded": 0, "applied": 0, "given_back_applied": 0,
                                               "unapplied": 0}
    # and the rest is paid by a remittance of exactly what is left
    _remit(api, admin, "INV-2026-000001", "32.61", "BANK-1")
    assert invoices(world) == [("INV-2026-000001", "paid", 3678, 3678, 0)]


def test_a_credit_goes_to_the_oldest_open_invoice_first_each_at_most_its_balance(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order on invoice terms shipped in two parts: INV-1 32.61 (400 bolts, the nuts,
    # shipping), of which 30.00 was remitted, and INV-2 4.17 (100 bolts)
    order = _on_terms(world, gateways, api, admin, BOLT_M8=400, NUT_M8=3)
    ship(api, admin, fo_id(world, order["id"]), BOLT_M8=100)
    drain(world, gateways)
    _remit(api, admin, "INV-2026-000001", "30.00", "BANK-1")
    # when an appeasement of 5.00 is credited
    _credit(api, admin, order, _appeasement(world, order, 500))
    drain(world, gateways)
    # then INV-1's 2.61 is credited first, and the other 2.39 goes to INV-2
    assert invoices(world) == [("INV-2026-000001", "paid", 3261, 3261, 0),
                               ("INV-2026-000002", "partially_paid", 417, 239, 178)]
    assert credit_memos(world) == [("CM-2026-000001", "closed", 500, 0, 0, 0)]
    with world.read() as s:
        numbers = dict(s.execute(select(PaymentApplication.invoice_id, PaymentApplication.amount)
                                 .where(PaymentApplication.credit_memo_id.is_not(None))).all())
    assert sorted(numbers.values()) == [239, 261]


def test_what_no_open_invoice_can_take_stays_on_the_credit_memo_until_one_can(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order on invoice terms of which INV-1 (32.61) is invoiced and remitted but for 1.00
    order = _on_terms(world, gateways, api, admin, BOLT_M8=400, NUT_M8=3)
    _remit(api, admin, "INV-2026-000001", "31.61", "BANK-1")
    # when an appeasement of 5.00 is credited
    memo = _credit(api, admin, order, _appeasement(world, order, 500))
    drain(world, gateways)
    # then 1.00 of it is applied, and 4.00 stays open on the credit memo
    assert invoices(world) == [("INV-2026-000001", "paid", 3261, 3261, 0)]
    assert credit_memos(world) == [("CM-2026-000001", "open", 500, 0, 0, 400)]
    # and ensuring refunds again applies nothing more while no invoice is open
    assert api.post("/api/v1/refunds", json={"order": order["number"]}, headers=admin).status_code == 200
    assert credit_memos(world) == [("CM-2026-000001", "open", 500, 0, 0, 400)]
    # when the last 100 bolts ship (INV-2, 4.17) and refunds are ensured for the credit memo
    ship(api, admin, fo_id(world, order["id"]), BOLT_M8=100)
    drain(world, gateways)
    r = api.post("/api/v1/refunds", json={"credit_memo": memo["number"]}, headers=admin)
    # then the 4.00 left goes to INV-2, and the credit memo is closed
    assert (r.status_code, r.json()["status"], r.json()["totals"]["applied"]) == (200, "closed", "5.00")
    assert invoices(world) == [("INV-2026-000001", "paid", 3261, 3261, 0),
                               ("INV-2026-000002", "partially_paid", 417, 400, 17)]
    assert [amount for _, amount, _ in _credit_rows(world)] == [100, 400]


def test_an_order_paid_by_card_keeps_its_credit_for_a_refund(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped and invoiced whose capture the gateway declined (invoice open)
    order = place(world, order_payload([{"method": "card", "gateway": "simulator", "token": "tok_capture_fails"}]))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # when a return is credited
    _credit(api, admin, order, change_order(
        world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)]))
    drain(world, gateways)
    # then nothing is applied to the invoice: the credit waits for the card payment, to be refunded
    assert invoices(world) == [("INV-2026-000001", "open", 3678, 0, 3678)]
    assert credit_memos(world) == [("CM-2026-000001", "open", 417, 0, 0, 417)]
    assert _credit_rows(world) == []
