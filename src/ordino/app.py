"""The composition root: one FastAPI application with every capability's router."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from sqlalchemy import text
from starlette.responses import Response

from ordino import __version__
from ordino.accounts.api import router as accounts_router
from ordino.accounts.apikeys import router as api_keys_router
from ordino.audit.api import router as audit_router
from ordino.catalog.api import LOGO_PATH
from ordino.catalog.api import router as catalog_router
from ordino.catalog.logos import MAX_LOGO_BYTES
from ordino.channels.files.api import MAX_REQUEST_BYTES as BULK_REQUEST_BYTES
from ordino.channels.files.api import router as bulk_orders_router
from ordino.flows.api import router as flows_router
from ordino.flows.domain import Plan
from ordino.flows.registry import build_dispatcher, load_plan
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
from ordino.kernel.logs import configure_logging
from ordino.kernel.metrics import CONTENT_TYPE, exposition
from ordino.kernel.observe import ObserveRequests, bind_order_from_path
from ordino.kernel.openapi import install_openapi
from ordino.kernel.problem_handlers import install_problem_handlers
from ordino.notifications.api import router as notifications_router
from ordino.notifications.mail import MailConfig
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
from ordino.webhooks.api import router as webhooks_router
from ordino.webhooks.delivery import Sender


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
        configure_logging(settings.log_format, settings.log_level)
        use_server_secret(settings.server_secret(), [p for p in [settings.secret_key_previous] if p])
    elif settings.secret_key:
        use_server_secret(settings.secret_key, [p for p in [settings.secret_key_previous] if p])
    redact_database_errors("uvicorn.error")
    return settings


def _serve_metrics(app: FastAPI, database: Database, token: str | None) -> None:
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
        return Response(exposition(database), media_type=CONTENT_TYPE)


ROUTERS = (bulk_orders_router, orders_router, servicing_router, return_orders_router, accounts_router, catalog_router,
           api_keys_router, inventory_router,
           pricing_router, fx_router, tax_router, payments_router, fulfillment_router, invoicing_router,
           documents_router, statements_router, approvals_router, quotes_router, process_exceptions_router,
           privacy_router, audit_router, flows_router, webhooks_router,
           notifications_router)


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


def _start_worker(settings: Settings, database: Database, gateways: Gateways, plan: Plan) -> Callable[[], None]:
    """The in-process event worker and its webhook sender (their own threads: a slow receiver
    never holds up the events); returns what stops them."""
    dispatcher = build_dispatcher(database, gateways, plan=plan, mail=MailConfig.from_settings(settings))
    sender = Sender(database, allow_private=settings.webhooks_allow_private)
    dispatcher.start_thread()
    sender.start_thread()

    def stop() -> None:
        dispatcher.stop()
        sender.close()

    return stop


def create_app(settings: Settings | None = None, db: Database | None = None,
               gateways: Gateways | None = None) -> FastAPI:
    """The application; `gateways` (tests pass their own) default to those of the environment,
    built by the same function as the worker's."""
    settings = _server_settings(settings)
    database = db or Database(settings.database_url, pool_size=settings.db_pool_size)
    payment_gateways = gateways_from_env() if gateways is None else gateways
    plan = load_plan(settings.flows_dir)  # a flow file that cannot run stops the start here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.admin_api_key:
            admin_key = settings.admin_api_key
            database.transaction(lambda s: ensure_bootstrap_admin(s, admin_key))
        stop = _start_worker(settings, database, payment_gateways, plan) if settings.worker_in_process() else None
        if db is None:  # a server process: what start-up built lives as long as the process
            _freeze_startup_objects()
        yield
        if stop:
            stop()
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
        dependencies=[Depends(bind_order_from_path)],  # the order a request is about, in its logs
    )
    _set_state(app, settings, database, payment_gateways)
    app.state.flow_plan = plan
    install_problem_handlers(app)
    install_api_docs(app)
    install_openapi(app)

    _install_request_guard(app, settings)  # before the metrics: inside them, its refusals count
    app.add_middleware(ObserveRequests, access=settings.access_log)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        with database.read() as session:
            session.execute(text("SELECT 1"))
        return json_response({"status": "ok", "version": __version__, "database": database.dialect})

    if settings.metrics:  # off by default: request counts are not for the public listener
        _serve_metrics(app, database, settings.metrics_token)

    for router in ROUTERS:
        app.include_router(router)
    if settings.otel_enabled:
        from ordino.kernel.telemetry import trace_app

        trace_app(app, database.engine)
    return app
