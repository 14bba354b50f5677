"""API keys, roles and the request principal.

Keys are random 256-bit secrets shown once; only their SHA-256 digest is stored (a digest, not a
slow password hash: the secret already has full entropy, and the lookup is on every request).
A key has a role and optionally an account scope: a scoped principal sees only that account's
records, and other accounts' records answer 404 as if they did not exist. A buyer key may also
name the contact of its account who uses it, so orders and approvals know the person.

Verified keys are cached in-process for a few seconds; revoking a key clears this process's cache
at once and other processes' within `CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import ForeignKey, String, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base, IdMixin
from ordino.kernel.errors import Forbidden, NotFound, Unauthorized
from ordino.kernel.types import UTCDateTime

if TYPE_CHECKING:
    from ordino.kernel.db import Database

CACHE_SECONDS = 5.0
KEY_PREFIX = "ordino_"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    FULFILLMENT = "fulfillment"
    FINANCE = "finance"
    INTEGRATION = "integration"
    BUYER = "buyer"


STAFF = (Role.ADMIN, Role.AGENT)
ALL_ROLES = tuple(Role)


class ApiKey(IdMixin, Base):
    __tablename__ = "api_key"

    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("account.id"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("contact.id"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(24))  # the first characters, to recognise a key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: uuid.UUID
    name: str
    role: Role
    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None  # the person behind a buyer key, if the key names one

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"

    def sees_account(self, account_id: uuid.UUID | None) -> bool:
        return self.account_id is None or self.account_id == account_id

    def check_account(self, account_id: uuid.UUID | None, what: str = "record") -> None:
        """Foreign records answer 404, never 403: their existence is not disclosed."""
        if not self.sees_account(account_id):
            raise NotFound(f"{what} not found")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


HINT_LENGTH = 12
HINT_MIN_SECRET = 32  # a shorter secret shows no hint: its first characters would be most of it


def key_hint(secret: str) -> str:
    """The first characters of a key, to recognise it in lists; none for a short key."""
    return secret[:HINT_LENGTH] if len(secret) >= HINT_MIN_SECRET else ""


def create_key(
    session: Session, *, name: str, role: Role, account_id: uuid.UUID | None = None,
    secret: str | None = None, contact_id: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the secret (never stored, shown once)."""
    secret = secret or generate_secret()
    row = ApiKey(
        name=name,
        role=role.value,
        account_id=account_id,
        contact_id=contact_id,
        digest=digest(secret),
        hint=key_hint(secret),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row, secret


def ensure_bootstrap_admin(session: Session, secret: str) -> None:
    """The admin key from ORDINO_ADMIN_API_KEY exists (and is not revoked) after start-up."""
    row = session.execute(select(ApiKey).where(ApiKey.digest == digest(secret))).scalar_one_or_none()
    if row is None:
        create_key(session, name="bootstrap admin", role=Role.ADMIN, secret=secret)
    elif row.revoked_at is not None or row.role != Role.ADMIN.value:
        row.revoked_at = None
        row.role = Role.ADMIN.value


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + CACHE_SECONDS, principal)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _Cache()


def forget_cached_keys() -> None:
    _cache.clear()


def authenticate(db: Database, authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    key_digest = digest(authorization[7:].strip())
    cached = _cache.get(key_digest)
    if cached is not None:
        return cached
    with db.read() as session:
        row = session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.account_id, ApiKey.contact_id).where(
                ApiKey.digest == key_digest, ApiKey.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        raise Unauthorized("the API key is not valid or has been revoked")
    principal = Principal(row.id, row.name, Role(row.role), row.account_id, row.contact_id)
    _cache.put(key_digest, principal)
    return principal


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


class require:
    """A dependency that authenticates the request and checks the principal's role."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles or ALL_ROLES)

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(database(request), request.headers.get("authorization"))
        if principal.role not in self.roles:
            raise Forbidden(f"the role '{principal.role}' may not do this")
        return principal
