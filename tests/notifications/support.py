"""A real SMTP server on loopback (aiosmtpd), a small world with contacts, and the worker with the
production flows plus the notification handlers."""

from __future__ import annotations

import email
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ordino.accounts.models import Contact
from ordino.flows.registry import handlers as flow_handlers
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.http import dumps
from ordino.kernel.worker import Dispatcher
from ordino.notifications.mail import MailConfig
from ordino.notifications.models import NotificationMessage
from ordino.orders import intake
from ordino.orders.schemas import OrderIn
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
STAFF = Principal(uuid.UUID(int=1), "tests", Role.ADMIN)
SENDER = "Ordino Supply <orders@ordino.example>"


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    received: list[Received] = field(default_factory=list)
    refuse: bool = False  # answer every message with 451 (a temporary failure)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        if self.refuse:
            return "451 Requested action aborted: try again later"
        msg = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return f"250 OK queued as Q{len(self.received)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def config_for(port: int | None, operations: str | None = "ops@ordino.example") -> MailConfig:
    return MailConfig(host="127.0.0.1" if port else None, port=port or 587, starttls=False, sender=SENDER,
                      operations=operations)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    clock.set_clock(lambda: NOW)
    yield NOW
    clock.set_clock(None)


@dataclass(frozen=True)
class World:
    db: Database
    account: uuid.UUID
    buyer: uuid.UUID
    admin: uuid.UUID
    approver: uuid.UUID


def contact(db: Database, account: uuid.UUID, first: str, last: str, email_: str | None, roles: list[str]) -> uuid.UUID:
    now = clock.now()
    return factories._add(db, Contact(account_id=account, first_name=first, last_name=last, email=email_,
                                      roles=roles, created_at=now, updated_at=now))


def make_world(db: Database, locale: str = "de", einvoice_format: str = "pdf") -> World:
    """Seller ORDINO-DE; account ACME (EUR, DE, `locale`) with a buyer, an administrator and an approver;
    channel web; BOLT-M8 and NUT-M8, 10,000 of each at WH-BER."""
    factories.legal_entity(db)
    account = factories.account(db, "ACME", locale=locale, einvoice_format=einvoice_format, payment_terms="net_30",
                                buyer_reference="04011000-1234512345-06")
    factories.channel(db, "web")
    factories.product(db, "BOLT-M8", name="Hex bolt M8x40, zinc plated")
    factories.product(db, "NUT-M8", name="Hex nut M8, zinc plated")
    factories.location(db, "WH-BER")
    factories.position(db, "BOLT-M8", "WH-BER", on_hand=10_000)
    factories.position(db, "NUT-M8", "WH-BER", on_hand=10_000)
    buyer = contact(db, account, "Anna", "Schmidt", "anna@acme.example", ["buyer"])
    admin = contact(db, account, "Bernd", "Weber", "billing@acme.example", ["account_admin"])
    approver = contact(db, account, "Clara", "Wolf", "clara@acme.example", ["approver"])
    return World(db, account, buyer, admin, approver)


def vat(amount: str) -> list[dict[str, Any]]:
    return [{"name": "VAT 19%", "rate": "0.19", "amount": amount, "category": "S", "jurisdiction": "DE"}]


def place(world: World, reference: str = "WEB-1", **overrides: Any) -> dict[str, Any]:
    """1,000 bolts at 1.2345 (1,234.50, VAT 234.56) and shipping 12.50 (VAT 2.38), placed by the
    buyer on invoice: grand total 1,483.94 EUR."""
    body = factories.order_payload(external_reference=reference,
                                  payments=[{"method": "invoice", "terms": "net_30"}])
    group = body["delivery_groups"][0]
    group["lines"] = [{"sku": "BOLT-M8", "quantity": 1000, "unit_price": "1.2345", "tax_lines": vat("234.56")}]
    group["shipping_tax_lines"] = vat("2.38")
    body.update(overrides)
    buyer = Principal(uuid.UUID(int=2), "anna", Role.BUYER, account_id=world.account, contact_id=world.buyer)
    placed = world.db.transaction(lambda s: intake.place_order(s, OrderIn.model_validate(body), buyer))
    return dict(orjson.loads(dumps(placed.document)))


def dispatcher(db: Database, config: MailConfig) -> Dispatcher:
    return Dispatcher(db, flow_handlers({}, mail=config))


def messages(db: Database) -> list[tuple[str, str, str, str]]:
    """(kind, recipient, status, language) of every recorded message, by kind then recipient."""
    with db.read() as s:
        rows = s.execute(select(NotificationMessage.kind, NotificationMessage.recipient, NotificationMessage.status,
                                NotificationMessage.language)
                         .order_by(NotificationMessage.kind, NotificationMessage.recipient)).all()
    return [tuple(r) for r in rows]


def by_subject(inbox: Inbox, start: str) -> list[Received]:
    return [r for r in inbox.received if str(r.message["Subject"]).startswith(start)]
