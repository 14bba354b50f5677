"""The fan-out: one delivery per matching enabled subscription, scoped ones only for their account's
events; the Dispatcher runs it for every event; a slow receiver never holds up the events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from ordino.kernel.db import Database
from ordino.kernel.worker import Dispatcher, Event, Registration
from ordino.webhooks.delivery import Sender
from ordino.webhooks.handlers import REGISTRATION
from tests import factories
from tests.invoicing.support import place
from tests.webhooks.support import Receiver, deliveries, fan_out, fire, subscribe


def _order(db: Database, account: str, reference: str) -> dict[str, Any]:
    return place(db, factories.order_payload(account=account, external_reference=reference))


def test_a_subscription_scoped_to_an_account_gets_its_events_only(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, at_t0: datetime
) -> None:
    # given accounts ACME and HANSA with an order each, a subscription scoped to ACME and one to all
    factories.intake_world(db)
    hansa_id = factories.account(db, "HANSA")
    acme_order, hansa_order = _order(db, "ACME", "WEB-A"), _order(db, "HANSA", "WEB-B")
    acme = subscribe(api, admin, receiver, account="ACME")
    everyone = subscribe(api, admin, receiver, event_types=["order.*", "fulfillment_order.*", "contact.*"])
    # and events of both: fulfilment orders (by order id), invoices (by account id), contacts (by number)
    fire(db, "fulfillment_order.fulfilled", {"order_id": acme_order["id"], "number": "FO-1"}, "fulfillment_order/1")
    fire(db, "fulfillment_order.fulfilled", {"order_id": hansa_order["id"], "number": "FO-2"}, "fulfillment_order/2")
    fire(db, "invoice.created", {"id": str(uuid.uuid4()), "account_id": str(hansa_id)}, "invoice/x")
    api.post("/api/v1/accounts/HANSA/contacts", headers=admin, json={"first_name": "Hanna", "last_name": "Lotse"})
    api.post("/api/v1/accounts/ACME/contacts", headers=admin, json={"first_name": "Ada", "last_name": "Acme"})
    fire(db, "product.created", {"sku": "NUT-M8"}, "product/x")  # of no account
    # when the fan-out runs
    fan_out(db)
    # then the ACME subscription got ACME's order, fulfilment order and contact, nothing of HANSA's
    by_sub: dict[str, list[str]] = {acme["id"]: [], everyone["id"]: []}
    for d in deliveries(db):
        by_sub[str(d.subscription_id)].append(d.event_type)
    assert sorted(by_sub[acme["id"]]) == ["contact.created", "fulfillment_order.fulfilled", "order.created"]
    # and the unscoped one every event its types name, of both accounts
    assert sorted(by_sub[everyone["id"]]) == [
        "contact.created", "contact.created", "fulfillment_order.fulfilled", "fulfillment_order.fulfilled",
        "order.created", "order.created"]


def test_disabled_and_unmatched_subscriptions_get_nothing(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, at_t0: datetime
) -> None:
    # given a disabled subscription to everything and one to invoices
    subscribe(api, admin, receiver, enabled=False)
    subscribe(api, admin, receiver, event_types=["invoice.*"])
    # when an order event fans out
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    # then no delivery was made
    assert deliveries(db) == []


def test_a_redelivered_event_makes_no_second_delivery(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver, at_t0: datetime
) -> None:
    # given an event fanned out to a subscription
    subscribe(api, admin, receiver)
    event_id = fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    # when the handler's work is offered again (a worker died before settling the event)
    dispatcher = Dispatcher(db, {"*": [REGISTRATION]})
    dispatcher.process(Event(event_id, "order.created", "order/o-1", at_t0, {"id": "o-1"}))
    # then its receipt keeps it to one delivery
    assert len(deliveries(db)) == 1


def test_a_slow_receiver_does_not_hold_up_the_dispatcher(
    db: Database, api: TestClient, admin: dict[str, str], receiver: Receiver,
) -> None:
    # given a receiver that holds every request until released, and a delivery to it under way
    subscribe(api, admin, receiver, event_types=["order.*"])
    receiver.hold.clear()
    fire(db, "order.created", {"id": "o-1"}, "order/o-1")
    fan_out(db)
    sender = Sender(db, allow_private=True, timeout=30.0)
    sender.start_thread()
    try:
        assert receiver.arrived.wait(20)
        # when fifty events arrive for a flow handler meanwhile
        seen: list[Event] = []
        for i in range(50):
            fire(db, "stock.counted", {"i": i})
        handlers = {"stock.counted": [Registration("test.recorder", lambda _s, e: seen.append(e))], "*": [REGISTRATION]}
        processed = Dispatcher(db, handlers).drain()
        # then the dispatcher handled all of them while the receiver still held the delivery
        assert (processed, len(seen)) == (50, 50)
        assert receiver.received == []
        assert deliveries(db)[0].status == "pending"
    finally:
        receiver.hold.set()
        sender.close()
    # and once released, the delivery completed
    assert [r.error for r in receiver.received] == [None]
    assert deliveries(db)[0].status == "delivered"
