"""GET and PUT /accounts/{ref}/contacts/{contact_id}/notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ordino.kernel.auth import Role
from ordino.notifications.models import NotificationPreference
from tests import factories
from tests.conftest import api_key
from tests.notifications.support import frozen, make_world

__all__ = ["frozen"]


def _url(world, contact) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/accounts/ACME/contacts/{contact}/notifications"


def _receives(doc: dict) -> dict[str, bool]:  # type: ignore[type-arg]
    return {k: v["receives"] for k, v in doc["kinds"].items()}


def test_the_default_rule_then_a_choice(db, client, admin, frozen: datetime) -> None:  # type: ignore[no-untyped-def]
    # given the account's administrator, with no choice made
    world = make_world(db)
    r = client.get(_url(world, world.admin), headers=admin)
    assert r.status_code == 200, r.text
    assert _receives(r.json()) == {"order_confirmation": True, "approval_requested": False, "shipment": True,
                                   "invoice": True, "return_credited": True, "quote_sent": True}
    assert r.json()["kinds"]["invoice"] == {"receives": True, "preference": None}
    # when they choose not to receive invoices, and to receive approval requests
    r = client.put(_url(world, world.admin), json={"kinds": {"invoice": False, "approval_requested": True}},
                   headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["kinds"]["invoice"] == {"receives": False, "preference": False}
    assert r.json()["kinds"]["approval_requested"] == {"receives": True, "preference": True}
    # when the invoice choice goes back to the rule
    r = client.put(_url(world, world.admin), json={"kinds": {"invoice": None}}, headers=admin)
    assert r.json()["kinds"]["invoice"] == {"receives": True, "preference": None}
    assert r.json()["kinds"]["approval_requested"]["preference"] is True


def test_an_unknown_kind_writes_nothing(db, client, admin, frozen: datetime) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    r = client.put(_url(world, world.buyer), json={"kinds": {"invoice": True, "newsletter": True}}, headers=admin)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["kinds.newsletter"]
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(NotificationPreference)).scalar_one() == 0


def test_another_accounts_buyer_sees_nothing(db, client, frozen: datetime) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    other = factories.account(db, "OTHER")
    headers = api_key(db, Role.BUYER, other)
    assert client.get(_url(world, world.buyer), headers=headers).status_code == 404
    own = api_key(db, Role.BUYER, world.account)
    assert client.get(_url(world, world.buyer), headers=own).status_code == 200
    assert client.put(_url(world, world.buyer), json={"kinds": {}}, headers=own).status_code == 403
