"""Credit memos from change orders, and ensure refunds: of credit memos and of excess funds."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import threading
import uuid
from typing import Any, cast

import pytest
from sqlalchemy import select

from ordino.invoicing import service
from ordino.invoicing.models import CreditMemo, CreditMemoLine
from ordino.invoicing.schemas import CreditMemoIn
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from ordino.orders.process_exceptions.models import ProcessException
from ordino.payments.gateway import GatewayResult
from tests.invoicing.support import (  # noqa: F401
    CARD,
    STAFF,
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


def _shipped_card_order(db: Database, gateways: Any, api: Any, admin: dict[str, str], token: str = "tok_visa") -> Any:
    order = place(db, order_payload([{"method": "card", "gateway": "simulator", "token": token}]))
    drain(db, gateways)
    ship(api, admin, fo_id(db, order["id"]))
    drain(db, gateways)
    return order


def _credit(api: Any, admin: dict[str, str], order: Any, *change_orders: uuid.UUID) -> Any:
    r = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(c) for c in
                                                                                           change_orders]},
                 headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_return_is_credited_line_by_line_and_refunded_from_the_invoice_payment(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order shipped, invoiced and captured in full
    order = _shipped_card_order(world, gateways, api, admin)
    items = item_ids(world, order["id"])
    # and a return of 100 bolts (with its own tax line) and 1 nut (without: its tax and its share
    # of the discount are spread over the nut's original lines)
    co = change_order(world, order["id"], "return", [(items["BOLT-M8"], 100, -350, 0, -67)])
    co2 = change_order(world, order["id"], "return", [(items["NUT-M8"], 1, -33, 3, -6)], tax_lines=False)
    # when one credit memo is made for both
    memo = _credit(api, admin, order, co, co2)
    # then its lines mirror the change order items, positive
    assert [(ln["sku"], ln["quantity"], ln["unit_price"], ln["line_amount"], ln["adjustment_amount"],
             ln["net_amount"], ln["tax_amount"], ln["invoiced"]) for ln in memo["lines"]] == [
        ("BOLT-M8", 100, "0.035", "3.50", "0.00", "3.50", "0.67", True),
        ("NUT-M8", 1, "0.333", "0.33", "-0.03", "0.30", "0.06", True),
    ]
    assert [ln["tax_lines"] for ln in memo["lines"]] == [
        [{"name": "VAT 19%", "rate": "0.19", "category": "S", "jurisdiction": "DE", "exemption_reason_code": None,
          "taxable_amount": "3.50", "amount": "0.67"}],
        [{"name": "VAT 19%", "rate": "0.19", "category": "S", "jurisdiction": "DE", "exemption_reason_code": None,
          "taxable_amount": "0.30", "amount": "0.06"}],
    ]
    assert memo["lines"][1]["adjustments"] == [{"name": "Loyalty discount", "reference": "LOYAL10", "amount": "-0.03"}]
    assert (memo["number"], memo["status"], memo["totals"]) == ("CM-2026-000001", "open", {
        "net": "3.80", "tax": "0.73", "total": "4.53", "refunded": "0.00", "not_charged": "0.00", "applied": "0.00",
        "balance": "4.53"})
    assert sorted(c["number"] for c in memo["change_orders"]) == ["CO-000001", "CO-000002"]
    # when the worker ensures its refund
    drain(world, gateways)
    # then the money paid for the returned goods goes back to the card
    assert credit_memos(world) == [("CM-2026-000001", "closed", 453, 453, 0, 0)]
    assert summary(world, order["id"]) == (3678, 3678, 453)
    assert money_trail(world, order["id"]) == {"captured": 3678, "refunded": 453, "applied": 3678,
                                               "given_back_applied": 453, "unapplied": 0}
    assert invoices(world) == [("INV-2026-000001", "paid", 3678, 3678, 0)]


def test_a_change_order_is_credited_once(world: Database, sim: Sim, gateways: Any, api: Any,
                                         admin: dict[str, str]) -> None:
    # given a change order with a credit memo
    order = _shipped_card_order(world, gateways, api, admin)
    co = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 10, -35, 0, -7)])
    _credit(api, admin, order, co)
    # when it is credited again, alone or with others, or is named twice
    other = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 5, -18, 0, -3)])
    again = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(other), str(co)]},
                     headers=admin)
    twice = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(other),
                                                                                               "CO-000002"]},
                     headers=admin)
    # then it is refused naming it, and nothing is written
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "change_orders[1]",
                                       "message": "change order CO-000001 has a credit memo already"}]
    assert twice.status_code == 422
    assert twice.json()["errors"] == [{"field": "change_orders[1]", "message": "is named twice"}]
    assert count(world, CreditMemo) == 1


def test_only_change_orders_that_take_something_off_are_credited(world: Database, sim: Sim, gateways: Any, api: Any,
                                                                 admin: dict[str, str]) -> None:
    order = _shipped_card_order(world, gateways, api, admin)
    fee = change_order(world, order["id"], "return_fee", [(item_ids(world, order["id"])["BOLT-M8"], 0, 500, 0, 95)])
    r = api.post("/api/v1/credit-memos", json={"order": order["id"], "change_orders": ["CO-000001"]}, headers=admin)
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "change_orders[0]",
                                   "message": "change order CO-000001 takes nothing off the order (return_fee)"}]
    assert fee is not None and count(world, CreditMemo) == 0


def test_two_credit_memos_racing_for_one_change_order_make_one(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    # given a change order
    order = _shipped_card_order(world, gateways, api, admin)
    co = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 10, -35, 0, -7)])
    data = CreditMemoIn(order=order["number"], change_orders=[str(co)])
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def attempt() -> None:
        start.wait()
        try:
            world.transaction(lambda s: service.create_credit_memo(s, data, STAFF))
            outcomes.append("created")
        except Conflict:
            outcomes.append("refused")

    # when four requests credit it at once
    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then one credit memo exists, numbered without a gap
    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]
    assert [m[0] for m in credit_memos(world)] == ["CM-2026-000001"]
    assert count(world, CreditMemoLine) == 1


def test_a_cancel_of_units_never_charged_is_settled_without_a_refund(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order of which 400 bolts and the nuts shipped (and were captured), and the
    # 100 other bolts were cancelled before anything was captured for them
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    fo = fo_id(world, order["id"])
    ship(api, admin, fo, BOLT_M8=400, NUT_M8=3)
    drain(world, gateways)
    cancel_rest(api, admin, fo)
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    # when the cancel is credited and the worker ensures refunds
    _credit(api, admin, order, co)
    drain(world, gateways)
    # then nothing is refunded: the credit memo is closed as never charged, and what the
    # authorization held for the cancelled units is released
    assert credit_memos(world) == [("CM-2026-000001", "closed", 417, 0, 417, 0)]
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1, "void": 1}
    assert summary(world, order["id"]) == (3261, 3261, 0)


def test_excess_funds_of_a_cancelled_order_are_refunded(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order captured in full up front, then cancelled entirely before shipping
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    auth = api.get("/api/v1/payments", params={"order": order["id"], "kind": "authorization"},
                   headers=admin).json()["items"][0]
    assert api.post(f"/api/v1/payments/{auth['id']}/capture", json={}, headers=admin).status_code == 201
    cancel_rest(api, admin, fo_id(world, order["id"]))
    items = item_ids(world, order["id"])
    change_order(world, order["id"], "cancel", [
        (items["BOLT-M8"], 500, -1750, 0, -333), (items["NUT-M8"], 3, -100, 10, -17),
        (items["shipping"], 1, -1250, 0, -238),
    ])
    # when refunds are ensured for the order, without a credit memo
    r = api.post("/api/v1/refunds", json={"order": order["number"]}, headers={**admin, "Idempotency-Key": "x-1"})
    # then every captured cent goes back, as excess funds
    assert r.status_code == 200, r.text
    assert (r.json()["refunded"], r.json()["pending"], [x["source"] for x in r.json()["refunds"]]) == (
        "36.78", "0.00", ["unapplied"])
    assert summary(world, order["id"]) == (3678, 3678, 3678)
    # and the same request again changes nothing
    again = api.post("/api/v1/refunds", json={"order": order["number"]}, headers={**admin, "Idempotency-Key": "x-1"})
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    api.post("/api/v1/refunds", json={"order": order["number"]}, headers=admin)
    assert sim.stats()["performed"] == {"authorize": 1, "capture": 1, "refund": 1}
    assert money_trail(world, order["id"])["unapplied"] == 0


def test_an_appeasement_before_payment_waits_for_the_payment(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order not shipped yet, and an appeasement of 2.00 on its bolts
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    co = change_order(world, order["id"], "appeasement", [(item_ids(world, order["id"])["BOLT-M8"], 0, 0, -200, 0)])
    memo = _credit(api, admin, order, co)
    drain(world, gateways)
    # then nothing was paid yet, so nothing is refunded: the credit memo stays open
    assert credit_memos(world) == [("CM-2026-000001", "open", 200, 0, 0, 200)]
    # when the order ships and is captured, and refunds are ensured again
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    r = api.post("/api/v1/refunds", json={"credit_memo": memo["number"]}, headers=admin)
    # then the appeasement goes back to the card
    assert (r.status_code, r.json()["status"], r.json()["totals"]["refunded"]) == (200, "closed", "2.00")
    assert summary(world, order["id"]) == (3678, 3678, 200)


def test_a_refund_the_gateway_declines_is_a_process_exception(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    order = _shipped_card_order(world, gateways, api, admin, token="tok_refund_fails")
    co = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    drain(world, gateways)
    assert credit_memos(world) == [("CM-2026-000001", "open", 417, 0, 0, 417)]
    assert payments(world)[-1] == ("refund", "failed", 417)
    with world.read() as s:
        messages = s.execute(select(ProcessException.message)).scalars().all()
    assert messages == ["Credit memo CM-2026-000001: the refund of 4.17 EUR failed at the gateway"]


def test_refund_requests_name_what_is_wrong(world: Database, sim: Sim, gateways: Any, api: Any,
                                           admin: dict[str, str]) -> None:
    both = api.post("/api/v1/refunds", json={"order": "SO-000001", "credit_memo": "CM-2026-000001"}, headers=admin)
    unknown = api.post("/api/v1/refunds", json={"credit_memo": "CM-2026-000009"}, headers=admin)
    assert (both.status_code, both.json()["errors"][0]["field"]) == (422, "credit_memo")
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "credit_memo")


def test_a_declined_refund_retried_is_declined_again_and_keeps_its_exception_with_the_new_error(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a refund the gateway declines, and its process exception
    order = _shipped_card_order(world, gateways, api, admin, token="tok_refund_fails")
    co = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    drain(world, gateways)
    (pe,) = api.get("/api/v1/process-exceptions", params={"order": order["id"]}, headers=admin).json()["items"]
    assert (pe["step"], pe["attached_to"]["type"], pe["error"]) == (
        "invoicing.ensure_refunds", "credit_memo", "processor_declined: The processor declined the operation.")
    # when it is retried (the card still declines refunds)
    r = api.post(f"/api/v1/process-exceptions/{pe['id']}/retry", headers=admin)
    # then the gateway was asked once more, and the same exception stays, with the new error
    assert (r.status_code, r.json()["status"], r.json()["retry_count"], r.json()["error"]) == (
        200, "new", 1, "4.17 EUR of credit memo CM-2026-000001 failed to refund again at the gateway")
    assert [p for p in payments(world) if p[0] == "refund"] == [("refund", "failed", 417), ("refund", "failed", 417)]
    assert len(api.get("/api/v1/process-exceptions", params={"order": order["id"]}, headers=admin).json()["items"]) == 1
    assert credit_memos(world) == [("CM-2026-000001", "open", 417, 0, 0, 417)]


def test_a_declined_refund_retried_refunds_once_and_resolves_its_exception(
    world: Database, sim: Sim, gateways: Any, app: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order whose first refund the processor declines
    class RefundDeclinedOnce:
        def __init__(self, inner: Any) -> None:
            self.inner, self.declined = inner, False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def refund(self, **kwargs: Any) -> GatewayResult:
            if not self.declined:
                self.declined = True
                return GatewayResult(False, code="processor_declined", message="The processor declined.")
            return cast(GatewayResult, self.inner.refund(**kwargs))

    flaky = {"simulator": RefundDeclinedOnce(gateways["simulator"])}
    app.state.payment_gateways = flaky
    order = _shipped_card_order(world, flaky, api, admin)
    co = change_order(world, order["id"], "return", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    drain(world, flaky)
    (pe,) = api.get("/api/v1/process-exceptions", params={"order": order["id"]}, headers=admin).json()["items"]
    # when it is retried
    r = api.post(f"/api/v1/process-exceptions/{pe['id']}/retry", headers=admin)
    # then the simulator refunded once and the exception is resolved with a note
    assert (r.status_code, r.json()["status"], r.json()["resolution_note"]) == (
        200, "resolved", "retry 1: credit memo CM-2026-000001 refunded 4.17 EUR")
    assert sim.performed("refund") == 1
    assert credit_memos(world)[0][1] == "closed"
