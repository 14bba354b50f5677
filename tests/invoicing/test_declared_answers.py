"""Real answers validate against the models their routes declare in the OpenAPI document: an
order placed and read, its fulfilment order shipped, the invoice and the payments that follow."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from ordino.fulfillment.schemas import FulfillmentOrderOut
from ordino.invoicing.schemas import InvoiceOut
from ordino.kernel.db import Database
from ordino.kernel.schema import Page
from ordino.orders.schemas import OrderOut, TokenPaymentOut
from ordino.payments.schemas import PaymentOut, PaymentSummaryOut
from tests.declared import declared_model, validate_answer
from tests.invoicing.support import (  # noqa: F401
    Sim,
    api,
    drain,
    frozen,
    gateways,
    order_payload,
    sim,
    sim_server,
    world,
)


def test_order_fulfilment_invoice_and_payment_answers_match_their_declared_models(
    world: Database, sim: Sim, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    app = api.app
    # when an order is placed and read back
    placed = api.post("/api/v1/orders", json=order_payload(), headers={**admin, "Idempotency-Key": str(uuid.uuid4())})
    read = api.get(f"/api/v1/orders/{placed.json()['number']}", headers=admin)
    # then both answers are the declared OrderOut, with exact values
    assert (placed.status_code, read.status_code) == (201, 200)
    assert declared_model(app, "POST", "/api/v1/orders", 201) is OrderOut
    order = validate_answer(app, placed)
    assert validate_answer(app, read) == order
    assert (order.number, order.status, order.currency, order.pricing, order.tax) == (
        "SO-000001", "created", "EUR", "order", "given"
    )
    assert order.available_actions == ["cancel", "appease", "add"]
    assert order.totals.model_dump() == {
        "product": "18.50", "adjustment": "-0.10", "delivery": "12.50", "tax": "5.88", "grand_total": "36.78"
    }
    assert order.payments == [TokenPaymentOut(method="card", gateway="simulator", token="tok_visa", amount=None)]
    items = order.delivery_groups[0].items
    assert [(i.type, i.sku, i.unit_price, i.total_line_amount) for i in items] == [
        ("product", "BOLT-M8", "0.035", "17.50"),
        ("product", "NUT-M8", "0.333", "0.90"),
        ("delivery_charge", None, "12.50", "12.50"),
    ]
    assert items[1].adjustments[0].model_dump(exclude={"id"}) == {
        "name": "Loyalty discount", "source": "order", "reference": "LOYAL10", "amount": "-0.10"
    }

    # when the order is routed and authorized, and its fulfilment order is read and shipped
    drain(world, gateways)
    listed = validate_answer(app, api.get("/api/v1/fulfillment-orders", headers=admin))
    fo_ref = listed.items[0].number
    fo = validate_answer(app, api.get(f"/api/v1/fulfillment-orders/{fo_ref}", headers=admin))
    shipped_answer = api.post(
        f"/api/v1/fulfillment-orders/{fo_ref}/ship",
        json={"carrier": "DHL", "tracking_numbers": ["00340434161094042557"]}, headers=admin,
    )
    shipped = validate_answer(app, shipped_answer)
    # then they are the declared FulfillmentOrderOut
    assert isinstance(fo, FulfillmentOrderOut) and isinstance(shipped, FulfillmentOrderOut)
    assert (fo.number, fo.status, fo.location, fo.order.number) == ("FO-000001", "allocated", "WH-BER", "SO-000001")
    assert fo.available_actions == ["assign", "ship", "reject", "cancel"]
    assert [(i.sku, i.quantity, i.quantity_remaining) for i in fo.items] == [("BOLT-M8", 500, 500), ("NUT-M8", 3, 3)]
    assert (shipped.status, shipped.available_actions) == ("fulfilled", ["deliver"])
    assert [(s.status, s.carrier, s.tracking_numbers) for s in shipped.shipments] == [
        ("shipped", "DHL", ["00340434161094042557"])
    ]

    # when the shipment is invoiced and the invoice captured
    drain(world, gateways)
    invoices = validate_answer(app, api.get("/api/v1/invoices", params={"order": "SO-000001"}, headers=admin))
    invoice = validate_answer(app, api.get(f"/api/v1/invoices/{invoices.items[0].number}", headers=admin))
    # then the invoice is the declared InvoiceOut, paid, with its lines and the capture applied
    assert isinstance(invoices, Page) and isinstance(invoice, InvoiceOut)
    assert (invoice.number, invoice.kind, invoice.status, invoice.order.number) == (
        "INV-2026-000001", "shipment", "paid", "SO-000001"
    )
    assert invoice.totals.model_dump() == {
        "net": "30.90", "tax": "5.88", "total": "36.78", "applied": "36.78", "balance": "0.00"
    }
    assert invoice.lines is not None and [(ln.sku, ln.quantity, ln.net_amount) for ln in invoice.lines] == [
        ("BOLT-M8", 500, "17.50"), ("NUT-M8", 3, "0.90"), (None, 1, "12.50")
    ]
    assert invoice.applications is not None
    assert [(a.source, a.amount, a.status) for a in invoice.applications] == [("capture", "36.78", "applied")]

    # and the payments and the payment summary are the declared PaymentOut and PaymentSummaryOut
    listed_payments = validate_answer(app, api.get("/api/v1/payments", params={"order": order.id}, headers=admin))
    capture = validate_answer(app, api.get(f"/api/v1/payments/{listed_payments.items[0].id}", headers=admin))
    summaries = validate_answer(
        app, api.get("/api/v1/payment-summaries", params={"order": order.id}, headers=admin)
    )
    assert isinstance(capture, PaymentOut)
    assert [(p.kind, p.status, p.amount) for p in listed_payments.items] == [
        ("capture", "succeeded", "36.78"), ("authorization", "closed", "36.78")
    ]
    assert (capture.refunded, capture.available_to_refund, capture.available_actions) == ("0.00", "36.78", ["refund"])
    assert capture.captured is None  # authorization amounts appear on authorizations only
    summary = summaries.items[0]
    assert isinstance(summary, PaymentSummaryOut)
    assert (summary.method, summary.authorized, summary.captured, summary.available_to_refund) == (
        "card", "36.78", "36.78", "36.78"
    )
