"""/api/v1/channels and /api/v1/locations: staff-only master data, written by admins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ordino.catalog.models import Location, SalesChannel
from ordino.kernel.auth import Role
from tests import factories
from tests.catalog.conftest import NOW_TEXT
from tests.conftest import api_key

CHANNELS = "/api/v1/channels"
LOCATIONS = "/api/v1/locations"


def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _location(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "WH-BER",
        "name": "Berlin warehouse",
        "kind": "warehouse",
        "line1": "Am Borsigturm 100",
        "city": "Berlin",
        "postal_code": "13507",
        "country": "DE",
        "latitude": "52.520008",
        "longitude": "13.404954",
        "timezone": "Europe/Berlin",
    }
    body.update(overrides)
    return body


# ----------------------------------------------------------------------------------------------
# Sales channels


def test_channel_is_created_read_listed_and_changed(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    r = client.post(CHANNELS, json={"code": "edi-acme", "name": "ACME EDI", "kind": "edi"}, headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "code": "edi-acme",
        "name": "ACME EDI",
        "kind": "edi",
        "legal_entity": None,
        "active": True,
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert client.get(f"{CHANNELS}/edi-acme", headers=admin).json() == doc
    assert client.get(f"{CHANNELS}/{doc['id']}", headers=admin).headers["ETag"] == '"1"'
    factories.channel(db, "web")
    assert [c["code"] for c in client.get(f"{CHANNELS}?kind=edi", headers=admin).json()["items"]] == ["edi-acme"]
    # when it is deactivated
    r = client.patch(f"{CHANNELS}/edi-acme", json={"active": False}, headers={**admin, "If-Match": '"1"'})
    assert (r.status_code, r.json()["active"], r.json()["version"]) == (200, False, 2)
    assert [c["code"] for c in client.get(f"{CHANNELS}?active=true", headers=admin).json()["items"]] == ["web"]


def test_channel_refusals_write_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.channel(db, "web")
    duplicate = client.post(CHANNELS, json={"code": "web", "name": "Web shop"}, headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [{"field": "code", "message": "is already taken"}]
    invalid = client.post(CHANNELS, json={"code": "fax", "name": "Fax", "kind": "fax"}, headers=admin)
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [
        {"field": "kind", "message": "Input should be 'web', 'marketplace', 'pos', 'edi', 'phone', 'api' or 'portal'"}
    ]
    assert client.patch(f"{CHANNELS}/web", json={"name": "x"}, headers=admin).status_code == 428
    renamed = client.patch(f"{CHANNELS}/web", json={"code": "www"}, headers={**admin, "If-Match": '"1"'})
    assert renamed.json()["errors"] == [{"field": "code", "message": "cannot be changed"}]
    assert client.get(f"{CHANNELS}/nothing", headers=admin).status_code == 404
    with db.read() as s:
        assert s.execute(select(SalesChannel.code, SalesChannel.name, SalesChannel.version)).all() == [
            ("web", "Web", 1)
        ]


def test_only_admins_write_channels_and_buyers_read_none(db, client) -> None:  # type: ignore[no-untyped-def]
    factories.channel(db, "web")
    agent = api_key(db, Role.AGENT)
    assert client.post(CHANNELS, json={"code": "pos", "name": "Shop", "kind": "pos"}, headers=agent).status_code == 403
    assert client.get(f"{CHANNELS}/web", headers=agent).status_code == 200
    buyer = api_key(db, Role.BUYER, factories.account(db, "ACME"))
    assert client.get(CHANNELS, headers=buyer).status_code == 403
    assert _count(db, SalesChannel) == 1


# ----------------------------------------------------------------------------------------------
# Locations


def test_location_is_created_with_exact_coordinates(db, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    r = client.post(LOCATIONS, json=_location(), headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "code": "WH-BER",
        "name": "Berlin warehouse",
        "kind": "warehouse",
        "line1": "Am Borsigturm 100",
        "city": "Berlin",
        "postal_code": "13507",
        "region": None,
        "country": "DE",
        "latitude": "52.520008",
        "longitude": "13.404954",
        "timezone": "Europe/Berlin",
        "active": True,
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert client.get(f"{LOCATIONS}/WH-BER", headers=admin).json() == doc
    with db.read() as s:
        stored = s.execute(select(Location.latitude, Location.longitude)).one()
    assert stored == (Decimal("52.520008"), Decimal("13.404954"))


def test_location_validation_names_fields_and_writes_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    body = _location(kind="depot", latitude="90.5", longitude="-180.000001", timezone="Europe/Atlantis", country="XX")
    r = client.post(LOCATIONS, json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "kind", "message": "Input should be 'warehouse', 'store', 'drop_ship' or 'digital'"},
        {"field": "country", "message": "must be an ISO 3166-1 alpha-2 country code such as DE"},
        {"field": "latitude", "message": "must be between -90 and 90"},
        {"field": "longitude", "message": "must be between -180 and 180"},
        {"field": "timezone", "message": "'Europe/Atlantis' is not an IANA time zone such as 'Europe/Berlin'"},
    ]
    # and a latitude without a longitude makes no place
    r = client.post(LOCATIONS, json=_location(longitude=None), headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "longitude", "message": "is required when latitude is given"}]
    # and the edges of the ranges are places
    edge = client.post(LOCATIONS, json=_location(code="POLE", latitude="-90", longitude="180"), headers=admin)
    assert (edge.status_code, edge.json()["latitude"], edge.json()["longitude"]) == (201, "-90", "180")
    assert _count(db, Location) == 1


def test_location_list_filters_and_patch(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location(db, "WH-BER")
    factories.location(db, "ST-PAR", kind="store", country="FR")
    factories.location(db, "WH-OLD", active=False)
    factories.location(db, "DIGITAL", kind="digital", latitude=None, longitude=None)

    def codes(query: str) -> list[str]:
        r = client.get(f"{LOCATIONS}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        return [loc["code"] for loc in r.json()["items"]]

    assert codes("kind=warehouse") == ["WH-OLD", "WH-BER"]
    assert codes("country=FR") == ["ST-PAR"]
    assert codes("active=false") == ["WH-OLD"]
    assert codes("kind=digital&country=DE") == ["DIGITAL"]
    assert client.get(f"{LOCATIONS}?kind=depot", headers=admin).status_code == 422
    # when the coordinates are cleared together and the time zone set
    change = {"latitude": None, "longitude": None, "timezone": "Europe/Paris"}
    r = client.patch(f"{LOCATIONS}/ST-PAR", json=change, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["latitude"], r.json()["longitude"], r.json()["timezone"], r.json()["version"]) == (
        None,
        None,
        "Europe/Paris",
        2,
    )
    # when only one coordinate is cleared, it is refused and nothing changes
    r = client.patch(f"{LOCATIONS}/WH-BER", json={"latitude": None}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "latitude", "message": "is required when longitude is given"}]
    with db.read() as s:
        row = s.execute(select(Location.latitude, Location.version).where(Location.code == "WH-BER")).one()
    assert row == (Decimal("52.520008"), 1)


def test_locations_are_staff_only_and_written_by_admins(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location(db, "WH-BER")
    fulfillment = api_key(db, Role.FULFILLMENT)
    assert client.get(f"{LOCATIONS}/WH-BER", headers=fulfillment).status_code == 200
    assert client.post(LOCATIONS, json=_location(code="WH-2"), headers=fulfillment).status_code == 403
    buyer = api_key(db, Role.BUYER, factories.account(db, "ACME"))
    assert client.get(f"{LOCATIONS}/WH-BER", headers=buyer).status_code == 403
    duplicate = client.post(LOCATIONS, json=_location(), headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [{"field": "code", "message": "is already taken"}]
    assert _count(db, Location) == 1
