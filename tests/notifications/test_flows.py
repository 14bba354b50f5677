"""Notifications sent by the worker over a real SMTP server: the flows' events, the contacts they
reach, their language and attachments, and what a redelivery or a missing server changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.notifications.support import (
    Inbox,
    config_for,
    dispatcher,
    frozen,
    make_world,
    messages,
    place,
    smtp,
)

__all__ = ["frozen", "smtp"]


def test_order_confirmation_in_german(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    # given an account whose locale is German, and an order its buyer placed
    inbox, port = smtp
    world = make_world(db, locale="de")
    order = place(world)
    # when the worker delivers the events
    dispatcher(db, config_for(port)).drain()
    # then the buyer got one confirmation, in German, with the amount as Germans write it
    confirmations = [r for r in inbox.received if "bestätigt" in str(r.message["Subject"])]
    assert len(confirmations) == 1
    got = confirmations[0]
    msg = got.message
    assert got.envelope_to == ["anna@acme.example"]
    assert got.envelope_from == "orders@ordino.example"
    assert msg["From"] == "Ordino Supply <orders@ordino.example>"
    assert msg["To"] == "anna@acme.example"
    assert msg["Subject"] == f"Bestellung {order['number']} bestätigt"
    assert msg["Date"] == "Thu, 26 Nov 2026 10:00:00 +0000"
    assert msg["Message-ID"].endswith("@ordino.local-domain>")
    assert msg["Content-Language"] == "de"
    text = msg.get_body(("plain",)).get_content()
    assert "Guten Tag Anna Schmidt," in text
    assert f"Vielen Dank für Ihre Bestellung {order['number']} vom 26. November 2026." in text
    assert "1000 × Hex bolt M8x40, zinc plated (BOLT-M8)" in text
    assert "Gesamtbetrag: 1.483,94\xa0€" in text
    html = msg.get_body(("html",)).get_content()
    assert "<strong>Gesamtbetrag: 1.483,94\xa0€</strong>" in html
    # and the message is recorded as sent with the server's answer
    assert ("order_confirmation", "anna@acme.example", "sent", "de") in messages(db)


def _ship(client, headers, db, order_id: str, carrier: str = "DHL") -> dict:  # type: ignore[no-untyped-def]
    from tests.invoicing.support import fo_id

    body = {"carrier": carrier, "tracking_numbers": ["00340434161094042557"]}
    r = client.post(f"/api/v1/fulfillment-orders/{fo_id(db, order_id)}/ship", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_shipment_with_tracking_link_and_invoice_pdf_in_english(  # type: ignore[no-untyped-def]
    db, client, admin, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given an English-speaking account (en_US) whose order was confirmed
    inbox, port = smtp
    world = make_world(db, locale="en_US")
    order = place(world)
    worker = dispatcher(db, config_for(port))
    worker.drain()
    # when all of it ships with DHL and the worker runs
    _ship(client, admin, db, order["id"])
    worker.drain()
    # then the buyer is told, with the parcel's tracking link
    shipped = [r for r in inbox.received if "has shipped" in str(r.message["Subject"])]
    assert [(r.envelope_to, str(r.message["Subject"])) for r in shipped] == [
        (["anna@acme.example"], f"Your order {order['number']} has shipped")]
    text = shipped[0].message.get_body(("plain",)).get_content()
    assert ("Track parcel 00340434161094042557: "
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id=00340434161094042557") in text
    assert "1000 × Hex bolt M8x40, zinc plated (BOLT-M8)" in text
    # and the account's administrator receives the invoice, its PDF attached
    invoices = [r for r in inbox.received if str(r.message["Subject"]).startswith("Invoice ")]
    assert len(invoices) == 1
    msg = invoices[0].message
    assert invoices[0].envelope_to == ["billing@acme.example"]
    number = str(msg["Subject"]).removeprefix("Invoice ")
    text = msg.get_body(("plain",)).get_content()
    assert "Hello Bernd Weber," in text
    assert "Amount: €1,483.94" in text
    assert "Due on: December 26, 2026" in text
    parts = list(msg.iter_attachments())
    assert [(p.get_content_type(), p.get_filename()) for p in parts] == [("application/pdf", f"{number}.pdf")]
    assert parts[0].get_content().startswith(b"%PDF-")
    # and the buyer's confirmation, the shipment and the invoice are the only messages
    assert [(k, r, s) for k, r, s, _ in messages(db)] == [
        ("invoice", "billing@acme.example", "sent"),
        ("order_confirmation", "anna@acme.example", "sent"),
        ("shipment", "anna@acme.example", "sent"),
    ]


def test_invoice_in_the_accounts_e_invoice_format(  # type: ignore[no-untyped-def]
    db, client, admin, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given an account that receives XRechnung
    inbox, port = smtp
    world = make_world(db, locale="de", einvoice_format="xrechnung")
    order = place(world)
    worker = dispatcher(db, config_for(port))
    worker.drain()
    # when the order ships and is invoiced
    _ship(client, admin, db, order["id"])
    worker.drain()
    # then the invoice goes out as UBL XML, named after the invoice, in German
    invoices = [r for r in inbox.received if str(r.message["Subject"]).startswith("Rechnung ")]
    assert len(invoices) == 1
    msg = invoices[0].message
    number = str(msg["Subject"]).removeprefix("Rechnung ")
    parts = list(msg.iter_attachments())
    assert [(p.get_content_type(), p.get_filename()) for p in parts] == [("application/xml", f"{number}.xml")]
    xml = parts[0].get_content()
    xml = xml if isinstance(xml, bytes) else xml.encode()
    assert b"urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0" in xml
    assert f"<cbc:ID>{number}</cbc:ID>".encode() in xml
    assert "Betrag: 1.483,94\xa0€" in msg.get_body(("plain",)).get_content()


def _redeliver(db, event_type: str, *, unsend: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Put the event back in the queue as a crash before its receipts would; with `unsend`, also as if
    the worker crashed after sending and before marking the message sent."""
    from sqlalchemy import delete, update

    from ordino.kernel.outbox import HandlerReceipt, OutboxEvent
    from ordino.notifications.models import NotificationMessage

    def work(s):  # type: ignore[no-untyped-def]
        ids = list(s.execute(select(OutboxEvent.id).where(OutboxEvent.type == event_type)).scalars())
        s.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(dispatched_at=None))
        s.execute(delete(HandlerReceipt).where(HandlerReceipt.event_id.in_(ids),
                                               HandlerReceipt.handler.like("notifications.%")))
        if unsend:
            s.execute(update(NotificationMessage).where(NotificationMessage.event_id.in_(ids))
                      .values(status="pending", receipt=None, sent_at=None))

    db.transaction(work)


def test_a_redelivered_event_sends_nothing_more(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    # given an order confirmed by mail
    inbox, port = smtp
    world = make_world(db, locale="de")
    place(world)
    worker = dispatcher(db, config_for(port))
    worker.drain()
    assert len(inbox.received) == 1
    # when order.created is delivered again (its notification receipt lost)
    _redeliver(db, "order.created")
    worker.drain()
    # then no second message is written or sent
    assert len(inbox.received) == 1
    assert messages(db) == [("order_confirmation", "anna@acme.example", "sent", "de")]


def test_a_message_sent_again_after_a_crash_keeps_its_message_id(  # type: ignore[no-untyped-def]
    db, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given an order confirmed by mail
    inbox, port = smtp
    world = make_world(db, locale="de")
    place(world)
    worker = dispatcher(db, config_for(port))
    worker.drain()
    # when the worker had crashed after sending and before marking it sent, and the event comes again
    _redeliver(db, "order.created", unsend=True)
    worker.drain()
    # then the same message (same Message-ID and Date) is sent again, for the receiver to recognise, and
    # one row records it, sent
    assert len(inbox.received) == 2
    first, again = (r.message for r in inbox.received)
    assert (again["Message-ID"], again["Date"], again["Subject"]) == (first["Message-ID"], first["Date"],
                                                                     first["Subject"])
    assert messages(db) == [("order_confirmation", "anna@acme.example", "sent", "de")]


def test_without_an_smtp_host_messages_are_recorded_not_sent(db, frozen: datetime) -> None:  # type: ignore[no-untyped-def]
    from ordino.kernel.outbox import OutboxEvent
    from ordino.notifications.models import NotificationMessage

    # given no SMTP host configured
    world = make_world(db, locale="de")
    place(world)
    # when the worker delivers the events
    dispatcher(db, config_for(None)).drain()
    # then the confirmation is recorded as not sent, saying why, and every event was delivered
    assert messages(db) == [("order_confirmation", "anna@acme.example", "not_sent", "de")]
    with db.read() as s:
        receipt = s.execute(select(NotificationMessage.receipt)).scalar_one()
        undelivered = s.execute(select(OutboxEvent.type).where(OutboxEvent.dispatched_at.is_(None))).all()
    assert receipt == "not sent: no SMTP host is configured (ORDINO_SMTP_HOST)"
    assert undelivered == []


def test_a_refusing_server_retries_the_event(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from ordino.kernel.outbox import OutboxEvent

    # given a server that answers 451 to every message
    inbox, port = smtp
    inbox.refuse = True
    world = make_world(db, locale="de")
    place(world)
    worker = dispatcher(db, config_for(port))
    # when the worker delivers order.created
    worker.drain()
    # then the event waits for another attempt with the handler's error, and the message is pending
    with db.read() as s:
        event = s.execute(select(OutboxEvent.attempts, OutboxEvent.last_error, OutboxEvent.dispatched_at)
                          .where(OutboxEvent.type == "order.created")).one()
    assert (event.attempts, event.dispatched_at) == (1, None)
    assert event.last_error.startswith("notifications.order_confirmation: ")
    assert messages(db) == [("order_confirmation", "anna@acme.example", "pending", "de")]
    # when the server accepts again and the event's time comes
    inbox.refuse = False
    db.transaction(lambda s: s.execute(update(OutboxEvent).values(available_at=None)))
    worker.drain()
    # then the message is sent once
    assert len(inbox.received) == 1
    assert messages(db) == [("order_confirmation", "anna@acme.example", "sent", "de")]
