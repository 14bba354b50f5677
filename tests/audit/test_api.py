"""GET /api/v1/audit-events: admin and finance keys read the whole log; other roles and keys
scoped to an account are refused (403); filters and cursor pagination as other lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from ordino.audit import service
from ordino.audit.domain import Action, Subject
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from tests import factories
from tests.conftest import api_key

URL = "/api/v1/audit-events"
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
OPS = Principal(uuid.UUID(int=1), "ops", Role.ADMIN)
ACME = uuid.UUID(int=100)
OTHER = uuid.UUID(int=200)


def _entries(db: Database) -> None:
    """Five entries, a minute apart: credit limits of ACME and OTHER, a key, a price, a refund."""
    plan = [
        (OPS, Action.CREDIT_LIMIT_CHANGED, Subject("account", ACME, ACME)),
        (OPS, Action.CREDIT_LIMIT_CHANGED, Subject("account", OTHER, OTHER)),
        ("cli:root", Action.API_KEY_CREATED, Subject("api_key", uuid.UUID(int=3), None)),
        (OPS, Action.PRICE_CHANGED, Subject("price_book", uuid.UUID(int=4))),
        ("system:ensure_refunds", Action.REFUND_CREATED, Subject("payment", uuid.UUID(int=5), ACME)),
    ]
    try:
        for minute, (actor, action, subject) in enumerate(plan):
            clock.set_clock(lambda minute=minute: T0 + timedelta(minutes=minute))
            db.transaction(lambda s, a=actor, x=action, j=subject, m=minute: service.record(
                s, actor=a, action=x, subject=j, before={"n": None}, after={"n": m}))
    finally:
        clock.set_clock(None)


def _sequences(client: TestClient, headers: dict[str, str], query: str = "") -> list[int]:
    r = client.get(f"{URL}{query}", headers=headers)
    assert r.status_code == 200, r.text
    return [e["sequence"] for e in r.json()["items"]]


def test_admin_and_finance_read_the_log_newest_first(db: Database, client: TestClient) -> None:
    _entries(db)
    admin = api_key(db, Role.ADMIN)
    r = client.get(URL, headers=admin)
    assert r.status_code == 200
    first = r.json()["items"][-1]
    assert first == {
        "id": first["id"], "sequence": 1, "recorded_at": "2026-11-26T10:00:00+00:00",
        "action": "credit_limit.changed",
        "actor": {"role": "admin", "key_id": str(OPS.key_id), "name": "ops"},
        "subject": {"type": "account", "id": str(ACME), "account_id": str(ACME)},
        "before": {"n": None}, "after": {"n": 0}, "previous_hash": "0" * 64, "hash": first["hash"],
    }
    assert _sequences(client, admin) == [5, 4, 3, 2, 1]
    assert _sequences(client, api_key(db, Role.FINANCE)) == [5, 4, 3, 2, 1]


def test_other_roles_and_scoped_keys_are_refused(db: Database, client: TestClient) -> None:
    _entries(db)
    acme = factories.account(db, "ACME")
    for role in (Role.AGENT, Role.FULFILLMENT, Role.INTEGRATION, Role.BUYER):
        r = client.get(URL, headers=api_key(db, role, acme if role is Role.BUYER else None))
        assert (role, r.status_code, r.json()["type"]) == (role, 403, "https://ordino.dev/problems/forbidden")
    # a finance key scoped to an account reads nothing of the log, not even its own account's entries
    r = client.get(URL, headers=api_key(db, Role.FINANCE, acme))
    assert (r.status_code, r.json()["detail"]) == (403, "a key scoped to an account cannot read the audit log")
    assert client.get(URL).status_code == 401


def test_filters(db: Database, client: TestClient) -> None:
    _entries(db)
    admin = api_key(db, Role.ADMIN)
    assert _sequences(client, admin, "?action=credit_limit.changed") == [2, 1]
    assert _sequences(client, admin, f"?subject_type=account&subject_id={OTHER}") == [2]
    assert _sequences(client, admin, f"?account_id={ACME}") == [5, 1]
    assert _sequences(client, admin, f"?actor={OPS.key_id}") == [4, 2, 1]
    assert _sequences(client, admin, "?actor=ensure_refunds") == [5]
    assert _sequences(client, admin, "?since=2026-11-26T10:03:00Z") == [5, 4]
    assert _sequences(client, admin, "?action=price.changed&actor=ops") == [4]
    r = client.get(f"{URL}?action=nothing.happened", headers=admin)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "action")
    r = client.get(f"{URL}?since=2026-11-26T10:03:00", headers=admin)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "since")


def test_cursor_pagination(db: Database, client: TestClient) -> None:
    _entries(db)
    admin = api_key(db, Role.ADMIN)
    first = client.get(f"{URL}?limit=2", headers=admin).json()
    second = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    third = client.get(f"{URL}?limit=2&cursor={second['next_cursor']}", headers=admin).json()
    assert [[e["sequence"] for e in p["items"]] for p in (first, second, third)] == [[5, 4], [3, 2], [1]]
    assert third["next_cursor"] is None
    r = client.get(f"{URL}?cursor=not-a-cursor", headers=admin)
    assert (r.status_code, r.json()["errors"]) == (422, [{"field": "cursor",
                                                          "message": "is not a cursor this API returned"}])
