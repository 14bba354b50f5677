"""Credit limits (orders on account held for approval, not lost) and account statements with aging."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from ordino.accounts.models import Account
from ordino.fulfillment.handlers import ROUTE_NEW_ORDERS
from ordino.fulfillment.models import FulfillmentOrder
from ordino.invoicing import handlers as invoicing_handlers
from ordino.invoicing.statements.service import bucket
from ordino.kernel.db import Database
from ordino.kernel.worker import Dispatcher
from ordino.orders.approvals.service import after_approval
from ordino.orders.models import OrderSummary
from tests import factories
from tests.invoicing.support import (  # noqa: F401
    api,
    flows,
    fo_id,
    frozen,
    gateways,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    world,
)

TERMS = [{"method": "invoice", "terms": "net_30"}]
CARD = [{"method": "card", "gateway": "simulator", "token": "tok_visa"}]


def _flows(gateways: Any) -> dict[str, Any]:
    """The invoicing flows with the production credit check before routing."""
    handlers = flows(gateways)
    handlers["order.created"] = [invoicing_handlers.credit_checked(ROUTE_NEW_ORDERS), *handlers["order.created"][1:]]
    handlers["order.approved"] = [after_approval(ROUTE_NEW_ORDERS)]
    return handlers


def _drain(db: Database, gateways: Any) -> None:
    Dispatcher(db, _flows(gateways)).drain()


def _limit(db: Database, number: str, amount: int | None, currency: str = "EUR") -> None:
    db.transaction(lambda s: s.execute(update(Account).where(Account.number == number).values(
        credit_limit_amount=amount, credit_limit_currency=currency if amount is not None else None)))


def _status(db: Database, order: dict[str, Any]) -> str:
    with db.read() as s:
        return str(s.execute(select(OrderSummary.status).where(OrderSummary.id == uuid.UUID(order["id"]))).scalar_one())


def _routed(db: Database, order: dict[str, Any]) -> bool:
    with db.read() as s:
        return s.execute(select(FulfillmentOrder.id).where(
            FulfillmentOrder.order_summary_id == uuid.UUID(order["id"]))).first() is not None


def test_an_order_on_account_over_the_credit_limit_is_held_and_goes_on_when_approved(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given ACME with a credit limit of 50.00 EUR and an accepted order of 36.78 on invoice terms
    _limit(world, "ACME", 5000)
    first = place(world, order_payload(TERMS, reference="WEB-1"))
    _drain(world, gateways)
    assert (_status(world, first), _routed(world, first)) == ("approved", True)
    # when a second order of 36.78 would take the exposure to 73.56
    second = place(world, order_payload(TERMS, reference="WEB-2"))
    _drain(world, gateways)
    # then it is held for approval, not routed, with the figures in the reason
    assert (_status(world, second), _routed(world, second)) == ("pending_approval", False)
    requests = api.get("/api/v1/approvals?status=pending", headers=admin).json()["items"]
    assert [(r["order"]["number"], r["order"]["status"]) for r in requests] == [(second["number"], "pending_approval")]
    reason = requests[0]["reasons"][0]
    assert (reason["kind"], reason["detail"]) == ("credit_limit", {
        "account": "ACME", "limit": "50.00", "exposure": "36.78", "order_total": "36.78", "currency": "EUR",
    })
    # and the statement shows the limit used by the accepted order only
    statement = api.get("/api/v1/accounts/ACME/statement", headers=admin).json()
    assert statement["credit"] == [
        {"account": "ACME", "currency": "EUR", "limit": "50.00", "exposure": "36.78", "available": "13.22"}
    ]
    # when finance approves it, it is routed
    r = api.post(f"/api/v1/orders/{second['id']}/approve", json={"note": "paid last week"}, headers=admin)
    assert r.status_code == 200, r.text
    _drain(world, gateways)
    assert (_status(world, second), _routed(world, second)) == ("approved", True)


def test_a_parent_limit_covers_its_children_and_card_orders_are_not_checked(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a group with a limit of 60.00 EUR over ACME, which has none of its own
    group = factories.account(world, "GROUP")
    world.transaction(lambda s: s.execute(update(Account).where(Account.number == "ACME").values(parent_id=group)))
    _limit(world, "GROUP", 6000)
    # when ACME places a card order and then two orders on account
    card = place(world, order_payload(CARD, reference="WEB-C"))
    first = place(world, order_payload(TERMS, reference="WEB-1"))
    second = place(world, order_payload(TERMS, reference="WEB-2"))
    _drain(world, gateways)
    # then the card order (the card issuer's credit) and the first order on account go on; the second
    # would take the group's exposure to 73.56, over its 60.00
    assert [_status(world, o) for o in (card, first, second)] == ["approved", "approved", "pending_approval"]


def test_a_limit_in_another_currency_and_no_limit_hold_nothing(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    _limit(world, "ACME", 100, "USD")
    order = place(world, order_payload(TERMS, reference="WEB-1"))
    _drain(world, gateways)
    assert _status(world, order) == "approved"


def test_the_statement_ages_open_invoices_and_lists_remittances(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an invoice-terms order shipped on 2026-11-26 (net 30: due 2026-12-26), paid in part
    order = place(world, order_payload(TERMS, reference="WEB-1"))
    _drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    _drain(world, gateways)
    r = api.post("/api/v1/payments", headers=admin, json={
        "account": "ACME", "amount": "10.00", "currency": "EUR", "reference": "BANK-1", "received_on": "2026-12-01",
        "applications": [{"invoice": "INV-2026-000001", "amount": "10.00"}],
    })
    assert r.status_code == 201, r.text
    # when the statement is asked for as of 45 days after the due date
    doc = api.get("/api/v1/accounts/ACME/statement?as_of=2027-02-09", headers=admin).json()
    # then the open balance of 26.78 is 45 days past due, and the remittance is listed as applied
    (eur,) = doc["currencies"]
    assert (eur["currency"], eur["balance"], eur["open_invoices"], eur["open_credits"]) == (
        "EUR", "26.78", "26.78", "0.00")
    assert eur["aging"] == {"current": "0.00", "days_1_30": "0.00", "days_31_60": "26.78", "days_61_90": "0.00",
                            "over_90": "0.00"}
    assert [(i["number"], i["due_date"], i["balance"], i["days_past_due"], i["bucket"]) for i in eur["open_items"]] == [
        ("INV-2026-000001", "2026-12-26", "26.78", 45, "days_31_60")
    ]
    assert [(p["reference"], p["amount"], p["applied"], p["unapplied"]) for p in eur["payments"]] == [
        ("BANK-1", "10.00", "10.00", "0.00")
    ]
    # and as of its date the same invoice is current
    today = api.get("/api/v1/accounts/ACME/statement?as_of=2026-11-26", headers=admin).json()
    assert today["currencies"][0]["aging"]["current"] == "26.78"


def test_buyers_see_only_their_own_statement(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    from ordino.kernel.auth import Role
    from tests.conftest import api_key

    other = factories.account(world, "OTHER")
    buyer = api_key(world, Role.BUYER, other)
    assert api.get("/api/v1/accounts/ACME/statement", headers=buyer).status_code == 404
    assert api.get("/api/v1/accounts/OTHER/statement", headers=buyer).status_code == 200
    assert api.get("/api/v1/accounts/NOPE/statement", headers=admin).status_code == 404


def test_aging_buckets() -> None:
    assert [bucket(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current", "current", "days_1_30", "days_1_30", "days_31_60", "days_31_60", "days_61_90", "days_61_90",
        "over_90",
    ]
