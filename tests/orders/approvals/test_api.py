"""Orders held by approval rules at intake, and the approver's decision through the API."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.statemachine import StatusHistory
from ordino.orders import intake
from ordino.orders.approvals.models import ApprovalRequest
from ordino.orders.models import OrderSummary
from ordino.orders.schemas import OrderIn
from tests.orders.support import NOW, NOW_TEXT, World, build, count, event_types, events, order, reserved

RULES = "/api/v1/approval-rules"


@pytest.fixture
def frozen() -> Iterator[datetime]:
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)


@pytest.fixture
def w(db: Database, frozen: datetime) -> World:
    return build(db)


def _rule(client: TestClient, w: World, body: dict[str, Any], who: str = "dora") -> dict[str, Any]:
    r = client.post(RULES, json=body, headers=w.keys[who])
    assert r.status_code == 201, r.text
    return dict(r.json())


def _place(client: TestClient, w: World, who: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/orders", json=body, headers=w.keys[who])
    assert r.status_code == 201, r.text
    return dict(r.json())


def _status(db: Database, order_id: str) -> tuple[str, int]:
    with db.read() as s:
        row = s.execute(select(OrderSummary.status, OrderSummary.version)
                        .where(OrderSummary.id == uuid.UUID(order_id))).one()
    return row[0], row[1]


def _history(db: Database, order_id: str) -> list[tuple[str, str | None, str, str | None, str | None]]:
    with db.read() as s:
        rows = s.execute(
            select(StatusHistory.action, StatusHistory.from_status, StatusHistory.to_status, StatusHistory.actor,
                   StatusHistory.reason)
            .where(StatusHistory.entity_id == uuid.UUID(order_id)).order_by(StatusHistory.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


THRESHOLD = {"account": "ACME", "kind": "order_total", "name": "Orders over 1,000 EUR", "amount": "1000.00",
             "currency": "EUR"}


def test_an_order_over_the_threshold_of_the_parent_account_waits(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # given a threshold of 1,000.00 EUR on the parent account ACME
    rule = _rule(client, w, THRESHOLD)
    # when bob of ACME-BER places 2,000 bolts at 0.525 (1,050.00) + 12.50 shipping + 19 % VAT (201.88)
    doc = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    # then the order is created waiting for approval, with every step in its history
    assert (doc["status"], doc["available_actions"], doc["totals"]["grand_total"]) == (
        "pending_approval", ["approve", "reject", "cancel", "appease", "add"], "1264.38")
    message = "the order total 1264.38 EUR is over 1000.00 EUR (Orders over 1,000 EUR)"
    assert _history(db, doc["id"]) == [
        ("create", None, "created", "buyer:bob", None),
        ("hold_for_approval", "created", "pending_approval", "buyer:bob", message),
    ]
    # and order.created tells it, with no separate hold event
    created = events(db, "order.created")
    assert [(e["status"], e["grand_total"]) for e in created] == [("pending_approval", "1264.38")]
    assert events(db, "order.pending_approval") == []
    # and the order knows its buyer, and its stock is held as for any order
    with db.read() as s:
        buyer = s.execute(select(OrderSummary.buyer_contact_id)).scalar_one()
    assert buyer == w.contacts["bob"]
    assert reserved(db) == 2000
    # and the approval request lists the reason with its detail
    r = client.get("/api/v1/approvals", params={"status": "pending"}, headers=w.keys["alice"])
    assert r.status_code == 200
    [request] = r.json()["items"]
    assert request == {
        "id": request["id"],
        "status": "pending",
        "order": {"id": doc["id"], "number": "SO-000001", "status": "pending_approval", "currency": "EUR",
                  "grand_total": "1264.38"},
        "account": "ACME-BER",
        "reasons": [{"kind": "order_total", "rule_id": rule["id"], "message": message,
                     "detail": {"threshold": "1000.00", "order_total": "1264.38", "currency": "EUR",
                                "account": "ACME"}}],
        "buyer_contact": str(w.contacts["bob"]),
        "requested_by": "buyer:bob",
        "requested_at": NOW_TEXT,
        "decided_by": None,
        "decided_by_contact": None,
        "decided_at": None,
        "decision_note": None,
        "version": 1,
        "updated_at": NOW_TEXT,
    }


def test_an_order_at_or_under_the_threshold_or_in_another_currency_is_not_held(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, THRESHOLD)
    # 827.84 + 12.50 = 840.34, + 19 % VAT (159.66) = 1,000.00 exactly: not over
    at = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 100, "8.2784")))
    # a USD order is not measured against a EUR threshold
    usd = _place(client, w, "bob", order("WEB-2", ("BOLT-M8", 2000, "1.00"), currency="USD"))
    assert (at["totals"]["grand_total"], at["status"]) == ("1000.00", "created")
    assert (usd["totals"]["grand_total"], usd["status"]) == ("2394.88", "created")
    assert count(db, ApprovalRequest) == 0


def test_approval_by_an_approver_of_the_parent_account(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, THRESHOLD)
    doc = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    # when alice, approver of the parent account ACME, approves it
    r = client.post(f"/api/v1/orders/{doc['id']}/approve", json={"note": "budget ok"}, headers=w.keys["alice"])
    # then the request is decided and the order approved
    assert r.status_code == 200, r.text
    decided = r.json()
    assert (decided["status"], decided["order"]["status"], decided["decided_by"], decided["decided_by_contact"],
            decided["decided_at"], decided["decision_note"], decided["version"]) == (
        "approved", "approved", "buyer:alice", str(w.contacts["alice"]), NOW_TEXT, "budget ok", 2)
    assert _status(db, doc["id"]) == ("approved", 2)
    assert _history(db, doc["id"])[-1] == ("approve", "pending_approval", "approved", "buyer:alice", "budget ok")
    # and order.approved carries what order.created did, for routing and payments
    [approved] = events(db, "order.approved")
    assert approved == {
        "id": doc["id"], "from_status": "pending_approval", "status": "approved", "action": "approve",
        "reason": "budget ok", "number": "SO-000001", "account": "ACME-BER",
        "account_id": str(w.accounts["ACME-BER"]), "channel": "web", "currency": "EUR", "grand_total": "1264.38",
        "payments": [{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": None}],
        "approval_request_id": decided["id"], "decided_by": "buyer:alice",
    }
    # and a second decision is refused
    again = client.post(f"/api/v1/orders/{doc['id']}/reject", json={"reason": "no"}, headers=w.keys["alice"])
    assert again.status_code == 409
    assert again.json()["type"] == "https://ordino.dev/problems/not-pending-approval"
    assert again.json()["current_status"] == "approved"


def test_rejection_cancels_with_the_reason_and_releases_the_stock(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, THRESHOLD)
    doc = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    assert reserved(db) == 2000
    # when carol, approver of ACME-BER, rejects it
    r = client.post(f"/api/v1/orders/{doc['id']}/reject", json={"reason": "over the project budget"},
                    headers=w.keys["carol"])
    # then the order is cancelled with the reason and holds no stock
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["order"]["status"], r.json()["decision_note"]) == (
        "rejected", "cancelled", "over the project budget")
    assert _status(db, doc["id"]) == ("cancelled", 2)
    assert _history(db, doc["id"])[-1] == (
        "reject", "pending_approval", "cancelled", "buyer:carol", "over the project budget")
    assert reserved(db) == 0
    # and the cancellation and the decision are announced, then the release
    assert event_types(db)[-3:] == ["order.cancelled", "order.rejected", "inventory.released"]
    assert events(db, "order.rejected") == [{
        "id": doc["id"], "number": "SO-000001", "reason": "over the project budget",
        "approval_request_id": r.json()["id"], "decided_by": "buyer:carol",
    }]
    assert events(db, "order.cancelled")[0]["reason"] == "over the project budget"


def test_a_rejection_needs_a_reason(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, THRESHOLD)
    doc = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    r = client.post(f"/api/v1/orders/{doc['id']}/reject", json={}, headers=w.keys["alice"])
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "reason", "message": "Field required"}]
    assert _status(db, doc["id"]) == ("pending_approval", 1)


@pytest.mark.parametrize(
    ("who", "status", "slug"),
    [
        ("bob", 403, "not-an-approver"),  # a buyer of the account without the approver role
        ("carol", 403, "own-order"),  # an approver who placed the order herself
        ("otto", 404, "not-found"),  # an approver of an unrelated account
        ("fulfillment", 403, "forbidden"),  # a role that never decides
    ],
)
def test_who_may_not_decide_changes_nothing(db, client, w, who, status, slug) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, THRESHOLD)
    doc = _place(client, w, "carol", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    before = event_types(db)
    for action, body in (("approve", {}), ("reject", {"reason": "no"})):
        r = client.post(f"/api/v1/orders/{doc['id']}/{action}", json=body, headers=w.keys[who])
        assert r.status_code == status, r.text
        assert r.json()["type"] == f"https://ordino.dev/problems/{slug}"
    assert _status(db, doc["id"]) == ("pending_approval", 1)
    with db.read() as s:
        assert s.execute(select(ApprovalRequest.status, ApprovalRequest.version)).one() == ("pending", 1)
    assert event_types(db) == before
    assert reserved(db) == 2000


def test_an_order_that_is_not_held_cannot_be_approved(db, client, w) -> None:  # type: ignore[no-untyped-def]
    doc = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 10, "1.00")))
    r = client.post(f"/api/v1/orders/{doc['id']}/approve", headers=w.keys["admin"])
    assert r.status_code == 409
    assert r.json()["type"] == "https://ordino.dev/problems/not-pending-approval"
    assert r.json()["current_status"] == "created"
    assert client.post("/api/v1/orders/SO-404/approve", headers=w.keys["admin"]).status_code == 404


def test_a_buyers_monthly_limit_counts_their_orders_of_the_month_but_not_cancelled_ones(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # given a limit of 595.00 EUR a month for every buyer of ACME-BER (500.00 net + 19 % VAT; the
    # amounts below are net, the orders' totals add the VAT)
    limit = {"account": "ACME-BER", "kind": "monthly_spend", "name": "Monthly budget", "amount": "595.00",
             "currency": "EUR"}
    rule = _rule(client, w, limit)

    def place(ref: str, amount: str, who: str = "bob") -> dict[str, Any]:
        return _place(client, w, who, order(ref, ("BOLT-M8", 1, amount), shipping="0"))

    # and bob's order of October, which does not count in November
    clock.set_clock(lambda: datetime(2026, 10, 31, 23, 59, tzinfo=NOW.tzinfo))
    assert place("OCT-1", "400.00")["status"] == "created"
    clock.set_clock(lambda: NOW)
    # when bob orders 200.00 and 250.00 this month, both pass (535.50 with VAT)
    assert [place("NOV-1", "200.00")["status"], place("NOV-2", "250.00")["status"]] == ["created", "created"]
    # then 300.00 more waits
    held = place("NOV-3", "300.00")
    assert held["status"] == "pending_approval"
    # and once it is rejected it no longer counts: 50.00 (59.50) reaches the limit exactly and passes
    client.post(f"/api/v1/orders/{held['id']}/reject", json={"reason": "no"}, headers=w.keys["alice"])
    assert place("NOV-4", "50.00")["status"] == "created"
    # and one cent more waits, with the month's figures
    over = place("NOV-5", "0.01")
    assert over["status"] == "pending_approval"
    r = client.get("/api/v1/approvals", params={"order": over["number"]}, headers=w.keys["agent"])
    assert r.json()["items"][0]["reasons"] == [{
        "kind": "monthly_spend", "rule_id": rule["id"],
        "message": "the buyer's orders of 2026-11 would reach 595.01 EUR, over the monthly limit of 595.00 EUR "
                   "(Monthly budget)",
        "detail": {"limit": "595.00", "spent": "595.00", "order_total": "0.01", "spent_with_order": "595.01",
                   "currency": "EUR", "month": "2026-11", "contact_id": str(w.contacts["bob"]),
                   "account": "ACME-BER"},
    }]
    # and carol's own budget is untouched by bob's orders
    assert place("NOV-6", "400.00", who="carol")["status"] == "created"
    # and staff orders have no buyer, so no buyer's limit applies
    assert _place(client, w, "agent", order("NOV-7", ("BOLT-M8", 1, "900.00"), shipping="0"))["status"] == "created"


def test_a_limit_for_one_buyer_leaves_the_others_alone(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, {"account": "ACME-BER", "kind": "monthly_spend", "name": "Bob's budget", "amount": "100.00",
                      "currency": "EUR", "contact": str(w.contacts["bob"])})
    bob = _place(client, w, "bob", order("B-1", ("BOLT-M8", 1, "150.00"), shipping="0"))
    carol = _place(client, w, "carol", order("C-1", ("BOLT-M8", 1, "150.00"), shipping="0"))
    assert (bob["status"], carol["status"]) == ("pending_approval", "created")


def test_restricted_products_always_wait_and_every_reason_is_listed(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # given a threshold on ACME and restricted products on ACME-BER (by SKU and by product id)
    with db.read() as s:
        from ordino.catalog.models import Product
        nut_id = s.execute(select(Product.id).where(Product.sku == "NUT-M8")).scalar_one()
    threshold = _rule(client, w, THRESHOLD)
    restricted = _rule(client, w, {"account": "ACME-BER", "kind": "restricted_products", "name": "Power tools",
                                   "products": ["DRILL-X", str(nut_id)]})
    assert restricted["products"] == ["DRILL-X", "NUT-M8"]
    # when bob orders bolts only, it passes; with one drill, it waits
    plain = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 10, "1.00")))
    drill = _place(client, w, "bob", order("WEB-2", ("BOLT-M8", 10, "1.00"), ("DRILL-X", 1, "89.90")))
    assert (plain["status"], drill["status"]) == ("created", "pending_approval")
    # and an order that trips both rules lists both, the child account's first
    both = _place(client, w, "bob", order("WEB-3", ("DRILL-X", 12, "89.90")))
    r = client.get("/api/v1/approvals", params={"order": both["id"]}, headers=w.keys["carol"])
    reasons = r.json()["items"][0]["reasons"]
    assert [(x["kind"], x["rule_id"], x["detail"]) for x in reasons] == [
        ("restricted_products", restricted["id"], {"skus": ["DRILL-X"], "account": "ACME-BER"}),
        ("order_total", threshold["id"], {"threshold": "1000.00", "order_total": "1298.65", "currency": "EUR",
                                          "account": "ACME"}),
    ]


def test_an_inactive_rule_holds_nothing(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, {**THRESHOLD, "active": False})
    assert _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))["status"] == "created"


def test_approval_requests_are_seen_within_the_account_tree(db, client, w) -> None:  # type: ignore[no-untyped-def]
    _rule(client, w, THRESHOLD)
    _rule(client, w, {**THRESHOLD, "account": "OTHER"}, who="admin")
    ber = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    other = _place(client, w, "otto", order("WEB-2", ("BOLT-M8", 2000, "0.525"), account="OTHER"))

    def seen(who: str, **params: str) -> list[str]:
        r = client.get("/api/v1/approvals", params=params, headers=w.keys[who])
        assert r.status_code == 200, r.text
        return [i["order"]["number"] for i in r.json()["items"]]

    # the parent's approver sees the child's; a buyer sees their account's; staff see all
    assert seen("alice") == [ber["number"]]
    assert seen("bob") == [ber["number"]]
    assert seen("otto") == [other["number"]]
    assert seen("agent") == [other["number"], ber["number"]]
    assert seen("agent", status="approved") == []
    assert seen("agent", account="OTHER") == [other["number"]]
    # and a request of another account is not found
    [request_id] = [i["id"] for i in client.get("/api/v1/approvals", headers=w.keys["bob"]).json()["items"]]
    assert client.get(f"/api/v1/approvals/{request_id}", headers=w.keys["otto"]).status_code == 404
    assert client.get(f"/api/v1/approvals/{request_id}", headers=w.keys["alice"]).json()["id"] == request_id
    assert client.get("/api/v1/approvals", params={"status": "open"}, headers=w.keys["agent"]).status_code == 422


def test_a_contact_without_the_buyer_role_cannot_place_orders(db, client, w) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/orders", json=order("WEB-1", ("BOLT-M8", 10, "1.00")), headers=w.keys["vic"])
    assert r.status_code == 403
    assert r.json()["type"] == "https://ordino.dev/problems/not-a-buyer"
    assert (count(db, OrderSummary), reserved(db)) == (0, 0)


def test_a_rule_taken_away_no_longer_holds_and_a_role_taken_away_no_longer_decides(db, client, w) -> None:  # type: ignore[no-untyped-def]
    rule = _rule(client, w, THRESHOLD)
    held = _place(client, w, "bob", order("WEB-1", ("BOLT-M8", 2000, "0.525")))
    r = client.delete(f"{RULES}/{rule['id']}", headers={**w.keys["dora"], "If-Match": '"1"'})
    assert r.status_code == 204
    assert _place(client, w, "bob", order("WEB-2", ("BOLT-M8", 2000, "0.525")))["status"] == "created"
    # when alice loses the approver role, her key no longer decides
    from ordino.accounts.models import Contact
    db.transaction(lambda s: s.execute(update(Contact).where(Contact.id == w.contacts["alice"]).values(roles=[])))
    r = client.post(f"/api/v1/orders/{held['id']}/approve", headers=w.keys["alice"])
    assert r.status_code == 404  # without a deciding role she sees only ACME's own approvals
    assert _status(db, held["id"]) == ("pending_approval", 1)


def test_orders_placed_together_count_only_the_earlier_ones_against_the_limit(db, client, w) -> None:  # type: ignore[no-untyped-def]
    # given a limit of 500.00 and bob's two orders of 300.00 placed together, in that order
    _rule(client, w, {"account": "ACME-BER", "kind": "monthly_spend", "name": "Budget", "amount": "500.00",
                      "currency": "EUR"})
    bob = Principal(uuid.uuid4(), "bob", Role.BUYER, w.accounts["ACME-BER"], w.contacts["bob"])
    first, second = (OrderIn.model_validate(order(ref, ("BOLT-M8", 1, "300.00"), shipping="0"))
                     for ref in ("TOGETHER-1", "TOGETHER-2"))
    placed = db.transaction(lambda s: intake.place_orders(s, [(first, bob), (second, bob)]))
    # then the first passes as it would alone (the second does not count for it), the second waits
    assert [p.document["status"] for p in placed] == ["created", "pending_approval"]


def test_two_orders_of_one_buyer_at_once_cannot_both_pass_the_monthly_limit(db, client, w) -> None:  # type: ignore[no-untyped-def]
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    _rule(client, w, {"account": "ACME-BER", "kind": "monthly_spend", "name": "Budget", "amount": "500.00",
                      "currency": "EUR"})
    bob = Principal(uuid.uuid4(), "bob", Role.BUYER, w.accounts["ACME-BER"], w.contacts["bob"])
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def place(ref: str) -> None:
        data = OrderIn.model_validate(order(ref, ("BOLT-M8", 1, "300.00"), shipping="0"))
        barrier.wait()
        placed = db.transaction(lambda s: intake.place_order(s, data, bob))
        statuses.append(placed.document["status"])

    threads = [threading.Thread(target=place, args=(f"RACE-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == ["created", "pending_approval"]
