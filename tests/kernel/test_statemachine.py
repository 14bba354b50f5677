"""kernel.statemachine: lifecycles as data; a transition writes its history row and its event."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_BASE, Conflict
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.problem_handlers import problem_response
from ordino.kernel.statemachine import Lifecycle, StatusHistory, apply
from ordino.orders.domain import ORDER_LIFECYCLE
from ordino.orders.models import OrderSummary
from tests import factories

APPROVED_AT = datetime(2026, 11, 27, 8, 15, 30, tzinfo=UTC)


@pytest.fixture
def fixed_clock() -> Iterator[datetime]:
    clock.set_clock(lambda: APPROVED_AT)
    yield APPROVED_AT
    clock.set_clock(None)


def _place(db: Database, client: Any, headers: dict[str, str]) -> str:
    factories.intake_world(db)
    r = client.post("/api/v1/orders", json=factories.order_payload(), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _history(db: Database, entity_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with db.read() as s:
        rows = s.execute(
            select(
                StatusHistory.action,
                StatusHistory.from_status,
                StatusHistory.to_status,
                StatusHistory.actor,
                StatusHistory.reason,
            )
            .where(StatusHistory.entity_type == "order", StatusHistory.entity_id == entity_id)
            .order_by(StatusHistory.id)  # UUIDv7: the order of writing
        ).all()
    return [tuple(r) for r in rows]


def _events(db: Database) -> list[dict[str, Any]]:
    """The CloudEvents envelopes in the outbox, in delivery order."""
    with db.read() as s:
        return [e.envelope() for e in s.execute(select(OutboxEvent).order_by(OutboxEvent.position)).scalars()]


def _count(db: Database, model: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


# --- the table ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"table": [("go", ["draft"], "gone")]},
            "thing: unknown states ['gone'] in 'go'",
        ),
        (
            {"table": [("go", ["draft", "limbo"], "done")]},
            "thing: unknown states ['limbo'] in 'go'",
        ),
        (
            {"initial": "new", "table": [("go", ["draft"], "done")]},
            "thing: initial state 'new' is not a state",
        ),
        (
            {"table": [("go", ["draft"], "done")], "terminal": ["finished"]},
            "thing: unknown terminal states ['finished']",
        ),
        (
            {"table": [("go", ["draft"], "done"), ("go", ["done"], "draft")]},
            "thing: action 'go' is declared twice",
        ),
    ],
)
def test_build_rejects_unknown_states_and_duplicate_actions(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"entity": "thing", "states": ["draft", "done"], "initial": "draft", **kwargs}
    with pytest.raises(ValueError) as exc:
        Lifecycle.build(**arguments)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("created", ["hold_for_approval", "approve", "cancel"]),
        ("pending_approval", ["approve", "reject", "cancel"]),
        ("approved", ["cancel", "fulfill_partially", "fulfill"]),
        ("partially_fulfilled", ["fulfill"]),
        ("fulfilled", ["close", "reopen"]),
        ("cancelled", ["close"]),
        ("closed", []),
    ],
)
def test_actions_from_lists_the_available_actions(status: str, actions: list[str]) -> None:
    assert ORDER_LIFECYCLE.actions_from(status) == actions


def test_event_types_are_entity_dot_target() -> None:
    assert ORDER_LIFECYCLE.event_type("approve") == "order.approved"
    assert ORDER_LIFECYCLE.event_type("reject") == "order.cancelled"
    assert ORDER_LIFECYCLE.event_type("fulfill_partially") == "order.partially_fulfilled"


def test_an_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError) as exc:
        ORDER_LIFECYCLE.target("created", "teleport")
    assert str(exc.value) == "order: no action 'teleport'"


def test_every_order_state_is_reachable_and_terminal_states_are_final() -> None:
    reached = {ORDER_LIFECYCLE.initial}
    frontier = [ORDER_LIFECYCLE.initial]
    while frontier:
        status = frontier.pop()
        for action in ORDER_LIFECYCLE.actions_from(status):
            target = ORDER_LIFECYCLE.target(status, action)
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == ORDER_LIFECYCLE.states
    assert [ORDER_LIFECYCLE.actions_from(s) for s in sorted(ORDER_LIFECYCLE.terminal)] == [[]]


@given(st.lists(st.sampled_from(sorted(ORDER_LIFECYCLE.transitions)), max_size=30))
def test_any_sequence_of_actions_keeps_the_order_in_a_known_state(actions: list[str]) -> None:
    # given an order in its initial state, when any actions are tried in any order
    status = ORDER_LIFECYCLE.initial
    for action in actions:
        allowed = action in ORDER_LIFECYCLE.actions_from(status)
        try:
            after = ORDER_LIFECYCLE.target(status, action)
        except Conflict as exc:
            # then a refused action is exactly one the table does not offer, and says what is offered
            assert not allowed
            assert exc.status == 409
            assert exc.extra == {
                "current_status": status,
                "available_actions": ORDER_LIFECYCLE.actions_from(status),
            }
            continue
        assert allowed
        assert after in ORDER_LIFECYCLE.states
        status = after
    assert status in ORDER_LIFECYCLE.states


# --- applying a transition ----------------------------------------------------------------------


def test_apply_changes_the_status_and_writes_history_and_a_cloudevent(
    db: Database, client: Any, admin: dict[str, str], fixed_clock: datetime
) -> None:
    # given an order placed through the API
    order_id = uuid.UUID(_place(db, client, admin))

    # when it is approved
    def approve(session: Session) -> str:
        order = session.get_one(OrderSummary, order_id)
        return apply(
            session,
            ORDER_LIFECYCLE,
            order,
            "approve",
            actor="agent:alice",
            reason="credit checked",
            data={"approved_by": "alice"},
        )

    assert db.transaction(approve) == "approved"
    # then the order is approved, the history shows both steps, and the event is in the outbox
    with db.read() as s:
        assert s.get_one(OrderSummary, order_id).status == "approved"
    assert _history(db, order_id) == [
        ("create", None, "created", "admin:test admin", None),
        ("approve", "created", "approved", "agent:alice", "credit checked"),
    ]
    with db.read() as s:
        at = s.execute(select(StatusHistory.at).where(StatusHistory.action == "approve")).scalar_one()
    assert at == APPROVED_AT
    events = _events(db)
    assert [e["type"] for e in events] == ["order.created", "order.approved"]
    envelope = events[1]
    assert envelope == {
        "specversion": "1.0",
        "id": envelope["id"],
        "source": "/ordino",
        "type": "order.approved",
        "subject": f"order/{order_id}",
        "time": "2026-11-27T08:15:30+00:00",
        "datacontenttype": "application/json",
        "data": {
            "id": str(order_id),
            "from_status": "created",
            "status": "approved",
            "action": "approve",
            "reason": "credit checked",
            "approved_by": "alice",
        },
    }
    assert uuid.UUID(envelope["id"]).version == 7


def test_an_invalid_transition_is_a_409_problem_and_writes_nothing(
    db: Database, client: Any, admin: dict[str, str]
) -> None:
    # given an order that was just created
    order_id = uuid.UUID(_place(db, client, admin))
    history_before, events_before = _count(db, StatusHistory), _count(db, OutboxEvent)
    seen: dict[str, Any] = {}

    # when it is fulfilled before being approved
    def fulfill(session: Session) -> None:
        order = session.get_one(OrderSummary, order_id)
        try:
            apply(session, ORDER_LIFECYCLE, order, "fulfill", actor="agent:alice")
        finally:
            seen["status"] = order.status
        session.flush()

    with pytest.raises(Conflict) as exc:
        db.transaction(fulfill)
    # then the refusal is a 409 problem naming the state and the actions that are available
    response = problem_response(exc.value, f"/api/v1/orders/{order_id}")
    assert response.status_code == 409
    assert response.media_type == "application/problem+json"
    assert orjson.loads(bytes(response.body)) == {
        "type": PROBLEM_BASE + "invalid-transition",
        "title": "Conflict with the current state",
        "status": 409,
        "detail": "cannot fulfill an order that is created",
        "errors": [],
        "instance": f"/api/v1/orders/{order_id}",
        "current_status": "created",
        "available_actions": ["hold_for_approval", "approve", "cancel"],
    }
    # and nothing changed: not the record in memory, not the row, no history, no event
    assert seen == {"status": "created"}
    with db.read() as s:
        assert s.get_one(OrderSummary, order_id).status == "created"
    assert (_count(db, StatusHistory), _count(db, OutboxEvent)) == (history_before, events_before)


def test_a_chain_of_transitions_is_recorded_in_order(
    db: Database, client: Any, admin: dict[str, str]
) -> None:
    order_id = uuid.UUID(_place(db, client, admin))
    for action in ("hold_for_approval", "approve", "fulfill_partially", "fulfill", "close"):
        db.transaction(
            lambda s, a=action: apply(s, ORDER_LIFECYCLE, s.get_one(OrderSummary, order_id), a)
        )
    assert [(h[1], h[2]) for h in _history(db, order_id)] == [
        (None, "created"),
        ("created", "pending_approval"),
        ("pending_approval", "approved"),
        ("approved", "partially_fulfilled"),
        ("partially_fulfilled", "fulfilled"),
        ("fulfilled", "closed"),
    ]
    assert [e["type"] for e in _events(db)] == [
        "order.created",
        "order.pending_approval",
        "order.approved",
        "order.partially_fulfilled",
        "order.fulfilled",
        "order.closed",
    ]
    r = client.get(f"/api/v1/orders/{order_id}", headers=admin)
    assert (r.json()["status"], r.json()["available_actions"]) == ("closed", [])
