"""RFC 9457 problem details for every refusal.

Domain code raises `Problem` subclasses; the app turns them (and payload validation errors) into
`application/problem+json` with `type`, `title`, `status`, `detail` and `errors`, each error naming
the field by its path in the payload (`delivery_groups[0].lines[1].quantity`).

This module is pure (no FastAPI, no SQLAlchemy) so that `domain.py` modules may raise problems;
the responses and the app's handlers are in `kernel.problem_handlers`.

Each refusal is one class whose `slug` makes its stable `type` URI; the capability that refuses
defines it (its `errors.py`), the generic ones are here. Every class is recorded as it is defined,
so `problem_types()` lists them all (docs/api.md has the catalogue, a test holds it to the code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PROBLEM_BASE = "https://ordino.dev/problems/"
PROBLEM_JSON = "application/problem+json"
# PostgreSQL can neither store nor compare text holding NUL: every input refuses it with this.
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


_TYPES: list[type[Problem]] = []


class Problem(Exception):
    """A request the domain refuses for a reason other than its fields."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _TYPES.append(cls)

    def __init__(
        self,
        detail: str,
        errors: Sequence[FieldError] = (),
        *,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.extra = extra or {}

    @classmethod
    def type_uri(cls) -> str:
        return PROBLEM_BASE + cls.slug

    retry_after: int | None = None  # seconds, sent as `Retry-After` (429, 503)

    def headers(self) -> dict[str, str]:
        """Header fields the answer carries besides its body."""
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        if self.status == 401:  # RFC 9110 §15.5.2: a 401 response must say how to authenticate
            headers["WWW-Authenticate"] = "Bearer"
        return headers

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


def problem_types() -> list[type[Problem]]:
    """Every problem class defined so far; import `ordino.app` first to have them all."""
    return [Problem, *_TYPES]


class BadRequest(Problem):
    """A request the domain refuses for a reason other than its fields."""

    status = 400


class Unauthorized(Problem):
    """No valid API key (or session) was sent."""

    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(Problem):
    """The key's role may not do this."""

    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(Problem):
    """No such record, or not one the key may see."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    """The request conflicts with the record's current state."""

    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PreconditionRequired(Problem):
    """An update of a versioned record was sent without `If-Match`."""

    status = 428
    slug = "precondition-required"
    title = "If-Match required"


class TooManyFailedAttempts(Problem):
    """Too many requests from this client failed authentication lately; `Retry-After` says when
    it may try again. Requests with a key the server has just verified still pass."""

    status = 429
    slug = "too-many-failed-authentications"
    title = "Too many failed authentication attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentication attempts; try again in {retry_after} s")
        self.retry_after = retry_after


class ValidationFailed(Problem):
    """The payload is not valid; every bad field is named in `errors`."""

    status = 422
    slug = "validation"
    title = "The request is not valid"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or _summary(errors), errors)


class ConcurrentChange(Conflict):
    """The record was changed by another request at the same time; reload it and try again."""

    slug = "concurrent-change"


class VersionConflict(Conflict):
    """`If-Match` names another version than the record's current one (`current_version`)."""

    slug = "version-conflict"


class Duplicate(Conflict):
    """A record with this unique code, number or reference exists already."""

    slug = "duplicate"


class InvalidTransition(Conflict):
    """The action is not allowed in the record's current status (`current_status`, `available_actions`)."""

    slug = "invalid-transition"


class IdempotencyInProgress(Conflict):
    """A request with the same `Idempotency-Key` is still being processed."""

    slug = "idempotency-in-progress"


class HttpError(Problem):
    """A refusal of the HTTP layer (unknown path, method not allowed …); its slug carries the status
    and its title is the status's reason phrase."""

    slug = "http-{status}"
    title = "{reason phrase}"

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = f"http-{status}"
        self.title = detail


class BodyTooLarge(Problem):
    """The request body is larger than the route's limit (`ORDINO_MAX_BODY_BYTES`; imports:
    `ORDINO_MAX_IMPORT_BYTES`); it was refused before it was read."""

    status = 413
    slug = "body-too-large"
    title = "Request body too large"


class UnsupportedMediaType(Problem):
    """The body's `Content-Type` is not one the route takes (JSON routes: `application/json`)."""

    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class ServiceUnavailable(Problem):
    """The database cannot be reached (down, restarting, out of connections); retry after
    `Retry-After` seconds. Nothing was changed."""

    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"
    retry_after = 5


class InternalError(Problem):
    """An unexpected error: the server logs it; the client sees no details."""

    status = 500
    slug = "internal"
    title = "Internal error"


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
