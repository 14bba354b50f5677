"""The model a route declares for an answer, to validate real answers against it in tests."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

from ordino.kernel.openapi import ProblemOut


def declared_model(app: FastAPI, method: str, path: str, status: int) -> Any:
    """The model `responses=` declares for (method, concrete path, status); fails if there is none."""
    candidates = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or method not in (route.methods or ()):
            continue
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", route.path_format) + "$"
        if re.match(pattern, path):
            candidates.append((route.path_format.count("{"), route))
    assert candidates, f"no route answers {method} {path}"
    route = min(candidates, key=lambda c: c[0])[1]  # a literal segment wins over a parameter
    entry = route.responses.get(status)
    assert entry and "model" in entry, f"{method} {route.path_format} declares no model for {status}"
    return entry["model"]


def validate_answer(app: FastAPI, response: Any) -> Any:
    """The answer of a TestClient response, validated against the model its route declares."""
    request = response.request
    model = declared_model(app, request.method, request.url.path, response.status_code)
    return TypeAdapter(model).validate_python(response.json())


def check_every_answer(app: FastAPI, client: Any) -> None:
    """Validate each JSON answer the client receives against what its route declares: a success
    against the declared model, a refusal against the Problem model. A test whose answer does not
    match fails at that request."""

    def check(response: Any) -> None:
        if response.request.url.path.startswith("/api/v1/") and "json" in response.headers.get("content-type", ""):
            response.read()
            if 200 <= response.status_code < 300:
                validate_answer(app, response)
            elif response.status_code >= 400:
                ProblemOut.model_validate_json(response.content)

    client.event_hooks = {**client.event_hooks, "response": [*client.event_hooks.get("response", []), check]}
