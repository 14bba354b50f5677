"""The composition root: /metrics is served only when configured, and with a token only to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ordino.app import create_app
from ordino.kernel.db import Database
from ordino.settings import Settings

TOKEN = "m" * 40


def _client(db: Database, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(database_url=db.url, run_worker=False, **settings), db=db))  # type: ignore[arg-type]


def test_metrics_are_not_served_by_default(db: Database) -> None:
    with _client(db) as c:
        r = c.get("/metrics")
    assert r.status_code == 404
    assert "ordino_http_requests_total" not in r.text


def test_metrics_with_a_token_answer_only_that_bearer(db: Database) -> None:
    with _client(db, metrics=True, metrics_token=TOKEN) as c:
        none = c.get("/metrics")
        wrong = c.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        right = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (none.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert none.headers["www-authenticate"] == "Bearer"
    assert "ordino_http_requests_total" not in none.text + wrong.text
    assert right.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'ordino_http_requests_total{method="GET",status="401"} 2' in right.text


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
    assert "# TYPE ordino_http_requests_total counter" in r.text
