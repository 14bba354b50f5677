"""The SMTP settings from the environment, and the message as it goes on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest

from ordino.notifications.mail import Attachment, Draft, MailConfig, build, send
from ordino.settings import Settings


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDINO_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("ORDINO_SMTP_PORT", "465")
    monkeypatch.setenv("ORDINO_SMTP_USERNAME", "ordino")
    monkeypatch.setenv("ORDINO_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("ORDINO_SMTP_STARTTLS", "false")
    monkeypatch.setenv("ORDINO_MAIL_FROM", "Shop <shop@example.com>")
    monkeypatch.setenv("ORDINO_OPERATIONS_EMAIL", "ops@example.com")
    config = MailConfig.from_settings(Settings.from_env())
    assert config == MailConfig("mail.example.com", 465, "ordino", "s3cret", False, "Shop <shop@example.com>",
                                "ops@example.com")
    assert config.sends


def test_defaults_send_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "USERNAME", "PASSWORD", "STARTTLS"):
        monkeypatch.delenv(f"ORDINO_SMTP_{name}", raising=False)
    config = MailConfig.from_settings(Settings.from_env())
    assert (config.host, config.port, config.starttls, config.sends) == (None, 587, True, False)
    with pytest.raises(RuntimeError, match="no SMTP host"):
        send(config, "a@example.com", b"")


def test_a_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDINO_SMTP_PORT", "70000")
    with pytest.raises(ValueError, match="ORDINO_SMTP_PORT: '70000' is not a port number"):
        Settings.from_env()


def test_the_message_on_the_wire() -> None:
    raw = build(Draft("Shop <shop@example.com>", "anna@example.com", "Rechnung INV-1", "Text ü", "<p>Text ü</p>",
                      "<x@ordino.local-domain>", datetime(2026, 11, 26, 10, 0, tzinfo=UTC), "de",
                      Attachment("INV-1.xml", "application/xml", b"<Invoice/>")))
    msg = message_from_bytes(raw, policy=default)
    assert (msg["From"], msg["To"], msg["Subject"], msg["Message-ID"], msg["Date"], msg["Content-Language"],
            msg["Auto-Submitted"]) == ("Shop <shop@example.com>", "anna@example.com", "Rechnung INV-1",
                                       "<x@ordino.local-domain>", "Thu, 26 Nov 2026 10:00:00 +0000", "de",
                                       "auto-generated")
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().strip() == "Text ü"  # type: ignore[union-attr]
    [part] = list(msg.iter_attachments())
    assert (part.get_content_type(), part.get_filename(), part.get_content()) == (
        "application/xml", "INV-1.xml", b"<Invoice/>")
