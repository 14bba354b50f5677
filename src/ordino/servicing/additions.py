"""Items added to an order: additions, exchanges and reships, each previewed or submitted.

- An **addition** (before the order is fulfilled) adds lines priced, taxed and reserved as
  intake does them (`orders.additions`), in one of the order's delivery groups; the approval
  rules are evaluated again on the new total, the new units are routed once the order is, and the
  difference is authorized on the order's card (`order.items_added`), next to its first
  authorization.
- An **exchange** takes shipped units back (a return change order, credited and refunded like a
  blind return, or linked to a return order whose receipt credits them) and adds the new items,
  priced like an addition, to a new delivery group shipping to the same address: the difference
  is charged (authorized, captured when they ship) or given back.
- A **reship** sends shipped units again at no charge (lost or damaged goods) in a new delivery
  group, with a reason and an optional carrier claim: a change order of zero amount.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.fulfillment.items import set_order_status
from ordino.fulfillment.routing.allocation import route_order
from ordino.kernel.auth import Principal
from ordino.kernel.errors import FieldError, InvalidTransition, ValidationFailed
from ordino.kernel.ids import parse_id
from ordino.kernel.money import format_minor
from ordino.orders.additions import Added, prepare_items, write_items
from ordino.orders.approvals.service import approval_reasons, hold_for_approval
from ordino.orders.schemas import LineIn, TaxLineIn
from ordino.servicing import domain, service
from ordino.servicing.errors import NeedsApproval
from ordino.servicing.money import consequence
from ordino.servicing.returns.service import LINE as RO_LINE
from ordino.servicing.returns.service import RO
from ordino.servicing.schemas import AdditionIn, ExchangeIn, LineQuantityIn, ReshipIn
from ordino.servicing.service import CANCELLABLE, Plan, find_order
from ordino.servicing.writing import write_change_order

ROUTED = ("approved", "partially_fulfilled")
SHIPPED_STATUSES = ("partially_fulfilled", "fulfilled")


def _new_items(added: Added) -> list[domain.ItemChange]:
    """The added items as change order items: their whole amounts, pre-fulfilment."""
    changes = []
    for row in added.items:
        item = domain.Item(row["id"], row["line_number"], "product", row["sku"], row["name"], row["unit_price"],
                           row["quantity_ordered"], 0, 0, 0, 0, 0, row["line_amount"])
        change = domain.ItemChange(item, "pre_fulfillment", row["quantity_ordered"], row["line_amount"])
        adjustment = row["adjustment_amount"]
        if adjustment:
            change.adjustments = [domain.AdjustmentDelta("added", "order", None, adjustment)]
        if row["tax_amount"]:
            change.taxes = [domain.TaxDelta(domain.Tax(None, "tax", None, None, None, None, 0), row["tax_amount"])]
        changes.append(change)
    return changes


def _authorization(order: Any) -> list[dict[str, Any]]:
    """The order's first card or wallet instruction, without its amount: what pays an addition."""
    for instruction in order.payment_instructions or []:
        if instruction.get("method") in ("card", "wallet"):
            return [{**instruction, "amount": None}]
    return []


def _approval(session: Session, order: Any, added_total: int, items: list[dict[str, Any]]) -> list[Any]:
    """The approval rules on the new total: refused (409) for an order approved already; for an
    order not yet approved, the reasons it is to be held for."""
    header = {**order._mapping, "grand_total_amount": service.current_total(session, order) + added_total}
    reasons = approval_reasons(session, header, items)
    if reasons and order.status not in ("created", "pending_approval"):
        raise NeedsApproval(
            "with this addition the order would need approval: " + "; ".join(r.message for r in reasons),
            [FieldError("lines", "the new total needs approval")],
        )
    return reasons if order.status == "created" else []


def _write(session: Session, order: Any, plan: Plan, added: Added, kind: str, principal: Principal) -> list[Any]:
    write_items(session, added, order.account_id)
    written = [write_change_order(session, order, kind, plan.reason, plan.change_orders[-1], {}, principal.actor,
                                  own_lines=False)]
    if order.status == "fulfilled":
        set_order_status(session, order.id, "reopen", actor=principal.actor, reason=plan.reason)
    if order.status in (*ROUTED, "fulfilled"):
        route_order(session, order.id, delivery_group_ids=[added.group_id], trigger="manual", actor=principal.actor)
    return written


def _payment(order: Any, written: Any, amount: int) -> dict[str, Any]:
    """What the payments handler needs to authorize `amount` more (the data of `order.created`)."""
    return {"id": str(order.id), "grand_total": format_minor(max(0, amount), order.currency),
            "payments": _authorization(order) if amount > 0 else [],
            "authorization_key": f"change_order/{written.id}"}


def _money(order: Any, plan: Plan) -> dict[str, Any]:
    added = domain.totals(plan.change_orders[-1], prices_include_tax=bool(order.prices_include_tax)).grand_total
    zero = format_minor(0, order.currency)
    authorize = added if _authorization(order) else 0
    return {"credit": zero, "refund": zero, "refunds": [], "void": zero, "not_charged": zero, "open_credit": zero,
            "authorize": format_minor(max(0, authorize), order.currency)}


def addition(session: Session, ref: str, data: AdditionIn, principal: Principal, *, submit: bool) -> dict[str, Any]:
    order = find_order(session, ref, principal, lock=submit)
    if order.status not in CANCELLABLE:
        raise InvalidTransition(f"items cannot be added to an order that is {order.status.replace('_', ' ')}",
                                extra={"current_status": order.status})
    added = prepare_items(session, order, data.lines, principal, group_position=data.delivery_group)
    plan = Plan(order, "addition", data.reason, [_new_items(added)])
    money = _money(order, plan)
    hold = _approval(session, order, -plan.credit, added.items)
    if not submit:
        return service.document(plan, money, None, None, order.status)
    if hold:
        hold_for_approval(session, order.id, hold, principal.actor)
    written = _write(session, order, plan, added, "addition", principal)
    return service.finish(session, order, plan, money, written, None, "order.items_added",
                          _payment(order, written[0], written[0].grand_total))


def _zero_taxes(item: domain.Item) -> list[TaxLineIn]:
    """A reshipped unit's tax lines: the original's categories and rates, at nothing."""
    return [TaxLineIn(name=t.name, amount=Decimal(0), rate=t.rate, jurisdiction=t.jurisdiction, category=t.category)
            for t in item.taxes]


def reship(session: Session, ref: str, data: ReshipIn, principal: Principal, *, submit: bool) -> dict[str, Any]:
    order = find_order(session, ref, principal, lock=submit)
    items = service.named(session, order, data.lines, lock=submit)
    service.over(data.lines, {n: i.fulfilled - i.returned for n, i in items.items()}, "reship")
    lines = [LineIn(sku=str(items[line.line_number].sku), quantity=line.quantity,
                    tax_lines=_zero_taxes(items[line.line_number])) for line in data.lines]
    added = prepare_items(session, order, lines, principal, new_group=True, zero_price=True)
    reason = data.reason if data.carrier_claim is None else f"{data.reason} (carrier claim {data.carrier_claim})"
    plan = Plan(order, "reship", reason[:200], [_new_items(added)])
    money = _money(order, plan)
    if not submit:
        return service.document(plan, money, None, None, order.status)
    written = _write(session, order, plan, added, "reship", principal)
    return service.finish(session, order, plan, money, written, None, "order.reshipped")


def _rma_lines(session: Session, order: Any, ref: str, data: ExchangeIn) -> str:
    """The return order the exchange's units come back with: of this order, still expecting them.
    Its receipt credits them; the exchange only sends the new items."""
    ident = parse_id(ref)
    rma = session.execute(select(RO.c.id, RO.c.number, RO.c.status).where(
        RO.c.order_summary_id == order.id, RO.c.id == ident if ident is not None else RO.c.number == ref)).first()
    if rma is None:
        raise ValidationFailed([FieldError("return_order", f"no return order '{ref}' of this order")])
    if rma.status not in ("requested", "approved", "partially_received"):
        raise InvalidTransition(f"return order {rma.number} is {rma.status.replace('_', ' ')}",
                                extra={"current_status": rma.status})
    expected = {r.line_number: int(r.left) for r in session.execute(
        select(RO_LINE.c.line_number,
               (RO_LINE.c.quantity_expected - RO_LINE.c.quantity_received - RO_LINE.c.quantity_rejected).label("left"))
        .where(RO_LINE.c.return_order_id == rma.id))}
    service.over([LineQuantityIn(line_number=x.line_number, quantity=x.quantity) for x in data.lines],
                 {x.line_number: expected.get(x.line_number, 0) for x in data.lines}, "exchange")
    return str(rma.number)


def exchange(session: Session, ref: str, data: ExchangeIn, principal: Principal, *, submit: bool) -> dict[str, Any]:
    order = find_order(session, ref, principal, lock=submit)
    rma = _rma_lines(session, order, data.return_order, data) if data.return_order is not None else None
    back = service.plan_return(session, order, data.returning(), lock=submit, available=rma is None)
    added = prepare_items(session, order, data.new_lines(), principal, new_group=True)
    reason = data.reason if rma is None else f"{data.reason} (returned with {rma})"[:200]
    if rma is None:
        plan = Plan(order, "exchange", reason, [back.change_orders[0], _new_items(added)], kinds=["return", "exchange"])
    else:  # the return order's receipt credits the units
        plan = Plan(order, "exchange", reason, [_new_items(added)])
    returned = back.credit
    gained = domain.totals(plan.change_orders[-1], prices_include_tax=bool(order.prices_include_tax)).grand_total
    money = consequence(session, order, returned if rma is None else 0, invoiced=True)
    money["authorize"] = format_minor(max(0, gained) if _authorization(order) else 0, order.currency)
    money["difference"] = format_minor(gained - returned, order.currency)
    if not submit:
        return service.document(plan, money, None, None, order.status)
    written: list[Any] = []
    if rma is None:
        written.append(write_change_order(session, order, "return", reason, back.change_orders[0], {},
                                          principal.actor))
        service.APPLIERS["return"](session, back, principal.actor)
    written += _write(session, order, plan, added, "exchange", principal)
    credit_memo = service.credit(session, order, written[:-1], principal.actor)
    return service.finish(session, order, plan, money, written, credit_memo, "order.exchanged",
                          _payment(order, written[-1], written[-1].grand_total))
