"""Input the API refuses before it reaches the database: NUL characters (body, query, path),
non-finite numbers, bodies past the size limit (413), bodies that are not JSON (415); and an
unexpected error still answers a problem (500) without breaking the connection."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.accounts.models import Account
from ordino.app import create_app
from ordino.inventory.models import InventoryReservation
from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_BASE, PROBLEM_JSON
from ordino.kernel.idempotency import IdempotencyRecord
from ordino.kernel.outbox import OutboxEvent
from ordino.orders.models import OrderSummary
from ordino.settings import Settings
from tests import factories

ACCOUNTS = "/api/v1/accounts"
ORDERS = "/api/v1/orders"
RESERVATIONS = "/api/v1/reservations"
NEW_ACCOUNT = {"number": "NEW-1", "name": "New GmbH", "currency": "EUR"}


def _counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {m.__tablename__: int(s.execute(select(func.count()).select_from(m)).scalar_one())
                for m in (Account, OrderSummary, InventoryReservation, OutboxEvent, IdempotencyRecord)}


def _problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = r.json()
    assert (problem["type"], problem["status"]) == (PROBLEM_BASE + slug, status)
    return problem


@pytest.fixture
def world(db: Database) -> Database:
    factories.intake_world(db)
    factories.location(db, "WH-BER")
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=100)
    return db


# ------------------------------------------------------------------------------------------------
# NUL characters


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({**NEW_ACCOUNT, "name": "a\u0000b"}, "name", id="top-level"),
        pytest.param({**NEW_ACCOUNT, "credit_limit": {"amount": "10.00", "currency": "EU\u0000"}},
                     "credit_limit.currency", id="nested"),
        pytest.param({**NEW_ACCOUNT, "na\u0000me": "x"}, "na\\u0000me", id="in-a-name"),
    ],
)
def test_a_nul_character_in_a_body_is_refused_naming_the_field(
    world: Database, client: TestClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    # given the counts before
    before = _counts(world)
    # when an account is created with a NUL character in one of its strings
    r = client.post(ACCOUNTS, json=body, headers=admin)
    # then it is refused naming the field, and nothing was written
    problem = _problem(r, 422, "validation")
    assert problem["errors"] == [{"field": field, "message": "must not contain the NUL character (\\u0000)"}]
    assert _counts(world) == before


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    # when a name holds the six characters \u0000 (a backslash, then u0000)
    r = client.post(ACCOUNTS, json={**NEW_ACCOUNT, "name": "a\\u0000b"}, headers=admin)
    # then it is an ordinary name
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "a\\u0000b"


def test_a_nul_character_in_a_query_parameter_is_refused_naming_it(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    r = client.get(f"{ACCOUNTS}?limit=10&q=a%00b", headers=admin)
    problem = _problem(r, 422, "validation")
    assert problem["errors"] == [{"field": "q", "message": "must not contain the NUL character (\\u0000)"}]


def test_a_nul_character_in_a_path_parameter_is_refused_naming_it(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    r = client.get(f"{ORDERS}/SO%00001", headers=admin)
    problem = _problem(r, 422, "validation")
    assert problem["errors"] == [{"field": "order_ref", "message": "must not contain the NUL character (\\u0000)"}]


def test_a_nul_character_in_a_path_no_route_has_is_not_found(world: Database, client: TestClient) -> None:
    _problem(client.get("/api/v1/no-such%00thing"), 404, "http-404")


# ------------------------------------------------------------------------------------------------
# Non-finite numbers: NaN and Infinity are not JSON, but parsers accept them


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_non_finite_quantity_of_an_order_is_refused_naming_the_field(
    world: Database, client: TestClient, admin: dict[str, str], literal: bytes
) -> None:
    # given an order whose quantity is NaN or ±Infinity
    before = _counts(world)
    body = orjson.dumps(factories.order_payload()).replace(b'"quantity":500', b'"quantity":' + literal)
    assert literal in body
    # when it is placed (with an Idempotency-Key: the body is hashed too)
    r = client.post(ORDERS, content=body, headers={**admin, "Content-Type": "application/json",
                                                    "Idempotency-Key": str(uuid.uuid4())})
    # then it is refused naming the field, and nothing was written
    problem = _problem(r, 422, "validation")
    assert problem["errors"] == [{"field": "delivery_groups[0].lines[0].quantity",
                                  "message": "must be a finite number: NaN and Infinity are not JSON"}]
    assert _counts(world) == before


def test_a_non_finite_quantity_of_a_reservation_is_refused_naming_the_field(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    before = _counts(world)
    body = b'{"reference": "CART-1", "lines": [{"sku": "BOLT-M8", "location": "WH-BER", "quantity": NaN}]}'
    r = client.post(RESERVATIONS, content=body, headers={**admin, "Content-Type": "application/json"})
    problem = _problem(r, 422, "validation")
    assert problem["errors"] == [{"field": "lines[0].quantity",
                                  "message": "must be a finite number: NaN and Infinity are not JSON"}]
    assert _counts(world) == before


def test_nan_where_a_string_belongs_is_refused_too(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    body = json.dumps({**NEW_ACCOUNT, "name": math.nan})  # the standard library writes NaN
    r = client.post(ACCOUNTS, content=body, headers={**admin, "Content-Type": "application/json"})
    problem = _problem(r, 422, "validation")
    assert problem["errors"] == [{"field": "name", "message": "must be a finite number: NaN and Infinity are not JSON"}]


# ------------------------------------------------------------------------------------------------
# Body size


def _app(db: Database, **limits: int) -> FastAPI:
    return create_app(Settings(database_url=db.url, run_worker=False, **limits), db=db)  # type: ignore[arg-type]


async def _call(app: FastAPI, method: str, path: str, headers: dict[str, str],
                chunks: Iterator[bytes]) -> tuple[int, dict[str, str], bytes, int]:
    """One request straight through ASGI: its status, headers and body, and how many body chunks
    the app took from the client."""
    taken = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal taken
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        taken += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "state": {},
    }
    await app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"], taken


def _endless(size: int = 64 * 1024) -> Iterator[bytes]:
    while True:
        yield b" " * size


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(
    world: Database, admin: dict[str, str]
) -> None:
    # given an app whose bodies may have 1 MiB
    app = _app(world, max_body_bytes=1024 * 1024)
    before = _counts(world)
    # when an order declares 300 MB
    status, headers, body, taken = asyncio.run(_call(
        app, "POST", ORDERS, {**admin, "content-type": "application/json", "content-length": str(300_000_000)},
        _endless()))
    # then it is refused at once: 413, not one chunk read, nothing written
    assert (status, headers["content-type"], taken) == (413, PROBLEM_JSON, 0)
    problem = orjson.loads(body)
    assert (problem["type"], problem["detail"]) == (
        PROBLEM_BASE + "body-too-large", "the request body is larger than 1048576 bytes")
    assert _counts(world) == before


def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    world: Database, admin: dict[str, str]
) -> None:
    # given an app whose bodies may have 1 MiB
    app = _app(world, max_body_bytes=1024 * 1024)
    before = _counts(world)
    # when an order is sent without Content-Length, endlessly, 64 KiB at a time
    status, headers, body, taken = asyncio.run(_call(
        app, "POST", ORDERS, {**admin, "content-type": "application/json", "transfer-encoding": "chunked"},
        _endless()))
    # then reading stops at the chunk that passes 1 MiB: 413, nothing written
    assert (status, headers["content-type"], taken) == (413, PROBLEM_JSON, 17)
    assert orjson.loads(body)["type"] == PROBLEM_BASE + "body-too-large"
    assert _counts(world) == before


def test_an_import_has_its_own_larger_limit(world: Database, admin: dict[str, str]) -> None:
    # given bodies of at most 1 KiB, imports of at most 1 MiB
    app = _app(world, max_body_bytes=1024, max_import_bytes=1024 * 1024)
    csv = b"sku,location,on_hand\n" + b"BOLT-M8,WH-BER,7\n" * 200  # 3,421 bytes
    # when an import of 3 KiB is sent, and one that declares 2 MiB
    small = asyncio.run(_call(app, "POST", "/api/v1/inventory/imports",
                        {**admin, "content-type": "text/csv", "content-length": str(len(csv))}, iter([csv])))
    large = asyncio.run(_call(app, "POST", "/api/v1/inventory/imports",
                        {**admin, "content-type": "text/csv", "content-length": str(2 * 1024 * 1024)}, _endless()))
    # then the first is imported, the second refused unread
    assert small[0] == 201, small[2]
    assert (large[0], large[3], orjson.loads(large[2])["detail"]) == (
        413, 0, "the request body is larger than 1048576 bytes")


def test_a_logo_has_its_own_smaller_limit_on_a_path_with_a_parameter(world: Database, admin: dict[str, str]) -> None:
    # given bodies of at most 4 MiB, and a logo route whose bodies may have 1 MiB
    app = _app(world, max_body_bytes=4 * 1024 * 1024)
    path = "/api/v1/legal-entities/ORDINO-DE/logo"
    # when a logo declares 2 MiB, and another is sent without Content-Length, endlessly
    declared = asyncio.run(_call(app, "PUT", path, {**admin, "content-type": "image/png",
                                                      "content-length": str(2 * 1024 * 1024)}, _endless()))
    chunked = asyncio.run(_call(app, "PUT", path, {**admin, "content-type": "image/png",
                                                     "transfer-encoding": "chunked"}, _endless()))
    # then the first is refused unread, the second once it passes 1 MiB
    assert (declared[0], declared[3], orjson.loads(declared[2])["detail"]) == (
        413, 0, "the request body is larger than 1048576 bytes")
    assert (chunked[0], chunked[3]) == (413, 17)


def test_the_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDINO_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("ORDINO_MAX_IMPORT_BYTES", "4096")
    settings = Settings.from_env()
    assert (settings.max_body_bytes, settings.max_import_bytes) == (2048, 4096)


def test_the_default_limits() -> None:
    assert (Settings().max_body_bytes, Settings().max_import_bytes) == (4 * 1024 * 1024, 1024 * 1024 * 1024)


# ------------------------------------------------------------------------------------------------
# Content-Type


@pytest.mark.parametrize(
    "content_type", [pytest.param("text/plain", id="text"), pytest.param(None, id="none"),
                     pytest.param("application/x-www-form-urlencoded", id="form")],
)
def test_an_order_that_is_not_sent_as_json_is_refused(
    world: Database, client: TestClient, admin: dict[str, str], content_type: str | None
) -> None:
    before = _counts(world)
    headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
    r = client.post(ORDERS, content=orjson.dumps(factories.order_payload()), headers=headers)
    problem = _problem(r, 415, "unsupported-media-type")
    assert problem["errors"] == [{"field": "Content-Type", "message": "send application/json"}]
    assert _counts(world) == before


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON",
                                          "application/merge-patch+json"])
def test_json_media_types_are_accepted(
    world: Database, client: TestClient, admin: dict[str, str], content_type: str
) -> None:
    r = client.post(ORDERS, content=orjson.dumps(factories.order_payload()),
                    headers={**admin, "Content-Type": content_type})
    assert r.status_code == 201, r.text


def test_an_action_without_a_body_needs_no_content_type(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(RESERVATIONS, json={"reference": "CART-1", "lines": [
        {"sku": "BOLT-M8", "location": "WH-BER", "quantity": 2}]}, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(f"{RESERVATIONS}/CART-1/release", headers=admin)
    assert r.status_code == 200, r.text


def test_the_bulk_upload_keeps_multipart(world: Database, client: TestClient, admin: dict[str, str]) -> None:
    # when a file is uploaded as multipart/form-data, the route's own checks apply, not JSON's
    r = client.post("/api/v1/orders/bulk", headers=admin, data={"channel": "web"},
                    files={"file": ("order.csv", b"sku,quantity\n", "text/csv")})
    assert r.status_code == 422, r.text


# ------------------------------------------------------------------------------------------------
# Unexpected errors


def test_an_unexpected_error_answers_a_problem_and_the_server_carries_on(db: Database) -> None:
    # given a route that fails unexpectedly
    app = _app(db)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    # when it is called (the test client raises whatever the app lets escape to the server)
    with TestClient(app) as client:
        r = client.get("/boom")
        # then the answer is a problem, and nothing escaped to the server (which would close the
        # keep-alive connection): the next request on the same client is answered
        problem = _problem(r, 500, "internal")
        assert problem["detail"] == "An unexpected error occurred; it has been logged."
        assert client.get("/healthz").status_code == 200
