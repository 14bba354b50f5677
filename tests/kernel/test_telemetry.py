"""Traces: a request makes a server span with the SQL it ran as child spans; off, nothing is loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.kernel.outbox import emit
from ordino.kernel.telemetry import trace_app, trace_engine
from ordino.kernel.worker import Dispatcher, Registration
from ordino.settings import Settings
from tests.conftest import api_key

ROOT = Path(__file__).resolve().parents[2]


def test_a_request_is_a_server_span_with_its_sql_as_children(db: Database) -> None:
    # given the API traced into memory
    headers = api_key(db)
    exporter = InMemorySpanExporter()
    app = create_app(Settings(database_url=db.url, run_worker=False), db=db)
    undo = trace_app(app, db.engine, exporter)
    try:
        # when an order is asked for
        with TestClient(app) as c:
            answer = c.get("/api/v1/orders/SO-404?q=erika@example.org", headers=headers)
    finally:
        undo()
    # then one server span names the route template, and the statements it ran are its children
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert answer.status_code == 404
    assert [s.name for s in servers] == ["GET /api/v1/orders/{order_ref}"]
    server = servers[0]
    sql = [s for s in spans if "db.statement" in (s.attributes or {}) or "db.query.text" in (s.attributes or {})]
    assert [s.kind for s in sql] == [SpanKind.CLIENT] * len(sql)
    assert len(sql) >= 2  # the API key, the order
    assert {s.context.trace_id for s in sql} == {server.context.trace_id}
    ids = {s.context.span_id: s for s in spans}

    def under_server(span: object) -> bool:
        parent = getattr(span, "parent", None)
        while parent is not None:
            if parent.span_id == server.context.span_id:
                return True
            parent = getattr(ids.get(parent.span_id), "parent", None)
        return False

    assert all(under_server(s) for s in sql)
    # and the statements are there without their values, the request without its query string
    assert all("SO-404" not in str(s.attributes) for s in sql)
    assert (server.attributes or {})["http.target"] == "/api/v1/orders/SO-404"
    assert "erika" not in str([s.attributes for s in spans])


def test_the_worker_makes_a_span_per_event_over_its_handlers_statements(db: Database) -> None:
    # given an event and a traced engine
    db.transaction(lambda s: emit(s, "thing.happened", "thing/1", {"i": 1}))
    exporter = InMemorySpanExporter()
    undo = trace_engine(db.engine, exporter)
    try:
        # when the worker delivers it
        Dispatcher(db, {"thing.happened": [Registration("test.trace", lambda _s, _e: None)]}).drain()
    finally:
        undo()
    # then one span covers the event, and the receipt's statements are its children
    spans = exporter.get_finished_spans()
    events = [s for s in spans if s.name == "event thing.happened"]
    assert len(events) == 1
    children = [s for s in spans if s.parent is not None and s.parent.span_id == events[0].context.span_id]
    assert any("handler_receipt" in str((s.attributes or {}).get("db.statement")) for s in children)


def test_with_tracing_off_no_opentelemetry_module_is_imported() -> None:
    code = ("import sys; from ordino.app import create_app; from ordino.settings import Settings; "
            "create_app(Settings(database_url='sqlite://', run_worker=False)); "
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk') "
            "or m.startswith('opentelemetry.instrumentation')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"),
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.parametrize(("env", "enabled"), [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "ORDINO_OTEL_ENABLED": "off"}, False),
    ({"ORDINO_OTEL_ENABLED": "1"}, True),
])
def test_tracing_is_on_when_switched_on_or_given_an_endpoint(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], enabled: bool
) -> None:
    for name in ("ORDINO_OTEL_ENABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().otel_enabled is enabled
