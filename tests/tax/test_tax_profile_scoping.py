"""Tax profiles and account-scoped keys: a key scoped to one account reads and writes that
account's profile only; another account's answers 404, as an unknown account does, and is not
changed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from ordino.accounts.models import Account
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.kernel.outbox import OutboxEvent
from ordino.tax.models import AccountTaxProfile, TaxExemptionCertificate
from tests import factories
from tests.conftest import api_key

HANSA_PROFILE = "/api/v1/accounts/HANSA/tax-profile"
ACME_PROFILE = "/api/v1/accounts/ACME/tax-profile"
CERT = {"number": "DE-EX-7", "regions": ["US-TX"], "reason": "resale", "issued_on": "2025-01-01",
        "expires_on": None}
NO_HANSA = {
    "type": "https://ordino.dev/problems/not-found", "title": "Not found", "status": 404,
    "detail": "no account 'HANSA'", "errors": [], "instance": HANSA_PROFILE,
}


def _stored(db: Database) -> tuple[list[tuple[bool, int]], int, int]:
    """The profiles (business, version), the certificates and the events, as the tables hold them."""
    with db.read() as s:
        profiles = [(p.business, p.version) for p in s.scalars(select(AccountTaxProfile))]
        certs = int(s.execute(select(func.count()).select_from(TaxExemptionCertificate)).scalar_one())
        events = int(s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one())
    return profiles, certs, events


def _acme(db: Database) -> uuid.UUID:
    with db.read() as s:
        return s.execute(select(Account.id).where(Account.number == "ACME")).scalar_one()


@pytest.fixture
def accounts(db: Database, client: Any, admin: dict[str, str]) -> Database:
    """ACME and HANSA; HANSA has a profile (a business with one certificate, version 1)."""
    factories.account(db, "ACME")
    factories.account(db, "HANSA")
    r = client.put(HANSA_PROFILE, json={"business": True, "certificates": [CERT]}, headers=admin)
    assert r.status_code == 200, r.text
    return db


@pytest.mark.parametrize("role", [Role.AGENT, Role.FINANCE, Role.INTEGRATION])
def test_a_scoped_key_does_not_read_another_accounts_profile(accounts: Database, client: Any, role: Role) -> None:
    # given a key of `role` scoped to ACME
    scoped = api_key(accounts, role, account_id=_acme(accounts))
    # when it reads HANSA's tax profile
    r = client.get(HANSA_PROFILE, headers=scoped)
    # then HANSA is not found, exactly as an account that does not exist
    assert (r.status_code, r.json()) == (404, NO_HANSA)
    unknown = client.get("/api/v1/accounts/NOPE/tax-profile", headers=scoped)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no account 'NOPE'")
    # and its own account's profile it reads
    own = client.get(ACME_PROFILE, headers=scoped)
    assert (own.status_code, own.json()) == (200, {"account": "ACME", "business": True, "certificates": [],
                                                    "version": 0})


def test_a_scoped_finance_key_does_not_write_another_accounts_profile(accounts: Database, client: Any) -> None:
    # given a finance key scoped to ACME, and HANSA's profile as stored
    scoped = api_key(accounts, Role.FINANCE, account_id=_acme(accounts))
    before = _stored(accounts)
    assert before == ([(True, 1)], 1, 1)
    # when it makes HANSA a consumer, with and without the right version
    blind = client.put(HANSA_PROFILE, json={"business": False}, headers=scoped)
    matched = client.put(HANSA_PROFILE, json={"business": False}, headers={**scoped, "If-Match": '"1"'})
    # then both answer 404 and nothing changed: profile, certificates, events
    assert (blind.status_code, blind.json()) == (404, NO_HANSA)
    assert (matched.status_code, matched.json()) == (404, NO_HANSA)
    assert _stored(accounts) == before


def test_a_scoped_finance_key_writes_its_own_accounts_profile(accounts: Database, client: Any) -> None:
    # given a finance key scoped to ACME
    scoped = api_key(accounts, Role.FINANCE, account_id=_acme(accounts))
    # when it makes ACME a consumer
    r = client.put(ACME_PROFILE, json={"business": False}, headers=scoped)
    # then ACME's profile is stored, HANSA's is as it was
    assert (r.status_code, r.json()) == (200, {"account": "ACME", "business": False, "certificates": [],
                                               "version": 1})
    assert sorted(_stored(accounts)[0]) == [(False, 1), (True, 1)]


def test_a_scoped_agent_key_may_not_write_a_profile_at_all(accounts: Database, client: Any) -> None:
    # given an agent key scoped to ACME (agents read tax profiles; admin and finance write them)
    scoped = api_key(accounts, Role.AGENT, account_id=_acme(accounts))
    before = _stored(accounts)
    # when it writes its own account's profile, then HANSA's
    own = client.put(ACME_PROFILE, json={"business": False}, headers=scoped)
    other = client.put(HANSA_PROFILE, json={"business": False}, headers=scoped)
    # then the role is refused for both (403: the function, not the record) and nothing changed
    assert (own.status_code, other.status_code) == (403, 403)
    assert _stored(accounts) == before
