"""The webhook API: subscriptions (secret shown once, If-Match, deletion with deliveries), the
deliveries list in cursor pages, and refusals as 422 problems naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.webhooks.delivery import Sender
from tests import factories
from tests.conftest import api_key
from tests.webhooks.support import Receiver, attempts, deliveries, fan_out, fire, subscribe

HOOK = {"url": "https://hooks.example.com/ordino", "event_types": ["order.*"]}


def _fields(answer: Any) -> list[str]:
    return [e["field"] for e in answer.json()["errors"]]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({**HOOK, "url": "http://hooks.example.com/ordino"}, "url",
     "must be an https:// URL (http:// only to a loopback host)"),
    ({**HOOK, "url": "https://10.0.0.8/ordino"}, "url",
     "names a loopback or private network address, which this installation does not allow"),
    ({**HOOK, "url": "https://169.254.169.254/latest"}, "url",
     "names a loopback or private network address, which this installation does not allow"),
    ({**HOOK, "event_types": ["order.*", "Order.Created"]}, "event_types[1]",
     "must be an event type (order.created), a prefix with a wildcard (order.*) or *"),
    ({**HOOK, "event_types": []}, "event_types", "List should have at least 1 item after validation, not 0"),
    ({**HOOK, "account": "NOPE"}, "account", "no account 'NOPE'"),
    ({**HOOK, "enabled": "yes"}, "enabled", "Input should be a valid boolean"),
    ({"event_types": ["*"]}, "url", "Field required"),
    ({**HOOK, "secret": "whsec_mine"}, "secret", "Extra inputs are not permitted"),
])
def test_a_bad_subscription_is_a_422_naming_the_field_and_nothing_is_made(
    db: Database, client: TestClient, admin: dict[str, str], body: dict[str, Any], field: str, message: str
) -> None:
    # when a subscription with a bad field is posted (the installation refuses private targets)
    answer = client.post("/api/v1/webhooks", headers=admin, json=body)
    # then 422 names the field, and no subscription exists
    assert answer.status_code == 422
    assert answer.json()["type"] == "https://ordino.dev/problems/validation"
    assert [(e["field"], e["message"]) for e in answer.json()["errors"]] == [(field, message)]
    assert client.get("/api/v1/webhooks", headers=admin).json()["items"] == []


def test_a_subscription_shows_its_secret_once(db: Database, client: TestClient, admin: dict[str, str]) -> None:
    # given an account
    factories.account(db, "ACME")
    # when a subscription scoped to it is made
    made = client.post("/api/v1/webhooks", headers=admin, json={**HOOK, "account": "ACME", "description": "ERP"})
    # then the answer holds the secret, and where and which version the subscription is
    assert made.status_code == 201
    doc = made.json()
    assert doc["secret"].startswith("whsec_")
    assert made.headers["Location"] == f"/api/v1/webhooks/{doc['id']}"
    assert made.headers["ETag"] == '"1"'
    assert {k: doc[k] for k in ("url", "event_types", "account", "description", "enabled", "disabled_reason",
                                "version", "previous_secret_expires_at")} == {
        "url": HOOK["url"], "event_types": ["order.*"], "account": "ACME", "description": "ERP", "enabled": True,
        "disabled_reason": None, "version": 1, "previous_secret_expires_at": None}
    assert doc["secret_hint"] == doc["secret"][:10] + "…"
    # and reading it again never shows the secret
    got = client.get(f"/api/v1/webhooks/{doc['id']}", headers=admin)
    listed = client.get("/api/v1/webhooks", headers=admin).json()["items"]
    assert "secret" not in got.json() and "secret" not in listed[0]
    assert doc["secret"] not in got.text
    assert got.json()["secret_hint"] == doc["secret_hint"]


def test_a_change_needs_the_current_version(db: Database, client: TestClient, admin: dict[str, str]) -> None:
    # given a subscription
    doc = client.post("/api/v1/webhooks", headers=admin, json=HOOK).json()
    path = f"/api/v1/webhooks/{doc['id']}"
    # when it is patched without If-Match, or with a stale one, then 428 and 409
    assert client.patch(path, headers=admin, json={"enabled": False}).status_code == 428
    assert client.patch(path, headers={**admin, "If-Match": '"7"'}, json={"enabled": False}).status_code == 409
    # when it is patched with the current version
    changed = client.patch(path, headers={**admin, "If-Match": '"1"'},
                           json={"event_types": ["*"], "description": "all", "enabled": False})
    # then the change is its version 2
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'
    assert (changed.json()["event_types"], changed.json()["enabled"], changed.json()["version"]) == (["*"], False, 2)
    # and a bad field is 422 naming it, changing nothing
    bad = client.patch(path, headers={**admin, "If-Match": '"2"'}, json={"url": "http://example.com/x"})
    assert (bad.status_code, _fields(bad)) == (422, ["url"])
    nulled = client.patch(path, headers={**admin, "If-Match": '"2"'}, json={"url": None})
    assert (nulled.status_code, _fields(nulled)) == (422, ["url"])
    assert client.get(path, headers=admin).json()["url"] == HOOK["url"]


def test_unknown_subscriptions_and_deliveries_are_404(db: Database, client: TestClient, admin: dict[str, str]) -> None:
    doc = client.post("/api/v1/webhooks", headers=admin, json=HOOK).json()
    for path in ("/api/v1/webhooks/not-an-id", "/api/v1/webhooks/0190f1d2-0000-7000-8000-000000000000",
                 "/api/v1/webhooks/0190f1d2-0000-7000-8000-000000000000/deliveries"):
        assert client.get(path, headers=admin).status_code == 404
    replay = client.post(f"/api/v1/webhooks/{doc['id']}/deliveries/0190f1d2-0000-7000-8000-000000000000/replay",
                         headers=admin)
    assert replay.status_code == 404


def test_deliveries_come_in_cursor_pages_newest_first_and_go_with_their_subscription(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, sender: Sender, at_t0: datetime
) -> None:
    # given five delivered events
    sub = subscribe(api, admin, receiver)
    for i in range(5):
        fire(db, "order.created", {"id": f"o-{i}"}, f"order/o-{i}")
    fan_out(db)
    sender.drain()
    # when they are listed two at a time
    path = f"/api/v1/webhooks/{sub['id']}/deliveries"
    pages, cursor = [], None
    while True:
        answer = api.get(path, headers=admin, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([d["id"] for d in answer["items"]])
        if not (cursor := answer["next_cursor"]):
            break
    # then three pages hold them all, newest first, each with its attempt
    ids = [str(d.id) for d in deliveries(db)]
    assert pages == [ids[::-1][0:2], ids[::-1][2:4], ids[::-1][4:]]
    delivered = api.get(path, headers=admin, params={"status": "delivered"}).json()["items"]
    assert [len(d["attempts"]) for d in delivered] == [1] * 5
    assert api.get(path, headers=admin, params={"status": "failed"}).json()["items"] == []
    # when the subscription is deleted, then its deliveries and attempts go with it
    assert api.delete(f"/api/v1/webhooks/{sub['id']}", headers=admin).status_code == 204
    assert (deliveries(db), attempts(db)) == ([], [])
    assert api.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).status_code == 404


def test_an_admin_key_scoped_to_an_account_manages_no_webhooks(db: Database, client: TestClient) -> None:
    # given an admin key of ACME's: subscriptions are the installation's, and would carry every account's events
    scoped = api_key(db, Role.ADMIN, account_id=factories.account(db, "ACME"))

    made = client.post("/api/v1/webhooks", json=HOOK, headers=scoped)
    listed = client.get("/api/v1/webhooks", headers=scoped)

    assert (made.status_code, made.json()["detail"]) == (403, "a key scoped to an account cannot manage webhooks")
    assert listed.status_code == 403
    assert client.get("/api/v1/webhooks", headers=api_key(db)).json()["items"] == []
