"""POST /api/v1/orders: placement, derived totals, idempotency (DESIGN §6)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ordino.kernel.outbox import OutboxEvent
from ordino.orders.models import OrderItemSummary, OrderSummary
from tests import factories


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_design_example_is_placed_with_exact_totals(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given the records the example names
    factories.intake_world(db)
    # when it is placed
    headers = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    r = client.post("/api/v1/orders", json=factories.order_payload(), headers=headers)
    # then it is created with totals derived to the cent: 500 × 0.0350 = 17.50, + 12.50 shipping, and
    # (no tax lines given) Ordino's 19 % VAT of a German sale to a German business: 5.70
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["number"] == "SO-000001"
    assert doc["status"] == "created"
    assert doc["totals"] == {
        "product": "17.50", "adjustment": "0.00", "delivery": "12.50", "tax": "5.70", "grand_total": "35.70"
    }
    items = doc["delivery_groups"][0]["items"]
    assert [(i["type"], i["sku"], i["unit_price"], i["line_amount"]) for i in items] == [
        ("product", "BOLT-M8", "0.035", "17.50"),
        ("delivery_charge", None, "12.50", "12.50"),
    ]
    assert items[0]["quantities"]["available_to_fulfill"] == 500
    with db.read() as s:
        events = s.execute(select(OutboxEvent.type, OutboxEvent.subject)).all()
    assert [(e.type, e.subject) for e in events] == [("order.created", f"order/{doc['id']}")]


def test_same_idempotency_key_replays_and_new_key_returns_same_order(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    key = str(uuid.uuid4())
    first = client.post("/api/v1/orders", json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    # when the same request is sent again with the same key
    replay = client.post("/api/v1/orders", json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    # then the stored response is replayed byte for byte
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    # when it is sent with a new key, the (channel, external_reference) finds the same order
    new_key = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    again = client.post("/api/v1/orders", json=factories.order_payload(), headers=new_key)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert _count(db, OrderSummary) == 1
    assert _count(db, OrderItemSummary) == 2


def test_same_key_with_another_body_is_refused(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.intake_world(db)
    key = str(uuid.uuid4())
    client.post("/api/v1/orders", json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    r = client.post(
        "/api/v1/orders",
        json=factories.order_payload(external_reference="WEB-10002"),
        headers={**admin, "Idempotency-Key": key},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "Idempotency-Key", "message": "was already used with a different request"}]
    assert _count(db, OrderSummary) == 1
