"""API key digests under the server secret (legacy and previous digests still accepted and
re-stored), and the per-client limit of failed authentications."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from ordino.app import create_app
from ordino.kernel import auth
from ordino.kernel.auth import ApiKey, FailureThrottle, Role, create_key, forget_cached_keys, use_server_secret
from ordino.kernel.db import Database
from ordino.kernel.errors import TooManyFailedAttempts
from ordino.settings import Settings

URL = "/api/v1/api-keys"
SECRET_A = "a" * 40
SECRET_B = "b" * 40


def _hmac(server_secret: str, key: str) -> str:
    return hmac.new(server_secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def _stored(db: Database, key_id: uuid.UUID) -> tuple[str, str]:
    with db.read() as s:
        row = s.execute(select(ApiKey.digest, ApiKey.digest_scheme).where(ApiKey.id == key_id)).one()
    return row[0], row[1]


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_new_key_is_stored_as_hmac_sha256_under_the_server_secret(db: Database) -> None:
    # given the server secret A
    use_server_secret(SECRET_A)
    # when a key is created
    row, secret = db.transaction(lambda s: create_key(s, name="erp", role=Role.INTEGRATION))
    # then its digest is the HMAC of the secret under A, not its plain SHA-256
    digest, scheme = _stored(db, row.id)
    assert digest == _hmac(SECRET_A, secret)
    assert digest != hashlib.sha256(secret.encode()).hexdigest()
    assert scheme == auth.key_digests().scheme
    assert scheme.startswith("hmac-sha256:") and len(scheme) == len("hmac-sha256:") + 8


def test_a_legacy_sha256_key_still_works_and_is_stored_again_under_the_secret(db: Database, client) -> None:  # type: ignore[no-untyped-def]
    # given a key stored by an earlier release: the plain SHA-256 of its secret
    use_server_secret(SECRET_A)
    secret = "ordino_" + "L" * 43
    legacy = hashlib.sha256(secret.encode()).hexdigest()
    row, _ = db.transaction(lambda s: create_key(s, name="old admin", role=Role.ADMIN, secret=secret))
    db.transaction(lambda s: s.execute(ApiKey.__table__.update().where(ApiKey.id == row.id).values(
        digest=legacy, digest_scheme="sha256")))
    # when it is used
    r = client.get(URL, headers=_bearer(secret))
    # then it is accepted, and its row now holds the HMAC under the server secret
    assert r.status_code == 200, r.text
    assert _stored(db, row.id) == (_hmac(SECRET_A, secret), auth.key_digests().scheme)
    # and it keeps working from the new digest, with nothing left to re-store
    forget_cached_keys()
    assert client.get(URL, headers=_bearer(secret)).status_code == 200
    assert _stored(db, row.id)[0] == _hmac(SECRET_A, secret)


def test_rotation_a_key_under_the_previous_secret_works_and_moves_to_the_new_one(db: Database, client) -> None:  # type: ignore[no-untyped-def]
    # given two keys stored under secret A
    use_server_secret(SECRET_A)
    used, used_secret = db.transaction(lambda s: create_key(s, name="used", role=Role.ADMIN))
    idle, idle_secret = db.transaction(lambda s: create_key(s, name="idle", role=Role.ADMIN))
    scheme_a = auth.key_digests().scheme
    # when the server secret becomes B with A as the previous one, and one key is used
    use_server_secret(SECRET_B, [SECRET_A])
    r = client.get(URL, headers=_bearer(used_secret))
    # then it is accepted and re-stored under B; the unused one is still under A
    assert r.status_code == 200, r.text
    assert _stored(db, used.id) == (_hmac(SECRET_B, used_secret), auth.key_digests().scheme)
    assert _stored(db, idle.id) == (_hmac(SECRET_A, idle_secret), scheme_a)
    with db.read() as s:
        assert auth.digest_schemes(s, auth.key_digests()) == {"current": 1, "previous": 1, "legacy": 0, "unknown": 0}
    # when A is dropped: the moved key works, the one left under A does not
    use_server_secret(SECRET_B)
    assert client.get(URL, headers=_bearer(used_secret)).status_code == 200
    refused = client.get(URL, headers=_bearer(idle_secret))
    assert refused.status_code == 401
    assert _stored(db, idle.id) == (_hmac(SECRET_A, idle_secret), scheme_a)


def test_a_server_secret_shorter_than_32_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        use_server_secret("short")
    with pytest.raises(ValueError, match="at least 32 characters"):
        use_server_secret(SECRET_A, ["short"])


def test_the_bootstrap_admin_key_moves_to_the_server_secret_and_loses_a_hint_that_is_its_secret(
    db: Database,
) -> None:
    # given the bootstrap admin key stored by an earlier release: SHA-256, its short secret as hint
    secret = "rs-admin"
    db.transaction(lambda s: s.add(ApiKey(
        name="bootstrap admin", role="admin", digest=hashlib.sha256(secret.encode()).hexdigest(),
        digest_scheme="sha256", hint=secret, created_at=auth.clock.now())))
    # when the server starts with it as ORDINO_ADMIN_API_KEY
    app = create_app(Settings(database_url=db.url, run_worker=False, admin_api_key=secret, secret_key=SECRET_A), db=db)
    with TestClient(app) as c:
        r = c.get(URL, headers=_bearer(secret))
    # then it is the one key, under the server secret, with no hint
    assert r.status_code == 200, r.text
    assert [(k["name"], k["hint"]) for k in r.json()["items"]] == [("bootstrap admin", "")]
    with db.read() as s:
        rows = s.execute(select(ApiKey.digest, ApiKey.hint)).all()
    assert [tuple(row) for row in rows] == [(_hmac(SECRET_A, secret), "")]


def _throttled_client(db: Database, limit: int = 3, window: float = 60.0) -> TestClient:
    settings = Settings(database_url=db.url, run_worker=False, auth_failure_limit=limit, auth_failure_window=window)
    app = create_app(settings, db=db)
    assert app.state.auth_throttle.limit == limit
    app.state.auth_throttle = FailureThrottle(limit, window, clock=lambda: 1000.0)  # time stands still
    return TestClient(app)


def test_failed_authentications_past_the_limit_answer_429_without_the_database(db: Database) -> None:
    # given a limit of 3 failures a minute, and a good key used once
    _, good = db.transaction(lambda s: create_key(s, name="ops", role=Role.ADMIN))
    with _throttled_client(db) as c:
        assert c.get(URL, headers=_bearer(good)).status_code == 200
        # when a client sends 5 wrong keys
        answers = [c.get(URL, headers=_bearer(f"ordino_wrong{i}")) for i in range(3)]
        with _statements(db) as sql:
            blocked = c.get(URL, headers=_bearer("ordino_wrong3"))
            again = c.get(URL, headers=_bearer("ordino_wrong4"))
        # then the first 3 are 401, the next ones 429 with Retry-After, and no query was made for them
        assert [a.status_code for a in answers] == [401, 401, 401]
        assert (blocked.status_code, again.status_code) == (429, 429)
        assert blocked.headers["content-type"] == "application/problem+json"
        assert blocked.headers["retry-after"] == "20"
        assert blocked.json() == {
            "type": "https://ordino.dev/problems/too-many-failed-authentications",
            "title": "Too many failed authentication attempts",
            "status": 429,
            "detail": "too many failed authentication attempts; try again in 20 s",
            "errors": [],
            "instance": URL,
        }
        assert sql == []
        # and the good key, verified lately, still passes
        assert c.get(URL, headers=_bearer(good)).status_code == 200


def test_successful_requests_do_not_count_towards_the_limit(db: Database) -> None:
    # given a limit of 3 failures a minute
    _, good = db.transaction(lambda s: create_key(s, name="ops", role=Role.ADMIN))
    with _throttled_client(db) as c:
        # when a client makes 30 good requests, each after the cache forgot the key, then 3 wrong ones
        for _ in range(30):
            forget_cached_keys()
            assert c.get(URL, headers=_bearer(good)).status_code == 200
        wrong = [c.get(URL, headers=_bearer("ordino_wrong")).status_code for _ in range(3)]
    # then the wrong ones are still answered 401
    assert wrong == [401, 401, 401]


def test_a_limit_of_zero_turns_the_throttle_off(db: Database) -> None:
    with _throttled_client(db, limit=0) as c:
        codes = {c.get(URL, headers=_bearer(f"ordino_wrong{i}")).status_code for i in range(30)}
    assert codes == {401}


def test_the_throttle_refills_over_its_window_and_forgets_the_oldest_clients() -> None:
    # given a throttle of 2 failures per 10 s for at most 3 clients, on a controlled clock
    now = [100.0]
    throttle = FailureThrottle(2, 10.0, max_clients=3, clock=lambda: now[0])
    # when a client fails twice
    throttle.failed("10.0.0.1")
    throttle.failed("10.0.0.1")
    # then it waits 5 s for its next try, and may try again after them
    assert throttle.retry_after("10.0.0.1") == 5
    with pytest.raises(TooManyFailedAttempts):
        throttle.check("10.0.0.1")
    now[0] += 5.0
    assert throttle.retry_after("10.0.0.1") is None
    # and the other clients are not affected
    assert throttle.retry_after("10.0.0.2") is None
    # when 3 more clients fail, the table keeps the 3 most recent
    for client in ("10.0.0.2", "10.0.0.3", "10.0.0.4"):
        throttle.failed(client)
    assert list(throttle._buckets) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
