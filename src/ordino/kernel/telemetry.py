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
    """SQL spans for `engine` (the worker's, which has no FastAPI app); returns what undoes it."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    provider = provider or _provider(exporter)
    instrumentor = SQLAlchemyInstrumentor()
    instrumentor.instrument(engine=engine, tracer_provider=provider)
    _trace_httpx(provider)
    return lambda: instrumentor.uninstrument()


def _trace_httpx(provider: Any) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def trace_app(app: FastAPI, engine: Engine, exporter: SpanExporter | None = None) -> Callable[[], None]:
    """Server spans for `app` and SQL spans for `engine` under them; returns what undoes it.
    `exporter` replaces OTLP (tests give an in-memory one)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    provider = _provider(exporter)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    undo_sql = trace_engine(engine, provider=provider)

    def undo() -> None:
        FastAPIInstrumentor.uninstrument_app(app)
        undo_sql()
        provider.shutdown()

    return undo
