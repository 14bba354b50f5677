"""Approval rules of accounts: create, read, change, delete. Staff and the account's admins
(contacts with the account_admin role) manage them, for their account and the accounts below it.

A rule is checked whole for its kind: money rules need an amount and a currency (stored as minor
units), a monthly limit may name one buyer of the account or its children, a product rule names
products by SKU or id (stored as SKUs). Evaluation is `approval_rules.evaluate`, at intake.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, or_, select
from sqlalchemy.orm import Session

from ordino.accounts import service as accounts
from ordino.accounts.models import Account, Contact
from ordino.accounts.tree import subtree
from ordino.catalog.models import Product
from ordino.kernel import clock
from ordino.kernel.auth import STAFF, Principal, Role
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.http import check_if_match, dumps, page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import MoneyError, exponent_of, format_minor, is_currency, parse_amount
from ordino.kernel.outbox import emit
from ordino.orders.approvals.errors import NotAnAccountAdmin
from ordino.orders.approvals.models import ApprovalRule
from ordino.orders.approvals.schemas import RuleIn, RulePatch
from ordino.orders.approvals.service import in_scope, scope

RULE = cast(Table, ApprovalRule.__table__)
Doc = dict[str, Any]




def _rule_manager(session: Session, principal: Principal, account_id: uuid.UUID) -> None:
    if not in_scope(session, principal, account_id):
        raise NotFound("approval rule not found")
    if principal.role in STAFF:
        return
    if principal.role is Role.BUYER and "account_admin" in accounts.contact_roles(session, principal):
        return
    raise NotAnAccountAdmin("approval rules are managed by staff and the account's admins")


def _rule_doc(r: Any, account: str) -> Doc:
    return {
        "id": r.id,
        "account": account,
        "kind": r.kind,
        "name": r.name,
        "active": r.active,
        "amount": None if r.amount is None else format_minor(r.amount, r.currency),
        "currency": r.currency,
        "contact": r.contact_id,
        "products": r.skus,
        "version": r.version,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def _skus(session: Session, refs: Sequence[str], errors: list[FieldError]) -> list[str]:
    """Product references (SKUs or ids) to SKUs, naming every unknown one."""
    ids = {ref: parse_id(ref) for ref in refs}
    rows = session.execute(select(Product.id, Product.sku).where(
        or_(Product.sku.in_(refs), Product.id.in_([i for i in ids.values() if i is not None]))
    )).all()
    by_sku, by_id = {r.sku: r.sku for r in rows}, {r.id: r.sku for r in rows}
    found = set()
    for i, ref in enumerate(refs):
        sku = by_sku.get(ref) or by_id.get(ids[ref])
        if sku is None:
            errors.append(FieldError(f"products[{i}]", f"no product '{ref}'"))
        else:
            found.add(sku)
    return sorted(found)


def _rule_values(session: Session, account_id: uuid.UUID, kind: str, v: dict[str, Any]) -> dict[str, Any]:
    """Check a rule's fields for its kind (all errors at once); amounts become minor units."""
    errors: list[FieldError] = []
    money = kind in ("order_total", "monthly_spend")
    amount: Decimal | None = v["amount"]
    currency: str | None = v["currency"]
    out: dict[str, Any] = {"amount": None, "currency": None, "contact_id": None, "skus": None}
    if money:
        for name in ("amount", "currency"):
            if v[name] is None:
                errors.append(FieldError(name, f"is required for {kind} rules"))
        if currency is not None and not is_currency(currency):
            errors.append(FieldError("currency", f"'{currency}' is not an active ISO 4217 currency"))
        elif amount is not None and currency is not None:
            try:
                out.update(amount=parse_amount(amount, currency), currency=currency)
            except MoneyError as exc:
                errors.append(FieldError("amount", str(exc)))
    else:
        errors += [FieldError(name, "applies to order_total and monthly_spend rules only")
                   for name in ("amount", "currency") if v[name] is not None]
    if v["contact_id"] is not None:
        if kind != "monthly_spend":
            errors.append(FieldError("contact", "applies to monthly_spend rules only"))
        elif session.execute(select(Contact.id).where(
            Contact.id == v["contact_id"], Contact.account_id.in_(select(subtree(account_id).c.id))
        )).first() is None:
            errors.append(FieldError("contact", f"no contact {v['contact_id']} of the account or its children"))
        else:
            out["contact_id"] = v["contact_id"]
    if kind == "restricted_products":
        if not v["products"]:
            errors.append(FieldError("products", "name at least one product for restricted_products rules"))
        else:
            out["skus"] = _skus(session, v["products"], errors)
    elif v["products"] is not None:
        errors.append(FieldError("products", "applies to restricted_products rules only"))
    if errors:
        raise ValidationFailed(errors)
    return out


def _emit_rule(session: Session, type_: str, doc: Doc) -> None:
    emit(session, type_, f"approval_rule/{doc['id']}", orjson.loads(dumps(doc)))


def create_rule(session: Session, data: RuleIn, principal: Principal) -> Doc:
    account = session.execute(select(Account.id, Account.number).where(Account.number == data.account)).first()
    if account is None or not in_scope(session, principal, account.id):
        raise ValidationFailed([FieldError("account", f"no account '{data.account}'")])
    _rule_manager(session, principal, account.id)
    values = _rule_values(session, account.id, data.kind, {
        "amount": data.amount, "currency": data.currency, "contact_id": data.contact, "products": data.products,
    })
    now = clock.now()
    rule = ApprovalRule(id=new_id(), account_id=account.id, kind=data.kind, name=data.name, active=data.active,
                        **values, version=1, created_by=principal.actor, created_at=now, updated_at=now)
    session.add(rule)
    session.flush()
    doc = _rule_doc(rule, account.number)
    _emit_rule(session, "approval_rule.created", doc)
    return doc


def _find_rule(session: Session, ref: str, principal: Principal, *, lock: bool = False) -> tuple[ApprovalRule, str]:
    ident = parse_id(ref)
    stmt = select(ApprovalRule, Account.number).join(Account, Account.id == ApprovalRule.account_id)
    stmt = stmt.where(ApprovalRule.id == ident)
    row = session.execute(stmt.with_for_update(of=ApprovalRule) if lock else stmt).first() if ident else None
    if row is None:
        raise NotFound("approval rule not found")
    _rule_manager(session, principal, row[0].account_id)
    return row[0], row[1]


def get_rule(session: Session, ref: str, principal: Principal) -> Doc:
    return _rule_doc(*_find_rule(session, ref, principal))


def update_rule(session: Session, ref: str, patch: RulePatch, if_match: str | None, principal: Principal) -> Doc:
    rule, account = _find_rule(session, ref, principal, lock=True)
    check_if_match(if_match, rule.version)
    given = patch.model_fields_set
    currency = patch.currency if "currency" in given else rule.currency
    amount = patch.amount if "amount" in given else (
        None if rule.amount is None or rule.currency is None
        else Decimal(rule.amount).scaleb(-exponent_of(rule.currency))
    )
    values = _rule_values(session, rule.account_id, rule.kind, {
        "amount": amount, "currency": currency,
        "contact_id": patch.contact if "contact" in given else rule.contact_id,
        "products": patch.products if "products" in given else rule.skus,
    })
    changes: dict[str, Any] = {**values, **{f: getattr(patch, f) for f in ("name", "active") if f in given}}
    changed = {k: v for k, v in changes.items() if getattr(rule, k) != v}
    if changed:
        for name, value in changed.items():
            setattr(rule, name, value)
        rule.version += 1
        rule.updated_at = clock.now()
        session.flush()
    doc = _rule_doc(rule, account)
    if changed:
        _emit_rule(session, "approval_rule.updated", doc)
    return doc


def delete_rule(session: Session, ref: str, if_match: str | None, principal: Principal) -> None:
    rule, account = _find_rule(session, ref, principal, lock=True)
    if if_match is not None:
        check_if_match(if_match, rule.version)
    session.execute(delete(RULE).where(RULE.c.id == rule.id))
    emit(session, "approval_rule.deleted", f"approval_rule/{rule.id}", {"id": str(rule.id), "account": account})


@dataclass(frozen=True, slots=True)
class RuleFilter:
    account: str | None = None
    kind: str | None = None
    active: bool | None = None


def list_rules(session: Session, principal: Principal, f: RuleFilter, limit: int, cursor: str | None) -> Doc:
    if principal.role not in STAFF and "account_admin" not in accounts.contact_roles(session, principal):
        raise NotAnAccountAdmin("approval rules are managed by staff and the account's admins")
    stmt = select(RULE, Account.number.label("account")).join(Account, Account.id == RULE.c.account_id)
    ids = scope(session, principal)
    if ids is not None:
        stmt = stmt.where(RULE.c.account_id.in_(ids))
    if f.account:
        stmt = stmt.where(Account.number == f.account)
    if f.kind:
        stmt = stmt.where(RULE.c.kind == f.kind)
    if f.active is not None:
        stmt = stmt.where(RULE.c.active.is_(f.active))
    rows = session.execute(paginate(stmt, ApprovalRule.id, limit, cursor)).all()
    return page([_rule_doc(r, r.account) for r in rows], [r.id for r in rows], limit)
