"""Return order use cases: create, approve, cancel, receive, and the reads.

Item buckets move with conditional updates (a concurrent change finds fewer rows: 409, nothing
written): creating a return order adds its units to `return_initiated`; a receipt adds the
received units to `returned` and takes the rejected ones off `return_initiated`; a cancel takes
the units still expected off it. A receipt restocks through the inventory engine (on hand at the
receiving location), writes a `return` change order for the received units and a `return_fee`
change order for its fees, and credits both with one credit memo.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Integer, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ordino.catalog.models import Location
from ordino.fulfillment.items import touch_order
from ordino.inventory.domain import StockRecord
from ordino.inventory.stock import apply_records
from ordino.invoicing.credit_memos import CM, create_credit_memo
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import ConcurrentChange, FieldError, NotFound, ValidationFailed
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import MoneyError, format_minor, parse_amount
from ordino.kernel.numbering import RETURN_ORDER, next_number
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import StatusHistory, initial_history
from ordino.orders.models import ChangeOrder
from ordino.servicing import domain as servicing
from ordino.servicing import state
from ordino.servicing.errors import NotAvailable
from ordino.servicing.returns import domain
from ordino.servicing.returns.models import ReturnOrder, ReturnOrderLine, ReturnReceipt, ReturnReceiptLine
from ordino.servicing.returns.schemas import FeesIn, ReceiptIn, ReturnOrderCancelIn, ReturnOrderIn
from ordino.servicing.service import bump, find_order
from ordino.servicing.state import ITEM, ORDER
from ordino.servicing.writing import write_change_order

Doc = dict[str, Any]
RO = cast(Table, ReturnOrder.__table__)
LINE = cast(Table, ReturnOrderLine.__table__)
RECEIPT = cast(Table, ReturnReceipt.__table__)
RLINE = cast(Table, ReturnReceiptLine.__table__)
LOC = cast(Table, Location.__table__)
CO = cast(Table, ChangeOrder.__table__)
I = ITEM.c  # noqa: E741
q = bindparam("b_q", type_=Integer())


def _location(session: Session, code: str, field: str) -> uuid.UUID:
    found = session.execute(select(LOC.c.id).where(LOC.c.code == code)).scalar_one_or_none()
    if found is None:
        raise ValidationFailed([FieldError(field, f"no location '{code}'")])
    return cast(uuid.UUID, found)


def _named_lines(lines: Sequence[Any], known: set[int]) -> None:
    twice = {n for n, c in Counter(x.line_number for x in lines).items() if c > 1}
    errors = [FieldError(f"lines[{n}].line_number", f"no line {x.line_number} on this {'order' if known else ''}"
                         .strip() if x.line_number not in known else f"line {x.line_number} is named twice")
              for n, x in enumerate(lines) if x.line_number not in known or x.line_number in twice]
    if errors:
        raise ValidationFailed(errors)


def _history(session: Session, ro: Any, action: str, actor: str, reason: str | None = None) -> str:
    after = domain.LIFECYCLE.target(ro.status, action)
    done = cast(CursorResult[Any], session.execute(
        update(RO).where(RO.c.id == ro.id, RO.c.version == ro.version)
        .values(status=after, version=RO.c.version + 1, updated_at=clock.now())))
    if done.rowcount != 1:
        raise ConcurrentChange("the return order was changed at the same time; reload and try again")
    session.execute(insert(StatusHistory), [{
        "id": new_id(), "entity_type": domain.LIFECYCLE.entity, "entity_id": ro.id, "from_status": ro.status,
        "to_status": after, "action": action, "reason": reason, "actor": actor, "at": clock.now()}])
    return after


# ------------------------------------------------------------------------------------------------
# Create, approve, cancel


def create(session: Session, data: ReturnOrderIn, principal: Principal) -> Doc:
    order = find_order(session, data.order, principal, lock=True)
    items = {i.line_number: i for i in state.items_of(session, order.id, types=("product",), lock=True)}
    _named_lines(data.lines, set(items))
    over = [(n, x, items[x.line_number].available_to_return) for n, x in enumerate(data.lines)
            if x.quantity > items[x.line_number].available_to_return]
    if over:
        raise NotAvailable(
            "; ".join(f"line {x.line_number}: {x.quantity} to return, {a} available" for _, x, a in over),
            [FieldError(f"lines[{n}].quantity", f"at most {a} (available to return on line {x.line_number})")
             for n, x, a in over],
            extra={"lines": [{"line_number": x.line_number, "requested": x.quantity, "available": a}
                             for _, x, a in over]})
    location = _location(session, data.return_location, "return_location") if data.return_location else None
    bump(session, [{"b_id": items[x.line_number].id, "b_q": x.quantity} for x in data.lines],
          {"quantity_return_initiated": I.quantity_return_initiated + q},
          I.quantity_fulfilled - I.quantity_return_initiated >= q)
    now, ro_id = clock.now(), new_id()
    number = next_number(session, RETURN_ORDER, now)
    label = data.label
    session.execute(insert(RO), [{
        "id": ro_id, "number": number, "order_summary_id": order.id, "account_id": order.account_id,
        "status": domain.LIFECYCLE.initial, "return_location_id": location,
        "label_carrier": label.carrier if label else "Ordino returns",
        "label_tracking_reference": label.tracking_reference if label else f"RL{number.replace('-', '')[3:]}",
        "version": 1, "created_by": principal.actor, "created_at": now, "updated_at": now}])
    session.execute(insert(LINE), [{
        "id": new_id(), "return_order_id": ro_id, "line_number": x.line_number,
        "order_item_summary_id": items[x.line_number].id, "sku": items[x.line_number].sku, "reason": x.reason,
        "quantity_expected": x.quantity, "quantity_received": 0, "quantity_rejected": 0} for x in data.lines])
    session.execute(insert(StatusHistory), [initial_history(domain.LIFECYCLE, ro_id, actor=principal.actor, at=now)])
    touch_order(session, order.id)
    doc = get(session, str(ro_id), principal)
    emit(session, "return_order.created", f"return_order/{ro_id}", _event(doc))
    return doc


def _event(doc: Doc) -> Doc:
    return {"id": doc["id"], "number": doc["number"], "order_id": doc["order_id"], "account_id": doc["account_id"],
            "status": doc["status"], "lines": [{"line_number": x["line_number"], "quantity": x["quantity_expected"]}
                                               for x in doc["lines"]]}


def _find(session: Session, ref: str, principal: Principal, *, lock: bool) -> Any:
    ident = parse_id(ref)
    stmt = select(*RO.c).where(RO.c.id == ident if ident is not None else RO.c.number == ref)
    row = session.execute(stmt).first()
    if row is None or not principal.sees_account(row.account_id):
        raise NotFound("return order not found")
    if lock:  # the order first, as every servicing change takes it
        find_order(session, str(row.order_summary_id), principal, lock=True)
        row = session.execute(stmt.with_for_update()).first()
    return row


def approve(session: Session, ref: str, principal: Principal) -> Doc:
    ro = _find(session, ref, principal, lock=True)
    _history(session, ro, "approve", principal.actor)
    doc = get(session, str(ro.id), principal)
    emit(session, "return_order.approved", f"return_order/{ro.id}", _event(doc))
    return doc


def cancel(session: Session, ref: str, data: ReturnOrderCancelIn, principal: Principal) -> Doc:
    ro = _find(session, ref, principal, lock=True)
    _history(session, ro, "cancel", principal.actor, data.reason)
    lines = session.execute(select(*LINE.c).where(LINE.c.return_order_id == ro.id)).all()
    bump(session, [{"b_id": x.order_item_summary_id, "b_q": x.quantity_expected - x.quantity_received
                     - x.quantity_rejected} for x in lines],
          {"quantity_return_initiated": I.quantity_return_initiated - q},
          I.quantity_return_initiated - I.quantity_returned >= q)
    touch_order(session, ro.order_summary_id)
    doc = get(session, str(ro.id), principal)
    emit(session, "return_order.cancelled", f"return_order/{ro.id}", _event(doc))
    return doc


# ------------------------------------------------------------------------------------------------
# Receipts


def _fees(data: FeesIn, currency: str) -> tuple[Decimal | None, int]:
    pct = data.restocking_percent
    if pct is not None and not 0 <= pct <= 100:
        raise ValidationFailed([FieldError("fees.restocking_percent", "must be between 0 and 100")])
    shipping = 0
    if data.return_shipping is not None:
        try:
            shipping = parse_amount(data.return_shipping, currency)
        except MoneyError as exc:
            raise ValidationFailed([FieldError("fees.return_shipping", str(exc))]) from None
        if shipping < 0:
            raise ValidationFailed([FieldError("fees.return_shipping", "must be 0 or more")])
    return pct, shipping


def receive(session: Session, ref: str, data: ReceiptIn, principal: Principal) -> Doc:
    ro = _find(session, ref, principal, lock=True)
    order = find_order(session, str(ro.order_summary_id), principal, lock=False)
    location = _location(session, data.location, "location")
    pct, shipping = _fees(data.fees, order.currency)
    lines = {x.line_number: x for x in session.execute(select(*LINE.c).where(LINE.c.return_order_id == ro.id))}
    _named_lines(data.lines, set(lines))
    expected = {n: domain.Expected(n, x.quantity_expected, x.quantity_received, x.quantity_rejected)
                for n, x in lines.items()}
    errors = [FieldError(f"lines[{n}]", why) for n, x in enumerate(data.lines)
              if (why := domain.over_receipt(expected[x.line_number], x.received, x.rejected))]
    if errors:
        raise NotAvailable("; ".join(e.message for e in errors), errors)
    domain.LIFECYCLE.target(ro.status, "receive")  # 409 before anything is written
    received = [x for x in data.lines if x.received]
    items = {i.line_number: i for i in state.items_of(session, order.id, line_numbers=[x.line_number for x in received],
                                                      lock=True)} if received else {}
    gross = bool(order.prices_include_tax)
    returned = [servicing.give_back(items[x.line_number], x.received) for x in received]
    fee_changes = domain.fees(returned, restocking_percent=pct, return_shipping=shipping, gross_prices=gross)
    actor, reason = principal.actor, f"Return {ro.number}"
    co = write_change_order(session, order, "return", reason, returned, {}, actor) if returned else None
    fee = write_change_order(session, order, "return_fee", reason, fee_changes, {}, actor) if fee_changes else None
    _move_buckets(session, lines, data)
    _restock(session, lines, data, ro.number)
    credit_id = create_credit_memo(session, order, [str(w.id) for w in (co, fee) if w], actor) if co else None
    receipt_id = _write_receipt(session, ro, location, data, lines, co, fee, credit_id, fee_changes, gross)
    for x in data.lines:
        line = expected[x.line_number]
        expected[x.line_number] = domain.Expected(line.line_number, line.expected, line.received + x.received,
                                                  line.rejected + x.rejected)
    _history(session, ro, domain.status_after(list(expected.values())), actor)
    touch_order(session, order.id)
    doc = get(session, str(ro.id), principal)
    receipt = next(r for r in doc["receipts"] if r["id"] == str(receipt_id))
    receipt = {**receipt, "created_at": receipt["created_at"].isoformat()}
    emit(session, "return_order.received", f"return_order/{ro.id}", {**_event(doc), "receipt": receipt})
    return doc


def _move_buckets(session: Session, lines: dict[int, Any], data: ReceiptIn) -> None:
    session.execute(update(LINE).where(LINE.c.id == bindparam("l_id")).values(
        quantity_received=LINE.c.quantity_received + bindparam("l_in"),
        quantity_rejected=LINE.c.quantity_rejected + bindparam("l_out")),
        [{"l_id": lines[x.line_number].id, "l_in": x.received, "l_out": x.rejected} for x in data.lines])
    moved = [(lines[x.line_number].order_item_summary_id, x) for x in data.lines]
    bump(session, [{"b_id": i, "b_q": x.received} for i, x in moved if x.received],
          {"quantity_returned": I.quantity_returned + q}, I.quantity_return_initiated - I.quantity_returned >= q)
    bump(session, [{"b_id": i, "b_q": x.rejected} for i, x in moved if x.rejected],
          {"quantity_return_initiated": I.quantity_return_initiated - q},
          I.quantity_return_initiated - I.quantity_returned >= q)


def _restock(session: Session, lines: dict[int, Any], data: ReceiptIn, number: str) -> None:
    records = [StockRecord(n, None, lines[x.line_number].sku, data.location, "delta", on_hand=x.received)
               for n, x in enumerate(data.lines) if x.disposition == "restock" and x.received and
               lines[x.line_number].sku]
    if not records:
        return
    refused = [o for o in apply_records(session, records) if o.status != "applied"]
    if refused:
        raise ValidationFailed([FieldError(f"lines[{o.record.index}].{name}", message)
                                for o in refused for name, message in o.errors])
    emit(session, "inventory.updated", None, {"source": f"return {number}", "mode": "delta",
                                               "applied": len(records), "duplicates": 0, "errors": 0})


def _write_receipt(session: Session, ro: Any, location: uuid.UUID, data: ReceiptIn, lines: dict[int, Any],
                   co: Any, fee: Any, credit_id: uuid.UUID | None, fee_changes: list[servicing.ItemChange],
                   gross: bool) -> uuid.UUID:
    def charged(reference: str) -> int:
        return sum(a.amount + (0 if gross else sum(t.amount for t in c.taxes if t.of_adjustment == n))
                   for c in fee_changes for n, a in enumerate(c.adjustments) if a.reference == reference)

    receipt_id = new_id()
    session.execute(insert(RECEIPT), [{
        "id": receipt_id, "return_order_id": ro.id, "location_id": location, "change_order_id": co.id if co else None,
        "fee_change_order_id": fee.id if fee else None, "credit_memo_id": credit_id,
        "restocking_fee_amount": charged(domain.RESTOCKING_FEE), "return_shipping_amount": charged(
            domain.RETURN_SHIPPING), "created_by": ro.created_by, "created_at": clock.now()}])
    session.execute(insert(RLINE), [{
        "id": new_id(), "return_receipt_id": receipt_id, "return_order_line_id": lines[x.line_number].id,
        "received": x.received, "rejected": x.rejected, "reason_for_rejection": x.reason_for_rejection,
        "disposition": x.disposition} for x in data.lines])
    return receipt_id


# ------------------------------------------------------------------------------------------------
# Reads


def _documents(session: Session, rows: Sequence[Any]) -> list[Doc]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    orders = {o.id: o for o in session.execute(select(ORDER.c.id, ORDER.c.number, ORDER.c.currency).where(
        ORDER.c.id.in_({r.order_summary_id for r in rows})))}
    lines: dict[Any, list[Any]] = {}
    for x in session.execute(select(*LINE.c).where(LINE.c.return_order_id.in_(ids)).order_by(LINE.c.line_number)):
        lines.setdefault(x.return_order_id, []).append(x)
    receipts: dict[Any, list[Any]] = {}
    for r in session.execute(select(*RECEIPT.c).where(RECEIPT.c.return_order_id.in_(ids)).order_by(RECEIPT.c.id)):
        receipts.setdefault(r.return_order_id, []).append(r)
    receipt_ids = [r.id for rs in receipts.values() for r in rs]
    rlines: dict[Any, list[Any]] = {}
    for x in session.execute(select(*RLINE.c, LINE.c.line_number).join(LINE, LINE.c.id == RLINE.c.return_order_line_id)
                             .where(RLINE.c.return_receipt_id.in_(receipt_ids)).order_by(LINE.c.line_number)):
        rlines.setdefault(x.return_receipt_id, []).append(x)
    locations = {x.id: x.code for x in session.execute(select(LOC.c.id, LOC.c.code))} if rows else {}
    cos = {c.id: c.number for c in session.execute(select(CO.c.id, CO.c.number).where(CO.c.id.in_(
        [i for rs in receipts.values() for r in rs for i in (r.change_order_id, r.fee_change_order_id) if i])))}
    cms = {c.id: c.number for c in session.execute(select(CM.c.id, CM.c.number).where(CM.c.id.in_(
        [r.credit_memo_id for rs in receipts.values() for r in rs if r.credit_memo_id])))}
    out = []
    for r in rows:
        cur = orders[r.order_summary_id].currency
        out.append({
            "id": str(r.id), "number": r.number, "order": orders[r.order_summary_id].number,
            "order_id": str(r.order_summary_id), "account_id": str(r.account_id), "status": r.status,
            "currency": cur, "return_location": locations.get(r.return_location_id),
            "label": {"carrier": r.label_carrier, "tracking_reference": r.label_tracking_reference},
            "lines": [{"line_number": x.line_number, "order_item_id": str(x.order_item_summary_id), "sku": x.sku,
                       "reason": x.reason, "quantity_expected": x.quantity_expected,
                       "quantity_received": x.quantity_received, "quantity_rejected": x.quantity_rejected,
                       "quantity_outstanding": x.quantity_expected - x.quantity_received - x.quantity_rejected}
                      for x in lines.get(r.id, [])],
            "receipts": [{
                "id": str(c.id), "location": locations.get(c.location_id), "change_order": cos.get(c.change_order_id),
                "fee_change_order": cos.get(c.fee_change_order_id), "credit_memo": cms.get(c.credit_memo_id),
                "restocking_fee": format_minor(c.restocking_fee_amount, cur),
                "return_shipping": format_minor(c.return_shipping_amount, cur),
                "lines": [{"line_number": x.line_number, "received": x.received, "rejected": x.rejected,
                           "reason_for_rejection": x.reason_for_rejection, "disposition": x.disposition}
                          for x in rlines.get(c.id, [])],
                "created_at": c.created_at} for c in receipts.get(r.id, [])],
            "available_actions": domain.LIFECYCLE.actions_from(r.status), "version": r.version,
            "created_at": r.created_at, "updated_at": r.updated_at,
        })
    return out


def get(session: Session, ref: str, principal: Principal) -> Doc:
    return _documents(session, [_find(session, ref, principal, lock=False)])[0]


def list_return_orders(session: Session, principal: Principal, *, order: str | None, status: str | None,
                       limit: int, cursor: str | None) -> Doc:
    stmt = select(*RO.c)
    if principal.account_id is not None:
        stmt = stmt.where(RO.c.account_id == principal.account_id)
    if order is not None:
        ident = parse_id(order)
        found = session.execute(select(ORDER.c.id).where(
            ORDER.c.id == ident if ident is not None else ORDER.c.number == order)).scalar_one_or_none()
        if found is None:
            return page([], [], limit)
        stmt = stmt.where(RO.c.order_summary_id == found)
    if status is not None:
        stmt = stmt.where(RO.c.status == status)
    rows = session.execute(paginate(stmt, RO.c.id, limit, cursor)).all()  # type: ignore[arg-type]
    return page(_documents(session, rows), [r.id for r in rows], limit)
