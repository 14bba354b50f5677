"""Settings from the environment: the server secret and its defaults."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ordino.settings import ConfigurationError, Settings

SECRET = "s" * 40


def _env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name in ("ORDINO_SECRET_KEY", "ORDINO_SECRET_KEY_FILE", "ORDINO_SECRET_KEY_PREVIOUS",
                 "ORDINO_SECRET_KEY_PREVIOUS_FILE", "ORDINO_METRICS", "ORDINO_METRICS_TOKEN",
                 "ORDINO_LOG_FORMAT", "ORDINO_LOG_LEVEL", "ORDINO_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_on_a_sqlite_file_the_secret_is_generated_once_beside_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given no ORDINO_SECRET_KEY and a SQLite database file
    _env(monkeypatch, ORDINO_DATABASE_URL=f"sqlite:///{tmp_path / 'shop.db'}")
    # when two processes' settings ask for the server secret
    first = Settings.from_env().server_secret()
    second = Settings.from_env().server_secret()
    # then the first generated it into shop.db-secret, readable by the owner only, and both use it
    path = tmp_path / "shop.db-secret"
    assert first == second == path.read_text().strip()
    assert len(first) == 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_secret_and_the_previous_one_come_from_the_environment_or_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "previous").write_text("p" * 40 + "\n")
    _env(monkeypatch, ORDINO_DATABASE_URL="postgresql+psycopg://db/ordino", ORDINO_SECRET_KEY=SECRET,
         ORDINO_SECRET_KEY_PREVIOUS_FILE=str(tmp_path / "previous"))
    settings = Settings.from_env()
    assert (settings.server_secret(), settings.secret_key_previous) == (SECRET, "p" * 40)
    assert not (tmp_path / "db-secret").exists()


def test_postgresql_without_a_secret_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, ORDINO_DATABASE_URL="postgresql+psycopg://db/ordino")
    with pytest.raises(ConfigurationError, match=r"ORDINO_SECRET_KEY .* is not set"):
        Settings.from_env().server_secret()


def test_a_short_or_doubly_given_secret_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, ORDINO_SECRET_KEY="rs-admin")
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        Settings.from_env()
    (tmp_path / "s").write_text(SECRET)
    _env(monkeypatch, ORDINO_SECRET_KEY=SECRET, ORDINO_SECRET_KEY_FILE=str(tmp_path / "s"))
    with pytest.raises(ConfigurationError, match="not both"):
        Settings.from_env()


def test_metrics_are_off_unless_switched_on_or_given_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch)
    assert (Settings.from_env().metrics, Settings.from_env().metrics_token) == (False, None)
    _env(monkeypatch, ORDINO_METRICS="on")
    assert (Settings.from_env().metrics, Settings.from_env().metrics_token) == (True, None)
    _env(monkeypatch, ORDINO_METRICS_TOKEN="t" * 40)
    assert (Settings.from_env().metrics, Settings.from_env().metrics_token) == (True, "t" * 40)


def test_logs_are_json_at_info_with_access_lines_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch)
    s = Settings.from_env()
    assert (s.log_format, s.log_level, s.access_log) == ("json", "INFO", True)
    _env(monkeypatch, ORDINO_LOG_FORMAT="Text", ORDINO_LOG_LEVEL="warning", ORDINO_ACCESS_LOG="off")
    s = Settings.from_env()
    assert (s.log_format, s.log_level, s.access_log) == ("text", "WARNING", False)


def test_an_unknown_log_format_or_level_stops_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, ORDINO_LOG_FORMAT="xml")
    with pytest.raises(ValueError, match="ORDINO_LOG_FORMAT: 'xml' is not one of json, text"):
        Settings.from_env()
    _env(monkeypatch, ORDINO_LOG_LEVEL="loud")
    with pytest.raises(ValueError, match="ORDINO_LOG_LEVEL: 'loud' is not one of DEBUG, INFO, WARNING, ERROR"):
        Settings.from_env()


def test_private_webhook_targets_are_refused_unless_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDINO_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    assert Settings.from_env().webhooks_allow_private is False
    monkeypatch.setenv("ORDINO_WEBHOOKS_ALLOW_PRIVATE", "off")
    assert Settings.from_env().webhooks_allow_private is False
    monkeypatch.setenv("ORDINO_WEBHOOKS_ALLOW_PRIVATE", "on")
    assert Settings.from_env().webhooks_allow_private is True
