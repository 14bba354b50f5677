"""The built-in payment gateway simulator: a small FastAPI app (`ordino gateway-sim`).

Outcomes are chosen by token, as test cards are at real gateways:

    tok_visa (and any other token)   approved
    tok_decline                      declined: card_declined
    tok_insufficient                 declined: insufficient_funds
    tok_timeout                      approved, but the first answer to every request key comes
                                     only after `timeout_delay` seconds: the operation is done at
                                     once, the answer is "lost", and a retry with the same key
                                     gets the original result immediately
    tok_expired                      approved; the authorization lapses after `expired_after`
                                     seconds (0: at once)
    tok_expires_in_<N>               approved; the authorization lapses after N seconds
    tok_capture_fails                approved; every capture is declined (processor_declined)
    tok_refund_fails                 approved; every refund is declined (processor_declined)

Every POST needs an `Idempotency-Key`: the same key with the same request returns the stored
answer and moves no money; the same key with another request is a 422. State lives in memory
(one process); `GET /stats` counts requests, replays and the operations performed, so tests can
assert that a retried capture was captured exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import uvicorn
from fastapi import FastAPI, Header, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

DECLINES = {"tok_decline": "card_declined", "tok_insufficient": "insufficient_funds"}
MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "processor_declined": "The processor declined the operation.",
    "authorization_expired": "The authorization has expired.",
    "authorization_not_active": "The authorization is not active.",
    "amount_exceeds_authorization": "The amount exceeds what remains of the authorization.",
    "amount_exceeds_capture": "The amount exceeds what remains of the capture.",
}
Key = Annotated[str | None, Header(alias="Idempotency-Key")]
_EXPIRES_IN = re.compile(r"^tok_expires_in_([0-9]{1,7})s?\Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimulatorConfig:
    timeout_delay: float = 30.0  # how long the first answer for a tok_timeout request takes
    expired_after: float = 0.0  # seconds until a tok_expired authorization lapses
    authorization_ttl: float = 7 * 24 * 3600.0
    # The simulator's time: tests pass their own to let an authorization lapse without waiting.
    clock: Callable[[], datetime] = _utc_now


@dataclass
class SimAuthorization:
    id: str
    token: str
    amount: int
    currency: str
    expires_at: datetime
    status: str = "authorized"  # authorized | declined | reversed | expired
    captured: int = 0
    reversed: int = 0

    @property
    def remaining(self) -> int:
        return self.amount - self.captured - self.reversed


@dataclass
class SimCapture:
    id: str
    authorization_id: str
    amount: int
    refunded: int = 0


@dataclass
class SimulatorState:
    config: SimulatorConfig = field(default_factory=SimulatorConfig)
    lock: threading.Lock = field(default_factory=threading.Lock)
    authorizations: dict[str, SimAuthorization] = field(default_factory=dict)
    captures: dict[str, SimCapture] = field(default_factory=dict)
    answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    performed: Counter[str] = field(default_factory=Counter)
    approved: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    replays: int = 0

    def reset(self, config: SimulatorConfig | None = None) -> None:
        with self.lock:
            self.config = config or SimulatorConfig()
            self.authorizations.clear()
            self.captures.clear()
            self.answers.clear()
            self.performed.clear()
            self.approved.clear()
            self.requests = self.replays = 0

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "replays": self.replays,
                "performed": dict(self.performed),
                "approved": dict(self.approved),
            }


class AuthorizeBody(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    amount_minor: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str | None = Field(default=None, max_length=200)


class AmountBody(BaseModel):
    amount_minor: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class _Refusal(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _answer(
    obj: str, id_: str, result: str, code: str | None, amount: int, currency: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": id_,
        "object": obj,
        "result": result,
        "decline_code": code,
        "message": MESSAGES.get(code) if code else None,
        "amount_minor": amount,
        "currency": currency,
        **extra,
    }


def create_simulator(state: SimulatorState | None = None) -> FastAPI:
    """The simulator app; pass a `SimulatorState` to inspect or reset it from tests."""
    sim = state or SimulatorState()
    app = FastAPI(title="Ordino gateway simulator", openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.simulator = sim

    def expiry(token: str) -> datetime:
        if token == "tok_expired":
            return sim.config.clock() + timedelta(seconds=sim.config.expired_after)
        match = _EXPIRES_IN.match(token)
        if match:
            return sim.config.clock() + timedelta(seconds=int(match.group(1)))
        return sim.config.clock() + timedelta(seconds=sim.config.authorization_ttl)

    def authorization(auth_id: str) -> SimAuthorization:
        auth = sim.authorizations.get(auth_id)
        if auth is None:
            raise _Refusal(404, f"no authorization {auth_id}")
        if auth.status == "authorized" and sim.config.clock() >= auth.expires_at:
            auth.status = "expired"
        return auth

    def same_currency(currency: str, expected: str) -> None:
        if currency != expected:
            raise _Refusal(422, f"currency {currency} does not match {expected}")

    async def idempotent(
        request: Request, key: str | None, operation: str, body: BaseModel, perform: Any
    ) -> JSONResponse:
        if not key:
            return JSONResponse({"detail": "the Idempotency-Key header is required"}, 400)
        canonical = orjson.dumps(body.model_dump(), option=orjson.OPT_SORT_KEYS)
        fingerprint = hashlib.sha256(request.url.path.encode() + b"\n" + canonical).hexdigest()
        with sim.lock:
            sim.requests += 1
            stored = sim.answers.get(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    return JSONResponse({"detail": "the Idempotency-Key was used with another request"}, 422)
                sim.replays += 1
                return JSONResponse(stored[2], stored[1])
            try:
                payload, slow = perform()
            except _Refusal as refusal:
                return JSONResponse({"detail": refusal.detail}, refusal.status)
            sim.performed[operation] += 1
            if payload["result"] == "approved":
                sim.approved[operation] += 1
            sim.answers[key] = (fingerprint, 200, payload)
            delay = sim.config.timeout_delay if slow else 0.0
        if delay:
            await asyncio.sleep(delay)  # the work is done; only the answer is late
        return JSONResponse(payload, 200)

    @app.post("/v1/authorizations")
    async def authorize(body: AuthorizeBody, request: Request, key: Key = None) -> JSONResponse:
        def perform() -> tuple[dict[str, Any], bool]:
            code = DECLINES.get(body.token)
            auth = SimAuthorization(_id("auth"), body.token, body.amount_minor, body.currency, expiry(body.token))
            if code:
                auth.status = "declined"
            sim.authorizations[auth.id] = auth
            return (
                _answer(
                    "authorization", auth.id, "declined" if code else "approved", code, auth.amount, auth.currency,
                    expires_at=None if code else auth.expires_at.isoformat(), reference=body.reference,
                ),
                body.token == "tok_timeout",
            )

        return await idempotent(request, key, "authorize", body, perform)

    @app.post("/v1/authorizations/{auth_id}/captures")
    async def capture(auth_id: str, body: AmountBody, request: Request, key: Key = None) -> JSONResponse:
        def perform() -> tuple[dict[str, Any], bool]:
            auth = authorization(auth_id)
            same_currency(body.currency, auth.currency)
            code = None
            if auth.status == "expired":
                code = "authorization_expired"
            elif auth.status != "authorized":
                code = "authorization_not_active"
            elif auth.token == "tok_capture_fails":
                code = "processor_declined"
            elif body.amount_minor > auth.remaining:
                code = "amount_exceeds_authorization"
            cap = SimCapture(_id("cap"), auth.id, body.amount_minor)
            if code is None:
                auth.captured += body.amount_minor
                sim.captures[cap.id] = cap
            result = "declined" if code else "approved"
            answer = _answer("capture", cap.id, result, code, cap.amount, auth.currency, authorization=auth.id)
            return answer, auth.token == "tok_timeout"

        return await idempotent(request, key, "capture", body, perform)

    @app.post("/v1/captures/{capture_id}/refunds")
    async def refund(capture_id: str, body: AmountBody, request: Request, key: Key = None) -> JSONResponse:
        def perform() -> tuple[dict[str, Any], bool]:
            cap = sim.captures.get(capture_id)
            if cap is None:
                raise _Refusal(404, f"no capture {capture_id}")
            auth = sim.authorizations[cap.authorization_id]
            same_currency(body.currency, auth.currency)
            code = None
            if auth.token == "tok_refund_fails":
                code = "processor_declined"
            elif body.amount_minor > cap.amount - cap.refunded:
                code = "amount_exceeds_capture"
            else:
                cap.refunded += body.amount_minor
            result = "declined" if code else "approved"
            answer = _answer("refund", _id("re"), result, code, body.amount_minor, auth.currency, capture=cap.id)
            return answer, auth.token == "tok_timeout"

        return await idempotent(request, key, "refund", body, perform)

    @app.post("/v1/authorizations/{auth_id}/reversals")
    async def reverse(auth_id: str, body: AmountBody, request: Request, key: Key = None) -> JSONResponse:
        def perform() -> tuple[dict[str, Any], bool]:
            auth = authorization(auth_id)
            same_currency(body.currency, auth.currency)
            code = None
            if auth.status == "expired":
                code = "authorization_expired"
            elif auth.status != "authorized":
                code = "authorization_not_active"
            elif body.amount_minor > auth.remaining:
                code = "amount_exceeds_authorization"
            else:
                auth.reversed += body.amount_minor
                if auth.remaining == 0:
                    auth.status = "reversed"
            result = "declined" if code else "approved"
            answer = _answer(
                "reversal", _id("rev"), result, code, body.amount_minor, auth.currency, authorization=auth.id
            )
            return answer, auth.token == "tok_timeout"

        return await idempotent(request, key, "void", body, perform)

    @app.post("/v1/authorizations/{auth_id}/reauthorizations")
    async def reauthorize(auth_id: str, body: AmountBody, request: Request, key: Key = None) -> JSONResponse:
        def perform() -> tuple[dict[str, Any], bool]:
            old = authorization(auth_id)
            same_currency(body.currency, old.currency)
            code = DECLINES.get(old.token)
            if code is None and old.status not in ("authorized", "expired"):
                code = "authorization_not_active"
            new = SimAuthorization(_id("auth"), old.token, body.amount_minor, old.currency, expiry(old.token))
            if code is None:
                old.reversed += old.remaining if old.status == "authorized" else 0
                if old.status == "authorized":
                    old.status = "reversed"
                sim.authorizations[new.id] = new
            result = "declined" if code else "approved"
            answer = _answer(
                "authorization", new.id, result, code, new.amount, new.currency,
                expires_at=None if code else new.expires_at.isoformat(), replaces=old.id,
            )
            return answer, old.token == "tok_timeout"

        return await idempotent(request, key, "reauthorize", body, perform)

    @app.get("/v1/authorizations/{auth_id}")
    def get_authorization(auth_id: str) -> JSONResponse:
        with sim.lock:
            try:
                auth = authorization(auth_id)
            except _Refusal as refusal:
                return JSONResponse({"detail": refusal.detail}, refusal.status)
            return JSONResponse(
                {
                    "id": auth.id, "status": auth.status, "amount_minor": auth.amount, "currency": auth.currency,
                    "captured_minor": auth.captured, "reversed_minor": auth.reversed,
                    "expires_at": auth.expires_at.isoformat(),
                }
            )

    @app.get("/stats")
    def stats() -> JSONResponse:
        return JSONResponse(sim.stats())

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


@dataclass
class RunningServer:
    """A uvicorn server in a background thread (tests, benchmarks, `ordino gateway-sim`)."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 10.0) -> RunningServer:
    """Serve `app` on a real socket (port 0: a free one) from a daemon thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gateway-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    return RunningServer(f"http://{host}:{sock.getsockname()[1]}", server, thread)
