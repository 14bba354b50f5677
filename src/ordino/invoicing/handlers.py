"""How invoicing reacts to events (registered in flows/registry.py).

- `fulfillment_order.partially_shipped` and `fulfillment_order.fulfilled` carry the shipment
  (`shipment.id`, `shipment.shipped_at`, `shipment.items[].order_item_summary_id` and
  `quantity`): its invoice is made, once per shipment. Invoicing does not import fulfilment, so
  this event data is the whole contract.
- `invoice.created` → ensure funds: authorized funds are captured and applied.
- `credit_memo.created` → ensure refunds: what the credit memo owes goes back to the captures.
- `credit_checked` wraps the routing of new orders: an order bought on account that would exceed
  a credit limit is held for approval before it is routed.

Ensure funds and ensure refunds begin in the worker's transaction and leave the gateway calls and
the settlement to the payment orchestrator once it commits (kernel.worker.AfterCommit); the last
transaction writes the receipt. When a gateway does not answer they raise, so the worker retries
the event later and the pending capture or refund is settled with the same idempotency key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from ordino.invoicing import service
from ordino.invoicing.credit import check_credit
from ordino.kernel.ids import parse_id
from ordino.kernel.worker import AfterCommit, Event, Handler, Registration
from ordino.payments import orchestrator
from ordino.payments.gateway import Gateways

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
    def handle(session: Session, event: Event) -> AfterCommit | None:
        invoice_id = parse_id(str(event.data.get("id")))
        if invoice_id is None:
            return None
        adapters = gateways() if callable(gateways) else gateways
        begun = service.begin_funds(session, adapters, invoice_id, ACTOR)
        return orchestrator.settle_now_or_later(session, adapters, begun, actor=ACTOR)

    return handle


def make_ensure_refunds_handler(gateways: Gateways | Callable[[], Gateways]) -> Handler:
    def handle(session: Session, event: Event) -> AfterCommit | None:
        credit_memo_id = parse_id(str(event.data.get("id")))
        if credit_memo_id is None:
            return None
        adapters = gateways() if callable(gateways) else gateways
        begun = service.begin_refunds(session, adapters, credit_memo_id, ACTOR)
        return orchestrator.settle_now_or_later(session, adapters, begun, actor=ACTOR)

    return handle


INVOICE_SHIPMENTS = Registration("invoicing.invoice_shipment", invoice_shipment)


def ensure_funds(gateways: Gateways | Callable[[], Gateways]) -> Registration:
    return Registration("invoicing.ensure_funds", make_ensure_funds_handler(gateways))


def ensure_refunds(gateways: Gateways | Callable[[], Gateways]) -> Registration:
    return Registration("invoicing.ensure_refunds", make_ensure_refunds_handler(gateways))


def credit_checked(registration: Registration) -> Registration:
    """The registration, after holding a new order bought on account that would exceed a credit
    limit (`invoicing.credit`): the held order then waits for `order.approved`."""

    def handle(session: Session, event: Event) -> AfterCommit | None:
        check_credit(session, uuid.UUID(str(event.data["id"])), CREDIT_ACTOR)
        return registration.handle(session, event)

    return Registration(registration.name, handle)
