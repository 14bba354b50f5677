"""What every HTTP request leaves behind: a request id, a latency observation, a log line.

`ObserveRequests` is pure ASGI (no per-request task, nothing buffered). It gives the request a
log context with its id (the client's `X-Request-ID` when it is a plain token, else a new one,
answered in `X-Request-ID`), times it into `ordino_http_request_duration_seconds` under the route
template the router matched (never the raw path: ids and numbers would make a series each) and
writes one `ordino.access` line: method, route, status, milliseconds; no query string (search
filters may hold names or addresses).
"""

from __future__ import annotations

import logging
import re
import time

from fastapi import Request
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordino.kernel import logs
from ordino.kernel.metrics import HTTP_DURATION, HTTP_IN_PROGRESS, UNMATCHED_ROUTE, status_class

access_log = logging.getLogger("ordino.access")

_HEADER = b"x-request-id"
# A path parameter right after an `orders` segment names an order (`/orders/{order_ref}/...`);
# fulfilment and return orders have their own words.
_ORDER_PARAM = re.compile(r"/orders/\{(\w+)")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ObserveRequests:
    def __init__(self, app: ASGIApp, *, access: bool = True) -> None:
        self.app = app
        self.access = access
        # labelled children, looked up once: labels() costs more than the observation
        self._timers: dict[tuple[str, str, int], Histogram] = {}

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status // 100)
        timer = self._timers.get(key)
        if timer is None:
            timer = self._timers.setdefault(key, HTTP_DURATION.labels(method, route, status_class(status)))
        timer.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                given = value.decode("latin-1")
                break
        rid = logs.request_id(given)
        header = (_HEADER, rid.encode("ascii"))
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        HTTP_IN_PROGRESS.inc()
        token = logs.enter(rid)
        try:
            await self.app(scope, receive, send_observed)
        finally:
            HTTP_IN_PROGRESS.dec()
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self._observe(scope["method"], route, status, seconds)
            if self.access and access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d", scope["method"], route, status, extra={
                    "method": scope["method"], "route": route, "status": status,
                    "duration_ms": round(seconds * 1000, 3)})
            logs.leave(token)


async def bind_order_from_path(request: Request) -> None:
    """An application-wide dependency: on the order routes, the order the request is about goes
    into the log context."""
    match = _ORDER_PARAM.search(route_template(request.scope))
    if match is not None:
        ref = request.path_params.get(match.group(1))
        if isinstance(ref, str):
            logs.bind_order(ref)
