"""The FX endpoints: record rates, read the rates in force or the history, convert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ordino.app import create_app
from ordino.kernel.auth import Role
from ordino.kernel.db import Database
from ordino.pricing.models import FxRate
from ordino.settings import Settings
from tests import factories
from tests.conftest import api_key

ECB_DAY = [
    {"base": "EUR", "quote": "USD", "rate": "1.0723", "effective_on": "2024-05-03", "source": "ecb"},
    {"base": "EUR", "quote": "JPY", "rate": "164.50", "effective_on": "2024-05-03", "source": "ecb"},
    {"base": "EUR", "quote": "KWD", "rate": "0.3298", "effective_on": "2024-05-03", "source": "ecb"},
]


def count(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(FxRate)).scalar_one())


def post(client: TestClient, headers: dict[str, str], rates: list[dict[str, Any]], key: str | None = None) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/fx-rates", json={"rates": rates}, headers={**headers, **extra})


def test_recording_rates_inserts_then_corrects_then_changes_nothing(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # when a day of rates is recorded
    first = post(client, admin, ECB_DAY)
    # then each is stored and answered in its canonical form
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["updated"], first.json()["unchanged"]) == (3, 0, 0)
    assert [(r["quote"], r["rate"], r["effective_on"], r["source"]) for r in first.json()["items"]] == [
        ("USD", "1.0723", "2024-05-03", "ecb"), ("JPY", "164.5", "2024-05-03", "ecb"),
        ("KWD", "0.3298", "2024-05-03", "ecb"),
    ]
    # when the same day comes again with one correction
    again = post(client, admin, [*ECB_DAY[:2], {**ECB_DAY[2], "rate": "0.3299"}])
    assert (again.json()["inserted"], again.json()["updated"], again.json()["unchanged"]) == (0, 1, 2)
    assert again.json()["items"][2]["rate"] == "0.3299"
    assert count(db) == 3


def test_the_source_defaults_to_manual(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = post(client, admin, [{"base": "USD", "quote": "CAD", "rate": "1.37", "effective_on": "2024-05-03"}])
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["source"] == "manual"


def test_invalid_rates_are_all_named_and_nothing_is_written(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = post(client, admin, [
        {"base": "EUR", "quote": "USD", "rate": 1.0723, "effective_on": "2024-05-03"},
        {"base": "EUR", "quote": "EUR", "rate": "1", "effective_on": "2024-05-03"},
        {"base": "DEM", "quote": "USD", "rate": "0.55", "effective_on": "2024-05-03"},
        {"base": "EUR", "quote": "USD", "rate": "-2", "effective_on": "2024-05-03"},
        {"base": "EUR", "quote": "USD", "rate": "1.07", "effective_on": "3 May 2024", "source": "ECB"},
    ])
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [
        {"field": "rates[0].rate", "message": 'send rates as decimal strings such as "1.0823", not JSON numbers'},
        {"field": "rates[3].rate", "message": "must be more than 0"},
        {"field": "rates[4].effective_on",
         "message": "Input should be a valid date in the format YYYY-MM-DD, invalid character in year"},
        {"field": "rates[4].source", "message": "String should match pattern '^[a-z][a-z0-9_-]{0,19}$'"},
    ]
    # the payload is well formed, so the domain checks run and name every problem
    r = post(client, admin, [
        {"base": "EUR", "quote": "EUR", "rate": "1", "effective_on": "2024-05-03"},
        {"base": "DEM", "quote": "USD", "rate": "0.55", "effective_on": "2024-05-03"},
        {"base": "EUR", "quote": "USD", "rate": "1.07", "effective_on": "2024-05-03"},
        {"base": "EUR", "quote": "USD", "rate": "1.08", "effective_on": "2024-05-03"},
    ])
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "rates[0].quote", "message": "must differ from base"},
        {"field": "rates[1].base", "message": "'DEM' is not an active ISO 4217 currency"},
        {"field": "rates[3]", "message": "the same base, quote, date and source as rates[2]"},
    ]
    assert count(db) == 0


def test_buyers_read_rates_but_do_not_record_them(db, client) -> None:  # type: ignore[no-untyped-def]
    buyer = api_key(db, Role.BUYER, factories.account(db, "ACME"))
    assert post(client, buyer, ECB_DAY).status_code == 403
    assert client.get("/api/v1/fx-rates?on=2024-05-03", headers=buyer).status_code == 200
    assert count(db) == 0


def test_an_idempotency_key_replays_the_first_answer(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    first = post(client, admin, ECB_DAY, key="fx-2024-05-03")
    replay = post(client, admin, ECB_DAY, key="fx-2024-05-03")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert post(client, admin, ECB_DAY[:1], key="fx-2024-05-03").status_code == 422


def test_rates_in_force_on_a_day(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    post(client, admin, ECB_DAY)
    post(client, admin, [{**ECB_DAY[0], "rate": "1.0776", "effective_on": "2024-05-06"}])
    # Saturday: Friday's rates are in force; Monday: the new USD rate
    sat = client.get("/api/v1/fx-rates", params={"base": "EUR", "on": "2024-05-04"}, headers=admin)
    mon = client.get("/api/v1/fx-rates", params={"base": "EUR", "quote": "usd", "on": "2024-05-06"}, headers=admin)
    before = client.get("/api/v1/fx-rates", params={"base": "EUR", "on": "2024-05-02"}, headers=admin)
    assert sat.status_code == mon.status_code == 200, (sat.text, mon.text)
    assert [(r["quote"], r["rate"], r["effective_on"]) for r in sat.json()["items"]] == [
        ("JPY", "164.5", "2024-05-03"), ("KWD", "0.3298", "2024-05-03"), ("USD", "1.0723", "2024-05-03"),
    ]
    assert [(r["quote"], r["rate"], r["effective_on"]) for r in mon.json()["items"]] == [
        ("USD", "1.0776", "2024-05-06")
    ]
    assert before.json() == {"on": "2024-05-02", "items": []}


def test_the_history_pages_newest_first(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    days = ["2024-05-02", "2024-05-03", "2024-05-06"]
    post(client, admin, [{**ECB_DAY[0], "effective_on": d, "rate": f"1.07{i}"} for i, d in enumerate(days)])
    first = client.get("/api/v1/fx-rates", params={"quote": "USD", "limit": 2}, headers=admin).json()
    rest = client.get("/api/v1/fx-rates", params={"quote": "USD", "limit": 2, "cursor": first["next_cursor"]},
                      headers=admin).json()
    assert [r["effective_on"] for r in first["items"]] == ["2024-05-06", "2024-05-03"]
    assert ([r["effective_on"] for r in rest["items"]], rest["next_cursor"]) == (["2024-05-02"], None)
    ranged = client.get("/api/v1/fx-rates", params={"from": "2024-05-03", "to": "2024-05-03"}, headers=admin).json()
    assert [r["rate"] for r in ranged["items"]] == ["1.071"]


def test_bad_queries_are_named(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/fx-rates", params={"base": "XXX", "on": "2024-05-03", "to": "2024-05-04"}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "base", "message": "'XXX' is not an active ISO 4217 currency"},
        {"field": "on", "message": "cannot be combined with from, to or cursor"},
    ]
    assert client.get("/api/v1/fx-rates", params={"cursor": "nonsense"}, headers=admin).status_code == 422


def test_convert_through_the_base_with_the_stated_rounding(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    post(client, admin, ECB_DAY)
    r = client.get("/api/v1/fx-rates/convert",
                   params={"amount": "12.34", "from": "USD", "to": "JPY", "on": "2024-05-04"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "amount": "12.34", "from": "USD", "to": "JPY", "on": "2024-05-04",
        "result": {"amount": "1893", "currency": "JPY"},
        "rate": "153.408561037",
        "rounding": "half up, once, to the minor unit of the target currency",
        "legs": [
            {"base": "EUR", "quote": "USD", "rate": "1.0723", "effective_on": "2024-05-03", "source": "ecb",
             "inverted": True},
            {"base": "EUR", "quote": "JPY", "rate": "164.5", "effective_on": "2024-05-03", "source": "ecb",
             "inverted": False},
        ],
    }


def test_convert_defaults_to_the_corporate_currency(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    post(client, admin, ECB_DAY)
    r = client.get("/api/v1/fx-rates/convert", params={"amount": "1000", "from": "JPY", "on": "2024-05-03"},
                   headers=admin)
    assert r.json()["result"] == {"amount": "6.08", "currency": "EUR"}  # 1000 / 164.50 = 6.0790…


@pytest.fixture
def usd_client(db: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db.url, run_worker=False, corporate_currency="USD"), db=db)
    with TestClient(app) as c:
        yield c


def test_another_corporate_currency_is_the_default_target(db, usd_client, admin) -> None:  # type: ignore[no-untyped-def]
    post(usd_client, admin, ECB_DAY)
    r = usd_client.get("/api/v1/fx-rates/convert", params={"amount": "2.005", "from": "KWD", "on": "2024-05-03"},
                       headers=admin)
    # 2.005 KWD / 0.3298 × 1.0723 = 6.5189… USD
    assert r.json()["result"] == {"amount": "6.52", "currency": "USD"}


def test_convert_refuses_bad_amounts_and_missing_rates(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    post(client, admin, ECB_DAY)
    r = client.get("/api/v1/fx-rates/convert", params={"amount": "12.345", "from": "USD", "to": "ABC"},
                   headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "to", "message": "'ABC' is not an active ISO 4217 currency"},
        {"field": "amount", "message": "USD allows at most 2 decimal places"},
    ]
    r = client.get("/api/v1/fx-rates/convert", params={"amount": "1", "from": "USD", "to": "CHF", "on": "2024-05-03"},
                   headers=admin)
    assert r.status_code == 422
    assert r.json()["type"] == "https://ordino.dev/problems/fx-rate-not-found"
    assert r.json()["errors"] == [
        {"field": "to", "message": "no exchange rate from USD to CHF on or before 2024-05-03"}
    ]
