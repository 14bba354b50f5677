"""Idempotency-Key (DESIGN §6) through POST /api/v1/orders: replay, misuse, requests in flight."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from ordino.kernel import clock, idempotency
from ordino.kernel.auth import Role, create_key
from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_BASE, Conflict
from ordino.kernel.idempotency import IdempotencyRecord
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import OutboxEvent, emit
from ordino.orders.models import OrderItemSummary, OrderSummary
from tests import factories

ORDERS = "/api/v1/orders"


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _written(db: Database) -> tuple[int, int, int, int]:
    return (
        _count(db, OrderSummary),
        _count(db, OrderItemSummary),
        _count(db, OutboxEvent),
        _count(db, IdempotencyRecord),
    )


def _key(db: Database) -> tuple[uuid.UUID, dict[str, str]]:
    """An admin key: its id (for the advisory lock) and the Authorization header."""
    row, secret = db.transaction(lambda s: create_key(s, name="integration", role=Role.ADMIN))
    return row.id, {"Authorization": f"Bearer {secret}"}


def test_same_key_and_same_body_replays_the_stored_response(db: Database, client: Any, admin: dict[str, str]) -> None:
    # given an order placed under a key
    factories.intake_world(db)
    key = str(uuid.uuid4())
    first = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    # when the same body is sent again under the same key, with other key order and spacing
    body = factories.order_payload()
    reordered = orjson.dumps(dict(reversed(list(body.items()))), option=orjson.OPT_INDENT_2)
    replay = client.post(
        ORDERS, content=reordered, headers={**admin, "Idempotency-Key": key, "Content-Type": "application/json"}
    )
    # then the stored response comes back byte for byte and nothing more is written
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert _written(db) == (1, 2, 1, 1)


def test_same_key_with_another_body_is_422_and_changes_nothing(
    db: Database, client: Any, admin: dict[str, str]
) -> None:
    factories.intake_world(db)
    key = str(uuid.uuid4())
    first = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    # when another order is sent under the key already used
    r = client.post(
        ORDERS, json=factories.order_payload(external_reference="WEB-10002"), headers={**admin, "Idempotency-Key": key}
    )
    # then it is refused, and the first response is still the one stored
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": PROBLEM_BASE + "validation",
        "title": "The request is not valid",
        "status": 422,
        "detail": "Idempotency-Key: was already used with a different request",
        "errors": [{"field": "Idempotency-Key", "message": "was already used with a different request"}],
        "instance": ORDERS,
    }
    assert _written(db) == (1, 2, 1, 1)
    again = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    assert (again.status_code, again.content) == (201, first.content)


@pytest.mark.parametrize("length", [256, 1000])
def test_a_key_longer_than_255_characters_is_refused(
    db: Database, client: Any, admin: dict[str, str], length: int
) -> None:
    factories.intake_world(db)
    r = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": "k" * length})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "Idempotency-Key", "message": "must be 1 to 255 printable characters"}
    ]
    assert _written(db) == (0, 0, 0, 0)


def test_a_key_of_255_characters_is_accepted(db: Database, client: Any, admin: dict[str, str]) -> None:
    factories.intake_world(db)
    r = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": "k" * 255})
    assert r.status_code == 201
    with db.read() as s:
        assert s.execute(select(IdempotencyRecord.key, IdempotencyRecord.status_code)).all() == [("k" * 255, 201)]


def test_an_empty_key_is_refused(db: Database, client: Any, admin: dict[str, str]) -> None:
    factories.intake_world(db)
    r = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": ""})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "Idempotency-Key", "message": "must be 1 to 255 printable characters"}
    ]
    assert _written(db) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("bad_line", "error"),
    [
        # refused by the service (a reference that does not exist)
        (
            {"sku": "NO-SUCH-SKU", "quantity": 500, "unit_price": "0.0350"},
            {"field": "delivery_groups[0].lines[0].sku", "message": "no product 'NO-SUCH-SKU'"},
        ),
        # refused by the payload schema
        (
            {"sku": "BOLT-M8", "quantity": 0, "unit_price": "0.0350"},
            {"field": "delivery_groups[0].lines[0].quantity", "message": "Input should be greater than 0"},
        ),
    ],
)
def test_a_refused_request_stores_nothing_so_the_key_can_be_reused(
    db: Database, client: Any, admin: dict[str, str], bad_line: dict[str, Any], error: dict[str, str]
) -> None:
    factories.intake_world(db)
    key = str(uuid.uuid4())
    bad = factories.order_payload()
    bad["delivery_groups"][0]["lines"] = [bad_line]
    # when a request is refused under a key
    r = client.post(ORDERS, json=bad, headers={**admin, "Idempotency-Key": key})
    assert r.status_code == 422
    assert r.json()["errors"] == [error]
    # then nothing was stored under the key
    assert _written(db) == (0, 0, 0, 0)
    # and the corrected request may use the same key
    fixed = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers
    assert _written(db) == (1, 2, 1, 1)


def test_keys_belong_to_one_api_key(db: Database, client: Any, admin: dict[str, str]) -> None:
    # given an order placed by one client under a key
    factories.intake_world(db)
    _, other = _key(db)
    key = "order-WEB-10001"
    first = client.post(ORDERS, json=factories.order_payload(), headers={**admin, "Idempotency-Key": key})
    # when another client happens to use the same key
    r = client.post(ORDERS, json=factories.order_payload(), headers={**other, "Idempotency-Key": key})
    # then it is not a replay of the first client's response (the order itself is found by its reference)
    assert r.status_code == 200
    assert "Idempotent-Replayed" not in r.headers
    assert r.json()["id"] == first.json()["id"]
    assert _written(db) == (1, 2, 1, 2)


def test_without_a_key_each_request_runs(db: Database, client: Any, admin: dict[str, str]) -> None:
    factories.intake_world(db)
    first = client.post(ORDERS, json=factories.order_payload(), headers=admin)
    second = client.post(ORDERS, json=factories.order_payload(), headers=admin)
    assert (first.status_code, second.status_code) == (201, 200)
    assert _written(db) == (1, 2, 1, 0)


# --- PostgreSQL: requests in flight -------------------------------------------------------------


def _postgres_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL with real parallel connections")


def test_a_request_whose_key_is_locked_answers_409_on_postgresql(db: Database, client: Any) -> None:
    _postgres_only(db)
    factories.intake_world(db)
    key_id, headers = _key(db)
    key = str(uuid.uuid4())
    lock = idempotency._lock_id(key_id, key)
    with db.engine.connect() as other:
        # given another session holding the key's lock, as a request still running does
        other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock})
        # when a request with that key arrives
        r = client.post(ORDERS, json=factories.order_payload(), headers={**headers, "Idempotency-Key": key})
        # then it is told to come back later, and nothing is written
        assert r.status_code == 409
        assert r.json() == {
            "type": PROBLEM_BASE + "idempotency-in-progress",
            "title": "Conflict with the current state",
            "status": 409,
            "detail": "a request with this Idempotency-Key is still being processed",
            "errors": [],
            "instance": ORDERS,
        }
        assert _written(db) == (0, 0, 0, 0)
        other.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock})
        other.commit()
    # when the lock is gone, the same request goes through
    r = client.post(ORDERS, json=factories.order_payload(), headers={**headers, "Idempotency-Key": key})
    assert r.status_code == 201
    assert _written(db) == (1, 2, 1, 1)


def test_two_concurrent_requests_with_one_key_give_one_201_and_one_409_on_postgresql(
    db: Database, client: Any
) -> None:
    _postgres_only(db)
    factories.intake_world(db)
    _, headers = _key(db)
    headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    with db.read() as s:
        account_id = s.execute(text("SELECT id FROM account")).scalar_one()
        channel_id = s.execute(text("SELECT id FROM sales_channel")).scalar_one()
    first: dict[str, Any] = {}
    with db.engine.connect() as blocker:
        # given the first request stalled half-way: another transaction holds an uncommitted order
        # with the same (channel, external_reference), so the first request's insert waits for it
        now = clock.now()
        blocker.execute(
            insert(OrderSummary),
            [
                {
                    "id": new_id(), "number": "BLOCKER", "account_id": account_id, "channel_id": channel_id,
                    "external_reference": "WEB-10001", "currency": "EUR", "status": "created", "pricing": "order",
                    "prices_include_tax": False, "ordered_at": now, "payment_instructions": [],
                    "created_at": now, "updated_at": now,
                }
            ],
        )
        thread = threading.Thread(
            target=lambda: first.setdefault("r", client.post(ORDERS, json=factories.order_payload(), headers=headers))
        )
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with db.read() as s:
                waiting = s.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            if waiting:
                break
            time.sleep(0.01)
        assert waiting == 1
        # when the second request with the same key arrives while the first is still running
        second = client.post(ORDERS, json=factories.order_payload(), headers=headers)
        # then it answers 409 at once
        assert second.status_code == 409
        assert second.json()["type"] == PROBLEM_BASE + "idempotency-in-progress"
        blocker.rollback()
    thread.join(timeout=30)
    # and the first one completes with 201; one order, one stored response
    assert first["r"].status_code == 201, first["r"].text
    assert _written(db) == (1, 2, 1, 1)
    replay = client.post(ORDERS, json=factories.order_payload(), headers=headers)
    assert (replay.status_code, replay.content) == (201, first["r"].content)


def test_a_request_that_committed_after_the_check_makes_the_late_one_409_on_postgresql(db: Database) -> None:
    """The key's row is read in the same statement that takes the lock, on a snapshot taken just
    before the lock is granted: a request with the same key that commits in between is not seen.
    The late request must then answer 409 (and roll back its work), not fail with a 500."""
    _postgres_only(db)
    key_id, _ = _key(db)
    key = str(uuid.uuid4())

    def work(session: Session) -> tuple[int, bytes]:
        emit(session, "test.happened", None, {})
        # the other request commits its response under the same key while this one is running
        db.transaction(
            lambda other: other.execute(
                insert(IdempotencyRecord),
                [
                    {
                        "api_key_id": key_id, "key": key, "method": "POST", "path": ORDERS,
                        "request_hash": "0" * 64, "status_code": 201, "response_body": b"{}",
                        "created_at": clock.now(),
                    }
                ],
            )
        )
        return 201, b'{"late": true}'

    with pytest.raises(Conflict) as exc:
        idempotency.run(db, work, api_key_id=key_id, key=key, method="POST", path=ORDERS, body=b"{}")
    assert exc.value.slug == "idempotency-in-progress"
    # the late request's work was rolled back; the other request's response is the one stored
    assert _count(db, OutboxEvent) == 0
    with db.read() as s:
        assert s.execute(select(IdempotencyRecord.response_body)).scalars().all() == [b"{}"]
