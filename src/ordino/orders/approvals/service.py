"""Order approvals: holding orders for approval, and the approver's decision.

- At intake (`review_new_order`) the rules of the order's account and its ancestors are evaluated
  (`approval_rules.evaluate`); an order that trips any is held in `pending_approval` with one
  approval request listing every reason. `hold_for_approval` is the same hold for other
  capabilities (invoicing's credit check holds orders for `credit_limit`).
- `approve` and `reject` decide a pending request: staff, or a contact with the approver role of
  the order's account or one of its ancestors, never the buyer who placed the order. Approval
  emits `order.approved` with the data of `order.created`, so the order is routed and its payments
  authorized as a new order is; rejection cancels the order with the reason (`order.cancelled`
  by the lifecycle, and `order.rejected` for the decision) and releases its stock.

The order row is locked first, then its approval request, by every use case here: a decision
and a concurrent hold or second decision serialize, and the loser answers 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, Uuid, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from ordino.accounts import service as accounts
from ordino.accounts.models import Account, Contact
from ordino.accounts.tree import ancestors, subtree
from ordino.catalog.models import SalesChannel
from ordino.inventory import reads as inventory_reads
from ordino.inventory import service as inventory
from ordino.kernel import clock
from ordino.kernel.auth import STAFF, Principal, Role
from ordino.kernel.errors import ConcurrentChange, Forbidden, NotFound
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import format_minor
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import StatusHistory, apply
from ordino.kernel.worker import AfterCommit, Event, Registration
from ordino.orders.approvals import domain as approval_rules
from ordino.orders.approvals.domain import OrderFacts, Reason, Rule
from ordino.orders.approvals.errors import NotAnApprover, NotPendingApproval, OwnOrder
from ordino.orders.approvals.models import ApprovalRequest, ApprovalRule
from ordino.orders.domain import ORDER_LIFECYCLE
from ordino.orders.errors import NotABuyer
from ordino.orders.models import OrderItemSummary, OrderSummary

ORDER = cast(Table, OrderSummary.__table__)
REQ = cast(Table, ApprovalRequest.__table__)
RULE = cast(Table, ApprovalRule.__table__)
ACCOUNT = cast(Table, Account.__table__)
Doc = dict[str, Any]
DECIDERS = ("approver", "account_admin")  # contact roles that see their account's subtree

# ----------------------------------------------------------------------------------------------
# The account hierarchy, seen from a principal


def scope(session: Session, principal: Principal) -> Any | None:
    """The accounts whose approvals and rules the principal sees, as a subquery of ids; None for
    unscoped keys. A scoped key sees its account; its contact's approver or account admin role
    adds the accounts below it (a parent's approvers decide for its subsidiaries)."""
    if principal.account_id is None:
        return None
    if accounts.contact_roles(session, principal) & set(DECIDERS):
        return select(subtree(principal.account_id).c.id)
    return select(literal(principal.account_id))


def in_scope(session: Session, principal: Principal, account_id: uuid.UUID) -> bool:
    ids = scope(session, principal)
    if ids is None:
        return True
    return account_id in set(session.execute(ids).scalars())


# ----------------------------------------------------------------------------------------------
# Holding an order


@dataclass(slots=True)
class _Record:
    id: uuid.UUID
    status: str


def _move(
    session: Session, order_id: uuid.UUID, before: str, action: str, *, actor: str | None,
    reason: str | None = None, data: dict[str, Any] | None = None, announce: bool = True,
) -> str:
    """An order lifecycle action with its history row, its event (when announced) and a
    conditional status update; announced changes count a new version."""
    if announce:
        after = apply(session, ORDER_LIFECYCLE, _Record(order_id, before), action, actor=actor, reason=reason,
                      data=data)
    else:
        after = ORDER_LIFECYCLE.target(before, action)
        session.execute(insert(StatusHistory), [{
            "id": new_id(), "entity_type": ORDER_LIFECYCLE.entity, "entity_id": order_id, "from_status": before,
            "to_status": after, "action": action, "reason": reason, "actor": actor, "at": clock.now(),
        }])
    values: dict[str, Any] = {"status": after}
    if announce:
        values.update(version=ORDER.c.version + 1, updated_at=clock.now())
    result = session.execute(update(ORDER).where(ORDER.c.id == order_id, ORDER.c.status == before).values(values))
    if cast(CursorResult[Any], result).rowcount != 1:
        raise ConcurrentChange("the order was changed at the same time; try again")
    return after


def _summary(reasons: Sequence[Reason]) -> str:
    return "; ".join(r.message for r in reasons)[:500]


def hold_for_approval(
    session: Session, order_id: uuid.UUID, reasons: Sequence[Reason], actor: str | None, *, announce: bool = True
) -> uuid.UUID:
    """Hold an order for approval for these reasons; returns the approval request's id.

    A `created` order moves to `pending_approval` (history, and `order.pending_approval` with the
    reasons unless `announce` is false, as at intake where `order.created` tells it) and gets a
    pending request. An order already pending gets the reasons added to its request. Any other
    status is a 409 (the lifecycle allows holding only a new order)."""
    if not reasons:
        raise ValueError("an order is held for at least one reason")
    for reason in reasons:
        if not approval_rules.valid_reason_kind(reason.kind):
            raise ValueError(f"'{reason.kind}' is not a reason kind (snake_case, at most 40 characters)")
    order = session.execute(
        select(ORDER.c.status, ORDER.c.account_id, ORDER.c.buyer_contact_id)
        .where(ORDER.c.id == order_id).with_for_update()
    ).first()
    if order is None:
        raise NotFound("order not found")
    now = clock.now()
    if order.status == "pending_approval":
        request = session.execute(
            select(REQ.c.id, REQ.c.reasons).where(REQ.c.order_summary_id == order_id, REQ.c.status == "pending")
            .with_for_update()
        ).first()
        if request is not None:
            session.execute(update(REQ).where(REQ.c.id == request.id).values(
                reasons=approval_rules.merge_reasons(request.reasons, reasons), version=REQ.c.version + 1,
                updated_at=now,
            ))
            return cast(uuid.UUID, request.id)
    else:
        data = {"reasons": [r.as_dict() for r in reasons]}
        _move(session, order_id, order.status, "hold_for_approval", actor=actor, reason=_summary(reasons), data=data,
              announce=announce)
    request_id = new_id()
    session.execute(insert(REQ), [{
        "id": request_id, "order_summary_id": order_id, "account_id": order.account_id, "status": "pending",
        "reasons": [r.as_dict() for r in reasons], "buyer_contact_id": order.buyer_contact_id,
        "requested_by": actor, "requested_at": now, "decided_by": None, "decided_by_contact_id": None,
        "decided_at": None, "decision_note": None, "version": 1, "updated_at": now,
    }])
    return request_id


def _rules_statement() -> Any:
    chain = ancestors(bindparam("account_id", type_=Uuid))
    return (
        select(RULE.c.id, RULE.c.kind, RULE.c.name, RULE.c.amount, RULE.c.currency, RULE.c.contact_id, RULE.c.skus,
               chain.c.number)
        .join(chain, chain.c.id == RULE.c.account_id)
        .where(RULE.c.active.is_(True))
        .order_by(chain.c.depth, RULE.c.id)
    )


# Built once: intake asks for every order, and building the recursive CTE costs more than running it.
_RULES = _rules_statement()


def _rules_for(session: Session, account_id: uuid.UUID) -> list[Rule]:
    """The active rules of the account and its ancestors, nearest account first, in one query."""
    rows = session.execute(_RULES, {"account_id": account_id}).all()
    return [Rule(r.id, r.kind, r.name, r.number, r.amount, r.currency, r.contact_id, frozenset(r.skus or ()))
            for r in rows]


def _month_spend(session: Session, header: Mapping[str, Any], later: Sequence[uuid.UUID] = ()) -> dict[str, int]:
    """The buyer's other orders of this calendar month, not cancelled, summed per currency;
    `later`: orders written in the same transaction but placed after this one, not counted.

    The contact's row is locked first, so two orders of one buyer cannot both pass the limit."""
    contact_id = header["buyer_contact_id"]
    session.execute(select(Contact.id).where(Contact.id == contact_id).with_for_update())
    start, end = approval_rules.month_of(header["created_at"])
    rows = session.execute(
        select(ORDER.c.currency, func.sum(ORDER.c.grand_total_amount))
        .where(ORDER.c.buyer_contact_id == contact_id, ORDER.c.status != "cancelled",
               ORDER.c.id.not_in([header["id"], *later]), ORDER.c.created_at >= start, ORDER.c.created_at < end)
        .group_by(ORDER.c.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}


def review_new_order(
    session: Session, header: Mapping[str, Any], items: Sequence[Mapping[str, Any]], principal: Principal,
    *, later: Sequence[uuid.UUID] = (),
) -> str:
    """Intake's hook, after the order's rows are written: refuse a contact without the buyer role,
    hold the order if the approval rules say so. Returns the order's status. `later`: orders of the
    same batch placed after this one (already written), which its monthly spend must not count."""
    if not accounts.may_buy(session, principal):
        raise NotABuyer("the contact of this API key does not have the buyer role")
    reasons = approval_reasons(session, header, items, later=later)
    if not reasons:
        return str(header["status"])
    hold_for_approval(session, header["id"], reasons, principal.actor, announce=False)
    return "pending_approval"


def approval_reasons(
    session: Session, header: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, later: Sequence[uuid.UUID] = (),
) -> list[Reason]:
    """Why the approval rules would hold an order with this header (its grand total) and items."""
    rules = _rules_for(session, header["account_id"])
    if not rules:
        return []
    month_start, _ = approval_rules.month_of(header["created_at"])
    facts = OrderFacts(
        currency=header["currency"], grand_total=header["grand_total_amount"],
        buyer_contact_id=header["buyer_contact_id"],
        skus=frozenset(i["sku"] for i in items if i["type"] == "product"),
        month=month_start.strftime("%Y-%m"),
    )
    if any(approval_rules.spend_rule_applies(rule, facts) for rule in rules):
        facts = OrderFacts(facts.currency, facts.grand_total, facts.buyer_contact_id, facts.skus,
                           _month_spend(session, header, later), facts.month)
    return list(approval_rules.evaluate(rules, facts))


# ----------------------------------------------------------------------------------------------
# Deciding


def _order_for_decision(session: Session, order_ref: str, principal: Principal) -> Any:
    """The order (row locked) and its pending request, if the principal may see it; else 404."""
    ident = parse_id(order_ref)
    where = ORDER.c.id == ident if ident is not None else ORDER.c.number == order_ref
    order = session.execute(select(ORDER).where(where).with_for_update()).first()
    if order is None or not in_scope(session, principal, order.account_id):
        raise NotFound("order not found")
    return order


def _pending_request(session: Session, order: Any) -> Any:
    request = session.execute(
        select(REQ.c.id, REQ.c.status).where(REQ.c.order_summary_id == order.id).with_for_update()
    ).first()
    if order.status != "pending_approval" or request is None or request.status != "pending":
        raise NotPendingApproval(
            f"order {order.number} is {order.status.replace('_', ' ')}, not waiting for approval",
            extra={"current_status": order.status},
        )
    return request


def _check_approver(session: Session, principal: Principal, order: Any) -> None:
    """Staff decide; a buyer key decides only for a contact with the approver role, and never
    for an order that contact placed."""
    if principal.role in STAFF:
        return
    if principal.role is not Role.BUYER:
        raise Forbidden(f"the role '{principal.role}' may not decide approvals")
    if "approver" not in accounts.contact_roles(session, principal):
        raise NotAnApprover("deciding approvals needs a key of a contact with the approver role")
    if principal.contact_id == order.buyer_contact_id:
        raise OwnOrder("a buyer cannot approve or reject their own order")


def _order_event_data(session: Session, order: Any) -> dict[str, Any]:
    """What `order.created` told of the order, so its handlers can run on `order.approved`."""
    account = session.execute(select(Account.number).where(Account.id == order.account_id)).scalar_one()
    channel = session.execute(select(SalesChannel.code).where(SalesChannel.id == order.channel_id)).scalar_one()
    return {
        "number": order.number, "account": account, "account_id": str(order.account_id),
        "payments": order.payment_instructions, "channel": channel, "currency": order.currency,
        "grand_total": format_minor(order.grand_total_amount, order.currency),
    }


def _decide(session: Session, request_id: uuid.UUID, status: str, principal: Principal, note: str | None) -> None:
    session.execute(update(REQ).where(REQ.c.id == request_id).values(
        status=status, decided_by=principal.actor, decided_by_contact_id=principal.contact_id,
        decided_at=clock.now(), decision_note=note, version=REQ.c.version + 1, updated_at=clock.now(),
    ))


def approve(session: Session, order_ref: str, principal: Principal, note: str | None) -> Doc:
    order = _order_for_decision(session, order_ref, principal)
    request = _pending_request(session, order)
    _check_approver(session, principal, order)
    data = {**_order_event_data(session, order), "approval_request_id": str(request.id),
            "decided_by": principal.actor}
    _move(session, order.id, order.status, "approve", actor=principal.actor, reason=note, data=data)
    _decide(session, request.id, "approved", principal, note)
    return get_request(session, str(request.id), principal)


def release_order_stock(session: Session, order_id: uuid.UUID) -> None:
    """Give back every unit the order's items still hold (reservations are keyed by item id)."""
    item_ids = [str(i) for i in session.execute(
        select(OrderItemSummary.id).where(OrderItemSummary.order_summary_id == order_id,
                                          OrderItemSummary.type == "product")
    ).scalars()]
    for reference in inventory_reads.holding(session, item_ids):  # sorted: two releases never wait in a cycle
        inventory.release(session, reference)


def reject(session: Session, order_ref: str, principal: Principal, reason: str) -> Doc:
    order = _order_for_decision(session, order_ref, principal)
    request = _pending_request(session, order)
    _check_approver(session, principal, order)
    data = {"approval_request_id": str(request.id), "decided_by": principal.actor}
    # The lifecycle announces the cancellation (order.cancelled, action reject) to whoever follows
    # cancellations; order.rejected announces the decision.
    _move(session, order.id, order.status, "reject", actor=principal.actor, reason=reason, data=data)
    _decide(session, request.id, "rejected", principal, reason)
    emit(session, "order.rejected", f"order/{order.id}", {
        "id": str(order.id), "number": order.number, "reason": reason, **data,
    })
    release_order_stock(session, order.id)
    return get_request(session, str(request.id), principal)


# ----------------------------------------------------------------------------------------------
# Reading requests


def _request_columns() -> list[Any]:
    return [REQ, ORDER.c.number.label("order_number"), ORDER.c.status.label("order_status"), ORDER.c.currency,
            ORDER.c.grand_total_amount, Account.number.label("account")]


def _request_doc(r: Any) -> Doc:
    return {
        "id": r.id,
        "status": r.status,
        "order": {"id": r.order_summary_id, "number": r.order_number, "status": r.order_status,
                  "currency": r.currency, "grand_total": format_minor(r.grand_total_amount, r.currency)},
        "account": r.account,
        "reasons": r.reasons,
        "buyer_contact": r.buyer_contact_id,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at,
        "decided_by": r.decided_by,
        "decided_by_contact": r.decided_by_contact_id,
        "decided_at": r.decided_at,
        "decision_note": r.decision_note,
        "version": r.version,
        "updated_at": r.updated_at,
    }


def _requests() -> Any:
    return (select(*_request_columns()).join(ORDER, ORDER.c.id == REQ.c.order_summary_id)
            .join(Account, Account.id == REQ.c.account_id))


def get_request(session: Session, ref: str, principal: Principal) -> Doc:
    ident = parse_id(ref)
    row = session.execute(_requests().where(REQ.c.id == ident)).first() if ident else None
    if row is None or not in_scope(session, principal, row.account_id):
        raise NotFound("approval request not found")
    return _request_doc(row)


@dataclass(frozen=True, slots=True)
class RequestFilter:
    status: str | None = None
    account: str | None = None
    order: str | None = None


def list_requests(session: Session, principal: Principal, f: RequestFilter, limit: int, cursor: str | None) -> Doc:
    stmt = _requests()
    ids = scope(session, principal)
    if ids is not None:
        stmt = stmt.where(REQ.c.account_id.in_(ids))
    if f.status:
        stmt = stmt.where(REQ.c.status == f.status)
    if f.account:
        stmt = stmt.where(Account.number == f.account)
    if f.order:
        ident = parse_id(f.order)
        stmt = stmt.where(ORDER.c.id == ident if ident else ORDER.c.number == f.order)
    rows = session.execute(paginate(stmt, ApprovalRequest.id, limit, cursor)).all()
    return page([_request_doc(r) for r in rows], [r.id for r in rows], limit)


# ----------------------------------------------------------------------------------------------
# Flows: a held order continues when it is approved


def unless_held(registration: Registration) -> Registration:
    """The registration, skipping `order.created` of an order held for approval, at intake or
    since (another capability's hold): its turn comes with `order.approved`."""
    def handle(session: Session, event: Event) -> AfterCommit | None:
        if event.data.get("status") == "pending_approval":
            return None
        order_id = parse_id(str(event.data.get("id")))
        if order_id is not None and session.execute(
            select(REQ.c.id).where(REQ.c.order_summary_id == order_id)
        ).first() is not None:
            return None
        return registration.handle(session, event)

    return Registration(registration.name, handle)


def after_approval(registration: Registration) -> Registration:
    """The registration, run on `order.approved` only for a decision on a held order (the
    automatic approval of an order that needed none follows `order.created`, which did the work)."""
    def handle(session: Session, event: Event) -> AfterCommit | None:
        if event.data.get("from_status") == "pending_approval":
            return registration.handle(session, event)
        return None

    return Registration(registration.name, handle)
