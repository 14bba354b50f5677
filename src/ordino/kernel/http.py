"""Small HTTP conventions shared by every router: JSON bodies, cursors, versions."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar, TypeVarTuple

import orjson
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute
from starlette.responses import Response

from ordino.kernel import clock
from ordino.kernel.errors import FieldError, PreconditionRequired, ValidationFailed, VersionConflict

MAX_LIMIT = 200
T = TypeVar("T", bound=tuple[Any, ...])
Ts = TypeVarTuple("Ts")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json", headers=headers)


def raw_json(body: bytes, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API returned")]) from None


def check_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed([FieldError("limit", f"must be between 1 and {MAX_LIMIT}")])
    return limit


def paginate(
    stmt: Select[*Ts], id_column: InstrumentedAttribute[uuid.UUID], limit: int, cursor: str | None
) -> Select[*Ts]:
    """Newest first by UUIDv7 id; the statement fetches one extra row to know if more exist."""
    check_limit(limit)
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    return stmt.order_by(id_column.desc()).limit(limit + 1)


def page(items: Sequence[dict[str, Any]], ids: Sequence[uuid.UUID], limit: int) -> dict[str, Any]:
    more = len(items) > limit
    return {
        "items": list(items[:limit]),
        "next_cursor": encode_cursor(ids[limit - 1]) if more else None,
    }


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int) -> None:
    """Updates of versioned records need If-Match with the current version; else 428 or 409."""
    if if_match is None:
        raise PreconditionRequired(
            "send If-Match with the record's ETag (its version) to update it",
            [FieldError("If-Match", "is required")],
        )
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if wanted != str(version):
        raise VersionConflict(
            f"the record was changed (version {version}); reload it and try again",
            [FieldError("If-Match", f"does not match the current version {version}")],
            extra={"current_version": version},
        )


class Versioned(Protocol):
    """A record whose changes are guarded by `If-Match` against its version."""

    version: int
    updated_at: datetime


def apply_changes(row: Versioned, changes: Mapping[str, Any], if_match: str | None) -> bool:
    """Check the version, set the fields that differ, and count a new version if any did."""
    check_if_match(if_match, row.version)
    changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
    for name, value in changed.items():
        setattr(row, name, value)
    if changed:
        row.version += 1
        row.updated_at = clock.now()
    return bool(changed)
