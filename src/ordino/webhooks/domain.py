"""Pure rules of outbound webhooks: event type patterns, targets a subscription may name, secrets,
the retry schedule, message ids, and which account an event concerns."""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"  # Standard Webhooks' prefix of a base64 signing secret
SECRET_BYTES = 32
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_URL = 2000
EXCERPT = 1000  # characters of a response body kept with an attempt

# The wait after each failed attempt (Standard Webhooks' schedule, stretched to about three days):
# eleven attempts in all, the last some 69 hours after the first; then the delivery has failed.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=5),
    timedelta(hours=10), timedelta(hours=10), timedelta(hours=14), timedelta(hours=14), timedelta(hours=14),
)

_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)\Z")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is not an event type pattern (`order.created`, `order.*`, `*`), or None."""
    if not _PATTERN.match(pattern):
        return "must be an event type (order.created), a prefix with a wildcard (order.*) or *"
    return None


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether an event type is one the patterns name: `*` is every type, `order.*` every type
    under `order.` (`order.created`, `order.payment.failed`), anything else the type itself."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_hint(secret: str) -> str:
    """What a listing shows of a secret: its first characters, enough to tell two apart."""
    return secret[: len(SECRET_PREFIX) + 4] + "…"


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local — cloud
    metadata at 169.254.169.254 —, shared, reserved or multicast), IPv4-mapped IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    ip = ip_literal(host)
    return host.lower() in _LOOPBACK_NAMES if ip is None else ip.is_loopback


def target_error(url: str, allow_private: bool) -> str | None:
    """Why a subscription may not name `url`, or None. https only, except plain http to a loopback
    host (a receiver on the same machine: development and tests); an address literal or a name of
    loopback or a private network only when the installation allows private targets. Names are
    resolved, and their addresses checked the same way, at each delivery."""
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL"
    if parts.username is not None or parts.password is not None:
        return "may not carry a user name or password"
    if parts.scheme == "http" and not is_loopback(host):
        return "must be an https:// URL (http:// only to a loopback host)"
    ip = ip_literal(host)
    private = is_loopback(host) if ip is None else not is_public(ip)
    if private and not allow_private:
        return "names a loopback or private network address, which this installation does not allow"
    return None


def retry_delay(failures: int) -> timedelta | None:
    """The wait before the next attempt after the `failures`-th failed one in a row; None: give up."""
    return RETRY_SCHEDULE[failures - 1] if 1 <= failures <= len(RETRY_SCHEDULE) else None


def message_id(event_id: uuid.UUID, subscription_id: uuid.UUID) -> str:
    """The `webhook-id` of an event's delivery to a subscription: the same on every retry and replay,
    different for each subscription, so that a receiver de-duplicates on it."""
    return f"msg_{uuid.uuid5(subscription_id, str(event_id)).hex}"


def signature_header(signatures: Sequence[str]) -> str:
    """Standard Webhooks' `webhook-signature`: each `v1,<base64>` signature, space-separated."""
    return " ".join(signatures)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def parse_uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AccountRef:
    """Where an event's account is found: an account id, an order's id or an account number."""

    kind: str  # "account_id", "order_id" or "account_number"
    value: uuid.UUID | str


def account_refs(subject: str | None, data: Mapping[str, Any]) -> list[AccountRef]:
    """What an event tells of the account it concerns, most direct first: `account_id` (orders,
    invoices), the order's (`order_id`, `order_summary_id`: fulfilment orders, payments, credit
    memos; an `order/<id>` subject), the account itself (an `account/<id>` subject) or its number
    (`account`: contacts, addresses, approval rules)."""
    refs: list[AccountRef] = []
    if (account_id := parse_uuid(data.get("account_id"))) is not None:
        refs.append(AccountRef("account_id", account_id))
    kind, _, ident = (subject or "").partition("/")
    if kind == "account" and (subject_id := parse_uuid(ident)) is not None:
        refs.append(AccountRef("account_id", subject_id))
    for key in ("order_id", "order_summary_id"):
        if (order_id := parse_uuid(data.get(key))) is not None:
            refs.append(AccountRef("order_id", order_id))
    if kind == "order" and (subject_id := parse_uuid(ident)) is not None:
        refs.append(AccountRef("order_id", subject_id))
    if isinstance(number := data.get("account"), str) and number:
        refs.append(AccountRef("account_number", number))
    return refs
