"""/api/v1/locations/{ref}/capacity: set the limits, hold, confirm and release units of a day."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from ordino.inventory.models import LocationCapacityDay
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from tests import factories
from tests.conftest import api_key
from tests.inventory.conftest import count, location_id

URL = "/api/v1/locations/WH-BER/capacity"
DAY = f"{URL}/2026-12-01"


def _day(location: str = "WH-BER", *, capacity: int | None, held: int, confirmed: int,
         remaining: int | None) -> dict[str, Any]:
    return {"location": location, "day": "2026-12-01", "capacity": capacity, "held": held, "confirmed": confirmed,
            "remaining": remaining}


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_units_are_held_confirmed_and_released(world: Database, client: TestClient, admin: dict[str, str]) -> None:
    # given WH-BER handling 10 units a day
    r = client.put(URL, json={"units_per_day": 10}, headers=admin)
    assert (r.status_code, r.json()) == (200, {"location": "WH-BER", "units_per_day": 10})
    assert client.get(URL, headers=admin).json() == {"location": "WH-BER", "units_per_day": 10}
    assert client.get(DAY, headers=admin).json() == _day(capacity=10, held=0, confirmed=0, remaining=10)
    # when 8 units are held, 5 confirmed, 2 held and 1 confirmed released
    steps = [("hold", {"units": 8}), ("confirm", {"units": 5}), ("release", {"units": 2}),
             ("release", {"units": 1, "confirmed": True})]
    answers = [client.post(f"{DAY}/{action}", json=body, headers=admin | _key()) for action, body in steps]
    # then each answers the day as it stands after it
    assert [(a.status_code, a.json()) for a in answers] == [
        (200, _day(capacity=10, held=8, confirmed=0, remaining=2)),
        (200, _day(capacity=10, held=3, confirmed=5, remaining=2)),
        (200, _day(capacity=10, held=1, confirmed=5, remaining=4)),
        (200, _day(capacity=10, held=1, confirmed=4, remaining=5)),
    ]
    assert client.get(DAY, headers=admin).json() == _day(capacity=10, held=1, confirmed=4, remaining=5)


def test_a_location_is_named_by_code_or_id(world: Database, client: TestClient, admin: dict[str, str]) -> None:
    ident = location_id(world, "WH-HAM")
    r = client.post(f"/api/v1/locations/{ident}/capacity/2026-12-01/hold", json={"units": 3}, headers=admin)
    assert (r.status_code, r.json()) == (200, _day("WH-HAM", capacity=None, held=3, confirmed=0, remaining=None))
    assert client.get("/api/v1/locations/WH-HAM/capacity/2026-12-01", headers=admin).json() == r.json()


def test_a_hold_that_does_not_fit_is_refused_and_changes_nothing(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    # given a day of 10 units with 7 held
    client.put(URL, json={"units_per_day": 10}, headers=admin)
    client.post(f"{DAY}/hold", json={"units": 7}, headers=admin)
    # when 4 more are asked for
    r = client.post(f"{DAY}/hold", json={"units": 4}, headers=admin)
    # then the answer is 409 capacity-exhausted with the day's figures, and the day is as it was
    assert r.status_code == 409
    problem = r.json()
    assert (problem["type"], problem["capacity"], problem["held"], problem["confirmed"], problem["errors"]) == (
        "https://ordino.dev/problems/capacity-exhausted", 10, 7, 0, [{"field": "units", "message": "remaining 3"}]
    )
    assert client.get(DAY, headers=admin).json() == _day(capacity=10, held=7, confirmed=0, remaining=3)


def test_confirming_or_releasing_more_than_held_is_refused(
    world: Database, client: TestClient, admin: dict[str, str]
) -> None:
    client.put(URL, json={"units_per_day": 10}, headers=admin)
    client.post(f"{DAY}/hold", json={"units": 2}, headers=admin)
    answers = [client.post(f"{DAY}/{action}", json=body, headers=admin) for action, body in (
        ("confirm", {"units": 3}), ("release", {"units": 3}), ("release", {"units": 1, "confirmed": True}))]
    assert [(a.status_code, a.json()["type"]) for a in answers] == [
        (409, "https://ordino.dev/problems/capacity-not-held")] * 3
    assert client.get(DAY, headers=admin).json() == _day(capacity=10, held=2, confirmed=0, remaining=8)


def test_a_day_override_and_back_to_the_default(world: Database, client: TestClient, admin: dict[str, str]) -> None:
    client.put(URL, json={"units_per_day": 10}, headers=admin)
    r = client.put(DAY, json={"capacity": 2}, headers=admin)
    assert (r.status_code, r.json()) == (200, _day(capacity=2, held=0, confirmed=0, remaining=2))
    assert client.post(f"{DAY}/hold", json={"units": 3}, headers=admin).status_code == 409
    r = client.put(DAY, json={"capacity": None}, headers=admin)
    assert (r.status_code, r.json()) == (200, _day(capacity=10, held=0, confirmed=0, remaining=10))
    # and without a limit at all, holds are still counted
    client.put(URL, json={"units_per_day": None}, headers=admin)
    assert client.get(URL, headers=admin).json() == {"location": "WH-BER", "units_per_day": None}
    r = client.post(f"{DAY}/hold", json={"units": 30}, headers=admin)
    assert (r.status_code, r.json()) == (200, _day(capacity=None, held=30, confirmed=0, remaining=None))


def test_a_replayed_hold_holds_once(world: Database, client: TestClient, admin: dict[str, str]) -> None:
    key = admin | _key()
    first = client.post(f"{DAY}/hold", json={"units": 4}, headers=key)
    again = client.post(f"{DAY}/hold", json={"units": 4}, headers=key)
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (200, first.json(), "true")
    assert client.get(DAY, headers=admin).json() == _day(capacity=None, held=4, confirmed=0, remaining=None)


def test_bad_requests_write_nothing(world: Database, client: TestClient, admin: dict[str, str]) -> None:
    answers = [
        client.post("/api/v1/locations/WH-NOPE/capacity/2026-12-01/hold", json={"units": 1}, headers=admin),
        client.post(f"{DAY}/hold", json={"units": 0}, headers=admin),
        client.post(f"{DAY}/hold", json={"units": "1"}, headers=admin),
        client.post(f"{URL}/2026-13-01/hold", json={"units": 1}, headers=admin),
        client.put(URL, json={"units_per_day": -1}, headers=admin),
        client.get("/api/v1/locations/WH-NOPE/capacity/2026-12-01", headers=admin),
    ]
    assert [(a.status_code, a.json()["type"].rsplit("/", 1)[1]) for a in answers] == [
        (404, "not-found"), (422, "validation"), (422, "validation"), (422, "validation"), (422, "validation"),
        (404, "not-found"),
    ]
    assert count(world, LocationCapacityDay) == 0
    assert client.get(DAY, headers=admin).json() == _day(capacity=None, held=0, confirmed=0, remaining=None)


def test_roles(world: Database, client: TestClient) -> None:
    # staff read; admin sets limits; admin, fulfilment and integration hold, confirm and release
    agent, fulfillment = api_key(world, Role.AGENT), api_key(world, Role.FULFILLMENT)
    buyer = api_key(world, Role.BUYER, factories.account(world, "ACME"))
    assert client.get(DAY, headers=agent).status_code == 200
    assert client.get(DAY, headers=buyer).status_code == 403
    assert client.put(URL, json={"units_per_day": 5}, headers=fulfillment).status_code == 403
    assert client.post(f"{DAY}/hold", json={"units": 1}, headers=agent).status_code == 403
    assert client.post(f"{DAY}/hold", json={"units": 1}, headers=fulfillment).status_code == 200
    assert client.get(DAY, headers=agent).json() == _day(capacity=None, held=1, confirmed=0, remaining=None)
