"""How invoicing reacts to events (registered in flows/registry.py).

- `fulfillment_order.partially_shipped` and `fulfillment_order.fulfilled` carry the shipment
  (`shipment.id`, `shipment.shipped_at`, `shipment.items[].order_item_summary_id` and
  `quantity`): its invoice is made, once per shipment. Invoicing does not import fulfilment, so
  this event data is the whole contract.
- `invoice.created` → ensure funds: authorized funds are captured and applied.
- `credit_memo.created` → ensure refunds: what the credit memo owes goes back to the captures.
- `credit_checked` wraps the routing of new orders: an order bought on account that would exceed
  a credit limit is held for approval before it is routed.

Ensure funds and ensure refunds commit between their steps (no transaction is open during a
gateway call) and raise when a gateway does not answer, so the worker retries the event later and
the pending capture or refund is settled with the same idempotency key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from ordino.invoicing import service
from ordino.invoicing.credit import check_credit
from ordino.kernel.ids import parse_id
from ordino.kernel.worker import Event, Handler, Registration
from ordino.payments.gateway import Gateways
from ordino.payments.handlers import default_gateways

ACTOR = "flow:invoicing"
CREDIT_ACTOR = "flow:credit"


def invoice_shipment(session: Session, event: Event) -> None:
    data = event.data
    shipment = data.get("shipment")
    order_id, fo_id = parse_id(str(data.get("order_id"))), parse_id(str(data.get("id")))
    if not isinstance(shipment, dict) or order_id is None or fo_id is None:
        return  # not a shipment (or an event from before shipments carried their items)
    shipment_id = parse_id(str(shipment.get("id")))
    items = [
        service.ShippedUnits(item_id, int(i["quantity"]))
        for i in shipment.get("items", [])
        if (item_id := parse_id(str(i.get("order_item_summary_id")))) is not None and int(i.get("quantity", 0)) > 0
    ]
    if shipment_id is None or not items:
        return
    shipped_at = shipment.get("shipped_at")
    service.invoice_shipment(
        session, order_id=order_id, fulfillment_order_id=fo_id, shipment_id=shipment_id, items=items,
        shipped_at=datetime.fromisoformat(shipped_at) if isinstance(shipped_at, str) else None, actor=ACTOR,
    )


def make_ensure_funds_handler(gateways: Gateways | Callable[[], Gateways]) -> Handler:
    def handle(session: Session, event: Event) -> None:
        invoice_id = parse_id(str(event.data.get("id")))
        if invoice_id is not None:
            service.ensure_funds(session, gateways() if callable(gateways) else gateways, invoice_id, ACTOR)

    return handle


def make_ensure_refunds_handler(gateways: Gateways | Callable[[], Gateways]) -> Handler:
    def handle(session: Session, event: Event) -> None:
        credit_memo_id = parse_id(str(event.data.get("id")))
        if credit_memo_id is not None:
            service.ensure_refunds(session, gateways() if callable(gateways) else gateways, credit_memo_id, ACTOR)

    return handle


INVOICE_SHIPMENTS = Registration("invoicing.invoice_shipment", invoice_shipment)
ENSURE_FUNDS = Registration("invoicing.ensure_funds", make_ensure_funds_handler(default_gateways))
ENSURE_REFUNDS = Registration("invoicing.ensure_refunds", make_ensure_refunds_handler(default_gateways))


def credit_checked(registration: Registration) -> Registration:
    """The registration, after holding a new order bought on account that would exceed a credit
    limit (`invoicing.credit`): the held order then waits for `order.approved`."""

    def handle(session: Session, event: Event) -> None:
        check_credit(session, uuid.UUID(str(event.data["id"])), CREDIT_ACTOR)
        registration.handle(session, event)

    return Registration(registration.name, handle)
