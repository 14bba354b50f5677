"""Order placements combined in one transaction (orders.placing): each request gets the answer it
would have got alone."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from sqlalchemy import event, func, select

from ordino.inventory import sourcing
from ordino.inventory.models import InventoryPosition
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.idempotency import Command, IdempotencyRecord, Outcome
from ordino.kernel.outbox import OutboxEvent
from ordino.orders import placing
from ordino.orders.models import OrderSummary
from ordino.orders.schemas import OrderIn
from tests import factories

ADMIN = Principal(uuid.UUID("0192f3c4-0000-7000-8000-0000000000bb"), "placer", Role.ADMIN)
PATH = "/api/v1/orders"


@pytest.fixture
def world(db: Database) -> Database:
    """The DESIGN §6 records, and a channel 'shop' that reserves at WH-BER (1,000 BOLT-M8)."""
    factories.intake_world(db)
    factories.channel(db, "shop")
    factories.location(db, "WH-BER")
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=1000)
    db.transaction(lambda s: sourcing.set_sourcing(s, "shop", "location", "WH-BER"))
    return db


def call(reference: str, key: str | None = None, channel: str = "web", sku: str = "BOLT-M8") -> placing.PlaceCall:
    payload = factories.order_payload(external_reference=reference, channel=channel)
    payload["delivery_groups"][0]["lines"][0]["sku"] = sku
    body = orjson.dumps(payload)
    return placing.PlaceCall(Command(ADMIN.key_id, key, "POST", PATH, body), ADMIN, OrderIn.model_validate_json(body))


def doc(result: Any) -> dict[str, Any]:
    assert isinstance(result, Outcome), result
    return orjson.loads(result.body)  # type: ignore[no-any-return]


def orders(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(r.number, r.external_reference) for r in s.execute(
            select(OrderSummary.number, OrderSummary.external_reference).order_by(OrderSummary.number))]


def count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_batch_places_each_order_as_if_alone(world: Database) -> None:
    # when three requests arrive together, the third naming the first one's external reference
    a, b, c = placing.run_calls(world, [call("WEB-1", "k-1"), call("WEB-2"), call("WEB-1", "k-3")])
    # then the first two are placed, and the third finds the first, as it would have alone
    assert [r.status_code for r in (a, b, c) if isinstance(r, Outcome)] == [201, 201, 200]
    assert doc(c)["id"] == doc(a)["id"]
    assert [ref for _, ref in orders(world)] == ["WEB-1", "WEB-2"]
    with world.read() as s:
        created = s.execute(select(OutboxEvent.subject).where(OutboxEvent.type == "order.created")).scalars()
        assert sorted(created) == sorted(f"order/{doc(r)['id']}" for r in (a, b))
    with world.read() as s:
        assert sorted(s.execute(select(IdempotencyRecord.key)).scalars()) == ["k-1", "k-3"]


def test_a_refused_order_fails_alone_and_the_others_are_placed(world: Database) -> None:
    a, b, c = placing.run_calls(world, [call("WEB-1", "k-1"), call("WEB-2", "k-2", sku="NOPE"), call("WEB-3")])
    assert isinstance(b, ValidationFailed)
    assert b.errors == [FieldError("delivery_groups[0].lines[0].sku", "no product 'NOPE'")]
    assert (doc(a)["external_reference"], doc(c)["external_reference"]) == ("WEB-1", "WEB-3")
    # and nothing is kept of the refused one, not even its key
    assert [ref for _, ref in orders(world)] == ["WEB-1", "WEB-3"]
    with world.read() as s:
        assert list(s.execute(select(IdempotencyRecord.key)).scalars()) == ["k-1"]


def test_orders_of_a_channel_that_reserves_at_intake_run_alone(world: Database) -> None:
    alone: list[str] = []

    def spy(db: Database, c: placing.PlaceCall) -> Any:
        alone.append(c.order.external_reference)
        return placing.place_alone(db, c)

    results = placing.run_calls(world, [call("WEB-1"), call("SHOP-1", channel="shop"), call("WEB-2")], alone=spy)
    # then the shop's order ran in a transaction of its own, after the batch, and holds its stock
    assert alone == ["SHOP-1"]
    assert [doc(r)["external_reference"] for r in results] == ["WEB-1", "SHOP-1", "WEB-2"]
    with world.read() as s:
        reserved = s.execute(select(func.sum(InventoryPosition.reserved))).scalar_one()
    assert reserved == 500


def test_a_retry_in_the_same_batch_replays_and_a_reused_key_is_refused(world: Database) -> None:
    first, retry, other = placing.run_calls(world, [call("WEB-1", "k-1"), call("WEB-1", "k-1"), call("WEB-2", "k-1")])
    assert isinstance(first, Outcome) and isinstance(retry, Outcome)
    assert (retry.body, retry.replayed, first.replayed) == (first.body, True, False)
    assert isinstance(other, ValidationFailed)
    assert other.errors == [FieldError("Idempotency-Key", "was already used with a different request")]
    assert orders(world) == [("SO-000001", "WEB-1")]


def test_concurrent_requests_are_each_placed_once(world: Database, client: Any, admin: dict[str, str]) -> None:
    # when 24 requests arrive at once: 16 orders, 8 of them sent twice under new keys
    refs = [f"WEB-{n}" for n in range(16)] + [f"WEB-{n}" for n in range(8)]
    payloads = [factories.order_payload(external_reference=r) for r in refs]

    def post(i: int) -> Any:
        return client.post(PATH, json=payloads[i], headers={**admin, "Idempotency-Key": f"key-{i}"})

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(post, range(24)))
    # then 16 orders exist, each once, and every request names its own
    assert sorted(r.status_code for r in answers) == [200] * 8 + [201] * 16, [r.text for r in answers][:3]
    by_ref = {r.json()["external_reference"]: r.json()["id"] for r in answers if r.status_code == 201}
    assert all(r.json()["id"] == by_ref[r.json()["external_reference"]] for r in answers)
    assert sorted(ref for _, ref in orders(world)) == sorted(set(refs))
    assert len({number for number, _ in orders(world)}) == 16


def test_a_batch_writes_each_table_once(world: Database) -> None:
    sent: list[str] = []

    def on_execute(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()).lower())

    event.listen(world.engine, "before_cursor_execute", on_execute)
    try:
        results = placing.run_calls(world, [call(f"WEB-{n}", f"k-{n}") for n in range(4)])
    finally:
        event.remove(world.engine, "before_cursor_execute", on_execute)
    assert [doc(r)["number"] for r in results] == ["SO-000001", "SO-000002", "SO-000003", "SO-000004"]
    # then the four orders' references were read, and their rows written, with one statement per table
    for table in ("order_summary", "order_delivery_group_summary", "order_item_summary", "status_history",
                  "outbox_event", "idempotency_key"):
        assert sum(s.startswith(f"insert into {table} ") for s in sent) == 1, (table, sent)
    for columns in ("account.id, account.number, account.status", "sales_channel.id, sales_channel.code",
                    "product.id, product.sku", "order_summary.id, order_summary.channel_id"):
        assert sum(s.startswith(f"select {columns}") for s in sent) == 1, (columns, sent)
