"""What the OpenAPI document says about responses.

Routes serialise with orjson and return `Response`s, so FastAPI never sees their bodies. They
*declare* them instead: `responses=documented(OrderOut, 201, problems=(404, 409))` puts the
success model under its status and each refusal under `application/problem+json`, with the one
`Problem` component. Nothing is validated at run time; tests validate real answers against the
same models so the declaration cannot drift.

`install_openapi` finishes the document once: it registers `Problem`, moves the `$defs` of the
body schemas that endpoints document themselves (`body_schema`) into components so that every
`$ref` resolves, names those bodies as components, and adds the statuses any authenticated route
can answer (401 and 429; 403 for role-restricted routes; 422 for routes that take input).
What `kernel.guard` and an outage answer are added too: 413 and 415 for routes taking a body,
503 with `Retry-After` for every route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ordino.kernel.auth import ALL_ROLES, require
from ordino.kernel.errors import PROBLEM_JSON
from ordino.kernel.schema import Page

__all__ = ["Page", "ProblemOut", "binary", "documented", "install_openapi", "one_of"]

COMPONENTS = "#/components/schemas/"
PROBLEM_REF = {"$ref": COMPONENTS + "Problem"}

# Default descriptions; a route may give its own through `problems={409: "..."}`.
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "The request was refused",
    401: "Authentication required: no API key or an invalid one",
    403: "The key's role may not do this",
    404: "Not found, or not visible to the key's account",
    409: "Conflict with the current state",
    413: "The body is too large",
    415: "The media type is not supported",
    422: "The request is not valid (each error names its field)",
    428: "If-Match required",
    429: "Too many failed authentications from this client; see Retry-After",
    502: "The payment gateway failed or refused",
    503: "The service is unavailable; retry later",
}


class ProblemFieldError(BaseModel):
    """One invalid field, named by its path in the payload (`delivery_groups[0].lines[1].sku`)."""

    model_config = ConfigDict(title="ProblemFieldError")

    field: str
    message: str


class ProblemOut(BaseModel):
    """An RFC 9457 problem: every refusal has this body. Extension members may follow."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["https://ordino.dev/problems/not-found"])
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] = []
    instance: str | None = None


Problems = Iterable[int] | Mapping[int, str]

RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


def one_of(values: Iterable[str]) -> WithJsonSchema:
    """A query parameter's fixed values, in the document, where the endpoint checks them itself
    (with its own message): `status: Annotated[str | None, one_of(ORDER_STATUSES)] = None`."""
    return WithJsonSchema({"type": "string", "enum": list(values)})


def problem_responses(problems: Problems) -> dict[int | str, dict[str, Any]]:
    described = problems if isinstance(problems, Mapping) else {s: PROBLEM_DESCRIPTIONS[s] for s in problems}
    return {
        status: {"description": text, "content": {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}}
        for status, text in described.items()
    }


def documented(
    model: Any,
    status: int = 200,
    *,
    problems: Problems = (),
    description: str = "Success",
    also: Mapping[int, str] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route answering `model` as JSON under `status` (and under each status of
    `also`, with its description), or refusing with the given problem statuses. `model` is any
    type Pydantic can describe (a BaseModel, `Page[X]`, `list[X]`); `None` means no body (204)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code, text in {status: description, **(also or {})}.items():
        out[code] = {"description": text} if model is None else {"model": model, "description": text}
    out.update(problem_responses(problems))
    return out


def binary(
    media_types: Mapping[str, str], *, problems: Problems = (), description: str = "The document"
) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route answering a document (PDF, XML…) rather than JSON."""
    content = {mt: {"schema": {"type": "string", "format": "binary", "description": text}}
               for mt, text in media_types.items()}
    return {200: {"description": description, "content": content}, **problem_responses(problems)}


def _hoist_defs(node: Any, into: dict[str, Any]) -> None:
    """Move inline `$defs` (from `model_json_schema(ref_template=COMPONENTS…)`) into components."""
    if isinstance(node, dict):
        defs = node.pop("$defs", None)
        if defs:
            for name, schema in defs.items():
                _hoist_defs(schema, into)
                known = into.setdefault(name, schema)
                if known != schema:
                    raise ValueError(f"two different schemas are called {name!r} in the OpenAPI document")
        for value in node.values():
            _hoist_defs(value, into)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, into)


def _name_bodies(doc: dict[str, Any], into: dict[str, Any]) -> None:
    """Request bodies documented inline (`body_schema`) become named components, as answers are,
    so clients generated from the document get one class per payload model. A name another model
    has already is prefixed with the operation's tag (accounts' AddressIn: AccountsAddressIn)."""
    for item in doc["paths"].values():
        for operation in item.values():
            for entry in operation.get("requestBody", {}).get("content", {}).values():
                schema = entry.get("schema", {})
                title = schema.get("title")
                if not title or "$ref" in schema or schema.get("type") != "object":
                    continue
                tag = "".join(w.capitalize() for w in (operation.get("tags") or [""])[0].split())
                for name in (title, tag + title):
                    named = schema if name == title else {**schema, "title": name}
                    if into.setdefault(name, named) == named:
                        entry["schema"] = {"$ref": COMPONENTS + name}
                        break


def _requirement(dependant: Dependant) -> require | None:
    for dep in dependant.dependencies:
        found = dep.call if isinstance(dep.call, require) else _requirement(dep)
        if found is not None:
            return found
    return None


def _takes_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters") or operation.get("requestBody"))


def _common_problems(app: FastAPI, doc: dict[str, Any]) -> None:
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path = doc["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            common: list[int] = []
            needs = _requirement(route.dependant)
            if needs is not None:
                common += [401, 429]
                if needs.roles != frozenset(ALL_ROLES):
                    common.append(403)
            if _takes_input(operation):
                common.append(422)
            if "requestBody" in operation:
                common += [413, 415]  # kernel.guard: the body's size and media type
            common.append(503)  # the database cannot be reached
            for status, answer in problem_responses(common).items():
                current = responses.get(str(status))
                if current is None or PROBLEM_JSON not in current.get("content", {}):
                    # FastAPI's own 422 (HTTPValidationError) is not what the app answers
                    responses[str(status)] = {**answer, "description": (current or answer)["description"]}
            responses["503"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def _drop_placeholder_json(doc: dict[str, Any]) -> None:
    """A route answering a document (PDF, XML) gets FastAPI's empty JSON entry beside it: drop it."""
    for item in doc["paths"].values():
        for operation in item.values():
            for answer in operation.get("responses", {}).values():
                content = answer.get("content", {})
                if len(content) > 1 and content.get("application/json") == {"schema": {}}:
                    del content["application/json"]


def _drop_unused_fastapi_validation(schemas: dict[str, Any], doc: dict[str, Any]) -> None:
    """FastAPI's 422 schemas, once no operation refers to them (the app answers problems)."""
    if COMPONENTS + "HTTPValidationError" not in repr(doc["paths"]):
        schemas.pop("HTTPValidationError", None)
        if COMPONENTS + "ValidationError" not in repr(doc["paths"]):
            schemas.pop("ValidationError", None)


def finish_openapi(app: FastAPI, doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemOut.model_json_schema(ref_template=COMPONENTS + "{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    _hoist_defs(doc["paths"], schemas)
    _name_bodies(doc, schemas)
    for schema in list(schemas.values()):
        _hoist_defs(schema, schemas)
    _common_problems(app, doc)
    _drop_placeholder_json(doc)
    _drop_unused_fastapi_validation(schemas, doc)
    return doc


def install_openapi(app: FastAPI) -> None:
    finished: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        doc = FastAPI.openapi(app)  # FastAPI's document, cached until the routes change
        if not finished or finished[0] is not doc:
            finish_openapi(app, doc)
            finished[:] = [doc]
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
