"""Payment gateway adapters.

`PaymentGateway` is what payments.service calls: authorize, capture (partial, many), refund
(partial), void (reverse an authorization, in part or in full) and re-authorize. Every call takes
an idempotency key; an adapter sends it with every attempt, so a retry after a timeout returns
the first attempt's result instead of moving money twice. Every HTTP attempt is described by a
`CallRecord` (request body, response, HTTP status, latency, outcome; never headers, so never
credentials), which the service writes to the `gateway_call` table with the outcome.

`HttpGateway` speaks to the built-in simulator (payments.simulator), and is the model for real
providers: one class per provider behind the same protocol.

Outcomes: an adapter returns a `GatewayResult` when the gateway answered (approved or declined,
including requests it rejected as invalid), and raises `GatewayUnavailable` when it could not
get an answer after its bounded retries: the outcome is then unknown, and the caller keeps the
payment pending so that a later retry with the same key settles it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx

from ordino.payments.domain import looks_like_card_data, redact

if TYPE_CHECKING:
    from starlette.requests import Request

Outcome = Literal["approved", "declined", "rejected", "timeout", "connection_error", "server_error"]
DEFAULT_SIMULATOR_URL = "http://127.0.0.1:8090"


@dataclass(frozen=True, slots=True)
class CallRecord:
    operation: str
    idempotency_key: str
    attempt: int
    request: dict[str, Any]
    response: dict[str, Any] | None
    http_status: int | None
    outcome: Outcome
    latency_ms: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayResult:
    approved: bool
    reference: str | None = None  # the gateway's id of what it created (authorization, capture…)
    code: str | None = None  # why it was declined
    message: str | None = None
    expires_at: datetime | None = None  # authorizations
    calls: tuple[CallRecord, ...] = ()


class GatewayUnavailable(Exception):
    """No answer after the bounded retries: the outcome of the operation is unknown."""

    def __init__(self, message: str, calls: tuple[CallRecord, ...] = ()) -> None:
        super().__init__(message)
        self.calls = calls


class PaymentGateway(Protocol):
    name: str

    def authorize(
        self, *, token: str, amount_minor: int, currency: str, reference: str, idempotency_key: str
    ) -> GatewayResult: ...

    def capture(
        self, *, authorization: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def refund(self, *, capture: str, amount_minor: int, currency: str, idempotency_key: str) -> GatewayResult: ...

    def void(
        self, *, authorization: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def reauthorize(
        self, *, authorization: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> GatewayResult: ...


Gateways = Mapping[str, PaymentGateway]


@dataclass
class HttpGateway:
    """An adapter for the simulator's HTTP API (and any provider that speaks it).

    Timeouts, connection errors, 5xx answers and 409 "still processing" are retried with the same
    Idempotency-Key, at most `attempts` times in all, with full-jitter exponential backoff.
    An injected `client` (e.g. a Starlette TestClient serving the simulator in process) brings
    its own base URL and timeouts.
    """

    name: str = "simulator"
    base_url: str = DEFAULT_SIMULATOR_URL
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 2.0
    api_key: str | None = None
    client: httpx.Client | None = None
    sleep: Callable[[float], None] = time.sleep
    _own_client: httpx.Client | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _http(self) -> httpx.Client:
        if self.client is not None:
            return self.client
        with self._lock:  # one pooled client, shared by the threads that call this adapter
            if self._own_client is None:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._own_client = httpx.Client(base_url=self.base_url, timeout=self.timeout, headers=headers)
            return self._own_client

    def close(self) -> None:
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None

    # -- the protocol ------------------------------------------------------------------------------

    def authorize(
        self, *, token: str, amount_minor: int, currency: str, reference: str, idempotency_key: str
    ) -> GatewayResult:
        if looks_like_card_data(token):
            raise ValueError("a gateway token is required; card data is never sent")
        body = {"token": token, "amount_minor": amount_minor, "currency": currency, "reference": reference}
        return self._call("authorize", "/v1/authorizations", body, idempotency_key)

    def capture(self, *, authorization: str, amount_minor: int, currency: str, idempotency_key: str) -> GatewayResult:
        body = {"amount_minor": amount_minor, "currency": currency}
        return self._call("capture", f"/v1/authorizations/{authorization}/captures", body, idempotency_key)

    def refund(self, *, capture: str, amount_minor: int, currency: str, idempotency_key: str) -> GatewayResult:
        body = {"amount_minor": amount_minor, "currency": currency}
        return self._call("refund", f"/v1/captures/{capture}/refunds", body, idempotency_key)

    def void(self, *, authorization: str, amount_minor: int, currency: str, idempotency_key: str) -> GatewayResult:
        body = {"amount_minor": amount_minor, "currency": currency}
        return self._call("void", f"/v1/authorizations/{authorization}/reversals", body, idempotency_key)

    def reauthorize(
        self, *, authorization: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> GatewayResult:
        body = {"amount_minor": amount_minor, "currency": currency}
        return self._call("reauthorize", f"/v1/authorizations/{authorization}/reauthorizations", body, idempotency_key)

    # -- transport ---------------------------------------------------------------------------------

    def _pause(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1))))

    def _call(self, operation: str, path: str, body: dict[str, Any], key: str) -> GatewayResult:
        calls: list[CallRecord] = []
        outcome: Outcome
        logged_body = redact(body)
        last_error = "no attempt was made"
        for attempt in range(1, max(1, self.attempts) + 1):
            if attempt > 1:
                self._pause(attempt - 1)
            started = time.perf_counter()
            try:
                response = self._http().post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.TimeoutException as exc:
                last_error = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
                calls.append(
                    self._record(operation, key, attempt, logged_body, None, None, "timeout", started, last_error)
                )
                continue
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"[:300]
                outcome = "connection_error"
                calls.append(
                    self._record(operation, key, attempt, logged_body, None, None, outcome, started, last_error)
                )
                continue
            payload = _json(response)
            status = response.status_code
            if status >= 500 or status == 409:
                last_error = f"HTTP {status}"
                outcome = "server_error"
                calls.append(
                    self._record(operation, key, attempt, logged_body, payload, status, outcome, started, last_error)
                )
                continue
            if status >= 400:
                message = str((payload or {}).get("detail") or f"HTTP {status}")[:300]
                calls.append(self._record(operation, key, attempt, logged_body, payload, status, "rejected", started))
                return GatewayResult(False, None, "invalid_request", message, None, tuple(calls))
            assert payload is not None
            approved = payload.get("result") == "approved"
            outcome = "approved" if approved else "declined"
            calls.append(self._record(operation, key, attempt, logged_body, payload, status, outcome, started))
            return GatewayResult(
                approved=approved,
                reference=payload.get("id"),
                code=None if approved else str(payload.get("decline_code") or "declined"),
                message=payload.get("message"),
                expires_at=_datetime(payload.get("expires_at")),
                calls=tuple(calls),
            )
        raise GatewayUnavailable(f"gateway '{self.name}' did not answer {operation}: {last_error}", tuple(calls))

    @staticmethod
    def _record(
        operation: str,
        key: str,
        attempt: int,
        request: dict[str, Any],
        response: dict[str, Any] | None,
        status: int | None,
        outcome: Outcome,
        started: float,
        error: str | None = None,
    ) -> CallRecord:
        latency = max(0, round((time.perf_counter() - started) * 1000))
        return CallRecord(operation, key, attempt, request, redact(response), status, outcome, latency, error)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else {"body": data}


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def gateways_from_env() -> dict[str, PaymentGateway]:
    """The gateways of a running Ordino: the simulator at ORDINO_GATEWAY_SIMULATOR_URL. The
    composition root builds them once (`create_app`, the worker's start-up) and hands them on.

    Real providers register here by name (the `gateway` of a payment method) as they are added.
    """
    url = os.environ.get("ORDINO_GATEWAY_SIMULATOR_URL", DEFAULT_SIMULATOR_URL)
    timeout = float(os.environ.get("ORDINO_GATEWAY_TIMEOUT", "10"))
    return {"simulator": HttpGateway("simulator", url, timeout=timeout)}


def gateways_of(request: Request) -> Gateways:
    """The gateways `create_app` wired into the application."""
    gateways: Gateways = request.app.state.payment_gateways
    return gateways
