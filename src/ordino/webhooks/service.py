"""Webhook use cases: managing subscriptions, rotating secrets, replaying deliveries, and the
fan-out of an event to the deliveries of the subscriptions it matches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.http import apply_changes, check_if_match, dumps
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.worker import Event
from ordino.webhooks import domain, reads
from ordino.webhooks.errors import WebhookDisabled
from ordino.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from ordino.webhooks.schemas import RotateIn, WebhookIn, WebhookPatch

Doc = dict[str, Any]


def _check_url(url: str, allow_private: bool) -> None:
    if (error := domain.target_error(url, allow_private)) is not None:
        raise ValidationFailed([FieldError("url", error)])


def _account_id(session: Session, number: str | None) -> Any:
    if number is None:
        return None
    found = reads.account_id_by_number(session, number)
    if found is None:
        raise ValidationFailed([FieldError("account", f"no account '{number}'")])
    return found


def create_subscription(session: Session, data: WebhookIn, principal: Principal, allow_private: bool) -> Doc:
    """A new subscription; the answer holds its secret, which is never shown again."""
    _check_url(data.url, allow_private)
    now = clock.now()
    row = WebhookSubscription(
        id=new_id(), url=data.url, event_types=data.event_types, account_id=_account_id(session, data.account),
        description=data.description, enabled=data.enabled, secret=domain.new_secret(), version=1,
        created_by=principal.actor, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return {**reads.subscription_doc(row, data.account), "secret": row.secret}


def update_subscription(
    session: Session, ref: str, patch: WebhookPatch, if_match: str | None, allow_private: bool
) -> Doc:
    row = reads.find_subscription(session, ref, lock=True)
    check_if_match(if_match, row.version)  # before the body is checked: a stale version is 409 first
    given = patch.model_fields_set
    if "url" in given and patch.url is not None:
        _check_url(patch.url, allow_private)
    changes: dict[str, Any] = {f: getattr(patch, f) for f in ("url", "event_types", "description", "enabled")
                               if f in given}
    if "account" in given:
        changes["account_id"] = _account_id(session, patch.account)
    if changes.get("enabled") and not row.enabled:
        changes["disabled_reason"] = None
    if apply_changes(row, changes, if_match):
        session.flush()
    return reads.subscription_doc(row, reads.account_number(session, row.account_id))


def delete_subscription(session: Session, ref: str, if_match: str | None) -> None:
    """The subscription goes, with its deliveries and their attempts."""
    row = reads.find_subscription(session, ref, lock=True)
    if if_match is not None:
        check_if_match(if_match, row.version)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == row.id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries.scalar_subquery())))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id))
    session.delete(row)


def rotate_secret(session: Session, ref: str, data: RotateIn) -> Doc:
    """A new secret; the current one keeps signing beside it for the overlap, so that receivers
    switch without losing a delivery."""
    row = reads.find_subscription(session, ref, lock=True)
    now = clock.now()
    row.previous_secret = row.secret if data.overlap_hours else None
    row.previous_secret_until = now + timedelta(hours=data.overlap_hours) if data.overlap_hours else None
    row.secret = domain.new_secret()
    row.version += 1
    row.updated_at = now
    session.flush()
    return {**reads.subscription_doc(row, reads.account_number(session, row.account_id)), "secret": row.secret}


def replay(session: Session, ref: str, delivery_ref: str) -> Doc:
    """Queue the delivery for an attempt now, with the same webhook-id and body; should it fail,
    the retry schedule starts again."""
    sub = reads.find_subscription(session, ref)
    if not sub.enabled:
        raise WebhookDisabled(f"webhook '{sub.id}' is disabled: enable it first")
    d = reads.find_delivery(session, sub, delivery_ref, lock=True)
    d.status, d.failures, d.trigger = "pending", 0, "replay"
    d.next_attempt_at = clock.now()  # a lease under way stays: its attempt is not sent twice at once
    session.flush()
    return reads.delivery_with_attempts(session, d)


def fan_out(session: Session, event: Event) -> int:
    """One pending delivery per enabled subscription the event matches (its types, and its account
    when scoped), in the caller's transaction; how many. No HTTP here: the Sender posts them."""
    targets = [t for t in reads.enabled_targets(session) if domain.matches(t.event_types, event.type)]
    if not targets:
        return 0
    if any(t.account_id is not None for t in targets):
        account = reads.event_account(session, event.subject, event.data)
        targets = [t for t in targets if t.account_id is None or t.account_id == account]
    # The cache may be a few seconds old: only subscriptions still there and enabled get one.
    live = set(session.scalars(select(WebhookSubscription.id).where(
        WebhookSubscription.id.in_([t.id for t in targets]), WebhookSubscription.enabled.is_(True))))
    targets = [t for t in targets if t.id in live]
    if not targets:
        return 0
    row = session.execute(select(OutboxEvent).where(OutboxEvent.id == event.id)).scalar_one()
    payload = dumps(row.envelope()).decode()
    now = clock.now()
    session.execute(insert(WebhookDelivery), [{
        "id": new_id(), "subscription_id": t.id, "event_id": event.id, "event_type": event.type,
        "message_id": domain.message_id(event.id, t.id), "payload": payload, "status": "pending", "attempts": 0,
        "failures": 0, "trigger": "schedule", "next_attempt_at": now, "created_at": now,
    } for t in targets])
    return len(targets)
