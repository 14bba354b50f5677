"""Idempotency-Key semantics (DESIGN §6), stored in the same transaction as the change itself.

- same key + same body: the stored response is replayed, nothing runs again;
- same key + another body: 422, nothing runs;
- same key while the first request is still running: 409 (PostgreSQL: a try-lock on the key;
  SQLite serializes writers, so the second request simply waits and then replays).

Because the response row commits with the change, a crash can never leave a change without its
key or a key without its change. Refused requests (4xx) roll back and store nothing, so the same
key may be used again once the request is corrected.

A command may answer `Deferred`: its answer first, its contended last step (taking stock) after
the key's row is written, so that nothing but COMMIT follows the rows that step locks.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import orjson
from sqlalchemy import Integer, LargeBinary, String, Table, UniqueConstraint, Uuid, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base, Database, IdMixin
from ordino.kernel.errors import Conflict, FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.types import UTCDateTime

MAX_KEY_LENGTH = 255


class IdempotencyRecord(IdMixin, Base):
    __tablename__ = "idempotency_key"

    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("api_key_id", "key"),)


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: bytes
    replayed: bool = False


def request_hash(method: str, path: str, body: bytes) -> str:
    """Hash of the request; JSON bodies are canonicalized so key order and spacing do not count."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _lock_id(api_key_id: uuid.UUID, key: str) -> int:
    raw = hashlib.sha256(api_key_id.bytes + key.encode()).digest()[:8]
    return int.from_bytes(raw, "big", signed=True)


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            [FieldError("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")]
        )


@dataclass(frozen=True, slots=True)
class Deferred:
    """An answer known before the command's last step: `finish` runs after the key's row is
    written, right before COMMIT, so the rows it locks (stock) stay locked only for that step.
    `finish` refuses by raising (everything rolls back) or returns the answer's corrected body
    (None: the body stands)."""

    status_code: int
    body: bytes
    finish: Callable[[], bytes | None]


Work = Callable[[Session], tuple[int, bytes] | Deferred]


def _answer(result: tuple[int, bytes] | Deferred) -> tuple[int, bytes, Deferred | None]:
    if isinstance(result, Deferred):
        return result.status_code, result.body, result
    return result[0], result[1], None


def run(
    db: Database,
    work: Work,
    *,
    api_key_id: uuid.UUID,
    key: str | None,
    method: str,
    path: str,
    body: bytes,
) -> Outcome:
    """Run `work` in one transaction under the Idempotency-Key, if one was given."""
    if key is None:

        def plain(session: Session) -> Outcome:
            status, payload, deferred = _answer(work(session))
            if deferred is not None:
                payload = deferred.finish() or payload
            return Outcome(status, payload)

        return db.transaction(plain)
    check_key(key)
    digest = request_hash(method, path, body)
    lock = _lock_id(api_key_id, key)

    def attempt(session: Session) -> Outcome:
        conn = session.connection()
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            row = conn.execute(_LOOKUP_PG, {"lock": lock, "api_key_id": api_key_id, "key": key}).one()
            if not row.locked:
                raise Conflict(
                    "a request with this Idempotency-Key is still being processed",
                    slug="idempotency-in-progress",
                )
            existing = row if row.request_hash is not None else None
        else:
            existing = conn.execute(_LOOKUP, {"api_key_id": api_key_id, "key": key}).first()
        if existing is not None:
            if existing.request_hash != digest:
                raise ValidationFailed(
                    [FieldError("Idempotency-Key", "was already used with a different request")],
                )
            return Outcome(existing.status_code, bytes(existing.response_body), replayed=True)
        status, payload, deferred = _answer(work(session))
        # The read above ran on a snapshot taken before the lock was granted: a request with the
        # same key that committed in between is invisible to it. Its row makes this insert a
        # no-op; answer as for a request still running (the client retries and gets the replay).
        row_id = new_id()
        stored = conn.execute(
            _STORE[postgres],
            {
                "api_key_id": api_key_id, "key": key, "method": method, "path": path, "request_hash": digest,
                "status_code": status, "response_body": payload, "created_at": clock.now(), "id": row_id,
            },
        ).first()
        if stored is None:
            raise Conflict(
                "a request with this Idempotency-Key was being processed at the same time",
                slug="idempotency-in-progress",
            )
        if deferred is not None and (final := deferred.finish()) is not None:
            payload = final
            conn.execute(_REWRITE, {"row_id": row_id, "body": payload})
        return Outcome(status, payload)

    return db.transaction(attempt)


# Built once: every creation runs these, and building them cost more than running them.
_KEYS = cast(Table, IdempotencyRecord.__table__)
_LOOKUP_PG = text(
    "SELECT pg_try_advisory_xact_lock(:lock) AS locked, request_hash, status_code,"
    " response_body FROM (SELECT 1) AS one LEFT JOIN idempotency_key"
    " ON api_key_id = :api_key_id AND key = :key"
).bindparams(bindparam("api_key_id", type_=Uuid()), bindparam("key", type_=String()))
_LOOKUP = select(_KEYS.c.request_hash, _KEYS.c.status_code, _KEYS.c.response_body).where(
    _KEYS.c.api_key_id == bindparam("api_key_id"), _KEYS.c.key == bindparam("key")
)
_STORE = {
    postgres: ins(_KEYS).on_conflict_do_nothing(index_elements=["api_key_id", "key"]).returning(_KEYS.c.id)
    for postgres, ins in ((True, pg_insert), (False, sqlite_insert))
}
_REWRITE = (
    update(_KEYS).where(_KEYS.c.id == bindparam("row_id")).values(response_body=bindparam("body", type_=LargeBinary()))
)
