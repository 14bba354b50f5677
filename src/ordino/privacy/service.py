"""Erasure of a contact's personal data (GDPR art. 17), in the caller's transaction.

The contact row stays (orders, quotes and approvals point at it) with its personal fields
replaced: the name becomes `erased contact <8 hex>`, e-mail, phone and title become null, and the
buyer roles go. The same is done wherever the person is named: addresses of the account, bill-to
and ship-to of the account's orders, the contact's own quote notes and approval decision notes,
API keys naming the contact (revoked too), the actor names of those keys, outbox payloads about
the contact and its addresses. Stored idempotent answers that carry the person are forgotten.

Kept for their legal retention (`domain.RETENTION_YEARS`): what an invoice or credit memo shows.
Documents are rendered from the order's ship-to name, so a ship-to naming the person on an order
with an invoice or credit memo keeps its name (its e-mail and phone, which no document shows,
are erased); the answer lists such orders under `retained` with the day they may go. Invoicing
tables are never written.

Erasing is refused while the person's orders or quotes are open (409 contact-has-open-business):
their ship-to and notes are still needed to deliver or decide. Erasing an erased contact answers
the first erasure again.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from ordino.accounts.models import Account, Address, Contact
from ordino.audit import service as audit
from ordino.audit.service import Action, Subject
from ordino.invoicing.models import CreditMemo, Invoice
from ordino.kernel import clock
from ordino.kernel.auth import ApiKey, Principal
from ordino.kernel.http import dumps
from ordino.kernel.idempotency import IdempotencyRecord
from ordino.kernel.outbox import OutboxEvent, emit
from ordino.kernel.statemachine import StatusHistory
from ordino.orders.approvals.models import ApprovalRequest
from ordino.orders.models import OrderDeliveryGroupSummary, OrderSummary
from ordino.orders.quotes.models import Quote
from ordino.privacy.domain import (
    OPEN_ORDER_STATUSES,
    OPEN_QUOTE_STATUSES,
    Person,
    placeholder,
    replace_fields,
    replace_strings,
    retained_until,
)
from ordino.privacy.errors import ContactHasOpenBusiness
from ordino.privacy.models import ContactErasure
from ordino.privacy.reads import (
    Concerned,
    concerned_orders,
    find_contact,
    naming_addresses,
    person_of,
    personal_data,
)

Doc = dict[str, Any]
Group = OrderDeliveryGroupSummary


def _rowcount(session: Session, stmt: Any) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount


def _refuse_open_business(session: Session, person: Person, concerned: Concerned) -> None:
    orders = session.execute(
        select(OrderSummary.number).where(OrderSummary.id.in_(concerned.order_ids),
                                          OrderSummary.status.in_(OPEN_ORDER_STATUSES))
        .order_by(OrderSummary.number)
    ).scalars().all() if concerned.order_ids else []
    quotes = session.execute(
        select(Quote.number).where(Quote.requested_by_contact_id == person.contact_id,
                                   Quote.status.in_(OPEN_QUOTE_STATUSES)).order_by(Quote.number)
    ).scalars().all()
    if orders or quotes:
        raise ContactHasOpenBusiness(
            "the contact's orders or quotes are still open; erase once they are delivered, cancelled or decided",
            extra={"orders": list(orders), "quotes": list(quotes)},
        )


def _documents(session: Session, order_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, date]]]:
    """Per order, its invoices and credit memos: (number, date of issue)."""
    found: dict[uuid.UUID, list[tuple[str, date]]] = {}
    if not order_ids:
        return found
    stmts: list[Any] = [
        select(Invoice.order_summary_id, Invoice.number, Invoice.invoice_date)
        .where(Invoice.order_summary_id.in_(order_ids)),
        select(CreditMemo.order_summary_id, CreditMemo.number, CreditMemo.credit_memo_date)
        .where(CreditMemo.order_summary_id.in_(order_ids)),
    ]
    for stmt in stmts:
        for order_id, number, issued in session.execute(stmt).all():
            found.setdefault(order_id, []).append((number, issued))
    return found


def _erase_ship_tos(session: Session, concerned: Concerned, name: str) -> tuple[int, list[Doc]]:
    """Ship-tos naming the person: name, phone and e-mail erased; the name kept where documents show it."""
    documents = _documents(session, set(concerned.groups))
    numbers = {r.id: r.number for r in session.execute(
        select(OrderSummary.id, OrderSummary.number).where(OrderSummary.id.in_(set(concerned.groups)))
    )} if concerned.groups else {}
    changed, retained = 0, []
    for order_id, group_ids in sorted(concerned.groups.items()):
        values: Doc = {"ship_to_phone": None, "ship_to_email": None}
        if order_id in documents:
            docs = sorted(documents[order_id])
            retained.append({"order": numbers[order_id], "documents": [n for n, _ in docs],
                             "fields": ["delivery_groups[].ship_to.name"],
                             "until": retained_until(max(d for _, d in docs))})
        else:
            values["ship_to_name"] = name
        changed += _rowcount(session, update(Group).where(Group.id.in_(group_ids)).values(**values))
    return changed, sorted(retained, key=lambda r: r["order"])


def _erase_bill_tos(session: Session, concerned: Concerned, name: str) -> int:
    # The documents print the bill-to's address lines only, never its name, phone or e-mail.
    fields = {"name": name, "phone": None, "email": None}
    changed = 0
    for order in session.execute(select(OrderSummary).where(OrderSummary.id.in_(concerned.bill_to))).scalars():
        order.bill_to = replace_fields(dict(order.bill_to or {}), fields)
        changed += 1
    return changed


def _erase_addresses(session: Session, addresses: list[Address], name: str, now: Any) -> int:
    for a in addresses:
        a.name, a.phone = name, None
        a.version, a.updated_at = a.version + 1, now
    return len(addresses)


def _erase_notes(session: Session, contact_id: uuid.UUID) -> tuple[int, int]:
    """Free text the person wrote: quote notes, approval decision notes."""
    quotes = _rowcount(session, update(Quote).where(
        Quote.requested_by_contact_id == contact_id, Quote.notes.is_not(None)).values(notes=None))
    approvals = _rowcount(session, update(ApprovalRequest).where(
        ApprovalRequest.decided_by_contact_id == contact_id, ApprovalRequest.decision_note.is_not(None)
    ).values(decision_note=None))
    return quotes, approvals


def _revoke_keys(session: Session, contact_id: uuid.UUID, name: str, now: Any) -> tuple[int, dict[str, str | None]]:
    """Keys naming the contact: revoked and renamed. Returns how many were revoked now, and each
    key's old actor name (`role:name`, as orders, quotes, approvals and history record it) → new."""
    revoked, actors = 0, dict[str, str | None]()
    for key in session.execute(select(ApiKey).where(ApiKey.contact_id == contact_id)).scalars():
        actors[f"{key.role}:{key.name}"] = f"{key.role}:{name}"
        if key.revoked_at is None:
            key.revoked_at = now
            revoked += 1
        key.name = name
    return revoked, actors


def _rename_actors(session: Session, actors: dict[str, str | None]) -> int:
    changed = 0
    for old, new in actors.items():
        if old == new:
            continue
        for column in (OrderSummary.created_by, Quote.created_by, ApprovalRequest.requested_by,
                       ApprovalRequest.decided_by, StatusHistory.actor):
            stmt = update(column.class_).where(column == old).values({column.key: new})
            changed += _rowcount(session, stmt.execution_options(synchronize_session=False))
    return changed


def _erase_events(
    session: Session, contact: Contact, addresses: list[Address], orders: set[uuid.UUID], actors: dict[str, str | None]
) -> int:
    """Outbox payloads: the contact's and its addresses' events take the erased values; the
    concerned orders' events lose the actor names of the contact's keys."""
    fields: dict[str, Any] = {"first_name": contact.first_name, "last_name": contact.last_name, "email": None,
                              "phone": None, "title": None, "roles": []}
    by_subject: dict[str, dict[str, Any]] = {f"contact/{contact.id}": fields}
    by_subject |= {f"address/{a.id}": {"name": a.name, "phone": None} for a in addresses}
    subjects = [*by_subject, *(f"order/{o}" for o in orders)]
    changed = 0
    for event in session.execute(select(OutboxEvent).where(OutboxEvent.subject.in_(subjects))).scalars():
        data = dict(event.data)
        new = replace_fields(data, by_subject[event.subject]) if event.subject in by_subject else data
        new = replace_strings(new, actors)
        if new != data:
            event.data = new
            changed += 1
    return changed


def _forget_answers(session: Session, person: Person) -> int:
    """Stored idempotent answers that carry the person: deleted (a retry with their key runs anew)."""
    needles = [str(person.contact_id).encode()]
    needles += [orjson.dumps(v)[1:-1] for v in (person.email, person.phone) if v]
    needles.append(orjson.dumps(f"{person.first_name} {person.last_name}")[1:-1])
    doomed = [
        r.id for r in session.execute(
            select(IdempotencyRecord.id, IdempotencyRecord.response_body)
            .execution_options(yield_per=500)
        )
        if any(n in bytes(r.response_body) for n in needles)
    ]
    for start in range(0, len(doomed), 500):
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(doomed[start:start + 500])))
    return len(doomed)


def _erase_contact_row(contact: Contact, now: Any) -> None:
    contact.first_name, contact.last_name = "erased contact", contact.id.hex[-8:]
    contact.email = contact.phone = contact.title = None
    contact.roles = []
    contact.version, contact.updated_at = contact.version + 1, now


def _erase(session: Session, contact: Contact, account: Account, principal: Principal) -> Doc:
    person, name, now = person_of(contact), placeholder(contact.id), clock.now()
    concerned = concerned_orders(session, person, account.id)
    _refuse_open_business(session, person, concerned)
    addresses = naming_addresses(session, person, account.id)
    groups, retained = _erase_ship_tos(session, concerned, name)
    bill_tos = _erase_bill_tos(session, concerned, name)
    quotes, approvals = _erase_notes(session, contact.id)
    revoked, actors = _revoke_keys(session, contact.id, name, now)
    actor_rows = _rename_actors(session, actors)
    forgotten = _forget_answers(session, person)
    _erase_contact_row(contact, now)
    anonymised = {
        "contact": 1, "addresses": _erase_addresses(session, addresses, name, now), "delivery_groups": groups,
        "bill_to": bill_tos, "quote_notes": quotes, "approval_notes": approvals, "actor_names": actor_rows,
        "events": _erase_events(session, contact, addresses, concerned.order_ids, actors),
    }
    return {"contact_id": contact.id, "account": account.number, "erased_at": now, "erased_by": principal.actor,
            "anonymised": anonymised, "revoked_api_keys": revoked, "forgotten_idempotency_records": forgotten,
            "retained": retained}


def export_personal_data(session: Session, contact_ref: str, principal: Principal) -> Doc:
    """GET /contacts/{id}/personal-data: everything held about the contact (GDPR art. 15 and 20)."""
    doc = personal_data(session, contact_ref, principal)
    # The trail holds ids and counts, never a personal value: it outlives the erasure.
    subject = Subject("contact", doc["contact"]["id"], doc["account"]["id"])
    audit.record(session, actor=principal, action=Action.DATA_EXPORTED, subject=subject,
                 after={"exported_at": doc["exported_at"]})
    return doc


def erase_contact(session: Session, contact_ref: str, principal: Principal) -> Doc:
    """POST /contacts/{id}/erasure. The answer counts what changed, never a personal value."""
    contact, account = find_contact(session, contact_ref, principal, lock=True)
    done = session.execute(
        select(ContactErasure.summary).where(ContactErasure.contact_id == contact.id)
    ).scalar_one_or_none()
    if done is not None:
        return dict(done)
    doc: Doc = orjson.loads(dumps(_erase(session, contact, account, principal)))
    session.add(ContactErasure(contact_id=contact.id, account_id=account.id, erased_at=clock.now(),
                               erased_by=principal.actor, summary=doc))
    emit(session, "contact.erased", f"contact/{contact.id}", {"id": str(contact.id), "account": account.number})
    audit.record(session, actor=principal, action=Action.DATA_ERASED,
                 subject=Subject("contact", contact.id, account.id), after=doc)
    return doc

