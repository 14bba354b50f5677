"""Remittances: payments received from accounts on invoice terms, applied to their invoices.

A remittance names its account, amount, currency, the payer's reference and the day it was
received, and how it is spread over invoices (part of an invoice's balance is allowed, more is
not). The invoices are locked in id order and each application is a conditional update of the
invoice's balance, so two remittances racing for one invoice can never pay it twice. The same
reference again with the same content answers with the remittance already recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.invoicing import domain
from ordino.invoicing.errors import NotApplicable
from ordino.invoicing.invoices import APP, INV, apply_to_invoice
from ordino.invoicing.models import Remittance
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import ConcurrentChange, Duplicate, FieldError, ValidationFailed
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import format_minor
from ordino.kernel.outbox import emit

REMITTANCE = cast(Table, Remittance.__table__)


@dataclass(frozen=True, slots=True)
class Application:
    invoice: str  # id or number
    amount: int


@dataclass(frozen=True, slots=True)
class RemittanceIn:
    account: str
    currency: str
    amount: int
    reference: str
    received_on: date
    applications: tuple[Application, ...]


def _account(session: Session, ref: str, principal: Principal) -> Any:
    ident = parse_id(ref)
    where = or_(Account.id == ident, Account.number == ref) if ident else Account.number == ref
    row = session.execute(select(Account.id, Account.number).where(where).limit(1)).first()
    if row is None or not principal.sees_account(row.id):
        raise ValidationFailed([FieldError("account", f"no account '{ref}'")])
    return row


def _invoices(session: Session, data: RemittanceIn, account_id: uuid.UUID) -> list[Any]:
    """The named invoices, locked in id order; every payload error is named at once."""
    errors: list[FieldError] = []
    rows: list[Any] = []
    seen: set[uuid.UUID] = set()
    for i, a in enumerate(data.applications):
        ident = parse_id(a.invoice)
        where = or_(INV.c.id == ident, INV.c.number == a.invoice) if ident else INV.c.number == a.invoice
        row = session.execute(select(INV.c.id, INV.c.account_id, INV.c.currency).where(where).limit(1)).first()
        if row is None or row.account_id != account_id:
            errors.append(FieldError(f"applications[{i}].invoice", f"no invoice '{a.invoice}' of this account"))
        elif row.id in seen:
            errors.append(FieldError(f"applications[{i}].invoice", "is named twice"))
        elif row.currency != data.currency:
            errors.append(FieldError("currency", f"invoice '{a.invoice}' is in {row.currency}, not {data.currency}"))
        else:
            seen.add(row.id)
            rows.append(row)
    applied = sum(a.amount for a in data.applications)
    if applied != data.amount and not errors:
        errors.append(FieldError("applications", f"the applications add up to {format_minor(applied, data.currency)},"
                                 f" not the amount {format_minor(data.amount, data.currency)}"))
    if errors:
        raise ValidationFailed(errors)
    locked = {
        r.id: r for r in session.execute(
            select(*INV.c).where(INV.c.id.in_(sorted(seen))).order_by(INV.c.id).with_for_update()
        )
    }
    return [locked[r.id] for r in rows]


def _same(session: Session, existing: Any, data: RemittanceIn, invoice_ids: list[uuid.UUID]) -> bool:
    applied = sorted(
        (r.invoice_id, r.amount) for r in session.execute(
            select(APP.c.invoice_id, APP.c.amount).where(APP.c.remittance_id == existing.id)
        )
    )
    wanted = sorted(zip(invoice_ids, (a.amount for a in data.applications), strict=True))
    return bool(existing.amount == data.amount and existing.currency == data.currency
                and existing.received_on == data.received_on and applied == wanted)


def record_remittance(session: Session, data: RemittanceIn, principal: Principal) -> tuple[uuid.UUID, bool]:
    """Record the remittance and apply it; returns (id, created)."""
    account = _account(session, data.account, principal)
    invoices = _invoices(session, data, account.id)
    existing = session.execute(
        select(*REMITTANCE.c).where(REMITTANCE.c.account_id == account.id, REMITTANCE.c.reference == data.reference)
    ).first()
    if existing is not None:
        if _same(session, existing, data, [i.id for i in invoices]):
            return existing.id, False
        raise Duplicate(f"a different remittance with reference '{data.reference}' was recorded already",
                        [FieldError("reference", "is taken by another remittance of this account")])
    refusals = []
    for i, (invoice, a) in enumerate(zip(invoices, data.applications, strict=True)):
        if invoice.status not in domain.OPEN_INVOICE_STATUSES:
            refusals.append(FieldError(f"applications[{i}].invoice", f"invoice {invoice.number} is {invoice.status}"))
        elif a.amount > invoice.balance_amount:
            refusals.append(FieldError(
                f"applications[{i}].amount",
                f"is more than the balance of invoice {invoice.number}"
                f" ({format_minor(invoice.balance_amount, invoice.currency)})",
            ))
    if refusals:
        raise NotApplicable(refusals[0].message if len(refusals) == 1 else "the remittance cannot be applied as sent",
                            refusals)
    now = clock.now()
    remittance_id = new_id()
    session.execute(insert(REMITTANCE), [{
        "id": remittance_id, "account_id": account.id, "currency": data.currency, "amount": data.amount,
        "reference": data.reference, "received_on": data.received_on, "created_by": principal.actor,
        "created_at": now,
    }])
    session.execute(insert(APP), [{
        "id": new_id(), "invoice_id": invoice.id, "payment_id": None, "remittance_id": remittance_id,
        "order_summary_id": invoice.order_summary_id, "account_id": account.id, "currency": data.currency,
        "amount": a.amount, "status": "applied", "created_by": principal.actor, "created_at": now, "applied_at": now,
    } for invoice, a in zip(invoices, data.applications, strict=True)])
    for invoice, a in zip(invoices, data.applications, strict=True):
        if not apply_to_invoice(session, invoice.id, a.amount, principal.actor):
            raise ConcurrentChange(f"invoice {invoice.number} changed at the same time; try again")
    emit(session, "remittance.recorded", f"remittance/{remittance_id}", {
        "id": str(remittance_id), "account_id": str(account.id), "amount": format_minor(data.amount, data.currency),
        "currency": data.currency, "reference": data.reference,
        "invoices": [str(i.id) for i in invoices],
    })
    return remittance_id, True
