"""/api/v1/location-groups: create with members, read, list, change with If-Match."""

from __future__ import annotations

from ordino.inventory.models import LocationGroup, LocationGroupMember
from ordino.kernel.auth import Role
from tests import factories
from tests.conftest import api_key
from tests.inventory.conftest import NOW_TEXT, count, events

URL = "/api/v1/location-groups"


def test_created_group_lists_its_locations(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    # when a group is created with two locations
    r = client.post(URL, json={"code": "DE", "name": "Germany", "locations": ["WH-HAM", "WH-BER"]}, headers=admin)
    # then it is served with its members by code, sorted
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"], "code": "DE", "name": "Germany", "locations": ["WH-BER", "WH-HAM"], "version": 1,
        "created_at": NOW_TEXT, "updated_at": NOW_TEXT,
    }
    assert (r.headers["Location"], r.headers["ETag"]) == (f"{URL}/{doc['id']}", '"1"')
    assert client.get(f"{URL}/DE", headers=admin).json() == doc
    assert client.get(f"{URL}/{doc['id']}", headers=admin).json() == doc
    assert [t for t, _ in events(world)] == ["location_group.created"]


def test_a_location_may_be_in_several_groups(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    client.post(URL, json={"code": "DE", "name": "Germany", "locations": ["WH-BER", "WH-HAM"]}, headers=admin)
    r = client.post(URL, json={"code": "NORTH", "name": "North", "locations": ["WH-HAM"]}, headers=admin)
    assert r.status_code == 201, r.text
    listed = client.get(URL, headers=admin).json()
    assert [(g["code"], g["locations"]) for g in listed["items"]] == [
        ("NORTH", ["WH-HAM"]), ("DE", ["WH-BER", "WH-HAM"])
    ]
    assert listed["next_cursor"] is None


def test_unknown_locations_are_named_and_nothing_is_created(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json={"code": "EU", "name": "EU", "locations": ["WH-BER", "WH-PAR", "WH-MAD"]}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "locations[1]", "message": "no location 'WH-PAR'"},
        {"field": "locations[2]", "message": "no location 'WH-MAD'"},
    ]
    assert (count(world, LocationGroup), count(world, LocationGroupMember), events(world)) == (0, 0, [])


def test_a_taken_code_is_a_conflict(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location_group(world, "DE", ["WH-BER"])
    r = client.post(URL, json={"code": "DE", "name": "Again"}, headers=admin)
    assert (r.status_code, r.json()["errors"]) == (409, [{"field": "code", "message": "is already taken"}])
    assert count(world, LocationGroup) == 1


def test_patch_replaces_members_with_if_match(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    factories.location_group(world, "DE", ["WH-BER", "WH-HAM"])
    # when the members are replaced at version 1
    r = client.patch(f"{URL}/DE", json={"name": "Germany", "locations": ["ST-MUC", "WH-BER"]},
                     headers={**admin, "If-Match": '"1"'})
    # then the group has the new members and version 2
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["locations"], r.json()["version"], r.headers["ETag"]) == (
        "Germany", ["ST-MUC", "WH-BER"], 2, '"2"'
    )
    assert [t for t, _ in events(world)] == ["location_group.updated"]


def test_patch_with_a_stale_version_changes_nothing(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location_group(world, "DE", ["WH-BER"])
    stale = client.patch(f"{URL}/DE", json={"locations": []}, headers={**admin, "If-Match": '"7"'})
    missing = client.patch(f"{URL}/DE", json={"locations": []}, headers=admin)
    assert (stale.status_code, missing.status_code) == (409, 428)
    assert client.get(f"{URL}/DE", headers=admin).json()["locations"] == ["WH-BER"]
    assert events(world) == []


def test_patch_with_unknown_location_or_code_is_refused(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.location_group(world, "DE", ["WH-BER"])
    h = {**admin, "If-Match": '"1"'}
    unknown = client.patch(f"{URL}/DE", json={"locations": ["WH-XX"]}, headers=h)
    renamed = client.patch(f"{URL}/DE", json={"code": "DE2"}, headers=h)
    assert unknown.json()["errors"] == [{"field": "locations[0]", "message": "no location 'WH-XX'"}]
    assert renamed.json()["errors"] == [{"field": "code", "message": "cannot be changed"}]
    assert client.get(f"{URL}/DE", headers=admin).json()["locations"] == ["WH-BER"]


def test_unknown_group_is_404(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"{URL}/NOPE", headers=admin).status_code == 404


def test_only_admins_change_groups_and_buyers_see_none(world, client) -> None:  # type: ignore[no-untyped-def]
    agent = api_key(world, Role.AGENT)
    buyer = api_key(world, Role.BUYER)
    assert client.post(URL, json={"code": "DE", "name": "DE"}, headers=agent).status_code == 403
    assert client.get(URL, headers=agent).status_code == 200
    assert client.get(URL, headers=buyer).status_code == 403
    assert count(world, LocationGroup) == 0
