"""Logs: JSON lines carrying the request id and the order worked on, and no personal data."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordino.app import create_app
from ordino.kernel import logs
from ordino.kernel.db import Database
from ordino.kernel.outbox import emit
from ordino.kernel.worker import Dispatcher, Registration
from ordino.settings import Settings
from tests import factories

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines() -> Iterator[Lines]:
    """What the root logger writes at INFO, as `ordino serve` configures it (JSON, context filter)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.json_formatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_request_lines_carry_the_request_id_and_the_order_but_no_personal_data(
    db: Database, admin: dict[str, str], lines: Lines
) -> None:
    # given an order shipped to a named person with an e-mail address
    factories.intake_world(db)
    body = factories.order_payload()
    body["delivery_groups"][0]["ship_to"] |= {"name": "Erika Mustermann", "email": "erika@example.org"}
    with TestClient(create_app(Settings(database_url=db.url, run_worker=False), db=db)) as c:
        placed = c.post("/api/v1/orders", json=body, headers={**admin, "Idempotency-Key": str(uuid.uuid4())})
        # when it is read by its number, the client naming its request
        read = c.get(f"/api/v1/orders/{placed.json()['number']}", headers={**admin, "X-Request-ID": "trace-4711"})
        unnamed = c.get("/healthz", headers={"X-Request-ID": "not a <token>"})
    # then the read's access line is JSON with its request id and the order number
    assert (placed.status_code, read.status_code, read.headers["x-request-id"]) == (201, 200, "trace-4711")
    access = [line for line in lines() if line["logger"] == "ordino.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/api/v1/orders", 201), ("GET", "/api/v1/orders/{order_ref}", 200), ("GET", "/healthz", 200)]
    assert (access[1]["request_id"], access[1]["order_number"], access[1]["level"]) == ("trace-4711", "SO-000001",
                                                                                         "INFO")
    assert "order_number" not in access[0] and "order_number" not in access[2]
    # and a request id that is not a plain token is replaced by a new one, answered to the client
    assert access[2]["request_id"] == unnamed.headers["x-request-id"] != "not a <token>"
    assert len(access[2]["request_id"]) == 32
    # and nothing written names the person
    written = json.dumps(lines())
    assert "Mustermann" not in written and "erika@example.org" not in written


def test_worker_lines_name_the_order_of_the_event(db: Database, lines: Lines) -> None:
    # given an order event and a handler that logs
    order_id = uuid.uuid4()
    db.transaction(lambda s: emit(s, "order.created", f"order/{order_id}", {"number": "SO-000042"}))
    db.transaction(lambda s: emit(s, "thing.happened", "thing/1", {"number": "T-1"}))
    say = Registration("test.logs.say", lambda _s, e: logging.getLogger("ordino.test").info("handling %s", e.type))
    # when the worker delivers it
    Dispatcher(db, {"order.created": [say], "thing.happened": [say]}).drain()
    # then its line names the order by number and id; the other event's names none
    said = [line for line in lines() if line["logger"] == "ordino.test"]
    assert [(s["message"], s.get("order_number"), s.get("order_id")) for s in said] == [
        ("handling order.created", "SO-000042", str(order_id)), ("handling thing.happened", None, None)]
    assert "request_id" not in said[0]


def test_text_format_appends_the_context() -> None:
    record = logging.LogRecord("ordino.x", logging.INFO, __file__, 1, "hello", None, None)
    with logs.log_context("r-1"):
        logs.bind_order("SO-000007")
        logs.ContextFilter().filter(record)
    assert logs.TextFormatter().format(record).endswith(" INFO ordino.x hello request_id=r-1 order_number=SO-000007")


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log format 'xml'"):
        logs.logging_config("xml")


def test_uvicorn_access_lines_are_off_and_its_colours_dropped() -> None:
    # uvicorn's access line quotes the path with its query string; ours names the route
    assert logs.logging_config()["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": False}
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", None, None)
    record.color_message = "\x1b[1mStarted\x1b[0m"
    assert json.loads(logs.json_formatter().format(record)).keys() == {"time", "level", "logger", "message"}
