"""Building RFC 5322 messages and handing them to an SMTP server."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from ordino.settings import Settings

NOT_CONFIGURED = "not sent: no SMTP host is configured (ORDINO_SMTP_HOST)"
TIMEOUT = 30.0  # seconds for each exchange with the server


@dataclass(frozen=True, slots=True)
class MailConfig:
    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str = "Ordino <noreply@ordino.invalid>"
    operations: str | None = None  # where process exceptions are announced

    @classmethod
    def from_settings(cls, settings: Settings) -> MailConfig:
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_username, settings.smtp_password,
                   settings.smtp_starttls, settings.mail_from, settings.operations_email)

    @property
    def sends(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True, slots=True)
class Draft:
    sender: str
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    date: datetime
    language: str
    attachment: Attachment | None = None


def build(draft: Draft) -> bytes:
    """The message as it goes on the wire: text and HTML alternatives, then the attachment."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = draft.sender
    msg["To"] = draft.to
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(draft.date)
    msg["Message-ID"] = draft.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to these
    msg.set_content(draft.text)
    msg.add_alternative(draft.html, subtype="html")
    if draft.attachment is not None:
        maintype, subtype = draft.attachment.content_type.split("/", 1)
        msg.add_attachment(draft.attachment.data, maintype=maintype, subtype=subtype,
                           filename=draft.attachment.filename)
    msg["Content-Language"] = draft.language  # after the parts: making them moves Content-* headers into them
    return msg.as_bytes()


def send(config: MailConfig, recipient: str, raw: bytes) -> str:
    """Hand `raw` to the configured server for `recipient`; returns the server's answer (e.g.
    '250 OK queued as 1234'). Raises on any refusal or failure to connect, so the event is retried."""
    if not config.host:
        raise RuntimeError(NOT_CONFIGURED)
    cls = smtplib.SMTP_SSL if config.port == 465 else smtplib.SMTP
    with cls(config.host, config.port, timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        if config.starttls and cls is smtplib.SMTP:
            smtp.starttls()  # refused by a server without it: never send credentials in the clear
            smtp.ehlo()
        if config.username:
            smtp.login(config.username, config.password or "")
        envelope_from = parseaddr(config.sender)[1]
        code, answer = smtp.mail(envelope_from)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, envelope_from)
        code, answer = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
        code, answer = smtp.data(raw)
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        return f"{code} {answer.decode('utf-8', 'replace')}"[:500]
