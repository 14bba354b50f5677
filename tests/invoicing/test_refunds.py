"""A refund asked of a capture itself (`POST /payments/{id}/refund`) gives back only money no
invoice uses; money paid for invoices goes back with a credit memo, so that invoices less credit
memos stay what was captured less what was refunded."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

from typing import Any

from ordino.audit.models import AuditEvent
from ordino.invoicing.models import RefundApplication
from ordino.kernel.db import Database
from tests.invoicing.support import (  # noqa: F401
    CARD,
    Sim,
    api,
    count,
    drain,
    frozen,
    gateways,
    invoices,
    money_trail,
    order_payload,
    payments,
    place,
    sim,
    sim_server,
    world,
)


def _paid_fee_invoice(db: Database, gateways: Any, api: Any, admin: dict[str, str]) -> tuple[Any, str]:
    """A card order (36.78) captured in full up front, then a fee invoice of 30.00 paid from that
    capture: 30.00 of it is applied, 6.78 is excess funds."""
    order = place(db, order_payload(CARD))
    drain(db, gateways)
    auth = api.get("/api/v1/payments", params={"order": order["id"], "kind": "authorization"},
                   headers=admin).json()["items"][0]
    capture = api.post(f"/api/v1/payments/{auth['id']}/capture", json={}, headers=admin)
    assert capture.status_code == 201, capture.text
    fee = api.post("/api/v1/invoices", json={"order": order["number"], "description": "Handling fee",
                                             "amount": "30.00", "currency": "EUR"}, headers=admin)
    assert fee.status_code == 201, fee.text
    drain(db, gateways)
    assert invoices(db) == [("INV-2026-000001", "paid", 3000, 3000, 0)]
    return order, str(capture.json()["id"])


def test_a_refund_of_money_paid_for_an_invoice_is_refused_and_names_what_to_do(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a capture of which 30.00 pays an invoice
    order, capture = _paid_fee_invoice(world, gateways, api, admin)
    before = (payments(world), count(world, AuditEvent))
    # when 10.00 of it is refunded bare, with a key and again with the same key, or all of it
    answers = [api.post(f"/api/v1/payments/{capture}/refund", json={"amount": "10.00"},
                        headers={**admin, "Idempotency-Key": "r-1"}) for _ in range(2)]
    answers.append(api.post(f"/api/v1/payments/{capture}/refund", json={}, headers=admin))
    # then each is refused, naming the actions that credit invoiced money
    for r in answers:
        assert r.status_code == 409, r.text
        problem = r.json()
        assert problem["type"] == "https://ordino.dev/problems/paid-for-invoices"
        assert problem["refundable_without_credit_memo"] == "6.78"
        for action in (f"POST /api/v1/orders/{order['number']}/returns",
                       f"POST /api/v1/orders/{order['number']}/appeasements",
                       "POST /api/v1/credit-memos then POST /api/v1/refunds"):
            assert action in problem["detail"], problem["detail"]
    assert answers[0].json()["detail"].startswith(
        "10.00 EUR is more than the 6.78 EUR of this capture that no invoice uses")
    # and nothing was written, nor asked of the gateway
    assert (payments(world), count(world, AuditEvent)) == before
    assert count(world, RefundApplication) == 0
    assert invoices(world) == [("INV-2026-000001", "paid", 3000, 3000, 0)]
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1}


def test_a_refund_of_excess_funds_is_made_and_recorded(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a capture of which 30.00 pays an invoice and 6.78 is excess funds
    order, capture = _paid_fee_invoice(world, gateways, api, admin)
    # when the 6.78 is refunded bare
    r = api.post(f"/api/v1/payments/{capture}/refund", json={"amount": "6.78", "reason": "goodwill"},
                 headers={**admin, "Idempotency-Key": "r-2"})
    # then it is refunded, and recorded as a refund of the order's excess funds
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["status"], r.json()["amount"]) == ("refund", "succeeded", "6.78")
    refunds = api.get("/api/v1/credit-memos", params={"order": order["number"]}, headers=admin)
    assert refunds.json()["items"] == []
    with world.read() as s:
        rows = s.query(RefundApplication.credit_memo_id, RefundApplication.source, RefundApplication.amount,
                       RefundApplication.status).all()
    assert [tuple(x) for x in rows] == [(None, "unapplied", 678, "applied")]
    assert money_trail(world, order["id"]) == {"captured": 3678, "refunded": 678, "applied": 3000,
                                               "given_back_applied": 0, "unapplied": 0}
    # and the same request again replays, while one cent more is refused
    again = api.post(f"/api/v1/payments/{capture}/refund", json={"amount": "6.78", "reason": "goodwill"},
                     headers={**admin, "Idempotency-Key": "r-2"})
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    more = api.post(f"/api/v1/payments/{capture}/refund", json={"amount": "0.01"}, headers=admin)
    assert more.status_code == 409, more.text
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1, "refund": 1}


def test_a_refund_of_a_payment_the_key_cannot_see_or_that_is_not_a_capture(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order, _ = _paid_fee_invoice(world, gateways, api, admin)
    auth = api.get("/api/v1/payments", params={"order": order["id"], "kind": "authorization"},
                   headers=admin).json()["items"][0]
    unknown = api.post("/api/v1/payments/not-a-payment/refund", json={"amount": "1.00"}, headers=admin)
    missing = api.post("/api/v1/payments/0190d5a0-0000-7000-8000-000000000000/refund", json={}, headers=admin)
    not_capture = api.post(f"/api/v1/payments/{auth['id']}/refund", json={"amount": "1.00"}, headers=admin)
    assert (unknown.status_code, missing.status_code) == (404, 404)
    assert (not_capture.status_code, not_capture.json()["type"]) == (409, "https://ordino.dev/problems/not-refundable")
