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

Requests combined in one transaction (`kernel.combining`) go through the same steps for many keys
at once: `claim_each` (one statement try-locks and looks up every key), `store_many` (one
statement stores every answer) and `forget` (the answers of requests refused afterwards).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    bindparam,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base, Database, IdMixin
from ordino.kernel.errors import FieldError, IdempotencyInProgress, Problem, ValidationFailed
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
    claim = Claim.of(api_key_id, key, method, path, body)

    def attempt(session: Session) -> Outcome:
        conn = session.connection()
        (earlier,) = claim_many(conn, [claim])
        if isinstance(earlier, Problem):
            raise earlier
        if earlier is not None:
            return earlier
        status, payload, deferred = _answer(work(session))
        (row_id,) = store_many(conn, [claim], [(status, payload)])
        if row_id is None:
            raise in_progress(concurrent=True)
        if deferred is not None and (final := deferred.finish()) is not None:
            payload = final
            rewrite(conn, row_id, payload)
        return Outcome(status, payload)

    return db.transaction(attempt)


# ------------------------------------------------------------------------------------------------
# The steps of `run`, for one request or for many in one transaction


@dataclass(frozen=True, slots=True)
class Command:
    """A state-changing request as idempotency sees it: who sent it, its Idempotency-Key (if
    any), and what it asked."""

    api_key_id: uuid.UUID
    key: str | None
    method: str
    path: str
    body: bytes

    def claim(self) -> Claim | None:
        return None if self.key is None else Claim.of(self.api_key_id, self.key, self.method, self.path, self.body)

    def identity(self) -> tuple[uuid.UUID, str] | None:
        """What makes two requests the same one retried (None: it has no key)."""
        return None if self.key is None else (self.api_key_id, self.key)

    def run(self, db: Database, work: Work) -> Outcome:
        return run(db, work, api_key_id=self.api_key_id, key=self.key, method=self.method, path=self.path,
                   body=self.body)

    def answered(self, session: Session) -> bool:
        """Whether an answer is stored under this command's key: `run` replays it (or refuses
        another body) without running its work."""
        if self.key is None:
            return False
        return session.execute(_LOOKUP, {"api_key_id": self.api_key_id, "key": self.key}).first() is not None



@dataclass(frozen=True, slots=True)
class Claim:
    """A request's Idempotency-Key, checked, with its request's digest and the key's lock id."""

    api_key_id: uuid.UUID
    key: str
    method: str
    path: str
    digest: str
    lock: int

    @classmethod
    def of(cls, api_key_id: uuid.UUID, key: str, method: str, path: str, body: bytes) -> Claim:
        check_key(key)
        return cls(api_key_id, key, method, path, request_hash(method, path, body), _lock_id(api_key_id, key))


def in_progress(*, concurrent: bool = False) -> IdempotencyInProgress:
    # A request with the same key that committed after this transaction's snapshot was taken is
    # invisible to the look-up; its row makes the store a no-op (`concurrent`). The client
    # retries and gets the replay.
    detail = "was being processed at the same time" if concurrent else "is still being processed"
    return IdempotencyInProgress(f"a request with this Idempotency-Key {detail}")


def claim_many(conn: Connection, claims: Sequence[Claim]) -> list[Outcome | Problem | None]:
    """For each claim: the stored answer to replay, its refusal (still running elsewhere, or the
    key used with another request), or None: go ahead. On PostgreSQL each key is try-locked for
    the rest of the transaction."""
    if not claims:
        return []
    postgres = conn.dialect.name == "postgresql"
    if postgres and len(claims) == 1:  # the common case, without arrays
        (c,) = claims
        rows: list[Any] = [conn.execute(_LOOKUP_PG, {"lock": c.lock, "api_key_id": c.api_key_id, "key": c.key}).one()]
    elif postgres:
        params = {"locks": [c.lock for c in claims], "api_key_ids": [c.api_key_id for c in claims],
                  "keys": [c.key for c in claims]}
        rows = list(conn.execute(_CLAIM_PG, params).all())
    else:  # SQLite lets one writer in: the second request waits, then replays
        rows = [conn.execute(_LOOKUP, {"api_key_id": c.api_key_id, "key": c.key}).first() for c in claims]
    out: list[Outcome | Problem | None] = []
    for claim, row in zip(claims, rows, strict=True):
        if postgres and not row.locked:
            out.append(in_progress())
        elif row is None or row.request_hash is None:
            out.append(None)
        elif row.request_hash != claim.digest:
            out.append(ValidationFailed([FieldError("Idempotency-Key", "was already used with a different request")]))
        else:
            out.append(Outcome(row.status_code, bytes(row.response_body), replayed=True))
    return out


def claim_each(
    conn: Connection, claim_of: Sequence[Callable[[], Claim | None]]
) -> tuple[list[Outcome | Problem | None], dict[int, Claim]]:
    """For requests run together, from each one's claim (None: it has no key): its answer if it
    is known already (a replay, or its key refused), else None; and the claims of the keyed
    requests still to run, by position."""
    known: list[Outcome | Problem | None] = [None] * len(claim_of)
    claims: dict[int, Claim] = {}
    for i, make in enumerate(claim_of):
        try:
            claim = make()
        except Problem as problem:
            known[i] = problem
            continue
        if claim is not None:
            claims[i] = claim
    for i, earlier in zip(list(claims), claim_many(conn, list(claims.values())), strict=True):
        if earlier is not None:
            known[i] = earlier
            del claims[i]
    return known, claims


def store_many(
    conn: Connection, claims: Sequence[Claim], answers: Sequence[tuple[int, bytes]]
) -> list[uuid.UUID | None]:
    """Store each answer under its key, in the caller's transaction; the row's id, or None where
    a request with the same key committed first."""
    if not claims:
        return []
    now = clock.now()
    ids = [new_id() for _ in claims]
    rows = [
        {"api_key_id": c.api_key_id, "key": c.key, "method": c.method, "path": c.path, "request_hash": c.digest,
         "status_code": status, "response_body": payload, "created_at": now, "id": row_id}
        for c, (status, payload), row_id in zip(claims, answers, ids, strict=True)
    ]
    stored = {r[0] for r in conn.execute(_STORE[conn.dialect.name == "postgresql"], rows)}
    return [row_id if row_id in stored else None for row_id in ids]


def rewrite(conn: Connection, row_id: uuid.UUID, body: bytes) -> None:
    """Replace a stored answer's body (a command whose last step changed its answer)."""
    conn.execute(_REWRITE, {"row_id": row_id, "body": body})


def forget(conn: Connection, row_ids: Sequence[uuid.UUID]) -> None:
    """Delete stored answers (requests refused after their row was written: nothing is kept)."""
    if row_ids:
        conn.execute(_FORGET, {"ids": list(row_ids)})


# Built once: every creation runs these, and building them cost more than running them.
_KEYS = cast(Table, IdempotencyRecord.__table__)
_LOOKUP_PG = text(
    "SELECT pg_try_advisory_xact_lock(:lock) AS locked, request_hash, status_code,"
    " response_body FROM (SELECT 1) AS one LEFT JOIN idempotency_key"
    " ON api_key_id = :api_key_id AND key = :key"
).bindparams(bindparam("api_key_id", type_=Uuid()), bindparam("key", type_=String()))
_CLAIM_PG = text(
    "SELECT pg_try_advisory_xact_lock(k.lock) AS locked, i.request_hash, i.status_code, i.response_body"
    " FROM unnest(CAST(:locks AS bigint[]), CAST(:api_key_ids AS uuid[]), CAST(:keys AS text[]))"
    " WITH ORDINALITY AS k(lock, api_key_id, key, n)"
    " LEFT JOIN idempotency_key AS i ON i.api_key_id = k.api_key_id AND i.key = k.key"
    " ORDER BY k.n"
)
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
_FORGET = delete(_KEYS).where(_KEYS.c.id.in_(bindparam("ids", expanding=True)))
