"""What Ordino holds about a contact: the records that name the person, found and exported.

A record concerns the contact when it points at the contact (an order or quote it placed, an
approval it raised or decided, an approval rule about it, an API key naming it) or when its name,
e-mail or phone is the person's (`domain.names_person`): addresses of the account, bill-to and
ship-to of the account's orders. Only the contact's own account is searched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account, Address, Contact
from ordino.kernel import clock
from ordino.kernel.auth import ApiKey, Principal
from ordino.kernel.errors import NotFound
from ordino.kernel.ids import parse_id
from ordino.kernel.outbox import OutboxEvent
from ordino.orders.approvals.models import ApprovalRequest, ApprovalRule
from ordino.orders.models import OrderDeliveryGroupSummary, OrderSummary
from ordino.orders.quotes.models import Quote
from ordino.privacy.domain import Person, names_person
from ordino.privacy.models import ContactErasure

Doc = dict[str, Any]
Group = OrderDeliveryGroupSummary


def find_contact(session: Session, ref: str, principal: Principal, *, lock: bool = False) -> tuple[Contact, Account]:
    """The contact and its account; 404 when unknown or of an account the key may not see."""
    ident = parse_id(ref)
    stmt = select(Contact).where(Contact.id == ident)
    contact = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none() if ident else None
    if contact is None or not principal.sees_account(contact.account_id):
        raise NotFound("contact not found")
    account = session.execute(select(Account).where(Account.id == contact.account_id)).scalar_one()
    return contact, account


def person_of(contact: Contact) -> Person:
    return Person(contact.id, contact.first_name, contact.last_name, contact.email, contact.phone)


@dataclass
class Concerned:
    """The account's orders that concern the person, and why."""

    placed: set[uuid.UUID] = field(default_factory=set)  # orders the contact placed
    bill_to: set[uuid.UUID] = field(default_factory=set)  # orders whose bill-to names the person
    groups: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # order → groups naming the person

    @property
    def order_ids(self) -> set[uuid.UUID]:
        return self.placed | self.bill_to | set(self.groups)


def concerned_orders(session: Session, person: Person, account_id: uuid.UUID) -> Concerned:
    found = Concerned()
    found.placed = set(session.execute(
        select(OrderSummary.id).where(OrderSummary.buyer_contact_id == person.contact_id)
    ).scalars())
    bills = session.execute(
        select(OrderSummary.id, OrderSummary.bill_to)
        .where(OrderSummary.account_id == account_id, OrderSummary.bill_to.is_not(None))
    ).all()
    found.bill_to = {r.id for r in bills if isinstance(r.bill_to, dict) and names_person(
        person, r.bill_to.get("name"), r.bill_to.get("email"), r.bill_to.get("phone"))}
    groups = session.execute(
        select(Group.id, Group.order_summary_id, Group.ship_to_name, Group.ship_to_email, Group.ship_to_phone)
        .join(OrderSummary, OrderSummary.id == Group.order_summary_id)
        .where(OrderSummary.account_id == account_id)
    ).all()
    for g in groups:
        if names_person(person, g.ship_to_name, g.ship_to_email, g.ship_to_phone):
            found.groups.setdefault(g.order_summary_id, set()).add(g.id)
    return found


def naming_addresses(session: Session, person: Person, account_id: uuid.UUID) -> list[Address]:
    rows = session.execute(select(Address).where(Address.account_id == account_id).order_by(Address.id)).scalars()
    return [a for a in rows if names_person(person, a.name, None, a.phone)]


def contact_doc(c: Contact, account: Account) -> Doc:
    return {"id": c.id, "account": account.number, "first_name": c.first_name, "last_name": c.last_name,
            "email": c.email, "phone": c.phone, "title": c.title, "roles": list(c.roles or []),
            "version": c.version, "created_at": c.created_at, "updated_at": c.updated_at}


def address_doc(a: Address, account: Account) -> Doc:
    return {"id": a.id, "account": account.number, "reference": a.reference, "kind": a.kind, "name": a.name,
            "line1": a.line1, "line2": a.line2, "city": a.city, "postal_code": a.postal_code, "region": a.region,
            "country": a.country, "phone": a.phone, "is_default": a.is_default, "version": a.version,
            "created_at": a.created_at, "updated_at": a.updated_at}


def _ship_to(g: Group) -> Doc:
    return {"name": g.ship_to_name, "line1": g.ship_to_line1, "line2": g.ship_to_line2, "city": g.ship_to_city,
            "postal_code": g.ship_to_postal_code, "region": g.ship_to_region, "country": g.ship_to_country,
            "phone": g.ship_to_phone, "email": g.ship_to_email}


def _orders(session: Session, concerned: Concerned) -> list[Doc]:
    ids = concerned.order_ids
    if not ids:
        return []
    orders = session.execute(select(OrderSummary).where(OrderSummary.id.in_(ids)).order_by(OrderSummary.id)).scalars()
    groups: dict[uuid.UUID, list[Group]] = {}
    for g in session.execute(select(Group).where(Group.order_summary_id.in_(ids)).order_by(Group.position)).scalars():
        groups.setdefault(g.order_summary_id, []).append(g)
    out = []
    for o in orders:
        placed = o.id in concerned.placed
        # Of an order the contact placed, every ship-to; of another, the ones naming the person.
        mine = [g for g in groups.get(o.id, []) if placed or g.id in concerned.groups.get(o.id, set())]
        out.append({
            "id": o.id, "number": o.number, "status": o.status, "ordered_at": o.ordered_at,
            "po_number": o.po_number, "placed_by_contact": placed, "created_by": o.created_by,
            "bill_to": o.bill_to if placed or o.id in concerned.bill_to else None,
            "delivery_groups": [{"id": g.id, "ship_to": _ship_to(g)} for g in mine],
        })
    return out


def _approvals(session: Session, contact_id: uuid.UUID) -> list[Doc]:
    rows = session.execute(
        select(ApprovalRequest, OrderSummary.number)
        .join(OrderSummary, OrderSummary.id == ApprovalRequest.order_summary_id)
        .where(or_(ApprovalRequest.buyer_contact_id == contact_id, ApprovalRequest.decided_by_contact_id == contact_id))
        .order_by(ApprovalRequest.id)
    ).all()
    out = []
    for request, number in rows:
        for role, whose in (("buyer", request.buyer_contact_id), ("approver", request.decided_by_contact_id)):
            if whose == contact_id:
                out.append({"id": request.id, "order": number, "status": request.status, "role": role,
                            "requested_at": request.requested_at, "decided_at": request.decided_at,
                            "decision_note": request.decision_note if role == "approver" else None})
    return out


def _events(session: Session, subjects: list[str]) -> list[Doc]:
    rows = session.execute(
        select(OutboxEvent).where(OutboxEvent.subject.in_(subjects)).order_by(OutboxEvent.position)
    ).scalars()
    return [{"id": e.id, "type": e.type, "subject": e.subject, "time": e.time, "data": e.data} for e in rows]


def _records(session: Session, contact: Contact) -> Doc:
    """The records pointing at the contact: quotes, approval rules, API keys."""
    quotes = session.execute(
        select(Quote).where(Quote.requested_by_contact_id == contact.id).order_by(Quote.id)
    ).scalars()
    rules = session.execute(
        select(ApprovalRule).where(ApprovalRule.contact_id == contact.id).order_by(ApprovalRule.id)
    ).scalars()
    keys = session.execute(select(ApiKey).where(ApiKey.contact_id == contact.id).order_by(ApiKey.id)).scalars()
    return {
        "quotes": [{"id": q.id, "number": q.number, "status": q.status, "notes": q.notes,
                    "created_by": q.created_by, "created_at": q.created_at} for q in quotes],
        "approval_rules": [{"id": r.id, "name": r.name, "kind": r.kind} for r in rules],
        "api_keys": [{"id": k.id, "name": k.name, "role": k.role, "hint": k.hint, "created_at": k.created_at,
                      "revoked_at": k.revoked_at} for k in keys],
    }


def personal_data(session: Session, contact_ref: str, principal: Principal) -> Doc:
    """GET /contacts/{id}/personal-data: everything held about the contact, as one JSON document."""
    contact, account = find_contact(session, contact_ref, principal)
    person = person_of(contact)
    addresses = naming_addresses(session, person, account.id)
    erasure = session.execute(
        select(ContactErasure.summary).where(ContactErasure.contact_id == contact.id)
    ).scalar_one_or_none()
    return {
        "exported_at": clock.now(),
        "contact": contact_doc(contact, account),
        "account": {"id": account.id, "number": account.number, "name": account.name},
        "addresses": [address_doc(a, account) for a in addresses],
        "orders": _orders(session, concerned_orders(session, person, account.id)),
        **_records(session, contact),
        "approvals": _approvals(session, contact.id),
        "events": _events(session, [f"contact/{contact.id}", *(f"address/{a.id}" for a in addresses)]),
        "erasure": erasure,
    }
