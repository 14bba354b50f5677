"""The OpenAPI document describes every body a client receives: each operation has a success
schema (or says it has no body, or names a document's media type) and answers refusals as
RFC 9457 problems; every `$ref` points at a component."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.responses import Response

from ordino.app import create_app
from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.db import Database
from ordino.kernel.errors import PROBLEM_JSON
from ordino.kernel.openapi import Page, documented, install_openapi
from ordino.settings import Settings
from tests.declared import check_every_answer

PROBLEM_REF = "#/components/schemas/Problem"
METHODS = ("get", "put", "post", "delete", "patch")


def operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _success_problems(responses: dict[str, Any]) -> list[str]:
    successes = {code: r for code, r in responses.items() if code.startswith("2")}
    if not successes:
        return ["no 2xx response"]
    found = []
    for code, answer in successes.items():
        content = answer.get("content", {})
        if code == "204":
            if content:
                found.append("204 with a body")
            continue
        if not content:
            found.append(f"{code} without content")
        for media_type, entry in content.items():
            schema = entry.get("schema")
            if not schema:
                found.append(f"{code} {media_type} without a schema")
            elif "json" not in media_type and schema.get("format") != "binary":
                found.append(f"{code} {media_type} is neither JSON nor a binary document")
    return found


def _problem_problems(op: dict[str, Any]) -> list[str]:
    responses: dict[str, Any] = op["responses"]
    found = []
    refusals = {code: r for code, r in responses.items() if code[0] in "45"}
    if not refusals:
        found.append("no problem response")
    for code, answer in refusals.items():
        content = answer.get("content", {})
        if list(content) != [PROBLEM_JSON] or content[PROBLEM_JSON].get("schema") != {"$ref": PROBLEM_REF}:
            found.append(f"{code} is not application/problem+json with the Problem schema")
    if any(p.get("in") == "path" for p in op.get("parameters", [])) and "404" not in responses:
        found.append("a path parameter but no 404")
    return found


def undocumented(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Each operation whose responses do not describe what a client receives, and why."""
    out = {}
    for name, op in operations(doc):
        found = _success_problems(op.get("responses", {})) + _problem_problems(op)
        if found:
            out[name] = found
    return out


def dangling_refs(doc: dict[str, Any]) -> list[str]:
    components = doc.get("components", {}).get("schemas", {})
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    refs.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return sorted({r for r in refs if r.removeprefix("#/components/schemas/") not in components})


def live_document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite://"), Database("sqlite://"))
    doc: dict[str, Any] = app.openapi()
    return doc


def test_every_operation_documents_its_success_body_and_its_problems() -> None:
    # given the live document
    doc = live_document()
    # when every operation is checked / then none lacks a success schema or problem responses
    assert len(operations(doc)) >= 136
    assert undocumented(doc) == {}


def test_no_ref_dangles_and_problem_is_one_component() -> None:
    doc = live_document()
    assert dangling_refs(doc) == []
    problem = doc["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    assert problem["additionalProperties"] is True
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    # one model per name: FastAPI qualifies clashing names with their module (a__b__Name)
    assert [name for name in doc["components"]["schemas"] if "__" in name] == []


def test_common_statuses_follow_the_route_auth_and_inputs() -> None:
    ops = dict(operations(live_document()))
    # a route any role may call with no input: 401 only
    assert {c for c in ops["GET /api/v1/locations"]["responses"] if c[0] == "4"} >= {"401"}
    # placing an order: restricted roles and a body
    assert {"401", "403", "413", "415", "422", "503"} <= set(ops["POST /api/v1/orders"]["responses"])
    assert {"413", "415"} & set(ops["GET /api/v1/locations"]["responses"]) == set()
    assert "503" in ops["GET /api/v1/locations"]["responses"]


def test_what_the_request_guard_and_an_outage_answer_is_documented() -> None:
    # given the live document
    ops = operations(live_document())
    # then every operation may answer 503 (the database unreachable) with Retry-After
    no_503 = [name for name, op in ops if "503" not in op["responses"]]
    retry_after = {
        op["responses"].get("503", {}).get("headers", {}).get("Retry-After", {}).get("required") for _, op in ops
    }
    assert (no_503, retry_after) == ([], {True})
    # and every operation taking a body may answer 413 (too large) and 415 (not JSON)
    with_body = [(name, op) for name, op in ops if "requestBody" in op]
    assert len(with_body) >= 70
    assert [name for name, op in with_body if not {"413", "415"} <= set(op["responses"])] == []


def _bare_app(documented_route: bool) -> FastAPI:
    app = FastAPI()
    install_openapi(app)
    router = APIRouter()
    responses = documented(Page[dict[str, int]], problems=(404,)) if documented_route else {}

    @router.get("/things/{thing_id}", responses=responses)
    def read(thing_id: str, principal: Annotated[Principal, Depends(require(Role.ADMIN))]) -> Response:
        return Response(b"{}")

    app.include_router(router)
    return app


def test_the_walker_fails_on_a_route_without_declared_responses() -> None:
    # given a route that declares nothing and the same route declared
    bare = _bare_app(documented_route=False).openapi()
    declared = _bare_app(documented_route=True).openapi()
    # when walked / then the bare one is reported with every reason, the declared one is not
    assert undocumented(bare) == {
        "GET /things/{thing_id}": ["200 application/json without a schema", "a path parameter but no 404"]
    }
    assert undocumented(declared) == {}
    assert dangling_refs(declared) == []


def test_the_answer_check_fails_on_an_answer_unlike_its_declaration() -> None:
    # given a route declaring a page but answering something else, checked like every test client
    app = FastAPI()
    install_openapi(app)

    @app.get("/api/v1/things", responses=documented(Page[dict[str, int]]))
    def things() -> Response:
        return Response(b'{"items": [{"a": "x"}]}', media_type="application/json")

    with TestClient(app) as client:
        check_every_answer(app, client)
        # when it is called / then the test fails at the request, naming the field
        with pytest.raises(ValidationError, match=r"items\.0\.a"):
            client.get("/api/v1/things")
