"""Ensure refunds releases what an order's authorizations hold beyond what the order still needs:
partial voids, newest authorization first, made once whatever the number of runs."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from ordino.invoicing import service
from ordino.kernel.db import Database
from ordino.orders.process_exceptions.models import ProcessException
from ordino.payments.gateway import CallRecord, GatewayResult, GatewayUnavailable, HttpGateway
from ordino.payments.models import Payment
from tests.invoicing.support import (  # noqa: F401
    CARD,
    Sim,
    api,
    cancel_rest,
    change_order,
    credit_memos,
    drain,
    fo_id,
    frozen,
    gateways,
    item_ids,
    later,
    order_payload,
    payments,
    place,
    sim,
    sim_server,
    summary,
    world,
)


@dataclass
class VoidTrouble:
    """The simulator's adapter, with voids that go wrong: `lost` (the simulator reverses, the
    answer never comes back) or `declined` (refused without reaching it)."""

    inner: HttpGateway
    mode: str = "lost"
    name: str = "simulator"

    def __getattr__(self, operation: str) -> Any:
        return getattr(self.inner, operation)

    def void(self, **kw: Any) -> GatewayResult:
        if self.mode == "declined":
            return GatewayResult(False, code="processor_declined", message="The processor declined the operation.")
        result = self.inner.void(**kw)
        if self.mode == "lost":
            raise GatewayUnavailable("gateway 'simulator' did not answer void: timed out", (
                CallRecord("void", kw["idempotency_key"], 1, {}, None, None, "timeout", 0, "timed out"),))
        return result


def _authorized(db: Database, gateways: Any, api: Any, admin: dict[str, str], instructions: Any = CARD) -> Any:
    """A placed order, authorized; its fulfilment order cancelled, so its units can be cancelled."""
    order = place(db, order_payload(instructions))
    drain(db, gateways)
    cancel_rest(api, admin, fo_id(db, order["id"]))
    return order


def _credit(api: Any, admin: dict[str, str], order: Any, co: uuid.UUID) -> Any:
    r = api.post("/api/v1/credit-memos", json={"order": order["number"], "change_orders": [str(co)]}, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def _authorization(api: Any, admin: dict[str, str], order: Any) -> Any:
    found = api.get("/api/v1/payments", params={"order": order["id"], "kind": "authorization"}, headers=admin)
    (auth,) = found.json()["items"]
    return auth


def _cancel_all(db: Database, order: Any) -> uuid.UUID:
    items = item_ids(db, order["id"])
    return change_order(db, order["id"], "cancel", [
        (items["BOLT-M8"], 500, -1750, 0, -333), (items["NUT-M8"], 3, -100, 10, -17),
        (items["shipping"], 1, -1250, 0, -238),
    ])


def test_a_partial_cancel_reduces_the_authorization_by_the_cancel_total(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order authorized for 36.78 and nothing captured
    order = _authorized(world, gateways, api, admin)
    # when 100 bolts (3.50 + VAT 0.67) are cancelled, credited, and the worker ensures refunds
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    drain(world, gateways)
    # then nothing is refunded, and the authorization holds exactly 4.17 less
    assert credit_memos(world) == [("CM-2026-000001", "closed", 417, 0, 417, 0)]
    auth = _authorization(api, admin, order)
    assert (auth["status"], auth["reversed"], auth["pending_reverse"], auth["available_to_capture"]) == (
        "authorized", "4.17", "0.00", "32.61")
    assert summary(world, order["id"]) == (3261, 0, 0)
    assert payments(world) == [("authorization", "authorized", 3678), ("void", "succeeded", 417)]
    # and the gateway reversed 4.17 of it, once
    assert sim.stats()["performed"] == {"authorize": 1, "void": 1}
    assert sim.authorization(auth["gateway_reference"])["reversed_minor"] == 417


def test_a_whole_cancel_voids_the_authorization(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order authorized for 36.78, then cancelled entirely before anything was captured
    order = _authorized(world, gateways, api, admin)
    _credit(api, admin, order, _cancel_all(world, order))
    # when the worker ensures refunds
    drain(world, gateways)
    # then the whole authorization is released and closed
    auth = _authorization(api, admin, order)
    assert (auth["status"], auth["reversed"], auth["available_to_capture"]) == ("closed", "36.78", "0.00")
    (doc,) = api.get("/api/v1/payment-summaries", params={"order": order["id"]}, headers=admin).json()["items"]
    assert {k: doc[k] for k in ("authorized", "captured", "pending_capture", "pending_reverse_auth",
                                "available_to_capture", "available_to_refund")} == {
        "authorized": "0.00", "captured": "0.00", "pending_capture": "0.00", "pending_reverse_auth": "0.00",
        "available_to_capture": "0.00", "available_to_refund": "0.00"}
    assert credit_memos(world) == [("CM-2026-000001", "closed", 3678, 0, 3678, 0)]
    assert sim.authorization(auth["gateway_reference"])["status"] == "reversed"


def test_ensure_refunds_run_again_voids_once(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a partial cancel whose credit memo's refunds were ensured by the worker
    order = _authorized(world, gateways, api, admin)
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    memo = _credit(api, admin, order, co)
    drain(world, gateways)
    # when refunds are ensured again: for the credit memo, and for the order
    service.ensure_refunds(world, gateways, uuid.UUID(memo["id"]))
    r = api.post("/api/v1/refunds", json={"order": order["number"]}, headers=admin)
    # then nothing more is released
    assert r.status_code == 200, r.text
    assert payments(world) == [("authorization", "authorized", 3678), ("void", "succeeded", 417)]
    assert sim.stats()["performed"] == {"authorize": 1, "void": 1}


def test_runs_at_once_void_once(world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]) -> None:
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    # given a partial cancel, credited, its event not delivered yet
    order = _authorized(world, gateways, api, admin)
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    memo = _credit(api, admin, order, co)
    start = threading.Barrier(4)

    def run(n: int) -> None:
        start.wait()
        if n % 2:
            service.ensure_refunds(world, gateways, uuid.UUID(memo["id"]))
        else:
            service.ensure_order_refunds(world, gateways, uuid.UUID(order["id"]))

    # when four runs ensure refunds at once, for the credit memo and for the order
    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drain(world, gateways)
    # then the authorization is reduced once
    assert payments(world) == [("authorization", "authorized", 3678), ("void", "succeeded", 417)]
    assert sim.stats()["performed"] == {"authorize": 1, "void": 1}


def test_a_void_whose_answer_was_lost_is_settled_with_its_key(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a partial cancel whose void the simulator performed but whose answer never came back
    order = _authorized(world, gateways, api, admin)
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    trouble = VoidTrouble(gateways["simulator"])
    drain(world, {"simulator": trouble})
    with world.read() as s:
        key = s.execute(select(Payment.idempotency_key).where(Payment.kind == "void")).scalar_one()
    assert payments(world)[-1] == ("void", "pending", 417)
    assert key.startswith("credit_memo/") and key.endswith(f"/void/{_authorization(api, admin, order)['id']}/1")
    # when refunds are ensured for the order meanwhile
    r = api.post("/api/v1/refunds", json={"order": order["number"]}, headers=admin)
    # then what the pending void holds is not released a second time
    assert r.status_code == 200, r.text
    assert payments(world) == [("authorization", "authorized", 3678), ("void", "pending", 417)]
    # and when the event is delivered again with the gateway answering, the void is settled with
    # its key, and the gateway reversed once
    later()
    drain(world, gateways)
    assert payments(world) == [("authorization", "authorized", 3678), ("void", "succeeded", 417)]
    assert summary(world, order["id"]) == (3261, 0, 0)
    assert sim.stats()["performed"] == {"authorize": 1, "void": 1}


def test_a_declined_void_is_a_process_exception(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a partial cancel, credited, and a gateway that declines voids
    order = _authorized(world, gateways, api, admin)
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    # when the worker ensures refunds
    drain(world, {"simulator": VoidTrouble(gateways["simulator"], mode="declined")})
    # then the authorization still holds everything, and a payment exception says why
    assert payments(world) == [("authorization", "authorized", 3678), ("void", "failed", 417)]
    assert summary(world, order["id"]) == (3678, 0, 0)
    with world.read() as s:
        found = s.execute(select(ProcessException.category, ProcessException.attached_to_type,
                                 ProcessException.message)).all()
    assert [tuple(f) for f in found] == [(
        "payment", "credit_memo", "Credit memo CM-2026-000001: the release of 4.17 EUR held by an authorization"
        " failed at the gateway: The processor declined the operation.")]


def test_a_whole_cancel_after_a_partial_capture_refunds_the_capture_and_voids_the_rest(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order of which 10.00 was captured up front, then cancelled entirely
    order = _authorized(world, gateways, api, admin)
    auth = _authorization(api, admin, order)
    assert api.post(f"/api/v1/payments/{auth['id']}/capture", json={"amount": "10.00"}, headers=admin).status_code \
        == 201
    _credit(api, admin, order, _cancel_all(world, order))
    # when the worker ensures refunds
    drain(world, gateways)
    # then the captured 10.00 goes back, and the 26.78 still held is released
    assert credit_memos(world) == [("CM-2026-000001", "closed", 3678, 1000, 2678, 0)]
    assert payments(world) == [("authorization", "closed", 3678), ("capture", "succeeded", 1000),
                               ("refund", "succeeded", 1000), ("void", "succeeded", 2678)]
    assert summary(world, order["id"]) == (1000, 1000, 1000)


def test_an_order_on_a_card_and_invoice_terms_keeps_what_its_card_must_still_pay(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order of which 20.00 is on a card and the rest on invoice terms, nothing captured
    card = {**CARD[0], "amount": "20.00"}
    order = _authorized(world, gateways, api, admin, [card, {"method": "invoice", "terms": "net_30"}])
    # when 100 bolts (4.17) are cancelled and credited
    co = change_order(world, order["id"], "cancel", [(item_ids(world, order["id"])["BOLT-M8"], 100, -350, 0, -67)])
    _credit(api, admin, order, co)
    drain(world, gateways)
    # then the order still needs 32.61, more than the card holds: nothing is voided
    assert summary(world, order["id"]) == (2000, 0, 0)
    assert sim.stats()["performed"] == {"authorize": 1}
    # and when all but 15.00 is cancelled, the card releases what it holds beyond 15.00
    items = item_ids(world, order["id"])
    co = change_order(world, order["id"], "cancel", [(items["BOLT-M8"], 400, -1400, 0, -266),
                                                     (items["NUT-M8"], 3, -100, 10, -17)])
    _credit(api, admin, order, co)
    drain(world, gateways)
    assert summary(world, order["id"]) == (1488, 0, 0)  # 36.78 − 4.17 − 16.66 − 1.07 = 14.88
    assert payments(world)[-1] == ("void", "succeeded", 512)
