"""API keys, roles and the request principal.

Keys are random 256-bit secrets shown once; only their digest is stored: HMAC-SHA256 keyed with
the server secret (ORDINO_SECRET_KEY), so that a copy of the database alone does not allow
testing guesses of a key offline. A keyed digest, not a slow password hash: a generated secret
already has full entropy, and the lookup is on every request. Digests made before the server
secret existed (plain SHA-256) or with the previous secret (ORDINO_SECRET_KEY_PREVIOUS) are still
accepted, and the key's row is re-stored under the current secret on its first use.
A key has a role and optionally an account scope: a scoped principal sees only that account's
records, and other accounts' records answer 404 as if they did not exist. A buyer key may also
name the contact of its account who uses it, so orders and approvals know the person.

Verified keys are cached in-process for a few seconds; revoking a key clears this process's cache
at once and other processes' within `CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import ForeignKey, String, Uuid, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ordino.kernel import clock
from ordino.kernel.db import Base, IdMixin
from ordino.kernel.errors import Forbidden, NotFound, TooManyFailedAttempts, Unauthorized
from ordino.kernel.types import UTCDateTime

if TYPE_CHECKING:
    from ordino.kernel.db import Database

CACHE_SECONDS = 5.0
KEY_PREFIX = "ordino_"
LEGACY_SCHEME = "sha256"
MIN_SERVER_SECRET = 32  # characters of ORDINO_SECRET_KEY


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
    # How `digest` was made: "sha256" (unkeyed, before the server secret) or "hmac-sha256:<id>",
    # <id> naming the server secret (`KeyDigests.scheme`), so rotation can tell what is left.
    digest_scheme: Mapped[str] = mapped_column(String(32), server_default=LEGACY_SCHEME)
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


def legacy_digest(secret: str) -> str:
    """The unkeyed SHA-256 digest that keys had before the server secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyDigests:
    """API key digests under the server secret, and the digests a stored key may still have."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        if len(secret) < MIN_SERVER_SECRET or any(len(p) < MIN_SERVER_SECRET for p in previous):
            raise ValueError(f"a server secret has at least {MIN_SERVER_SECRET} characters")
        self.secret = secret
        # HMAC state after the key is absorbed: each digest copies it (about 1 µs)
        self._macs = [hmac.new(s.encode(), digestmod=hashlib.sha256) for s in (secret, *previous)]
        self.schemes = [_scheme(s) for s in (secret, *previous)]

    @property
    def scheme(self) -> str:
        return self.schemes[0]

    def digest(self, key: str) -> str:
        mac = self._macs[0].copy()
        mac.update(key.encode())
        return mac.hexdigest()

    def candidates(self, key: str) -> list[str]:
        """The current digest first, then those under the previous secrets and the legacy one."""
        found = [self.digest(key)]
        for base in self._macs[1:]:
            mac = base.copy()
            mac.update(key.encode())
            found.append(mac.hexdigest())
        return [*found, legacy_digest(key)]


def _scheme(secret: str) -> str:
    # An id of the secret, not the secret: 32 bits of a one-way function keyed with it
    ident = hmac.new(secret.encode(), b"ordino api key digest scheme", hashlib.sha256).hexdigest()[:8]
    return f"hmac-sha256:{ident}"


# Until the process is configured (`use_server_secret`) a secret of its own: digests made with it
# are good for this process only, which is what tests and in-memory databases need.
_digests = KeyDigests(secrets.token_urlsafe(32))


def use_server_secret(secret: str, previous: Sequence[str] = ()) -> None:
    """Key this process's API key digests with `secret`; `previous` secrets are still accepted."""
    global _digests
    _digests = KeyDigests(secret, previous)
    forget_cached_keys()


def key_digests() -> KeyDigests:
    return _digests


def digest(secret: str) -> str:
    """The digest a new key is stored with (HMAC-SHA256 under the current server secret)."""
    return _digests.digest(secret)


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
        digest=_digests.digest(secret),
        digest_scheme=_digests.scheme,
        hint=key_hint(secret),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row, secret


def ensure_bootstrap_admin(session: Session, secret: str) -> None:
    """The admin key from ORDINO_ADMIN_API_KEY exists (and is not revoked) after start-up, stored
    under the current server secret and with no more of a hint than `key_hint` gives."""
    keys = _digests
    rows = session.execute(select(ApiKey).where(ApiKey.digest.in_(keys.candidates(secret)))).scalars().all()
    if not rows:
        create_key(session, name="bootstrap admin", role=Role.ADMIN, secret=secret)
        return
    row = next((r for r in rows if r.digest == keys.digest(secret)), rows[0])
    row.revoked_at = None
    row.role = Role.ADMIN.value
    row.digest, row.digest_scheme = keys.digest(secret), keys.scheme
    row.hint = key_hint(secret)


def digest_schemes(session: Session, keys: KeyDigests) -> dict[str, int]:
    """Active keys by what their digest is keyed with: current, previous, legacy or unknown."""
    counts = dict.fromkeys(("current", "previous", "legacy", "unknown"), 0)
    rows = session.execute(
        select(ApiKey.digest_scheme, func.count()).where(ApiKey.revoked_at.is_(None)).group_by(ApiKey.digest_scheme)
    ).all()
    for scheme, count in rows:
        if scheme == keys.scheme:
            counts["current"] += count
        elif scheme in keys.schemes:
            counts["previous"] += count
        elif scheme == LEGACY_SCHEME:
            counts["legacy"] += count
        else:
            counts["unknown"] += count
    return counts


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


class FailureThrottle:
    """Failed authentications per client: a token bucket of `limit` failures refilled over
    `window` seconds. In-process and bounded: past `max_clients` the least recently failing
    client is forgotten. A limit of 0 turns it off."""

    def __init__(
        self, limit: int, window: float, *, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.rate = limit / window if window > 0 else 0.0
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def _tokens(self, client: str, now: float) -> float:
        tokens, at = self._buckets.get(client, (float(self.limit), now))
        return min(float(self.limit), tokens + (now - at) * self.rate)

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again; None when it may now."""
        if self.limit <= 0 or client not in self._buckets:
            return None
        with self._lock:
            now = self.clock()
            tokens = self._tokens(client, now)
            if tokens >= 1:
                return None
            return max(1, math.ceil((1 - tokens) / self.rate)) if self.rate else None

    def failed(self, client: str) -> None:
        if self.limit <= 0:
            return
        with self._lock:
            now = self.clock()
            self._buckets[client] = (self._tokens(client, now) - 1, now)
            self._buckets.move_to_end(client)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)

    def check(self, client: str) -> None:
        wait = self.retry_after(client)
        if wait is not None:
            raise TooManyFailedAttempts(wait)


def authenticate(
    db: Database, authorization: str | None, throttle: FailureThrottle | None = None, client: str = ""
) -> Principal:
    """The principal of a bearer key. A key this process has verified lately comes from the
    cache; otherwise a client with too many recent failures is refused before the database."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("send 'Authorization: Bearer <api key>'")
    secret = authorization[7:].strip()
    keys = _digests
    key_digest = keys.digest(secret)
    cached = _cache.get(key_digest)
    if cached is not None:
        return cached
    if throttle is not None:
        throttle.check(client)
    with db.read() as session:
        row = session.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.account_id, ApiKey.contact_id, ApiKey.digest).where(
                ApiKey.digest.in_(keys.candidates(secret)), ApiKey.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        if throttle is not None:
            throttle.failed(client)
        raise Unauthorized("the API key is not valid or has been revoked")
    if row.digest != key_digest:
        _restore_digest(db, row.id, row.digest, key_digest, keys.scheme)
    principal = Principal(row.id, row.name, Role(row.role), row.account_id, row.contact_id)
    _cache.put(key_digest, principal)
    return principal


def _restore_digest(db: Database, key_id: uuid.UUID, old: str, new: str, scheme: str) -> None:
    """A key found by a legacy or previous-secret digest is stored under the current secret."""
    db.transaction(lambda s: s.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.digest == old).values(digest=new, digest_scheme=scheme)
    ))


def bearer_matches(authorization: str | None, token: str) -> bool:
    """A fixed bearer token (the metrics token), compared in constant time."""
    sent = authorization[7:].strip() if authorization and authorization.startswith("Bearer ") else ""
    return hmac.compare_digest(sent.encode(), token.encode())


def client_address(request: Request) -> str:
    """The client as the server sees it (behind a proxy that uvicorn trusts, FORWARDED_ALLOW_IPS,
    the address the proxy forwards)."""
    return request.client.host if request.client else ""


def throttle_of(request: Request) -> FailureThrottle | None:
    throttle: FailureThrottle | None = getattr(request.app.state, "auth_throttle", None)
    return throttle


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


class require:
    """A dependency that authenticates the request and checks the principal's role."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles or ALL_ROLES)

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(
            database(request), request.headers.get("authorization"), throttle_of(request), client_address(request)
        )
        if principal.role not in self.roles:
            raise Forbidden(f"the role '{principal.role}' may not do this")
        return principal


class require_unscoped(require):
    """`require`, refusing a key scoped to an account whatever its role: for the installation's own
    records (API keys, the audit log, flows, webhooks), which no account owns."""

    def __init__(self, *roles: Role, what: str) -> None:
        super().__init__(*roles)
        self.what = what

    def __call__(self, request: Request) -> Principal:
        principal = super().__call__(request)
        if principal.account_id is not None:
            raise Forbidden(f"a key scoped to an account cannot {self.what}")
        return principal
