"""Remittances: payments received on invoice terms, applied to invoices up to their balances."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from ordino.accounts.models import Account
from ordino.invoicing import service
from ordino.invoicing.models import PaymentApplication, Remittance
from ordino.invoicing.schemas import RemittanceIn
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict
from tests import factories
from tests.conftest import api_key
from tests.invoicing.support import (  # noqa: F401
    STAFF,
    Sim,
    api,
    count,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    order_payload,
    place,
    ship,
    sim,
    sim_server,
    world,
)

TERMS = [{"method": "invoice", "terms": "net_30"}]


def _invoiced(db: Database, gateways: Any, api: Any, admin: dict[str, str], reference: str = "WEB-1") -> Any:
    order = place(db, order_payload(TERMS, reference=reference))
    drain(db, gateways)
    ship(api, admin, fo_id(db, order["id"]))
    drain(db, gateways)
    return order


def _remittance(reference: str, *applications: tuple[str, str], amount: str | None = None, **extra: Any) -> dict[
    str, Any
]:
    total = sum((Decimal(a) for _, a in applications), Decimal(0))
    return {"account": "ACME", "amount": amount or str(total), "currency": "EUR", "reference": reference,
            "received_on": "2026-12-01", "applications": [{"invoice": i, "amount": a} for i, a in applications],
            **extra}


def test_one_remittance_pays_several_invoices_in_full_and_in_part(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given two open invoices of the account
    _invoiced(world, gateways, api, admin, "WEB-1")
    _invoiced(world, gateways, api, admin, "WEB-2")
    # when one transfer pays the first and part of the second
    r = api.post("/api/v1/payments", json=_remittance("BANK-77", ("INV-2026-000001", "36.78"),
                                                      ("INV-2026-000002", "10.00")), headers=admin)
    # then both invoices follow their balances
    assert r.status_code == 201, r.text
    assert invoices(world) == [("INV-2026-000001", "paid", 3678, 3678, 0),
                               ("INV-2026-000002", "partially_paid", 3678, 1000, 2678)]
    doc = api.get(f"/api/v1/remittances/{r.json()['id']}", headers=admin).json()
    assert (doc["account"]["number"], doc["amount"], doc["reference"], doc["received_on"]) == (
        "ACME", "46.78", "BANK-77", "2026-12-01")
    assert [(a["invoice"]["number"], a["amount"]) for a in doc["applications"]] == [
        ("INV-2026-000001", "36.78"), ("INV-2026-000002", "10.00")]


def test_the_same_remittance_again_is_recorded_once(world: Database, sim: Sim, gateways: Any, api: Any,
                                                    admin: dict[str, str]) -> None:
    _invoiced(world, gateways, api, admin)
    body = _remittance("BANK-1", ("INV-2026-000001", "10.00"))
    first = api.post("/api/v1/payments", json=body, headers=admin)
    # when the same remittance comes again (another request, the same reference and content)
    again = api.post("/api/v1/payments", json=body, headers=admin)
    # then it is the one recorded before
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # and the reference with other content is refused, naming it, writing nothing
    other = api.post("/api/v1/payments", json=_remittance("BANK-1", ("INV-2026-000001", "11.00")), headers=admin)
    assert other.status_code == 409
    assert [e["field"] for e in other.json()["errors"]] == ["reference"]
    assert (count(world, Remittance), count(world, PaymentApplication)) == (1, 1)
    assert invoices(world) == [("INV-2026-000001", "partially_paid", 3678, 1000, 2678)]


def test_paid_invoices_and_other_accounts_invoices_are_refused(world: Database, sim: Sim, gateways: Any, api: Any,
                                                               admin: dict[str, str]) -> None:
    _invoiced(world, gateways, api, admin)
    assert api.post("/api/v1/payments", json=_remittance("BANK-1", ("INV-2026-000001", "36.78")),
                    headers=admin).status_code == 201
    factories.account(world, "OTHER")
    paid = api.post("/api/v1/payments", json=_remittance("BANK-2", ("INV-2026-000001", "1.00")), headers=admin)
    foreign = api.post("/api/v1/payments", json=_remittance("BANK-3", ("INV-2026-000001", "1.00"), account="OTHER"),
                       headers=admin)
    unknown = api.post("/api/v1/payments", json=_remittance("BANK-4", ("INV-2026-000001", "1.00"), account="NOBODY"),
                       headers=admin)
    zero = api.post("/api/v1/payments", json=_remittance("BANK-5", ("INV-2026-000001", "0.00")), headers=admin)
    assert (paid.status_code, paid.json()["errors"]) == (409, [
        {"field": "applications[0].invoice", "message": "invoice INV-2026-000001 is paid"}])
    assert (foreign.status_code, foreign.json()["errors"]) == (422, [
        {"field": "applications[0].invoice", "message": "no invoice 'INV-2026-000001' of this account"}])
    assert (unknown.status_code, unknown.json()["errors"][0]["field"]) == (422, "account")
    assert zero.status_code == 422
    assert {e["field"] for e in zero.json()["errors"]} == {"amount", "applications[0].amount"}
    assert count(world, Remittance) == 1


def test_buyers_cannot_record_remittances(world: Database, sim: Sim, gateways: Any, api: Any,
                                          admin: dict[str, str]) -> None:
    _invoiced(world, gateways, api, admin)
    with world.read() as s:
        acme = s.execute(select(Account.id).where(Account.number == "ACME")).scalar_one()
    buyer = api_key(world, Role.BUYER, acme)
    r = api.post("/api/v1/payments", json=_remittance("BANK-1", ("INV-2026-000001", "1.00")), headers=buyer)
    assert r.status_code == 403
    assert count(world, Remittance) == 0


def test_remittances_racing_for_one_invoice_never_pay_it_twice(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    if world.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    _invoiced(world, gateways, api, admin)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def attempt(n: int) -> None:
        data = RemittanceIn.model_validate(_remittance(f"BANK-{n}", ("INV-2026-000001", "20.00")))
        start.wait()
        try:
            world.transaction(lambda s: service.recorded_remittance(s, data, STAFF))
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("refused")

    # when six transfers of 20.00 race for an invoice of 36.78
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then one is applied; the others would have taken the invoice past its total
    assert sorted(outcomes) == ["recorded"] + ["refused"] * 5
    assert invoices(world) == [("INV-2026-000001", "partially_paid", 3678, 2000, 1678)]
    assert count(world, Remittance) == 1
