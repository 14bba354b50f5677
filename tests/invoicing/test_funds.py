"""Ensure funds: captures chosen as Salesforce chooses payment summaries, captured once however
often they are retried, applied to the invoice; failures become process exceptions."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from ordino.invoicing import service
from ordino.invoicing.models import Invoice, PaymentApplication
from ordino.kernel.db import Database
from ordino.orders.process_exceptions.models import ProcessException
from ordino.payments.gateway import HttpGateway
from ordino.payments.models import OrderPaymentSummary, PaymentMethod
from tests.invoicing.support import (  # noqa: F401
    CARD,
    CLIENT_TIMEOUT,
    Sim,
    api,
    drain,
    fo_id,
    frozen,
    gateways,
    invoices,
    later,
    money_trail,
    order_payload,
    payments,
    pending_events,
    place,
    ship,
    sim,
    sim_server,
    summary,
    world,
)


def _applications(db: Database) -> list[tuple[str, int, str]]:
    """(invoice number, amount, status) of the capture applications, oldest first."""
    with db.read() as s:
        rows = s.execute(
            select(Invoice.number, PaymentApplication.amount, PaymentApplication.status)
            .join(Invoice, Invoice.id == PaymentApplication.invoice_id).order_by(PaymentApplication.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _exceptions(db: Database) -> list[tuple[str, str, str]]:
    with db.read() as s:
        rows = s.execute(select(ProcessException.category, ProcessException.attached_to_type,
                                ProcessException.message).order_by(ProcessException.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _captured_by_token(db: Database) -> dict[str, int]:
    with db.read() as s:
        rows = s.execute(
            select(PaymentMethod.token, OrderPaymentSummary.captured_amount)
            .join(PaymentMethod, PaymentMethod.id == OrderPaymentSummary.payment_method_id)
        ).all()
    return {str(r.token): int(r.captured_amount) for r in rows}


def test_a_capture_that_times_out_is_retried_with_its_key_and_captured_once(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order paid by a card whose first answers come after the adapter's timeout
    order = place(world, order_payload([{"method": "card", "gateway": "simulator", "token": "tok_timeout"}]))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    # when ensure funds runs with an adapter that gives up after one timed-out attempt
    impatient = {"simulator": HttpGateway("simulator", sim.url, timeout=CLIENT_TIMEOUT, attempts=1)}
    drain(world, impatient)
    # then the capture is pending with its application, the event will be retried, and the
    # gateway did capture
    assert payments(world) == [("authorization", "authorized", 3678), ("capture", "pending", 3678)]
    assert _applications(world) == [("INV-2026-000001", 3678, "pending")]
    assert invoices(world) == [("INV-2026-000001", "open", 3678, 0, 3678)]
    assert pending_events(world) == [("invoice.created", 1)]
    assert sim.performed("capture") == 1
    # when the worker retries the event later
    later()
    drain(world, gateways)
    # then the same capture is settled from the gateway's replay: one capture everywhere
    assert payments(world) == [("authorization", "closed", 3678), ("capture", "succeeded", 3678)]
    assert _applications(world) == [("INV-2026-000001", 3678, "applied")]
    assert invoices(world) == [("INV-2026-000001", "paid", 3678, 3678, 0)]
    assert sim.performed("capture") == 1
    assert sim.stats()["replays"] >= 1
    assert pending_events(world) == []


def test_ensure_funds_again_changes_nothing(world: Database, sim: Sim, gateways: Any, api: Any,
                                           admin: dict[str, str]) -> None:
    # given a paid invoice
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    invoice_id = uuid.UUID(api.get("/api/v1/invoices", headers=admin).json()["items"][0]["id"])
    # when ensure funds runs again, from the service and from the API
    result = service.ensure_funds(world, gateways, invoice_id)
    r = api.post(f"/api/v1/invoices/{invoice_id}/ensure-funds", headers={**admin, "Idempotency-Key": "again"})
    # then nothing more is captured or applied
    assert (result.status, result.balance) == ("paid", 0)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"
    assert sim.performed("capture") == 1
    assert _applications(world) == [("INV-2026-000001", 3678, "applied")]


def test_summaries_are_chosen_equal_then_smallest_larger_then_largest_first(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order paid by two cards: 10.00 on one, the other 26.78 on the other
    order = place(world, order_payload([
        {"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": "10.00"},
        {"method": "card", "gateway": "simulator", "token": "tok_amex"},
    ]))
    drain(world, gateways)
    fo = fo_id(world, order["id"])
    # when one nut ships with the shipping charge (15.23): no card holds exactly that, the
    # smallest holding more is the 26.78 card
    ship(api, admin, fo, NUT_M8=1)
    drain(world, gateways)
    assert _captured_by_token(world) == {"tok_visa": 0, "tok_amex": 1523}
    # when the rest ships (21.55): no card holds that much, so the larger rest (11.55) goes
    # first, then the other card's 10.00
    ship(api, admin, fo)
    drain(world, gateways)
    assert _captured_by_token(world) == {"tok_visa": 1000, "tok_amex": 2678}
    assert invoices(world) == [("INV-2026-000001", "paid", 1523, 1523, 0), ("INV-2026-000002", "paid", 2155, 2155, 0)]
    assert [a[1] for a in _applications(world)] == [1523, 1155, 1000]


def test_a_declined_capture_becomes_a_process_exception_and_the_invoice_stays_open(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an order paid by a card whose captures are declined
    order = place(world, order_payload([{"method": "card", "gateway": "simulator", "token": "tok_capture_fails"}]))
    drain(world, gateways)
    # when it ships
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, gateways)
    # then the invoice stays open, the application failed, and people are told why
    assert invoices(world) == [("INV-2026-000001", "open", 3678, 0, 3678)]
    assert _applications(world) == [("INV-2026-000001", 3678, "failed")]
    assert _exceptions(world) == [
        ("payment", "payment", "Invoice INV-2026-000001: the capture of 36.78 EUR failed: The processor declined"
                               " the operation."),
        ("payment", "invoice", "Invoice INV-2026-000001: 36.78 EUR is not covered by the order's authorized funds"),
    ]
    assert pending_events(world) == []  # handled: not retried in a loop


def test_a_fee_invoice_is_captured_from_the_authorization(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a card order authorized for 36.78, not shipped yet
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    # when a handling fee of 2.50 and its VAT 0.48 is invoiced
    r = api.post("/api/v1/invoices", json={
        "order": order["number"], "description": "Handling of a rush order", "amount": "2.50", "currency": "EUR",
        "tax_lines": [{"name": "VAT 19%", "rate": "0.19", "amount": "0.48", "category": "S", "jurisdiction": "DE"}],
    }, headers={**admin, "Idempotency-Key": "fee-1"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["kind"], doc["number"], doc["status"], doc["totals"]["total"]) == ("fee", "INV-2026-000001", "open",
                                                                                    "2.98")
    assert [(ln["type"], ln["name"], ln["quantity"], ln["unit_price"], ln["net_amount"], ln["tax_amount"])
            for ln in doc["lines"]] == [("fee", "Handling of a rush order", 1, "2.50", "2.50", "0.48")]
    drain(world, gateways)
    # then it is captured from the order's authorization
    assert invoices(world) == [("INV-2026-000001", "paid", 298, 298, 0)]
    assert summary(world, order["id"]) == (3678, 298, 0)
    # and the same request again answers the same invoice
    again = api.post("/api/v1/invoices", json={
        "order": order["number"], "description": "Handling of a rush order", "amount": "2.50", "currency": "EUR",
        "tax_lines": [{"name": "VAT 19%", "rate": "0.19", "amount": "0.48", "category": "S", "jurisdiction": "DE"}],
    }, headers={**admin, "Idempotency-Key": "fee-1"})
    assert (again.status_code, again.json()["id"], again.headers["Idempotent-Replayed"]) == (201, doc["id"], "true")


def test_a_gateway_that_is_down_leaves_the_capture_pending_until_someone_retries(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given a shipped card order, invoiced while the gateway cannot be reached
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    down = {"simulator": HttpGateway("simulator", "http://127.0.0.1:9", timeout=0.2, attempts=2, backoff=0.01)}
    drain(world, down)
    assert payments(world) == [("authorization", "authorized", 3678), ("capture", "pending", 3678)]
    assert sim.performed("capture") == 0
    invoice_id = api.get("/api/v1/invoices", headers=admin).json()["items"][0]["id"]
    # when ensure funds is asked through the API while the gateway is still down
    api.app.state.payment_gateways = down
    r = api.post(f"/api/v1/invoices/{invoice_id}/ensure-funds", headers=admin)
    # then the API answers 502, and the capture is still pending
    assert r.status_code == 502, r.text
    assert r.json()["type"].endswith("/gateway-unavailable")
    assert payments(world)[1] == ("capture", "pending", 3678)
    # when it is asked again once the gateway is back
    api.app.state.payment_gateways = gateways
    r = api.post(f"/api/v1/invoices/{invoice_id}/ensure-funds", headers=admin)
    # then the pending capture is made, once, and the invoice is paid; the worker's retry later
    # finds nothing left to do
    assert (r.status_code, r.json()["status"]) == (200, "paid")
    later()
    drain(world, gateways)
    assert payments(world) == [("authorization", "closed", 3678), ("capture", "succeeded", 3678)]
    assert sim.performed("capture") == 1
    assert _applications(world) == [("INV-2026-000001", 3678, "applied")]


def test_captures_left_pending_are_settled_by_the_periodic_job(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given an invoice whose capture was begun while the gateway could not be reached
    order = place(world, order_payload(CARD))
    drain(world, gateways)
    ship(api, admin, fo_id(world, order["id"]))
    drain(world, {"simulator": HttpGateway("simulator", "http://127.0.0.1:9", timeout=0.2, attempts=1)})
    assert _applications(world) == [("INV-2026-000001", 3678, "pending")]
    # when the periodic job runs before the capture is five minutes old, then later
    early = service.settle_pending(world, gateways)
    later(hours=1)
    settled = service.settle_pending(world, gateways)
    # then only the later run settles it, with one capture at the gateway
    assert (early, settled) == (0, 1)
    assert invoices(world) == [("INV-2026-000001", "paid", 3678, 3678, 0)]
    assert sim.performed("capture") == 1
