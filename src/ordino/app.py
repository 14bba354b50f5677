"""The composition root: one FastAPI application with every capability's router."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy import text
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordino import __version__
from ordino.accounts.api import router as accounts_router
from ordino.accounts.apikeys import router as api_keys_router
from ordino.audit.api import router as audit_router
from ordino.catalog.api import LOGO_PATH
from ordino.catalog.api import router as catalog_router
from ordino.catalog.logos import MAX_LOGO_BYTES
from ordino.channels.files.api import MAX_REQUEST_BYTES as BULK_REQUEST_BYTES
from ordino.channels.files.api import router as bulk_orders_router
from ordino.flows.registry import build_dispatcher
from ordino.fulfillment.api import router as fulfillment_router
from ordino.inventory.api import router as inventory_router
from ordino.invoicing import funds, refunds
from ordino.invoicing.api import router as invoicing_router
from ordino.invoicing.documents.api import router as documents_router
from ordino.invoicing.statements.api import router as statements_router
from ordino.kernel.auth import (
    FailureThrottle,
    bearer_matches,
    client_address,
    ensure_bootstrap_admin,
    use_server_secret,
)
from ordino.kernel.db import Database, redact_database_errors
from ordino.kernel.errors import Unauthorized
from ordino.kernel.guard import RequestGuard
from ordino.kernel.http import json_response
from ordino.kernel.openapi import install_openapi
from ordino.kernel.problem_handlers import install_problem_handlers
from ordino.orders.api import router as orders_router
from ordino.orders.approvals.api import router as approvals_router
from ordino.orders.process_exceptions import retries as exception_retries
from ordino.orders.process_exceptions.api import router as process_exceptions_router
from ordino.orders.quotes.api import router as quotes_router
from ordino.orders.reads import item_account_id, order_account_id, order_id_by_number
from ordino.payments.api import router as payments_router
from ordino.payments.gateway import Gateways, gateways_from_env
from ordino.pricing.api import router as pricing_router
from ordino.pricing.fx_api import router as fx_router
from ordino.privacy.api import router as privacy_router
from ordino.servicing.api import router as servicing_router
from ordino.servicing.returns.api import router as return_orders_router
from ordino.settings import Settings
from ordino.tax.api import router as tax_router
from ordino.web.api_docs import install_api_docs


class Metrics:
    """Request counters in the Prometheus text format (no client library needed for this)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.seconds: dict[str, float] = {}

    def observe(self, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, status)] = self.requests.get((method, status), 0) + 1
            self.seconds[method] = self.seconds.get(method, 0.0) + seconds

    def render(self) -> str:
        lines = [
            "# HELP ordino_http_requests_total HTTP requests by method and status.",
            "# TYPE ordino_http_requests_total counter",
        ]
        for (method, status), count in sorted(self.requests.items()):
            lines.append(f'ordino_http_requests_total{{method="{method}",status="{status}"}} {count}')
        lines += [
            "# HELP ordino_http_request_seconds_total Time spent answering requests.",
            "# TYPE ordino_http_request_seconds_total counter",
        ]
        for method, total in sorted(self.seconds.items()):
            lines.append(f'ordino_http_request_seconds_total{{method="{method}"}} {total:.6f}')
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task or body buffering) counting requests."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(scope["method"], status, time.perf_counter() - started)


def _freeze_startup_objects() -> None:
    """Move every object alive after start-up out of the collector's sight. A full collection
    walks all of them (the app, SQLAlchemy, pydantic: about 240,000 objects, some 120 ms), and
    requests that allocate thousands of objects (a 1,000-row answer, a stock batch) bring one on
    every few requests; frozen, the collector looks only at what requests allocate."""
    gc.collect()
    gc.freeze()


def _server_settings(settings: Settings | None) -> Settings:
    """The settings, and the server secret of this process's API key digests: a server process's
    from the environment (an error when it names none); tests' only if they give one."""
    if settings is None:
        settings = Settings.from_env()
        use_server_secret(settings.server_secret(), [p for p in [settings.secret_key_previous] if p])
    elif settings.secret_key:
        use_server_secret(settings.secret_key, [p for p in [settings.secret_key_previous] if p])
    redact_database_errors("uvicorn.error")
    return settings


def _serve_metrics(app: FastAPI, metrics: Metrics, token: str | None) -> None:
    """/metrics; with a token, to that bearer only, wrong tokens counting as failed authentications."""

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint(request: Request) -> Response:
        if token is not None:
            throttle: FailureThrottle = app.state.auth_throttle
            client = client_address(request)
            throttle.check(client)
            if not bearer_matches(request.headers.get("authorization"), token):
                throttle.failed(client)
                raise Unauthorized("send 'Authorization: Bearer <metrics token>'")
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")


ROUTERS = (bulk_orders_router, orders_router, servicing_router, return_orders_router, accounts_router, catalog_router,
           api_keys_router, inventory_router,
           pricing_router, fx_router, tax_router, payments_router, fulfillment_router, invoicing_router,
           documents_router, statements_router, approvals_router, quotes_router, process_exceptions_router,
           privacy_router, audit_router)


def _set_state(app: FastAPI, settings: Settings, database: Database, gateways: Gateways) -> None:
    """What routes reach through `request.app.state`: the composition root's wiring."""
    app.state.db = database
    app.state.payment_gateways = gateways  # payments.gateway.gateways_of
    # What a process exception's retry can re-run, by step (orders.process_exceptions.retries).
    app.state.process_exception_retriers = {
        **exception_retries.RETRIERS, **funds.RETRIERS, **refunds.RETRIERS,
    }
    app.state.settings = settings
    app.state.order_numbers = order_id_by_number  # payments' `order=` filters take a number too
    app.state.order_accounts = order_account_id  # a payment's account is its order's
    app.state.item_accounts = item_account_id  # a reservation of an order item is its order's account's
    app.state.auth_throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window)


def _install_request_guard(app: FastAPI, settings: Settings) -> None:
    """kernel.guard, with the uploads' own body limits."""
    uploads = {"/api/v1/orders/bulk": BULK_REQUEST_BYTES, "/api/v1/inventory/imports": settings.max_import_bytes,
               LOGO_PATH: MAX_LOGO_BYTES}
    app.add_middleware(RequestGuard, routes=app.router.routes, max_body=settings.max_body_bytes, uploads=uploads)


def create_app(settings: Settings | None = None, db: Database | None = None,
               gateways: Gateways | None = None) -> FastAPI:
    """The application; `gateways` (tests pass their own) default to those of the environment,
    built by the same function as the worker's."""
    settings = _server_settings(settings)
    database = db or Database(settings.database_url, pool_size=settings.db_pool_size)
    payment_gateways = gateways_from_env() if gateways is None else gateways
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.admin_api_key:
            admin_key = settings.admin_api_key
            database.transaction(lambda s: ensure_bootstrap_admin(s, admin_key))
        dispatcher = build_dispatcher(database, payment_gateways) if settings.worker_in_process() else None
        if dispatcher:
            dispatcher.start_thread()
        if db is None:  # a server process: what start-up built lives as long as the process
            _freeze_startup_objects()
        yield
        if dispatcher:
            dispatcher.stop()
        if db is None:
            database.dispose()

    app = FastAPI(
        title="Ordino",
        version=__version__,
        summary="Order management for B2B commerce",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served from the package's own assets: see web.api_docs
        redoc_url=None,
        lifespan=lifespan,
    )
    _set_state(app, settings, database, payment_gateways)
    install_problem_handlers(app)
    install_api_docs(app)
    install_openapi(app)

    _install_request_guard(app, settings)  # before the metrics: inside them, its refusals count
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        with database.read() as session:
            session.execute(text("SELECT 1"))
        return json_response({"status": "ok", "version": __version__, "database": database.dialect})

    if settings.metrics:  # off by default: request counts are not for the public listener
        _serve_metrics(app, metrics, settings.metrics_token)

    for router in ROUTERS:
        app.include_router(router)
    return app
