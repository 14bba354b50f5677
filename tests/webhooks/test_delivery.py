"""Deliveries to a real receiver: signed (Standard Webhooks), CloudEvents bodies, retries on the
schedule, 410 Gone, secret rotation, replay, SSRF refusals at send time."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.webhooks import domain
from ordino.webhooks.delivery import Due, Sender
from tests.webhooks.support import Receiver, attempts, deliveries, fan_out, fire, later, move_to, subscribe


def _envelope(db: Database, event_id: Any) -> dict[str, Any]:
    with db.read() as s:
        row = s.execute(select(OutboxEvent).where(OutboxEvent.id == event_id)).scalar_one()
        return row.envelope()


def test_a_delivery_is_a_signed_cloudevent_the_receiver_verifies(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a subscription to order events and an order event in the outbox
    sub = subscribe(api, admin, receiver, event_types=["order.*"])
    event_id = fire(db, "order.created", {"id": "o-1", "number": "SO-000001"}, "order/o-1")
    # when the fan-out runs and the sender sends
    assert fan_out(db) == 1
    assert sender.drain() == 1
    # then the receiver verified the one delivery: the event's CloudEvents envelope, with its headers
    [got] = receiver.received
    assert got.error is None
    assert got.verified == _envelope(db, event_id)
    assert got.verified["specversion"] == "1.0"
    assert got.headers["webhook-id"] == domain.message_id(event_id, uuid.UUID(sub["id"]))
    assert got.headers["webhook-timestamp"] == str(int(at_t0.timestamp()))
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["content-type"] == "application/cloudevents+json"
    # and the delivery is delivered after one attempt, which logged the request and the answer
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_status, d.delivered_at) == ("delivered", 1, 200, at_t0)
    [a] = attempts(db)
    assert (a.trigger, a.response_status, a.response_body, a.error) == ("schedule", 200, "thanks", None)
    assert a.request_headers["webhook-id"] == got.headers["webhook-id"]
    assert sub["secret"] not in str(a.request_headers)


def test_a_tampered_body_and_an_old_timestamp_are_rejected(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a delivery the receiver verified
    subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1", "grand_total": "10.00"}, "order/o-1")
    fan_out(db)
    sender.drain()
    [got] = receiver.received
    webhook = Webhook(receiver.secret)
    assert webhook.verify(got.body, got.headers) == got.verified
    # when its body is changed, then it does not verify
    tampered = got.body.replace(b'"10.00"', b'"1000.00"')
    assert tampered != got.body
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        webhook.verify(tampered, got.headers)
    # when it arrives more than five minutes after it was signed (a replayed capture), then neither
    later(minutes=6)
    with pytest.raises(WebhookVerificationError, match="Message timestamp too old"):
        webhook.verify(got.body, got.headers)
    # and another secret does not verify it at all
    move_to(at_t0)
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook(domain.new_secret()).verify(got.body, got.headers)


def test_failed_attempts_are_retried_on_the_schedule_then_the_delivery_fails(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a receiver that answers 503 to everything, and a delivery for it
    receiver.answers = [(503, "busy " * 400)] * 20
    subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    # when the sender runs at each moment the schedule names, and a second before it
    assert sender.run_once() == 1
    times = [at_t0]
    for wait in domain.RETRY_SCHEDULE:
        assert deliveries(db)[0].next_attempt_at == times[-1] + wait
        move_to(times[-1] + wait - timedelta(seconds=1))
        assert sender.run_once() == 0  # not due yet
        move_to(times[-1] + wait)
        assert sender.run_once() == 1
        times.append(times[-1] + wait)
    # then it was attempted eleven times, at the schedule's moments, and then failed for good
    assert [a.attempted_at for a in attempts(db)] == times
    assert [a.response_status for a in attempts(db)] == [503] * 11
    assert len(attempts(db)[0].response_body or "") == domain.EXCERPT + 1  # the excerpt and its ellipsis
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.next_attempt_at) == ("failed", 11, None)
    assert times[-1] - at_t0 == timedelta(hours=69, minutes=35, seconds=5)
    later(days=30)
    assert sender.run_once() == 0


def test_a_410_answer_disables_the_subscription(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a receiver that answers 410 Gone
    receiver.answers = [(410, "gone")]
    sub = subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    # when the delivery is attempted
    sender.drain()
    # then the delivery failed without retries and the subscription is disabled, saying why
    [d] = deliveries(db)
    assert (d.status, d.attempts, d.last_status) == ("failed", 1, 410)
    doc = api.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()
    assert (doc["enabled"], doc["version"]) == (False, 2)
    assert doc["disabled_reason"] == f"the receiver answered 410 Gone at {at_t0.isoformat()}"
    # and later events reach it no more
    fire(db, "order.created", {"id": "o-2"}, "order/o-2")
    assert fan_out(db) == 1
    assert len(deliveries(db)) == 1
    # and enabling it again clears the reason
    patched = api.patch(f"/api/v1/webhooks/{sub['id']}", headers={**admin, "If-Match": '"2"'}, json={"enabled": True})
    assert (patched.json()["enabled"], patched.json()["disabled_reason"]) == (True, None)


def _verifies(secret: str, got: Any) -> bool:
    try:
        Webhook(secret).verify(got.body, got.headers)
    except WebhookVerificationError:
        return False
    return True


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a subscription whose secret is rotated with the default overlap
    sub = subscribe(api, admin, receiver)
    old = sub["secret"]
    rotated = api.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated.json()["previous_secret_expires_at"] == "2026-12-09T09:00:00+00:00"
    # when an event is delivered during the overlap
    receiver.secret = old
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    sender.drain()
    # then it carries two signatures, and each secret verifies it
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verifies(old, during) and _verifies(new, during)
    # when one is delivered after the overlap
    later(hours=24, seconds=1)
    receiver.secret = new
    fire(db, "order.created", {"id": "o-2"}, "order/o-2")
    fan_out(db)
    sender.drain()
    # then only the new secret verifies it
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(new, after) and not _verifies(old, after)
    assert api.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()["previous_secret_expires_at"] is None


def test_a_replay_sends_the_delivery_again_with_the_same_webhook_id(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a delivered delivery
    sub = subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    sender.drain()
    [d] = deliveries(db)
    # when it is replayed
    later(minutes=1)
    answer = api.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{d.id}/replay", headers=admin)
    assert answer.status_code == 202
    assert answer.json()["status"] == "pending"
    assert sender.drain() == 1
    # then the receiver got it twice, with the same webhook-id and body, signed afresh
    first, second = receiver.received
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    assert second.headers["webhook-timestamp"] == str(int(at_t0.timestamp()) + 60)
    assert second.error is None
    # and the delivery lists both attempts, the second one a replay
    listed = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()["items"]
    assert [(x["trigger"], x["response_status"]) for x in listed[0]["attempts"]] == [
        ("schedule", 200), ("replay", 200)]
    assert (listed[0]["status"], listed[0]["attempt_count"]) == ("delivered", 2)


def test_a_replay_of_a_disabled_subscription_is_refused(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given a delivery whose subscription was then disabled
    sub = subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    sender.drain()
    [d] = deliveries(db)
    api.patch(f"/api/v1/webhooks/{sub['id']}", headers={**admin, "If-Match": '"1"'}, json={"enabled": False})
    # when it is replayed, then 409 webhook-disabled and nothing is queued
    answer = api.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{d.id}/replay", headers=admin)
    assert (answer.status_code, answer.json()["type"]) == (409, "https://ordino.dev/problems/webhook-disabled")
    assert deliveries(db)[0].status == "delivered"
    assert sender.drain() == 0


def test_private_addresses_are_refused_at_send_time_unless_allowed(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, at_t0: datetime
) -> None:
    # given a subscription to a loopback receiver (allowed when it was made), and a delivery
    subscribe(api, admin, receiver)
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    # when a sender of an installation that refuses private targets sends it
    strict = Sender(db, allow_private=False)
    try:
        assert strict.drain() == 1
    finally:
        strict.close()
    # then nothing reached the receiver, and the attempt says why; the delivery waits to retry
    assert receiver.received == []
    [a] = attempts(db)
    assert a.error == "url names a loopback or private network address, which this installation does not allow"
    assert (a.response_status, deliveries(db)[0].status) == (None, "pending")


def test_a_name_that_resolves_to_a_private_address_is_refused(db: Database, at_t0: datetime) -> None:
    # given a sender whose resolver says the receiver's name is on the internal network
    sender = Sender(db, resolver=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    try:
        due = Due(uuid.uuid4(), uuid.uuid4(), "https://hooks.example.com/in", "msg_1", "{}",
                  (domain.new_secret(),), "schedule")
        # when it posts, then it refuses without a request
        result = sender.post(due)
    finally:
        sender.close()
    assert (result.status, result.error) == (None, "hooks.example.com resolves to a private address (10.0.0.7)")
    assert base64.b64decode(result.headers["webhook-signature"].split(",")[1])  # signed all the same


def test_claimed_deliveries_are_leased_to_one_sender_until_the_lease_runs_out(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, at_t0: datetime
) -> None:
    # given six due deliveries and two senders
    subscribe(api, admin, receiver)
    for i in range(6):
        fire(db, "order.created", {"id": f"o-{i}"}, f"order/o-{i}")
    fan_out(db)
    first, second = Sender(db, allow_private=True), Sender(db, allow_private=True)
    try:
        # when both claim
        mine, theirs = first.claim(4), second.claim(6)
        # then each delivery went to one of them
        assert (len(mine), len(theirs)) == (4, 2)
        assert {d.id for d in mine} | {d.id for d in theirs} == {d.id for d in deliveries(db)}
        assert second.claim(6) == []
        # and once the leases have run out (their sender died), they are claimed again
        later(seconds=61)
        assert len(second.claim(6)) == 6
    finally:
        first.close()
        second.close()
    assert receiver.received == []
