"""Servicing use cases: cancel, blind return and appeasement, each previewed or submitted.

A preview and a submit run the same planning on the same state (the submit under the order's row
lock, which shipments and invoices take too), so they answer the same balances; the preview
writes nothing. A submit writes the change orders, moves the quantity buckets with conditional
updates (a concurrent change makes one of them find fewer rows: 409, nothing written), releases
what a cancel frees, moves the order's status, credits the change orders with one credit memo
and emits its event; ensure refunds then gives the money back (invoicing.refunds).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BindParameter, CursorResult, Integer, bindparam, func, select, update
from sqlalchemy.orm import Session

from ordino.fulfillment import withdrawal
from ordino.fulfillment.items import follow_shipments, set_order_status, touch_order
from ordino.inventory import reads as inventory_reads
from ordino.inventory import service as inventory
from ordino.invoicing.credit_memos import CM, create_credit_memo
from ordino.kernel.auth import Principal
from ordino.kernel.errors import ConcurrentChange, FieldError, InvalidTransition, NotFound, ValidationFailed
from ordino.kernel.ids import parse_id
from ordino.kernel.money import MoneyError, allocate_minor, format_minor, parse_amount
from ordino.kernel.outbox import emit
from ordino.orders.domain import Buckets
from ordino.servicing import domain, state
from ordino.servicing.errors import LocationMustConfirm, NotAvailable
from ordino.servicing.money import consequence
from ordino.servicing.schemas import AppeasementIn, CancelIn, LineQuantityIn, ReturnIn
from ordino.servicing.state import ITEM, ORDER
from ordino.servicing.writing import CO, write_change_order

Doc = dict[str, Any]
I = ITEM.c  # noqa: E741
CANCELLABLE = ("created", "pending_approval", "approved", "partially_fulfilled")
TOTALS = ("product", "adjustment", "delivery", "tax", "grand_total")
EVENTS = {"cancel": "order.canceled", "return": "order.returned", "appeasement": "order.adjusted"}


@dataclass(slots=True)
class Plan:
    order: Any
    kind: str
    reason: str
    change_orders: list[list[domain.ItemChange]]
    stages: dict[object, list[tuple[str, int]]] = field(default_factory=dict)
    withdraw: list[tuple[withdrawal.OpenUnits, int]] = field(default_factory=list)
    unallocated: dict[object, int] = field(default_factory=dict)  # units released from reservations
    whole: bool = False  # nothing of the order is left to ship
    kinds: list[str] | None = None  # each change order's kind, when they differ (an exchange)

    @property
    def credit(self) -> int:
        gross = bool(self.order.prices_include_tax)
        return -sum(domain.totals(c, prices_include_tax=gross).grand_total for c in self.change_orders)


def find_order(session: Session, ref: str, principal: Principal, *, lock: bool) -> Any:
    ident = parse_id(ref)
    stmt = select(*ORDER.c).where(ORDER.c.id == ident if ident is not None else ORDER.c.number == ref)
    row = session.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None or not principal.sees_account(row.account_id):
        raise NotFound("order not found")
    return row


def named(session: Session, order: Any, lines: Sequence[LineQuantityIn | Any], *,
           lock: bool) -> dict[int, domain.Item]:
    """The named items by line number; 422 naming each unknown or repeated line."""
    numbers = [line.line_number for line in lines]
    items = {i.line_number: i for i in state.items_of(session, order.id, line_numbers=numbers, lock=lock)}
    twice = {n for n, c in Counter(numbers).items() if c > 1}
    errors = []
    for n, line in enumerate(lines):
        if line.line_number not in items:
            errors.append(FieldError(f"lines[{n}].line_number", f"no line {line.line_number} on this order"))
        elif line.line_number in twice:
            errors.append(FieldError(f"lines[{n}].line_number", f"line {line.line_number} is named twice"))
        elif items[line.line_number].type != "product":
            errors.append(FieldError(f"lines[{n}].line_number",
                                     f"line {line.line_number} is a {items[line.line_number].type.replace('_', ' ')}"))
    if errors:
        raise ValidationFailed(errors)
    return items


def over(lines: Sequence[LineQuantityIn], available: dict[int, int], what: str) -> None:
    """409 naming every line asking for more than is available."""
    over = [(n, line, available[line.line_number]) for n, line in enumerate(lines)
            if line.quantity > available[line.line_number]]
    if over:
        raise NotAvailable(
            "; ".join(f"line {line.line_number}: {line.quantity} to {what}, {a} available" for _, line, a in over),
            [FieldError(f"lines[{n}].quantity", f"at most {a} (available to {what} on line {line.line_number})")
             for n, line, a in over],
            extra={"lines": [{"line_number": line.line_number, "requested": line.quantity, "available": a}
                             for _, line, a in over]},
        )


# ------------------------------------------------------------------------------------------------
# Cancel


def plan_cancel(session: Session, order: Any, data: CancelIn, *, lock: bool) -> Plan:
    if order.status not in CANCELLABLE:
        raise InvalidTransition(f"an order that is {order.status.replace('_', ' ')} cannot be cancelled",
                                extra={"current_status": order.status})
    items = named(session, order, data.lines, lock=lock)
    over(data.lines, {n: i.unshipped for n, i in items.items()}, "cancel")
    plan = Plan(order, "cancel", data.reason, [[]])
    from_fo: dict[uuid.UUID, int] = {}
    for line in data.lines:
        item = items[line.line_number]
        pre = min(line.quantity, item.ordered - item.canceled - item.allocated)
        if line.quantity - pre:
            from_fo[cast(uuid.UUID, item.id)] = line.quantity - pre
        plan.unallocated[item.id] = pre
        plan.stages[item.id] = [(s, u) for s, u in (("pre_fulfillment", pre),
                                                     ("in_fulfillment", line.quantity - pre)) if u]
        stage = "in_fulfillment" if line.quantity - pre else "pre_fulfillment"
        plan.change_orders[0].append(domain.cancel(item, line.quantity, stage))
    plan.withdraw = withdrawal.plan(withdrawal.open_units(session, list(from_fo)), from_fo)
    if sum(n for _, n in plan.withdraw) != sum(from_fo.values()):
        raise ConcurrentChange("the order's allocations are changing (it is being routed); try again")
    busy = sorted({u.number for u, _ in plan.withdraw if u.status in withdrawal.NEEDS_CONFIRMATION})
    if busy and not data.location_confirmed:
        raise LocationMustConfirm(
            f"{', '.join(busy)} {'is' if len(busy) == 1 else 'are'} picked or packed already: the location must"
            " confirm it stops the units (send location_confirmed: true once it has)",
            [FieldError("location_confirmed", "the location must confirm")], extra={"fulfillment_orders": busy},
        )
    left = session.execute(
        select(func.coalesce(func.sum(I.quantity_ordered - I.quantity_canceled - I.quantity_fulfilled), 0))
        .where(I.order_summary_id == order.id, I.type == "product")
    ).scalar_one()
    plan.whole = int(left) == sum(line.quantity for line in data.lines)
    if data.cancel_shipping or plan.whole:
        for charge in state.items_of(session, order.id, types=("delivery_charge",), lock=lock):
            if charge.canceled < charge.ordered and not charge.invoiced_units:
                plan.change_orders[0].append(domain.cancel(charge, charge.ordered - charge.canceled, "pre_fulfillment"))
                plan.unallocated[charge.id] = 0
    if not plan.change_orders[0]:
        raise ValidationFailed([FieldError("cancel_shipping", "the shipping is invoiced or cancelled already")])
    return plan


def _release_unallocated(session: Session, plan: Plan) -> None:
    """Release the reservations that backed the cancelled unallocated units (not those at a
    fulfilment order's location for its unshipped units)."""
    wanted = {k: n for k, n in plan.unallocated.items() if n}
    if not wanted:
        return
    refs = [str(k) for k in wanted]
    fo_units: Counter[tuple[str, uuid.UUID]] = Counter()
    for u in withdrawal.open_units(session, [cast(uuid.UUID, k) for k in wanted]):
        fo_units[(str(u.item_id), u.location_id)] += u.remaining
    releases = []
    for held in sorted(inventory_reads.held_by(session, refs), key=lambda h: (h.reference, str(h.location_id))):
        left = wanted[uuid.UUID(held.reference)]
        free = min(left, held.open - fo_units[(held.reference, held.location_id)])
        if free > 0:
            releases.append(inventory.Release(held.reference, held.sku, free, held.location_id))
            wanted[uuid.UUID(held.reference)] = left - free
    inventory.release_many(session, releases)


def _units() -> BindParameter[int]:
    return bindparam("b_q", type_=Integer())


def bump(session: Session, rows: list[dict[str, Any]], values: dict[str, Any], where: Any) -> None:
    if not rows:
        return
    done = cast(CursorResult[Any], session.execute(
        update(ITEM).where(I.id == bindparam("b_id"), where).values(version=I.version + 1, **values), rows,
    ))
    if done.rowcount != len(rows):
        raise ConcurrentChange("the order's items were changed at the same time; reload and try again")
    ids = [r["b_id"] for r in rows]
    statuses = [
        {"s_id": r.id, "s_status": status}
        for r in session.execute(select(*ITEM.c).where(I.id.in_(ids)))
        if (status := Buckets(r.quantity_ordered, r.quantity_canceled, r.quantity_allocated, r.quantity_fulfilled,
                              r.quantity_return_initiated, r.quantity_returned).status()) != r.status
    ]
    if statuses:
        session.execute(update(ITEM).where(I.id == bindparam("s_id")).values(status=bindparam("s_status")), statuses)


def _apply_cancel(session: Session, plan: Plan, actor: str) -> None:
    withdrawal.withdraw(session, plan.withdraw, actor=actor, reason=plan.reason)
    _release_unallocated(session, plan)
    q = _units()
    bump(session, [{"b_id": c.item.id, "b_q": c.quantity} for c in plan.change_orders[0]],
          {"quantity_canceled": I.quantity_canceled + q},
          I.quantity_ordered - I.quantity_canceled - I.quantity_allocated >= q)
    order = plan.order
    if order.status != "partially_fulfilled" and plan.whole and not _any_fulfilled(session, order):
        set_order_status(session, order.id, "cancel", actor=actor, reason=plan.reason)
    else:
        follow_shipments(session, order.id, actor=actor)


def _any_fulfilled(session: Session, order: Any) -> bool:
    return bool(session.execute(
        select(func.count()).where(I.order_summary_id == order.id, I.quantity_fulfilled > 0)
    ).scalar_one())


# ------------------------------------------------------------------------------------------------
# Blind return


def plan_return(session: Session, order: Any, data: ReturnIn, *, lock: bool, available: bool = True) -> Plan:
    """`available`: check the units against available to return (not when a return order holds them)."""
    items = named(session, order, data.lines, lock=lock)
    if available:
        over(data.lines, {n: i.available_to_return for n, i in items.items()}, "return")
    return Plan(order, "return", data.reason, [[domain.give_back(items[line.line_number], line.quantity)
                                                for line in data.lines]])


def _apply_return(session: Session, plan: Plan, actor: str) -> None:
    q = _units()
    bump(session, [{"b_id": c.item.id, "b_q": c.quantity} for c in plan.change_orders[0]],
          {"quantity_return_initiated": I.quantity_return_initiated + q, "quantity_returned": I.quantity_returned + q},
          I.quantity_fulfilled - I.quantity_return_initiated >= q)


# ------------------------------------------------------------------------------------------------
# Appeasement


def _minor(value: Decimal, currency: str, path: str) -> int:
    try:
        amount = parse_amount(value, currency)
    except MoneyError as exc:
        raise ValidationFailed([FieldError(path, str(exc))]) from None
    if amount <= 0:
        raise ValidationFailed([FieldError(path, "must be more than 0 (an appeasement lowers the price)")])
    return amount


def _percent(value: Decimal, path: str) -> Decimal:
    if not 0 < value <= 100:
        raise ValidationFailed([FieldError(path, "must be more than 0 and at most 100")])
    return value


def _whole_order(session: Session, order: Any, data: AppeasementIn, gross: bool,
                 lock: bool) -> list[tuple[str, domain.Item, int]]:
    items = [i for i in state.items_of(session, order.id, types=("product",), lock=lock) if i.value_left > 0]
    basis = [domain.appeasement_basis(i, includes_tax=data.includes_tax, gross_prices=gross) for i in items]
    if data.percent is not None:
        pct = _percent(data.percent, "percent")
        return [("percent", i, domain.percent_of(b, pct)) for i, b in zip(items, basis, strict=True)]
    total = _minor(cast(Decimal, data.amount), order.currency, "amount")
    if total > sum(basis):
        raise NotAvailable(f"the order has {format_minor(sum(basis), order.currency)} left to appease",
                           [FieldError("amount", f"at most {format_minor(sum(basis), order.currency)}")])
    return [("amount", i, part) for i, part in zip(items, allocate_minor(total, basis), strict=True) if part]


def plan_appeasement(session: Session, order: Any, data: AppeasementIn, *, lock: bool) -> Plan:
    gross = bool(order.prices_include_tax)
    wanted: list[tuple[str, domain.Item, int]] = []
    if data.lines is not None:
        items = named(session, order, data.lines, lock=lock)
        errors = []
        for n, line in enumerate(data.lines):
            item = items[line.line_number]
            basis = domain.appeasement_basis(item, includes_tax=data.includes_tax, gross_prices=gross)
            if line.percent is not None:
                amount = domain.percent_of(basis, _percent(line.percent, f"lines[{n}].percent"))
            else:
                amount = _minor(cast(Decimal, line.amount), order.currency, f"lines[{n}].amount")
            if amount > basis:
                errors.append(FieldError(f"lines[{n}].amount", f"at most {format_minor(basis, order.currency)}"
                                         f" (what is left of line {line.line_number})"))
            wanted.append(("line", item, amount))
        if errors:
            raise NotAvailable("an appeasement cannot take off more than a line is worth", errors)
    else:
        wanted = _whole_order(session, order, data, gross, lock)
    by_stage: dict[str, list[domain.ItemChange]] = {s: [] for s in domain.STAGES}
    for _, item, amount in wanted:
        if amount <= 0:
            continue
        for change in domain.appease(item, amount, includes_tax=data.includes_tax, gross_prices=gross,
                                     reason=data.reason):
            by_stage[change.stage].append(change)
    groups = [c for c in by_stage.values() if c]
    if not groups:
        raise ValidationFailed([FieldError("lines" if data.lines is not None else "amount", "takes nothing off")])
    return Plan(order, "appeasement", data.reason, groups)


# ------------------------------------------------------------------------------------------------
# Preview and submit


PLANNERS: dict[str, Callable[..., Plan]] = {"cancel": plan_cancel, "return": plan_return,
                                            "appeasement": plan_appeasement}
APPLIERS: dict[str, Callable[[Session, Plan, str], None]] = {"cancel": _apply_cancel, "return": _apply_return}


def document(plan: Plan, money: Doc, written: list[Any] | None, credit_memo: str | None, status: str) -> Doc:
    """The answer of a preview (`written` None) or a submit: the same balances either way."""
    cur = plan.order.currency
    gross = bool(plan.order.prices_include_tax)

    def totals(t: Any) -> Doc:
        return {k: format_minor(getattr(t, k), cur) for k in TOTALS}

    cos = []
    everything = domain.totals([c for changes in plan.change_orders for c in changes], prices_include_tax=gross)
    for n, changes in enumerate(plan.change_orders):
        t = domain.totals(changes, prices_include_tax=gross)
        cos.append({
            "id": str(written[n].id) if written else None, "number": written[n].number if written else None,
            "kind": plan.kinds[n] if plan.kinds else plan.kind, "reason": plan.reason, "credit_memo": credit_memo,
            "items": [{"order_item_id": str(c.item.id), "line_number": c.item.line_number, "type": c.item.type,
                       "sku": c.item.sku, "quantity": c.quantity, "stage": c.stage,
                       "line_amount": format_minor(c.line_amount, cur),
                       "adjustment_amount": format_minor(c.adjustment_amount, cur),
                       "tax_amount": format_minor(c.tax_amount, cur),
                       "total": format_minor(c.total(gross), cur)} for c in changes],
            "totals": totals(t),
        })
    return {"order": plan.order.number, "order_id": str(plan.order.id), "kind": plan.kind,
            "previewed": written is None, "currency": cur, "change_orders": cos,
            "totals": totals(everything), "money": money, "credit_memo": credit_memo, "order_status": status}


def current_total(session: Session, order: Any) -> int:
    """The order's grand total as it stands: the original plus every change order."""
    changed = session.execute(select(func.coalesce(func.sum(CO.c.grand_total_amount), 0))
                              .where(CO.c.order_summary_id == order.id)).scalar_one()
    return int(order.grand_total_amount) + int(changed)


def credit(session: Session, order: Any, written: Sequence[Any], actor: str) -> str | None:
    """One credit memo for the change orders that take something off; its number."""
    credited = [str(w.id) for w in written if w.grand_total < 0]
    if not credited:
        return None
    credit_id = create_credit_memo(session, order, credited, actor)
    return str(session.execute(select(CM.c.number).where(CM.c.id == credit_id)).scalar_one())


def finish(session: Session, order: Any, plan: Plan, money: Doc, written: list[Any], credit_memo: str | None,
           event: str, extra: Doc | None = None) -> Doc:
    """After the writes: the order's new version, the answer, and the event (with `extra` data)."""
    touch_order(session, order.id)
    status = session.execute(select(ORDER.c.status).where(ORDER.c.id == order.id)).scalar_one()
    doc = document(plan, money, written, credit_memo, status)
    emit(session, event, f"order/{order.id}", {
        "order_id": str(order.id), "number": order.number, "account_id": str(order.account_id),
        "change_orders": [w.number for w in written], "credit_memo": credit_memo, "currency": order.currency,
        "total": doc["totals"]["grand_total"],
        "lines": [{"line_number": c.item.line_number, "quantity": c.quantity} for g in plan.change_orders for c in g],
        **(extra or {}),
    })
    return doc


def service(session: Session, kind: str, ref: str, data: Any, principal: Principal, *, submit: bool) -> Doc:
    """Preview (`submit=False`, nothing written) or submit a cancel, return or appeasement."""
    order = find_order(session, ref, principal, lock=submit)
    plan = PLANNERS[kind](session, order, data, lock=submit)
    money = consequence(session, order, max(0, plan.credit), invoiced=kind != "cancel")
    if not submit:
        return document(plan, money, None, None, order.status)
    actor = principal.actor
    written = [write_change_order(session, order, kind, plan.reason, changes, plan.stages, actor)
               for changes in plan.change_orders]
    if kind in APPLIERS:
        APPLIERS[kind](session, plan, actor)
    return finish(session, order, plan, money, written, credit(session, order, written, actor), EVENTS[kind])
