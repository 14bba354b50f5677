"""RFC 9457 problem details for every refusal.

Domain code raises `Problem` subclasses; the app turns them (and payload validation errors) into
`application/problem+json` with `type`, `title`, `status`, `detail` and `errors`, each error naming
the field by its path in the payload (`delivery_groups[0].lines[1].quantity`).

This module is pure (no FastAPI, no SQLAlchemy) so that `domain.py` modules may raise problems;
the responses and the app's handlers are in `kernel.problem_handlers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PROBLEM_BASE = "https://ordino.dev/problems/"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class Problem(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        errors: Sequence[FieldError] = (),
        *,
        slug: str | None = None,
        title: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        if slug:
            self.slug = slug
        if title:
            self.title = title
        self.extra = extra or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "errors": [e.as_dict() for e in self.errors],
        }
        if instance:
            doc["instance"] = instance
        for name, value in self.extra.items():
            doc.setdefault(name, value)  # extension members never replace the standard ones
        return doc


class BadRequest(Problem):
    status = 400


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PreconditionRequired(Problem):
    status = 428
    slug = "precondition-required"
    title = "If-Match required"


class ValidationFailed(Problem):
    status = 422
    slug = "validation"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or _summary(errors), errors)


def _summary(errors: Sequence[FieldError]) -> str:
    if len(errors) == 1:
        return f"{errors[0].field}: {errors[0].message}"
    return f"{len(errors)} fields are not valid"


_NO_DATA: Any = object()
_NOT_FIELDS = ("function-after", "function-before", "function-wrap", "tagged-union")


def field_path(loc: Sequence[int | str], data: Any = _NO_DATA) -> str:
    """('body', 'delivery_groups', 0, 'lines', 1, 'sku') -> 'delivery_groups[0].lines[1].sku'.

    Given the payload (`data`), segments that are not in it are left out: Pydantic puts the tag of
    a discriminated union into the location (('payments', 0, 'card', 'token')), but the client's
    field is `payments[0].token`. The last segment always stays (it may name a missing field).
    """
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    node = data
    for i, p in enumerate(parts):
        if isinstance(p, int):
            out += f"[{p}]"
            node = node[p] if isinstance(node, list) and 0 <= p < len(node) else _NO_DATA
        elif p in _NOT_FIELDS or (isinstance(node, dict) and p not in node and i < len(parts) - 1):
            continue
        else:
            out += ("." if out else "") + str(p)
            node = node.get(p, _NO_DATA) if isinstance(node, dict) else _NO_DATA
    return out or "body"
