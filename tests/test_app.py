"""The composition root: /metrics is served only when configured, and with a token only to it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.settings import Settings

TOKEN = "m" * 40
DURATION = "ordino_http_request_duration_seconds"


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample of a /metrics answer; 0 when it is absent."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def _client(db: Database, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(database_url=db.url, run_worker=False, **settings), db=db))  # type: ignore[arg-type]


def test_metrics_are_not_served_by_default(db: Database) -> None:
    with _client(db) as c:
        r = c.get("/metrics")
    assert r.status_code == 404
    assert DURATION not in r.text


def test_metrics_with_a_token_answer_only_that_bearer(db: Database) -> None:
    refused = {"method": "GET", "route": "/metrics", "status_class": "4xx"}
    with _client(db, metrics=True, metrics_token=TOKEN) as c:
        before = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        none = c.get("/metrics")
        wrong = c.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        right = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (none.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert none.headers["www-authenticate"] == "Bearer"
    assert DURATION not in none.text + wrong.text
    assert right.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    counted = sample(right.text, DURATION + "_count", **refused) - sample(before.text, DURATION + "_count", **refused)
    assert counted == 2


def test_wrong_metrics_tokens_count_as_failed_authentications(db: Database) -> None:
    with _client(db, metrics=True, metrics_token=TOKEN, auth_failure_limit=2) as c:
        codes = [c.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code for _ in range(3)]
        after = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert codes == [401, 401, 429]
    assert after.status_code == 429


def test_metrics_switched_on_without_a_token_are_open(db: Database) -> None:
    with _client(db, metrics=True) as c:
        r = c.get("/metrics")
    assert r.status_code == 200
    assert f"# TYPE {DURATION} histogram" in r.text
