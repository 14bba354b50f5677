"""Tax profiles of accounts through the API: business or consumer, exemption certificates."""

from __future__ import annotations

from sqlalchemy import func, select

from ordino.kernel.auth import Role
from ordino.tax.models import TaxExemptionCertificate
from tests import factories
from tests.conftest import api_key

PROFILE = "/api/v1/accounts/GLAKES/tax-profile"
CERT = {"number": "TX-RESALE-0042", "regions": ["US-TX"], "reason": "resale", "issued_on": "2025-01-01",
        "expires_on": "2026-06-30"}


def _certificates(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(TaxExemptionCertificate)).scalar_one())


def test_an_account_without_a_profile_is_a_business_without_certificates(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "GLAKES", country="US", currency="USD")
    r = client.get(PROFILE, headers=admin)
    assert r.status_code == 200
    assert r.json() == {"account": "GLAKES", "business": True, "certificates": [], "version": 0}


def test_a_profile_is_set_then_replaced_with_if_match(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given an account
    factories.account(db, "GLAKES", country="US", currency="USD")
    # when its first profile is put (no If-Match needed)
    r = client.put(PROFILE, json={"certificates": [CERT]}, headers=admin)
    # then it is stored and versioned
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"1"'
    assert r.json()["certificates"] == [CERT]
    # and a change needs the version: without it 428, with a stale one 409, nothing changes
    assert client.put(PROFILE, json={"business": False}, headers=admin).status_code == 428
    stale = client.put(PROFILE, json={"business": False}, headers={**admin, "If-Match": '"7"'})
    assert stale.status_code == 409
    assert client.get(PROFILE, headers=admin).json()["business"] is True
    # and with the right version the list is replaced
    r = client.put(PROFILE, json={"business": False, "certificates": []}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["business"], r.json()["certificates"], r.json()["version"]) == (False, [], 2)
    assert _certificates(db) == 0


def test_bad_certificates_are_refused_naming_the_field(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "GLAKES", country="US", currency="USD")
    cases = [
        ({**CERT, "regions": ["US-XX"]}, "certificates[0].regions"),
        ({**CERT, "regions": ["Texas"]}, "certificates[0].regions"),
        ({**CERT, "regions": []}, "certificates[0].regions"),
        ({**CERT, "expires_on": "2024-01-01"}, "certificates[0]"),
    ]
    for cert, field in cases:
        r = client.put(PROFILE, json={"certificates": [cert]}, headers=admin)
        assert r.status_code == 422, (cert, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], cert
    twice = client.put(PROFILE, json={"certificates": [CERT, CERT]}, headers=admin)
    assert twice.status_code == 422
    assert _certificates(db) == 0
    assert client.get(PROFILE, headers=admin).json()["version"] == 0


def test_unknown_accounts_and_buyers_get_no_profile(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    account_id = factories.account(db, "GLAKES", country="US", currency="USD")
    assert client.get("/api/v1/accounts/NOPE/tax-profile", headers=admin).status_code == 404
    buyer = api_key(db, Role.BUYER, account_id)
    assert client.get(PROFILE, headers=buyer).status_code == 403
    assert client.put(PROFILE, json={"business": False}, headers=buyer).status_code == 403
