"""Reading subscriptions and deliveries; which account an event concerns; the per-process cache of
enabled subscriptions the fan-out matches events against."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.kernel import clock
from ordino.kernel.errors import NotFound
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import parse_id
from ordino.orders.reads import order_account_id
from ordino.webhooks import domain
from ordino.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

Doc = dict[str, Any]
CACHE_SECONDS = 5.0  # how stale another process's subscription changes may be to a fan-out


def subscription_doc(row: WebhookSubscription, account: str | None) -> Doc:
    overlap = row.previous_secret_until if row.previous_secret is not None else None
    return {
        "id": row.id, "url": row.url, "event_types": list(row.event_types), "account": account,
        "description": row.description, "enabled": row.enabled, "disabled_reason": row.disabled_reason,
        "secret_hint": domain.secret_hint(row.secret),
        "previous_secret_expires_at": overlap if overlap is not None and overlap > clock.now() else None,
        "version": row.version, "created_by": row.created_by, "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def account_number(session: Session, account_id: uuid.UUID | None) -> str | None:
    if account_id is None:
        return None
    return session.execute(select(Account.number).where(Account.id == account_id)).scalar_one_or_none()


def account_id_by_number(session: Session, number: str) -> uuid.UUID | None:
    return session.execute(select(Account.id).where(Account.number == number)).scalar_one_or_none()


def find_subscription(session: Session, ref: str, *, lock: bool = False) -> WebhookSubscription:
    sub_id = parse_id(ref)
    stmt = select(WebhookSubscription).where(WebhookSubscription.id == sub_id)
    row = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none() if sub_id else None
    if row is None:
        raise NotFound(f"no webhook '{ref}'")
    return row


def get_subscription(session: Session, ref: str) -> Doc:
    row = find_subscription(session, ref)
    return subscription_doc(row, account_number(session, row.account_id))


def list_subscriptions(session: Session, enabled: bool | None, limit: int, cursor: str | None) -> Doc:
    stmt = select(WebhookSubscription, Account.number).outerjoin(
        Account, Account.id == WebhookSubscription.account_id
    )
    if enabled is not None:
        stmt = stmt.where(WebhookSubscription.enabled.is_(enabled))
    rows = session.execute(paginate(stmt, WebhookSubscription.id, limit, cursor)).all()
    return page([subscription_doc(r[0], r[1]) for r in rows], [r[0].id for r in rows], limit)


def _attempt_doc(a: WebhookAttempt) -> Doc:
    return {
        "id": a.id, "trigger": a.trigger, "attempted_at": a.attempted_at, "request_headers": a.request_headers,
        "response_status": a.response_status, "response_body": a.response_body, "duration_ms": a.duration_ms,
        "error": a.error,
    }


def delivery_doc(d: WebhookDelivery, attempts: list[WebhookAttempt]) -> Doc:
    return {
        "id": d.id, "webhook_id": d.subscription_id, "event_id": d.event_id, "event_type": d.event_type,
        "message_id": d.message_id, "status": d.status, "attempt_count": d.attempts,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None, "last_status": d.last_status,
        "created_at": d.created_at, "delivered_at": d.delivered_at,
        "attempts": [_attempt_doc(a) for a in attempts],
    }


def _attempts_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
    found: dict[uuid.UUID, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.id)
        for attempt in session.scalars(stmt):
            found[attempt.delivery_id].append(attempt)
    return found


def list_deliveries(
    session: Session, ref: str, status: str | None, limit: int, cursor: str | None
) -> Doc:
    sub = find_subscription(session, ref)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows = list(session.scalars(paginate(stmt, WebhookDelivery.id, limit, cursor)))
    attempts = _attempts_of(session, [d.id for d in rows[:limit]])
    return page([delivery_doc(d, attempts.get(d.id, [])) for d in rows], [d.id for d in rows], limit)


def find_delivery(session: Session, sub: WebhookSubscription, ref: str, *, lock: bool = False) -> WebhookDelivery:
    delivery_id = parse_id(ref)
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == sub.id
    )
    row = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none() if delivery_id else None
    if row is None:
        raise NotFound(f"no delivery '{ref}' of webhook '{sub.id}'")
    return row


def delivery_with_attempts(session: Session, d: WebhookDelivery) -> Doc:
    return delivery_doc(d, _attempts_of(session, [d.id])[d.id])


def event_account(session: Session, subject: str | None, data: dict[str, Any]) -> uuid.UUID | None:
    """The account an event concerns (domain.account_refs, resolved), or None for an event of no
    account (catalog, stock, prices): those reach unscoped subscriptions only."""
    for ref in domain.account_refs(subject, data):
        if ref.kind == "account_id":
            assert isinstance(ref.value, uuid.UUID)
            return ref.value
        if ref.kind == "order_id":
            assert isinstance(ref.value, uuid.UUID)
            found = order_account_id(session, ref.value)
        else:
            found = account_id_by_number(session, str(ref.value))
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """An enabled subscription, as the fan-out matches events against it."""

    id: uuid.UUID
    event_types: tuple[str, ...]
    account_id: uuid.UUID | None


_cache: dict[str, tuple[float, list[Target]]] = {}
_cache_lock = threading.Lock()


def enabled_targets(session: Session) -> list[Target]:
    """The enabled subscriptions, read at most every CACHE_SECONDS per database and process."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    rows = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types, WebhookSubscription.account_id)
        .where(WebhookSubscription.enabled.is_(True))
    ).all()
    targets = [Target(r.id, tuple(r.event_types), r.account_id) for r in rows]
    with _cache_lock:
        _cache[key] = (now, targets)
    return targets


def forget_targets() -> None:
    """Drop the cache: this process's changes of subscriptions apply to the next event at once."""
    with _cache_lock:
        _cache.clear()
