"""Approvals, returns, quotes, process exceptions and the contacts' preferences, by mail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update

from ordino.accounts.models import Account, Contact
from ordino.notifications import service
from ordino.orders.process_exceptions.service import raise_process_exception
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
from tests.notifications.test_flows import _ship

__all__ = ["frozen", "smtp"]


def test_an_order_over_the_credit_limit_asks_the_approver_then_is_confirmed(  # type: ignore[no-untyped-def]
    db, client, admin, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given an account whose credit limit (1,000.00 EUR) the order (1,483.94 EUR) exceeds
    inbox, port = smtp
    world = make_world(db, locale="de")
    db.transaction(lambda s: s.execute(update(Account).values(credit_limit_amount=100_000,
                                                              credit_limit_currency="EUR")))
    order = place(world)
    worker = dispatcher(db, config_for(port))
    # when the worker runs: the credit check holds the order
    worker.drain()
    # then only the approver is asked, in German, with the reason; the buyer gets no confirmation yet
    assert [(r.envelope_to, str(r.message["Subject"])) for r in inbox.received] == [
        (["clara@acme.example"], f"Bestellung {order['number']} wartet auf Ihre Freigabe")]
    text = inbox.received[0].message.get_body(("plain",)).get_content()
    assert f"Die Bestellung {order['number']} von ACME GmbH über 1.483,94\xa0€ wartet auf Ihre Freigabe." in text
    assert "Gründe für die Freigabe:" in text
    # when staff approve it
    assert client.post(f"/api/v1/orders/{order['number']}/approve", headers=admin).status_code == 200
    worker.drain()
    # then the buyer's confirmation follows
    assert [(r.envelope_to, str(r.message["Subject"])) for r in inbox.received[1:]] == [
        (["anna@acme.example"], f"Bestellung {order['number']} bestätigt")]


def test_a_received_return_is_credited_by_mail(  # type: ignore[no-untyped-def]
    db, client, admin, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given an order shipped in full
    inbox, port = smtp
    world = make_world(db, locale="de")
    order = place(world)
    worker = dispatcher(db, config_for(port))
    worker.drain()
    _ship(client, admin, db, order["id"])
    worker.drain()
    # when 100 bolts come back and are received
    rma = client.post("/api/v1/return-orders", json={"order": order["number"], "lines": [
        {"line_number": 1, "quantity": 100, "reason": "damaged"}]}, headers=admin).json()
    assert client.post(f"/api/v1/return-orders/{rma['number']}/approve", headers=admin).status_code == 200
    r = client.post(f"/api/v1/return-orders/{rma['number']}/receipts", json={
        "location": "WH-BER", "lines": [{"line_number": 1, "received": 100, "disposition": "restock"}]}, headers=admin)
    assert r.status_code == 201, r.text
    memo = r.json()["receipts"][0]["credit_memo"]
    worker.drain()
    # then the buyer is told what arrived and what was credited: 100 × 1.2345 = 123.45, VAT 23.46
    returned = [r for r in inbox.received if str(r.message["Subject"]).startswith("Rücksendung")]
    assert [(r.envelope_to, str(r.message["Subject"])) for r in returned] == [
        (["anna@acme.example"], f"Rücksendung {rma['number']} eingegangen")]
    text = returned[0].message.get_body(("plain",)).get_content()
    assert f"Wir haben Ihre Rücksendung {rma['number']} zur Bestellung {order['number']} erhalten." in text
    assert "100 × BOLT-M8" in text
    assert f"Wir haben Ihnen 146,91\xa0€ gutgeschrieben (Gutschrift {memo})." in text


def test_a_process_exception_alerts_operations_once(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    # given an operations address
    inbox, port = smtp
    make_world(db, locale="de")
    subject = uuid.UUID(int=7)

    def raise_it(s):  # type: ignore[no-untyped-def]
        return raise_process_exception(s, category="fulfillment", message="Carrier rejected the label",
                                       attached_to_type="shipment", attached_to_id=subject, severity="high",
                                       dedup_key="label-7")

    # when the same exception is raised twice (the second finds the first by its dedup key)
    exception_id = db.transaction(raise_it)
    assert db.transaction(raise_it) == exception_id
    dispatcher(db, config_for(port)).drain()
    # then operations got one alert, in English
    assert [(r.envelope_to, str(r.message["Subject"])) for r in inbox.received] == [
        (["ops@ordino.example"], "Process exception: fulfillment (high)")]
    text = inbox.received[0].message.get_body(("plain",)).get_content()
    assert "Carrier rejected the label" in text
    assert f"Attached to: shipment {subject}" in text
    assert f"Exception: {exception_id}" in text


def test_without_an_operations_address_no_alert_is_written(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    make_world(db)
    db.transaction(lambda s: raise_process_exception(s, category="fulfillment", message="m", attached_to_type="x",
                                                     attached_to_id=uuid.UUID(int=8)))
    dispatcher(db, config_for(port, operations=None)).drain()
    assert inbox.received == []
    assert messages(db) == []


def test_preferences_choose_who_receives_confirmations(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    # given the buyer does not want confirmations and the administrator does
    inbox, port = smtp
    world = make_world(db, locale="de")
    db.transaction(lambda s: service.set_preference(s, world.buyer, "order_confirmation", False))
    db.transaction(lambda s: service.set_preference(s, world.admin, "order_confirmation", True))
    # when an order is placed
    place(world)
    dispatcher(db, config_for(port)).drain()
    # then only the administrator is told
    assert [r.envelope_to for r in inbox.received] == [["billing@acme.example"]]
    # and what each contact receives reads the same
    with db.read() as s:
        assert service.contact_kinds(s, world.buyer)["order_confirmation"] is False
        assert service.contact_kinds(s, world.admin)["order_confirmation"] is True
        assert service.contact_kinds(s, world.admin)["invoice"] is True


def test_a_contact_without_an_address_is_skipped_for_the_buyers(  # type: ignore[no-untyped-def]
    db, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given the buyer who placed the order has no e-mail address, and another buyer has
    inbox, port = smtp
    world = make_world(db, locale="en")
    db.transaction(lambda s: s.execute(update(Contact).where(Contact.id == world.buyer).values(email=None)))
    from tests.notifications.support import contact

    contact(db, world.account, "Dieter", "Lang", "dieter@acme.example", ["buyer"])
    place(world)
    dispatcher(db, config_for(port)).drain()
    # then the account's other buyer is told instead
    assert [(r.envelope_to, r.message["Subject"].split()[0]) for r in inbox.received] == [
        (["dieter@acme.example"], "Order")]


def test_a_sent_quote_reaches_the_contact_who_asked_for_it(  # type: ignore[no-untyped-def]
    db, client, smtp: tuple[Inbox, int]
) -> None:
    from ordino.kernel import clock
    from tests.orders.support import NOW, build, price_book

    # given the buyer bob of ACME-BER (German) with an address, and carol, another buyer there
    inbox, port = smtp
    clock.set_clock(lambda: NOW)
    try:
        w = build(db)
        price_book(db, {"BOLT-M8": "0.0400", "NUT-M8": "0.0100", "DRILL-X": "89.90"})
        for name in ("bob", "carol"):
            db.transaction(lambda s, n=name: s.execute(
                update(Contact).where(Contact.id == w.contacts[n]).values(email=f"{n}@acme.example")))
        # when bob asks for a quote and an agent prices and sends it
        r = client.post("/api/v1/quotes", json={"account": "ACME-BER", "channel": "web", "lines": [
            {"sku": "DRILL-X", "quantity": 2}]}, headers=w.keys["bob"])
        assert r.status_code == 201, r.text
        quote = r.json()
        r = client.post(f"/api/v1/quotes/{quote['id']}/price", json={"valid_until": "2026-12-10T00:00:00Z",
                                                                       "shipping_charge": "25.00"},
                        headers=w.keys["agent"])
        assert r.status_code == 200, r.text
        assert client.post(f"/api/v1/quotes/{quote['id']}/send", headers=w.keys["agent"]).status_code == 200
        dispatcher(db, config_for(port)).drain()
    finally:
        clock.set_clock(None)
    # then bob alone is told, in German: 2 × 89.90 + 25.00 = 204.80
    assert [(r.envelope_to, str(r.message["Subject"])) for r in inbox.received] == [
        (["bob@acme.example"], f"Ihr Angebot {quote['number']}")]
    text = inbox.received[0].message.get_body(("plain",)).get_content()
    assert f"Ihr Angebot {quote['number']} liegt vor: 204,80\xa0€." in text
    assert "Es ist gültig bis 10. Dezember 2026." in text


def test_an_erased_contacts_messages_forget_them(db, frozen: datetime, smtp: tuple[Inbox, int]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from ordino.kernel.outbox import emit
    from ordino.notifications.models import NotificationMessage, NotificationPreference

    # given a confirmation sent to the buyer, and the buyer's preference
    inbox, port = smtp
    world = make_world(db, locale="de")
    order = place(world)
    worker = dispatcher(db, config_for(port))
    worker.drain()
    assert len(inbox.received) == 1
    db.transaction(lambda s: service.set_preference(s, world.buyer, "invoice", True))
    # when privacy announces the buyer's erasure
    db.transaction(lambda s: emit(s, "contact.erased", f"contact/{world.buyer}",
                                  {"id": str(world.buyer), "account": "ACME"}))
    worker.drain()
    # then the message keeps its kind, subject and status, and nothing of the person
    with db.read() as s:
        row = s.execute(select(NotificationMessage.recipient, NotificationMessage.raw, NotificationMessage.subject,
                               NotificationMessage.status)).one()
        prefs = s.execute(select(NotificationPreference.kind)).all()
    assert tuple(row) == ("erased", b"", f"Bestellung {order['number']} bestätigt", "sent")
    assert prefs == []


def test_an_order_held_at_intake_asks_the_approver(  # type: ignore[no-untyped-def]
    db, client, admin, frozen: datetime, smtp: tuple[Inbox, int]
) -> None:
    # given an approval rule for orders over 1,000.00 EUR on an English-speaking account
    inbox, port = smtp
    world = make_world(db, locale="en_GB")
    r = client.post("/api/v1/approval-rules", json={"account": "ACME", "kind": "order_total", "name": "Big orders",
                                                    "amount": "1000.00", "currency": "EUR"}, headers=admin)
    assert r.status_code == 201, r.text
    # when the buyer places an order of 1,483.94 EUR and the worker runs
    order = place(world)
    assert order["status"] == "pending_approval"
    dispatcher(db, config_for(port)).drain()
    # then the approver alone is asked, in English, with the rule's reason
    assert [(r.envelope_to, str(r.message["Subject"])) for r in inbox.received] == [
        (["clara@acme.example"], f"Order {order['number']} needs your approval")]
    text = inbox.received[0].message.get_body(("plain",)).get_content()
    assert f"Order {order['number']} of ACME GmbH over €1,483.94 is held for your approval." in text
    assert "Why it is held:\r\n\r\n  - the order total 1483.94 EUR is over 1000.00 EUR (Big orders)\r\n" in text
    assert messages(db) == [("approval_requested", "clara@acme.example", "sent", "en")]
