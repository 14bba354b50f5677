"""RFC 9457 problem details (DESIGN §6): the shape of every refusal, and field paths."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.errors import (
    PROBLEM_BASE,
    Conflict,
    FieldError,
    PreconditionRequired,
    ValidationFailed,
    field_path,
)
from ordino.kernel.http import check_if_match, decode_cursor, encode_cursor
from ordino.kernel.problem_handlers import install_problem_handlers
from ordino.orders.models import OrderSummary
from tests import factories
from tests.conftest import api_key

PROBLEM_JSON = "application/problem+json"


def _orders(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(OrderSummary)).scalar_one())


def test_401_without_a_key(db: Database, client: Any) -> None:
    r = client.get("/api/v1/orders")
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {
        "type": PROBLEM_BASE + "unauthorized",
        "title": "Authentication required",
        "status": 401,
        "detail": "send 'Authorization: Bearer <api key>'",
        "errors": [],
        "instance": "/api/v1/orders",
    }


@pytest.mark.parametrize("authorization", ["Bearer ordino_not-a-key", "Basic dXNlcjpwYXNz", "ordino_not-a-key"])
def test_401_with_a_key_that_is_not_valid(db: Database, client: Any, authorization: str) -> None:
    factories.intake_world(db)
    r = client.post("/api/v1/orders", json=factories.order_payload(), headers={"Authorization": authorization})
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["type"] == PROBLEM_BASE + "unauthorized"
    assert _orders(db) == 0


def test_403_for_a_role_that_may_not_place_orders(db: Database, client: Any) -> None:
    factories.intake_world(db)
    r = client.post("/api/v1/orders", json=factories.order_payload(), headers=api_key(db, Role.FULFILLMENT))
    assert r.status_code == 403
    assert r.json() == {
        "type": PROBLEM_BASE + "forbidden",
        "title": "Not allowed",
        "status": 403,
        "detail": "the role 'fulfillment' may not do this",
        "errors": [],
        "instance": "/api/v1/orders",
    }
    assert _orders(db) == 0


def test_404_for_an_unknown_route(client: Any, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/no-such-thing", headers=admin)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json() == {
        "type": PROBLEM_BASE + "http-404",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "errors": [],
        "instance": "/api/v1/no-such-thing",
    }


@pytest.mark.parametrize("ref", ["SO-999999", str(uuid.UUID(int=7)), "not-an-order"])
def test_404_for_an_unknown_order(client: Any, admin: dict[str, str], ref: str) -> None:
    r = client.get(f"/api/v1/orders/{ref}", headers=admin)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json() == {
        "type": PROBLEM_BASE + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": "order not found",
        "errors": [],
        "instance": f"/api/v1/orders/{ref}",
    }


def test_405_for_a_method_the_route_does_not_have(client: Any, admin: dict[str, str]) -> None:
    r = client.delete("/api/v1/orders/SO-000001", headers=admin)
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["type"] == PROBLEM_BASE + "http-405"


def test_422_names_every_field_with_its_path(db: Database, client: Any, admin: dict[str, str]) -> None:
    factories.intake_world(db)
    body = factories.order_payload(currency="eur")
    body["delivery_groups"][0]["lines"][0]["quantity"] = 0
    r = client.post("/api/v1/orders", json=body, headers=admin)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json() == {
        "type": PROBLEM_BASE + "validation",
        "title": "The request is not valid",
        "status": 422,
        "detail": "2 fields are not valid",
        "errors": [
            {"field": "currency", "message": "String should match pattern '^[A-Z]{3}$'"},
            {"field": "delivery_groups[0].lines[0].quantity", "message": "Input should be greater than 0"},
        ],
        "instance": "/api/v1/orders",
    }
    assert _orders(db) == 0


def test_422_for_query_parameters(client: Any, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/orders?limit=many", headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "limit", "message": "Input should be a valid integer, unable to parse string as an integer"}
    ]


def test_500_hides_the_error_behind_a_problem() -> None:
    # given an app whose handler fails unexpectedly
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2")

    # then the client gets a problem without the error's text
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json() == {
        "type": PROBLEM_BASE + "internal",
        "title": "Internal error",
        "status": 500,
        "detail": "An unexpected error occurred; it has been logged.",
        "errors": [],
        "instance": "/boom",
    }
    assert "hunter2" not in r.text


def test_extension_members_never_replace_the_standard_ones() -> None:
    problem = Conflict("busy", extra={"status": "created", "title": "x", "retry_after": 3})
    assert problem.body("/x") == {
        "type": PROBLEM_BASE + "conflict",
        "title": "Conflict with the current state",
        "status": 409,
        "detail": "busy",
        "errors": [],
        "instance": "/x",
        "retry_after": 3,
    }


@pytest.mark.parametrize(
    ("errors", "detail"),
    [
        ([FieldError("currency", "is unknown")], "currency: is unknown"),
        ([FieldError("a", "x"), FieldError("b", "y")], "2 fields are not valid"),
    ],
)
def test_validation_detail_summarises_the_errors(errors: list[FieldError], detail: str) -> None:
    assert ValidationFailed(errors).detail == detail


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "delivery_groups", 0, "lines", 1, "sku"), "delivery_groups[0].lines[1].sku"),
        (("delivery_groups", 0, "ship_to", "city"), "delivery_groups[0].ship_to.city"),
        (("query", "limit"), "limit"),
        (("header", "Idempotency-Key"), "Idempotency-Key"),
        (("body",), "body"),
        ((), "body"),
        (("payments", 0, "function-after", "token"), "payments[0].token"),
        (("matrix", 0, 1), "matrix[0][1]"),
        # without the payload, a union tag cannot be told from a field
        (("payments", 0, "card", "token"), "payments[0].card.token"),
    ],
)
def test_field_path(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


@pytest.mark.parametrize(
    ("loc", "data", "path"),
    [
        # the tag of a discriminated union is not a field of the payload
        (("payments", 0, "card", "token"), {"payments": [{"method": "card", "token": "x"}]}, "payments[0].token"),
        (("payments", 1, "invoice", "terms"), {"payments": [{}, {"method": "invoice"}]}, "payments[1].terms"),
        # a missing field is named although the payload does not have it
        (
            ("delivery_groups", 0, "ship_to", "city"),
            {"delivery_groups": [{"ship_to": {}}]},
            "delivery_groups[0].ship_to.city",
        ),
        (("foo",), {"foo": 1}, "foo"),
        (("lines", 3, "sku"), {"lines": []}, "lines[3].sku"),
    ],
)
def test_field_path_with_the_payload(loc: tuple[int | str, ...], data: Any, path: str) -> None:
    assert field_path(loc, data) == path


def test_cursors_round_trip_and_foreign_cursors_are_422() -> None:
    some_id = uuid.UUID("01a2163a-ca9b-77c8-bb7e-310bcf7d5bb2")
    assert decode_cursor(encode_cursor(some_id)) == some_id
    for bad in ("abc", "é", "!!!!", encode_cursor(some_id) + "AA"):
        with pytest.raises(ValidationFailed) as exc:
            decode_cursor(bad)
        assert exc.value.errors == [FieldError("cursor", "is not a cursor this API returned")]


def test_if_match() -> None:
    check_if_match('"3"', 3)
    check_if_match('W/"3"', 3)
    with pytest.raises(PreconditionRequired) as missing:
        check_if_match(None, 3)
    assert (missing.value.status, missing.value.slug) == (428, "precondition-required")
    with pytest.raises(Conflict) as stale:
        check_if_match('"2"', 3)
    assert stale.value.body() == {
        "type": PROBLEM_BASE + "version-conflict",
        "title": "Conflict with the current state",
        "status": 409,
        "detail": "the record was changed (version 3); reload it and try again",
        "errors": [{"field": "If-Match", "message": "does not match the current version 3"}],
        "current_version": 3,
    }
