"""The `ordino` command: `apikey create` follows the API's rules for keys."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ordino.accounts.models import Account
from ordino.cli import app
from ordino.kernel.auth import ApiKey, key_digests
from ordino.kernel.db import Database
from tests import factories


@pytest.fixture(autouse=True)
def _server_secret_of_the_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    # the commands key digests as the test process does
    monkeypatch.setenv("ORDINO_SECRET_KEY", key_digests().secret)
    monkeypatch.delenv("ORDINO_SECRET_KEY_FILE", raising=False)


def _keys(db: Database) -> list[tuple[str, str, str | None]]:
    with db.read() as s:
        rows = s.execute(
            select(ApiKey.name, ApiKey.role, Account.number).outerjoin(Account, Account.id == ApiKey.account_id)
        ).all()
    return sorted((r[0], r[1], r[2]) for r in rows)


def _create(db: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["apikey", "create", "--database-url", db.url, *args])
    return result.exit_code, result.output


def test_an_admin_key_cannot_be_scoped_to_an_account(db) -> None:  # type: ignore[no-untyped-def]
    # given an account
    factories.account(db, "ACME")
    # when the command is asked for an admin key limited to it, as the API refuses (422)
    code, output = _create(db, "--name", "ops", "--role", "admin", "--account", "ACME")
    # then it refuses with the API's reason and writes no key
    assert code == 2
    assert "an admin key cannot be scoped to an account" in output
    assert _keys(db) == []


def test_unknown_role_and_account_are_refused_and_nothing_is_written(db) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    role = _create(db, "--name", "ops", "--role", "root")
    account = _create(db, "--name", "ops", "--role", "agent", "--account", "NOPE")
    buyer = _create(db, "--name", "portal", "--role", "buyer")
    assert (role[0], account[0], buyer[0]) == (2, 2, 2)
    assert "no account 'NOPE'" in account[1]
    assert "is required for role buyer" in buyer[1]
    assert _keys(db) == []


def test_a_scoped_key_is_created_as_the_api_would(db) -> None:  # type: ignore[no-untyped-def]
    factories.account(db, "ACME")
    code, output = _create(db, "--name", "ACME portal", "--role", "buyer", "--account", "ACME")
    assert code == 0, output
    assert output.splitlines()[0].startswith("ordino_")
    assert _keys(db) == [("ACME portal", "buyer", "ACME")]


def test_a_key_made_by_the_command_is_stored_under_the_server_secret(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # given the server secret in the environment
    secret_key = "k" * 40
    monkeypatch.setenv("ORDINO_SECRET_KEY", secret_key)
    # when the command creates a key
    code, output = _create(db, "--name", "erp", "--role", "integration")
    # then the stored digest is the HMAC of the printed secret under it
    assert code == 0, output
    secret = output.splitlines()[0]
    with db.read() as s:
        stored = s.execute(select(ApiKey.digest)).scalar_one()
    assert stored == hmac.new(secret_key.encode(), secret.encode(), hashlib.sha256).hexdigest()


def test_without_a_server_secret_on_postgresql_the_command_refuses(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ORDINO_SECRET_KEY")
    result = CliRunner().invoke(
        app, ["apikey", "create", "--database-url", "postgresql+psycopg://nowhere/ordino", "--name", "erp"]
    )
    assert result.exit_code == 2
    assert "ORDINO_SECRET_KEY (or ORDINO_SECRET_KEY_FILE) is not set" in result.output


def test_digests_counts_active_keys_by_their_secret(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # given one key under the current secret
    code, output = _create(db, "--name", "erp", "--role", "integration")
    assert code == 0, output
    # when the command counts them
    result = CliRunner().invoke(app, ["apikey", "digests", "--database-url", db.url])
    # then there is one key under the current secret
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["current", "1", "previous", "0", "legacy", "0", "unknown", "0"]


def test_serve_with_several_processes_gives_them_a_metrics_directory_and_json_logs(  # type: ignore[no-untyped-def]
    db, monkeypatch
) -> None:
    # given metrics switched on and no PROMETHEUS_MULTIPROC_DIR
    import os
    from pathlib import Path

    import uvicorn

    ran: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: ran.update(kw))
    monkeypatch.setenv("ORDINO_METRICS", "on")
    monkeypatch.setenv("ORDINO_LOG_FORMAT", "json")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    # when the API is served by two processes
    result = CliRunner().invoke(app, ["serve", "--database-url", db.url, "--workers", "2"])
    # then they share a new, empty metrics directory, and uvicorn logs through the JSON formatter
    directory = os.environ.pop("PROMETHEUS_MULTIPROC_DIR")
    assert result.exit_code == 0, result.output
    assert Path(directory).is_dir() and list(Path(directory).iterdir()) == []
    Path(directory).rmdir()
    config = ran["log_config"]
    assert isinstance(config, dict)
    assert (ran["workers"], ran["access_log"], config["root"]["handlers"]) == (2, False, ["stderr"])
    assert config["loggers"]["uvicorn.error"] == {"handlers": [], "propagate": True, "level": "INFO"}
