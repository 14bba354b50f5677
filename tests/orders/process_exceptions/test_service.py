"""Process exceptions: raising, the lifecycle with an exact count of active ones on the order,
de-duplication, the API (list, filters, read, actions), roles and concurrency."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict, NotFound
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import StatusHistory
from ordino.orders.models import OrderSummary
from ordino.orders.process_exceptions import service as exceptions
from ordino.orders.process_exceptions.models import ProcessException
from tests import factories
from tests.conftest import api_key

PES = "/api/v1/process-exceptions"


@pytest.fixture
def order_id(db: Database, client: Any, admin: dict[str, str]) -> uuid.UUID:
    factories.intake_world(db)
    r = client.post("/api/v1/orders", json=factories.order_payload(), headers=admin)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def raise_one(db: Database, order_id: uuid.UUID | None, **kw: Any) -> uuid.UUID:
    fields: dict[str, Any] = {"category": "fulfillment", "message": "cannot route", "attached_to_type": "order_summary",
                              "attached_to_id": order_id or uuid.UUID(int=7), "order_summary_id": order_id, **kw}
    return db.transaction(lambda s: exceptions.raise_process_exception(s, **fields))


def active_count(db: Database, order_id: uuid.UUID) -> int:
    with db.read() as s:
        return int(s.execute(select(OrderSummary.active_process_exception_count)
                             .where(OrderSummary.id == order_id)).scalar_one())


def state(db: Database) -> tuple[Any, ...]:
    with db.read() as s:
        rows = s.execute(select(ProcessException.status, ProcessException.version).order_by(ProcessException.id)).all()
        events = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
        history = s.execute(select(func.count()).select_from(StatusHistory)).scalar_one()
    return [tuple(r) for r in rows], events, history


def test_raising_counts_it_on_the_order_and_says_so(db: Database, order_id: uuid.UUID) -> None:
    # when a process exception is raised for the order
    pe = raise_one(db, order_id, severity="low", priority=4, description="details")
    # then it is New, the order counts one active exception, and an event says so
    assert active_count(db, order_id) == 1
    with db.read() as s:
        row = s.get_one(ProcessException, pe)
        assert (row.category, row.severity, row.priority, row.status, row.message, row.description) == (
            "fulfillment", "low", 4, "new", "cannot route", "details")
        event = s.execute(select(OutboxEvent.type, OutboxEvent.data).order_by(OutboxEvent.position.desc())).first()
    assert event is not None
    assert (event[0], event[1]) == ("process_exception.created", {
        "id": str(pe), "category": "fulfillment", "severity": "low", "priority": 4, "message": "cannot route",
        "attached_to": {"type": "order_summary", "id": str(order_id)}, "order_id": str(order_id),
            "step": None})


def test_the_active_count_follows_the_lifecycle_exactly(db: Database, order_id: uuid.UUID) -> None:
    first, second = raise_one(db, order_id), raise_one(db, order_id)
    assert active_count(db, order_id) == 2

    def move(pe: uuid.UUID, action: str) -> str:
        return db.transaction(lambda s: exceptions.transition(s, pe, action, actor="agent:ann", reason=action))

    # moves between active statuses change nothing; leaving them counts down once
    assert [move(first, "triage"), move(first, "pause"), move(first, "triage")] == ["triaged", "paused", "triaged"]
    assert active_count(db, order_id) == 2
    assert move(first, "resolve") == "resolved"
    assert active_count(db, order_id) == 1
    assert move(second, "ignore") == "ignored"
    assert active_count(db, order_id) == 0
    # and a finished one cannot move again: 409, nothing written, the count stays 0
    before = state(db)
    with pytest.raises(Conflict) as caught:
        move(first, "void")
    assert (caught.value.slug, caught.value.extra) == ("invalid-transition",
                                                       {"current_status": "resolved", "available_actions": []})
    assert state(db) == before
    assert active_count(db, order_id) == 0


def test_raising_twice_under_one_dedup_key_gives_one_exception(db: Database, order_id: uuid.UUID) -> None:
    a = raise_one(db, order_id, dedup_key="event:42")
    b = raise_one(db, order_id, dedup_key="event:42")
    assert a == b
    assert active_count(db, order_id) == 1
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(ProcessException)).scalar_one() == 1


def test_an_exception_without_an_order(db: Database) -> None:
    pe = raise_one(db, None, category="inventory")
    assert db.transaction(lambda s: exceptions.transition(s, pe, "void")) == "voided"


def test_values_are_checked(db: Database) -> None:
    for bad in ({"category": "weather"}, {"severity": "medium"}, {"priority": 9}):
        with pytest.raises(ValueError):
            raise_one(db, None, **bad)
    with pytest.raises(NotFound):
        db.transaction(lambda s: exceptions.transition(s, uuid.uuid4(), "resolve"))


def test_the_api_lists_filters_reads_and_acts(db: Database, client: Any, admin: dict[str, str],
                                              order_id: uuid.UUID) -> None:
    fulfillment = raise_one(db, order_id)
    payment = raise_one(db, order_id, category="payment", severity="low")
    loose = raise_one(db, None, category="other")

    def ids(**params: Any) -> list[str]:
        r = client.get(PES, params=params, headers=admin)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert ids() == [str(loose), str(payment), str(fulfillment)]  # newest first
    assert ids(category="payment") == [str(payment)]
    assert ids(order="SO-000001") == [str(payment), str(fulfillment)]
    assert ids(order=str(order_id), severity="high") == [str(fulfillment)]
    assert ids(order="SO-999999") == []
    assert ids(limit=1) == [str(loose)]
    assert client.get(PES, params={"status": "open"}, headers=admin).status_code == 422
    # when one is triaged and resolved through the API
    r = client.post(f"{PES}/{fulfillment}/triage", json={"reason": "looking"}, headers=admin)
    assert (r.status_code, r.json()["status"], r.json()["available_actions"]) == (
        200, "triaged", ["pause", "ignore", "void", "resolve"])
    r = client.post(f"{PES}/{fulfillment}/resolve", headers={**admin, "Idempotency-Key": "r1"})
    assert (r.status_code, r.json()["status"], r.json()["active"]) == (200, "resolved", False)
    # then it reads with its history, and the order counts one active exception
    doc = client.get(f"{PES}/{fulfillment}", headers=admin).json()
    assert [(h["from_status"], h["to_status"], h["action"], h["reason"]) for h in doc["history"]] == [
        (None, "new", "create", None), ("new", "triaged", "triage", "looking"),
        ("triaged", "resolved", "resolve", None)]
    assert (doc["order"], doc["attached_to"]) == ({"id": str(order_id), "number": "SO-000001"},
                                                  {"type": "order_summary", "id": str(order_id)})
    assert active_count(db, order_id) == 1
    assert client.get(f"/api/v1/orders/{order_id}", headers=admin).json()["active_process_exception_count"] == 1
    assert ids(status="resolved") == [str(fulfillment)]
    assert ids(active=True) == [str(loose), str(payment)]
    # and refusals
    before = state(db)
    r = client.post(f"{PES}/{fulfillment}/pause", headers=admin)
    assert (r.status_code, r.json()["type"]) == (409, "https://ordino.dev/problems/invalid-transition")
    assert r.json()["current_status"] == "resolved"
    assert client.post(f"{PES}/{fulfillment}/reopen", headers=admin).status_code == 404
    assert client.post(f"{PES}/{uuid.uuid4()}/resolve", headers=admin).status_code == 404
    assert client.get(f"{PES}/not-an-id", headers=admin).status_code == 404
    assert client.post(f"{PES}/{payment}/resolve", json={"reason": ""}, headers=admin).status_code == 422
    assert state(db) == before


def test_roles(db: Database, client: Any, order_id: uuid.UUID) -> None:
    pe = raise_one(db, order_id)
    agent = api_key(db, Role.AGENT)
    assert client.get(PES, headers=agent).status_code == 200
    assert client.post(f"{PES}/{pe}/triage", headers=agent).status_code == 200
    for role in (Role.BUYER, Role.FULFILLMENT, Role.FINANCE):
        headers = api_key(db, role)
        assert client.get(PES, headers=headers).status_code == 403
        assert client.post(f"{PES}/{pe}/resolve", headers=headers).status_code == 403


def test_concurrent_resolutions_count_down_once(db: Database, order_id: uuid.UUID) -> None:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    pes = [raise_one(db, order_id) for _ in range(5)]
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def worker(pe: uuid.UUID, action: str) -> None:
        barrier.wait()
        try:
            db.transaction(lambda s: exceptions.transition(s, pe, action))
            result = "ok"
        except Conflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    # when 4 requests race on each of 5 exceptions (resolve, void, ignore, resolve)
    threads = [threading.Thread(target=worker, args=(pe, action)) for pe in pes
               for action in ("resolve", "void", "ignore", "resolve")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly one per exception won, and the count is exactly 0
    assert sorted(outcomes).count("ok") == 5
    assert active_count(db, order_id) == 0
