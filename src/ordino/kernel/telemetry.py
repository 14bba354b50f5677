"""OpenTelemetry traces, when switched on (settings.otel_enabled): a server span per request
(FastAPI), a child span per SQL statement (SQLAlchemy, statements without their values) and per
outgoing HTTP call (httpx: payment gateways, webhooks). Exported over OTLP/HTTP to
OTEL_EXPORTER_OTLP_ENDPOINT; the service is named by OTEL_SERVICE_NAME (default "ordino") and
the other standard OTEL_* variables apply.

The packages are the optional `ordino[otel]`; nothing of them is imported while tracing is off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from ordino.kernel import logs

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

# /metrics and /healthz are scraped every few seconds: spans of them are noise.
EXCLUDED_URLS = "/metrics,/healthz"


def _provider(exporter: SpanExporter | None) -> Any:
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"service.name": "ordino"}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:  # tests: spans are there as soon as the request ends
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def trace_engine(engine: Engine, exporter: SpanExporter | None = None, provider: Any = None) -> Callable[[], None]:
    """SQL spans for `engine`, and a span per event the worker delivers, over its handlers'
    statements; returns what undoes it.

    The engine's tracer is attached directly: SQLAlchemyInstrumentor().instrument() would also
    patch create_engine and import sqlalchemy.ext.asyncio (which needs greenlet), and its declared
    range stops below SQLAlchemy 2.1; the engine events the tracer listens to are unchanged.
    """
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__ as version
    from opentelemetry.metrics import NoOpMeterProvider

    provider = provider or _provider(exporter)
    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", version)
    usage = NoOpMeterProvider().get_meter(__name__).create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine, usage)  # type: ignore[no-untyped-call]
    undo_httpx = _trace_httpx(provider)
    worker_tracer = provider.get_tracer("ordino.worker")
    logs.event_span = lambda event_type: worker_tracer.start_as_current_span(f"event {event_type}")

    def undo() -> None:
        EngineTracer.remove_all_event_listeners()  # type: ignore[no-untyped-call]
        undo_httpx()
        logs.event_span = None

    return undo


def _trace_httpx(provider: Any) -> Callable[[], None]:
    """Client spans for every httpx client of the process (gateways, webhooks)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return lambda: None
    instrumentor.instrument(tracer_provider=provider)
    return lambda: instrumentor.uninstrument()


_URL_ATTRIBUTES = ("http.target", "http.url", "url.full")


def _without_query(span: Any, _scope: Any) -> None:
    """A server span keeps the path, not the query string: search filters may hold a name or an
    e-mail address."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(name, value.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def trace_app(app: FastAPI, engine: Engine, exporter: SpanExporter | None = None) -> Callable[[], None]:
    """Server spans for `app` and SQL spans for `engine` under them; returns what undoes it.
    `exporter` replaces OTLP (tests give an in-memory one)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    provider = _provider(exporter)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS,
                                       server_request_hook=_without_query)
    undo_sql = trace_engine(engine, provider=provider)

    def undo() -> None:
        FastAPIInstrumentor.uninstrument_app(app)
        undo_sql()
        provider.shutdown()

    return undo
