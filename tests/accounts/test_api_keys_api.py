"""/api/v1/api-keys: create (secret shown once), list (never the secret), revoke."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ordino.kernel.auth import ApiKey, Role, create_key, digest
from ordino.kernel.idempotency import IdempotencyRecord
from tests import factories
from tests.accounts.conftest import NOW_TEXT
from tests.conftest import api_key

URL = "/api/v1/api-keys"


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_created_buyer_key_works_as_bearer_until_revoked(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    # given two accounts
    factories.account(db, "ACME")
    factories.account(db, "OTHER")
    # when an admin creates a buyer key for ACME
    r = client.post(URL, json={"name": "ACME portal", "role": "buyer", "account": "ACME"}, headers=admin)
    # then the secret is shown once, with the key's record
    assert r.status_code == 201, r.text
    doc = r.json()
    secret = doc["key"]
    assert secret.startswith("ordino_")
    assert len(secret) == 50
    assert doc == {
        "id": doc["id"],
        "name": "ACME portal",
        "role": "buyer",
        "account": "ACME",
        "contact": None,
        "hint": secret[:12],
        "created_at": NOW_TEXT,
        "revoked_at": None,
        "key": secret,
    }
    # and only its digest is stored
    with db.read() as s:
        assert s.execute(select(ApiKey.digest).where(ApiKey.id == uuid.UUID(doc["id"]))).scalar_one() == digest(secret)
    # when it is used as a bearer token
    bearer = {"Authorization": f"Bearer {secret}"}
    # then it acts as a buyer of ACME
    assert client.get("/api/v1/accounts/ACME", headers=bearer).status_code == 200
    assert client.get("/api/v1/accounts/OTHER", headers=bearer).status_code == 404
    # when it is revoked
    r = client.delete(f"{URL}/{doc['id']}", headers=admin)
    assert r.status_code == 204
    # then it no longer authenticates, at once
    r = client.get("/api/v1/accounts/ACME", headers=bearer)
    assert r.status_code == 401
    assert r.json()["type"] == "https://ordino.dev/problems/unauthorized"
    assert client.get(f"{URL}/{doc['id']}", headers=admin).json()["revoked_at"] == NOW_TEXT


def test_list_and_get_never_show_the_secret(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    created = client.post(URL, json={"name": "ACME portal", "role": "buyer", "account": "ACME"}, headers=admin).json()
    client.post(URL, json={"name": "ERP", "role": "integration"}, headers=admin)
    # when the keys are listed
    r = client.get(URL, headers=admin)
    # then each is described, none with its secret or digest
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(k["name"], k["role"], k["account"]) for k in items] == [
        ("ERP", "integration", None),
        ("ACME portal", "buyer", "ACME"),
        ("test admin", "admin", None),
    ]
    fields = {"id", "name", "role", "account", "contact", "hint", "created_at", "revoked_at"}
    assert all(set(k) == fields for k in items)
    assert created["key"] not in r.text
    one = client.get(f"{URL}/{created['id']}", headers=admin).json()
    assert "key" not in one
    assert created["key"] not in str(one)
    # and the list filters by role and by revocation
    assert [k["name"] for k in client.get(f"{URL}?role=buyer", headers=admin).json()["items"]] == ["ACME portal"]
    client.delete(f"{URL}/{created['id']}", headers=admin)
    assert [k["name"] for k in client.get(f"{URL}?revoked=true", headers=admin).json()["items"]] == ["ACME portal"]
    assert [k["name"] for k in client.get(f"{URL}?revoked=false", headers=admin).json()["items"]] == [
        "ERP",
        "test admin",
    ]


def test_replayed_creation_does_not_repeat_the_secret_or_store_it(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(URL, json={"name": "ERP", "role": "integration"}, headers={**admin, **key})
    replay = client.post(URL, json={"name": "ERP", "role": "integration"}, headers={**admin, **key})
    # then the replay is the same key's record, without its secret
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == {**first.json(), "key": None}
    assert replay.headers["Location"] == first.headers["Location"] == f"{URL}/{first.json()['id']}"
    assert _count(db, ApiKey) == 2  # the test admin and ERP
    # and the stored response does not hold the secret
    with db.read() as s:
        stored = s.execute(select(IdempotencyRecord.response_body)).scalar_one()
    assert first.json()["key"].encode() not in bytes(stored)


def test_invalid_key_requests_name_the_field_and_write_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    cases = [
        ({"name": "b", "role": "buyer"}, [{"field": "account", "message": "is required for role buyer"}]),
        ({"name": "b", "role": "buyer", "account": "NOBODY"}, [{"field": "account", "message": "no account 'NOBODY'"}]),
        (
            {"name": "a", "role": "admin", "account": "ACME"},
            [{"field": "account", "message": "an admin key cannot be scoped to an account"}],
        ),
        (
            {"name": "", "role": "root"},
            [
                {"field": "name", "message": "String should have at least 1 character"},
                {
                    "field": "role",
                    "message": "Input should be 'admin', 'agent', 'fulfillment', 'finance', 'integration' or 'buyer'",
                },
            ],
        ),
    ]
    for body, errors in cases:
        r = client.post(URL, json=body, headers=admin)
        assert r.status_code == 422, body
        assert r.json()["errors"] == errors
    assert _count(db, ApiKey) == 1


def test_only_unscoped_admins_manage_keys(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    acme = factories.account(db, "ACME")
    target = client.post(URL, json={"name": "ERP", "role": "integration"}, headers=admin).json()["id"]
    for headers in (api_key(db, Role.AGENT), api_key(db, Role.BUYER, acme)):
        assert client.post(URL, json={"name": "x", "role": "admin"}, headers=headers).status_code == 403
        assert client.get(URL, headers=headers).status_code == 403
        assert client.delete(f"{URL}/{target}", headers=headers).status_code == 403
    assert client.get(URL).status_code == 401
    with db.read() as s:
        assert s.execute(select(ApiKey.revoked_at).where(ApiKey.id == uuid.UUID(target))).scalar_one() is None
    assert _count(db, ApiKey) == 4


def test_revoking_is_idempotent_and_unknown_keys_are_404(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    target = client.post(URL, json={"name": "ERP", "role": "integration"}, headers=admin).json()["id"]
    assert client.delete(f"{URL}/{target}", headers=admin).status_code == 204
    assert client.delete(f"{URL}/{target}", headers=admin).status_code == 204
    assert client.get(f"{URL}/{target}", headers=admin).json()["revoked_at"] == NOW_TEXT
    assert client.delete(f"{URL}/{uuid.uuid4()}", headers=admin).status_code == 404
    assert client.delete(f"{URL}/not-an-id", headers=admin).status_code == 404
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=admin).status_code == 404


def test_the_last_active_admin_key_cannot_be_revoked(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    with db.read() as s:
        only_admin = s.execute(select(ApiKey.id)).scalar_one()
    # when the only admin key revokes itself
    r = client.delete(f"{URL}/{only_admin}", headers=admin)
    # then it is refused and the key still works
    assert r.status_code == 409
    assert r.json()["type"] == "https://ordino.dev/problems/last-admin-key"
    assert client.get(URL, headers=admin).status_code == 200
    # when a second admin key exists, the first may go
    second = client.post(URL, json={"name": "ops", "role": "admin"}, headers=admin).json()
    assert client.delete(f"{URL}/{only_admin}", headers={"Authorization": f"Bearer {second['key']}"}).status_code == 204
    assert client.get(URL, headers=admin).status_code == 401


def test_a_short_key_shows_no_hint_of_its_secret(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a short key (ORDINO_ADMIN_API_KEY may be any string) and a generated one
    db.transaction(lambda s: create_key(s, name="short", role=Role.AGENT, secret="rs-admin"))
    long_secret = client.post(URL, json={"name": "ERP", "role": "integration"}, headers=admin).json()["key"]
    # when the keys are listed
    items = client.get(URL, headers=admin).json()["items"]
    # then the short key's hint gives nothing of it away; the long one shows its first 12 characters
    hints = {k["name"]: k["hint"] for k in items}
    assert (hints["short"], hints["ERP"]) == ("", long_secret[:12])
    assert "rs-admin" not in str(items)
