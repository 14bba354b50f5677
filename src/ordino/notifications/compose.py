"""What each message says and to whom: one function per kind, from the event and the records it names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.fulfillment.models import FulfillmentOrder
from ordino.invoicing.documents.formats import EXTENSION, MEDIA, Format, render
from ordino.invoicing.documents.rendering import invoice_document
from ordino.invoicing.models import CreditMemo
from ordino.kernel.worker import Event
from ordino.notifications import domain
from ordino.notifications.domain import Kind
from ordino.notifications.mail import Attachment, MailConfig
from ordino.notifications.rendering import formatter
from ordino.notifications.service import Outgoing, account_info, to_contacts
from ordino.orders.approvals.models import ApprovalRequest
from ordino.orders.models import OrderItemSummary, OrderSummary
from ordino.orders.quotes.models import Quote


def _order(session: Session, order_id: Any) -> Any:
    return session.execute(
        select(OrderSummary.id, OrderSummary.number, OrderSummary.account_id, OrderSummary.buyer_contact_id,
               OrderSummary.currency, OrderSummary.grand_total_amount, OrderSummary.ordered_at, OrderSummary.status)
        .where(OrderSummary.id == uuid.UUID(str(order_id)))
    ).one()


def _items(session: Session, order_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    rows = session.execute(
        select(OrderItemSummary.id, OrderItemSummary.line_number, OrderItemSummary.sku, OrderItemSummary.name,
               OrderItemSummary.quantity_ordered)
        .where(OrderItemSummary.order_summary_id == order_id, OrderItemSummary.type == "product")
        .order_by(OrderItemSummary.line_number)
    ).all()
    return {r.id: r for r in rows}


def order_confirmation(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    order = _order(session, event.data["id"])
    account = account_info(session, order.account_id)
    fmt = formatter(account.locale)
    context = {
        "order_number": order.number, "placed_on": fmt.day(order.ordered_at),
        "total": fmt.money(order.grand_total_amount, order.currency),
        "lines": [{"quantity": i.quantity_ordered, "name": i.name, "sku": i.sku}
                  for i in _items(session, order.id).values()],
    }
    return to_contacts(session, Kind.ORDER_CONFIRMATION, account, context, placer=order.buyer_contact_id)


def approval_requested(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    order = _order(session, event.data["id"])
    if order.status != "pending_approval":  # decided before the message was composed
        return []
    account = account_info(session, order.account_id)
    fmt = formatter(account.locale)
    reasons = session.execute(select(ApprovalRequest.reasons).where(
        ApprovalRequest.order_summary_id == order.id, ApprovalRequest.status == "pending")).scalar_one_or_none()
    context = {
        "order_number": order.number, "account_name": account.name,
        "total": fmt.money(order.grand_total_amount, order.currency),
        "reasons": [str(r.get("message") or r.get("kind")) for r in reasons or ()],
    }
    return to_contacts(session, Kind.APPROVAL_REQUESTED, account, context, placer=order.buyer_contact_id,
                       with_ancestors=True)


def shipment(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    shipped = event.data.get("shipment")
    if not shipped:  # completed by a cancel of its last units, not by a shipment: nothing to tell
        return ()
    order_id = session.execute(select(FulfillmentOrder.order_summary_id).where(
        FulfillmentOrder.id == uuid.UUID(str(event.data["id"])))).scalar_one()
    order = _order(session, order_id)
    account = account_info(session, order.account_id)
    fmt = formatter(account.locale)
    items = _items(session, order.id)
    context = {
        "order_number": order.number, "shipment_number": shipped["number"], "carrier": shipped["carrier"],
        "shipped_on": fmt.day(shipped.get("shipped_at")),
        "complete": order.status in ("fulfilled", "closed"),
        "lines": [{"quantity": x["quantity"], "sku": x["sku"],
                   "name": getattr(items.get(uuid.UUID(str(x["order_item_summary_id"]))), "name", x["sku"])}
                  for x in shipped.get("items", ())],
        "parcels": [{"number": n, "url": domain.tracking_url(shipped.get("carrier"), n)}
                    for n in shipped.get("tracking_numbers", ())],
    }
    return to_contacts(session, Kind.SHIPMENT, account, context, placer=order.buyer_contact_id)


def invoice(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    """The invoice with its document attached in the account's format (as GET /invoices/{ref}/document
    serves it without `format`)."""
    data = event.data
    order = _order(session, data["order_id"])
    account = account_info(session, order.account_id)
    fmt = formatter(account.locale)
    chosen = Format(data.get("document_format") or "pdf")
    document = invoice_document(session, uuid.UUID(str(data["id"])))
    name = f"{document.number}.{EXTENSION[chosen]}"
    context = {
        "invoice_number": document.number, "order_number": order.number, "attachment": name,
        "total": fmt.amount(data["total"], data["currency"]), "due_on": fmt.day(data.get("due_date")),
    }
    out = to_contacts(session, Kind.INVOICE, account, context, placer=order.buyer_contact_id)
    if not out:
        return out
    attachment = Attachment(name, MEDIA[chosen], render(document, chosen))
    return [replace(o, attachment=attachment) for o in out]


def return_credited(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    data = event.data
    order = _order(session, data["order_id"])
    account = account_info(session, order.account_id)
    fmt = formatter(account.locale)
    receipt = data.get("receipt") or {}
    skus = {i.line_number: i.sku for i in _items(session, order.id).values()}
    memo = receipt.get("credit_memo")
    total = session.execute(select(CreditMemo.total_amount, CreditMemo.currency)
                            .where(CreditMemo.number == memo)).first() if memo else None
    context = {
        "return_number": data["number"], "order_number": order.number, "credit_memo": memo,
        "credit_total": fmt.money(total.total_amount, total.currency) if total else None,
        "lines": [{"quantity": x["received"], "sku": skus.get(x["line_number"], "")}
                  for x in receipt.get("lines", ()) if x.get("received")],
    }
    return to_contacts(session, Kind.RETURN_CREDITED, account, context, placer=order.buyer_contact_id)


def quote_sent(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    quote = session.execute(
        select(Quote.number, Quote.account_id, Quote.currency, Quote.total_amount, Quote.valid_until,
               Quote.requested_by_contact_id).where(Quote.id == uuid.UUID(str(event.data["id"])))
    ).one()
    account = account_info(session, quote.account_id)
    fmt = formatter(account.locale)
    context = {"quote_number": quote.number, "total": fmt.money(quote.total_amount, quote.currency),
               "valid_until": fmt.day(quote.valid_until)}
    return to_contacts(session, Kind.QUOTE_SENT, account, context, placer=quote.requested_by_contact_id)


def process_exception(session: Session, event: Event, config: MailConfig) -> Sequence[Outgoing]:
    """To the operations address (ORDINO_OPERATIONS_EMAIL), in English; nothing without one."""
    if not config.operations:
        return []
    data = event.data
    attached = data.get("attached_to") or {}
    context = {"category": data.get("category"), "severity": data.get("severity"), "message": data.get("message"),
               "attached_type": attached.get("type"), "attached_id": attached.get("id"), "exception_id": data["id"]}
    return [Outgoing(config.operations, domain.DEFAULT_LANGUAGE, context)]
