"""Account use cases: accounts, their contacts and addresses, and API keys.

Every write runs in the caller's transaction and either fully happens or raises a `Problem`:
payload references that do not exist are 422 naming the field, uniqueness and hierarchy refusals
are 409, records the principal may not see are 404. Updates need the record's version (If-Match)
and lock the row, so two concurrent updates with the same version cannot both win.

A principal scoped to an account (a buyer key) sees that account, its contacts and addresses, and
nothing of any other account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ordino.accounts.errors import AccountHierarchyCycle, InUse, LastAdminKey
from ordino.accounts.models import Account, Address, Contact
from ordino.accounts.schemas import (
    AccountIn,
    AccountPatch,
    AddressIn,
    AddressPatch,
    ApiKeyIn,
    ContactIn,
    ContactPatch,
    CreditLimitIn,
)
from ordino.audit import service as audit
from ordino.kernel import clock
from ordino.kernel.auth import ApiKey, Principal, Role, create_key
from ordino.kernel.eas import endpoint_pair_check
from ordino.kernel.errors import Conflict, Duplicate, FieldError, Forbidden, NotFound, ValidationFailed
from ordino.kernel.http import apply_changes, check_if_match, dumps, page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.money import MoneyError, format_minor, parse_amount
from ordino.kernel.outbox import emit

Doc = dict[str, Any]
R = TypeVar("R", Account, Contact, Address)
Child = TypeVar("Child", Contact, Address)

_Parent = aliased(Account, name="parent_account")

# ----------------------------------------------------------------------------------------------
# Small helpers shared by the three resources


def _duplicate(field: str, detail: str) -> Conflict:
    return Duplicate(detail, [FieldError(field, "is already taken")])


def _refuse_taken(session: Session, conflict: Conflict, *where: ColumnElement[bool]) -> None:
    if session.execute(select(1).where(*where).limit(1)).first() is not None:
        raise conflict


def _insert(session: Session, row: object, conflict: Conflict) -> None:
    """Insert now: a concurrent insert of the same key that got past the check loses with a 409
    (the unique constraint decides; the transaction is rolled back), never with a 500."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise conflict from None


def _emit(session: Session, type_: str, subject: str, doc: Doc) -> None:
    emit(session, type_, subject, orjson.loads(dumps(doc)))


def _subject(row: Account | Contact) -> audit.Subject:
    return audit.Subject(row.__tablename__, row.id, row.id if isinstance(row, Account) else row.account_id)


def _stamp(row: R) -> Doc:
    return {"version": row.version, "created_at": row.created_at, "updated_at": row.updated_at}


# ----------------------------------------------------------------------------------------------
# Accounts


_EINVOICING_FIELDS = (
    "endpoint_scheme", "endpoint_id", "buyer_reference", "direct_debit_mandate", "direct_debit_iban", "einvoice_format",
)


def _einvoicing_check(a: Account) -> None:
    """An electronic address and a mandate each come whole: scheme with identifier, mandate with IBAN."""
    endpoint_pair_check(a.endpoint_scheme, a.endpoint_id)
    if bool(a.direct_debit_mandate) != bool(a.direct_debit_iban):
        field, other = (("direct_debit_iban", "direct_debit_mandate") if a.direct_debit_mandate
                        else ("direct_debit_mandate", "direct_debit_iban"))
        raise ValidationFailed([FieldError(field, f"is required with {other}: a direct debit needs both")])


def _account_doc(a: Account, parent: str | None) -> Doc:
    return {
        "id": a.id,
        "number": a.number,
        "name": a.name,
        "currency": a.currency,
        "locale": a.locale,
        "country": a.country,
        "tax_id": a.tax_id,
        "parent": parent,
        "status": a.status,
        "payment_terms": a.payment_terms,
        "credit_limit": None if a.credit_limit_amount is None or a.credit_limit_currency is None else {
            "amount": format_minor(a.credit_limit_amount, a.credit_limit_currency),
            "currency": a.credit_limit_currency,
        },
        **{f: getattr(a, f) for f in _EINVOICING_FIELDS},
        **_stamp(a),
    }


def _credit_limit(limit: CreditLimitIn | None) -> dict[str, Any]:
    """The credit limit's columns: minor units of its currency, never negative."""
    if limit is None:
        return {"credit_limit_amount": None, "credit_limit_currency": None}
    try:
        minor = parse_amount(limit.amount, limit.currency)
    except MoneyError as exc:
        raise ValidationFailed([FieldError("credit_limit.amount", str(exc))]) from None
    if minor < 0:
        raise ValidationFailed([FieldError("credit_limit.amount", "cannot be negative")])
    return {"credit_limit_amount": minor, "credit_limit_currency": limit.currency}


def _find_account(session: Session, ref: str, principal: Principal, *, lock: bool = False) -> Account:
    """An account by id or number that the principal may see; else 404."""
    ident = parse_id(ref)
    where = or_(Account.id == ident, Account.number == ref) if ident else Account.number == ref
    stmt = select(Account).where(where).limit(1)
    account = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if account is None or not principal.sees_account(account.id):
        raise NotFound("account not found")
    return account


def _numbers(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID | None, str]:
    """Account numbers by id, in one query (for a page of records that refer to accounts)."""
    wanted = ids - {None}
    if not wanted:
        return {}
    return dict(session.execute(select(Account.id, Account.number).where(Account.id.in_(wanted))).all())


def _parent_number(session: Session, account: Account) -> str | None:
    if account.parent_id is None:
        return None
    return session.execute(select(Account.number).where(Account.id == account.parent_id)).scalar_one()


def _resolve_parent(
    session: Session, number: str | None, principal: Principal, child_id: uuid.UUID | None
) -> uuid.UUID | None:
    if number is None:
        return None
    parent_id = session.execute(select(Account.id).where(Account.number == number)).scalar_one_or_none()
    if parent_id is None or not principal.sees_account(parent_id):
        raise ValidationFailed([FieldError("parent", f"no account '{number}'")])
    if child_id is not None:
        _refuse_cycle(session, child_id, parent_id, number)
    return parent_id


def _refuse_cycle(session: Session, child_id: uuid.UUID, parent_id: uuid.UUID, number: str) -> None:
    """Walk up from the new parent; meeting the child would make it its own ancestor.

    Each ancestor row is locked (PostgreSQL), so two concurrent moves that would together form
    a cycle serialize: one waits or deadlocks and is retried, then sees the other's move."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = parent_id
    while current is not None and current not in seen:
        if current == child_id:
            raise AccountHierarchyCycle(
                f"account '{number}' is this account or one of its descendants; an account "
                "cannot be its own ancestor",
                [FieldError("parent", "would make the account its own ancestor")],
            )
        seen.add(current)
        current = session.execute(
            select(Account.parent_id).where(Account.id == current).with_for_update()
        ).scalar_one()


def create_account(session: Session, data: AccountIn, principal: Principal) -> Doc:
    if principal.account_id is not None:
        raise Forbidden("a key scoped to an account cannot create accounts")
    duplicate = _duplicate("number", f"an account numbered '{data.number}' already exists")
    _refuse_taken(session, duplicate, Account.number == data.number)
    parent_id = _resolve_parent(session, data.parent, principal, None)
    now = clock.now()
    fields = {**data.model_dump(exclude={"parent", "credit_limit"}), **_credit_limit(data.credit_limit)}
    account = Account(**fields, parent_id=parent_id, version=1, created_at=now, updated_at=now)
    _einvoicing_check(account)
    _insert(session, account, duplicate)
    doc = _account_doc(account, data.parent)
    _emit(session, "account.created", f"account/{account.id}", doc)
    audit.record(session, actor=principal, action=audit.Action.CREDIT_LIMIT_CHANGED, subject=_subject(account),
                 before={"credit_limit": None}, after={"credit_limit": doc["credit_limit"]})
    return doc


def get_account(session: Session, ref: str, principal: Principal) -> Doc:
    account = _find_account(session, ref, principal)
    return _account_doc(account, _parent_number(session, account))


def update_account(
    session: Session, ref: str, patch: AccountPatch, if_match: str | None, principal: Principal
) -> Doc:
    account = _find_account(session, ref, principal, lock=True)
    check_if_match(if_match, account.version)
    limit_before = _account_doc(account, None)["credit_limit"]
    changes = patch.model_dump(include=patch.model_fields_set - {"parent", "number", "credit_limit"})
    if "credit_limit" in patch.model_fields_set:
        changes.update(_credit_limit(patch.credit_limit))
    parent = _parent_number(session, account)
    if "parent" in patch.model_fields_set and patch.parent != parent:
        changes["parent_id"] = _resolve_parent(session, patch.parent, principal, account.id)
        parent = patch.parent
    changed = apply_changes(account, changes, if_match)
    _einvoicing_check(account)
    doc = _account_doc(account, parent)
    if changed:
        _emit(session, "account.updated", f"account/{account.id}", doc)
    audit.record(session, actor=principal, action=audit.Action.CREDIT_LIMIT_CHANGED, subject=_subject(account),
                 before={"credit_limit": limit_before}, after={"credit_limit": doc["credit_limit"]})
    return doc


@dataclass(frozen=True, slots=True)
class AccountFilter:
    status: str | None = None
    country: str | None = None
    parent: str | None = None
    q: str | None = None


def list_accounts(
    session: Session, principal: Principal, f: AccountFilter, limit: int, cursor: str | None
) -> Doc:
    stmt = select(Account)
    if principal.account_id is not None:
        stmt = stmt.where(Account.id == principal.account_id)
    if f.status:
        stmt = stmt.where(Account.status == f.status)
    if f.country:
        stmt = stmt.where(Account.country == f.country.upper())
    if f.parent:
        stmt = stmt.join(_Parent, _Parent.id == Account.parent_id).where(_Parent.number == f.parent)
    if f.q:
        stmt = stmt.where(
            or_(Account.name.icontains(f.q, autoescape=True), Account.number.icontains(f.q, autoescape=True))
        )
    rows = session.scalars(paginate(stmt, Account.id, limit, cursor)).all()
    parents = _numbers(session, {a.parent_id for a in rows})
    return page([_account_doc(a, parents.get(a.parent_id)) for a in rows], [a.id for a in rows], limit)


# ----------------------------------------------------------------------------------------------
# Contacts and addresses: records of one account, reached through it


def _contact_doc(c: Contact, account: Account) -> Doc:
    return {
        "id": c.id,
        "account": account.number,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone": c.phone,
        "title": c.title,
        "roles": list(c.roles),
        **_stamp(c),
    }


_ADDRESS_FIELDS = (
    "reference", "kind", "name", "line1", "line2", "city", "postal_code", "region", "country", "phone",
    "is_default",
)


def _address_doc(a: Address, account: Account) -> Doc:
    return {"id": a.id, "account": account.number, **{f: getattr(a, f) for f in _ADDRESS_FIELDS}, **_stamp(a)}


def _find_child(session: Session, model: type[Child], account: Account, ref: str, *, lock: bool = False) -> Child:
    what = model.__tablename__
    ident = parse_id(ref)
    if ident is None:
        raise NotFound(f"{what} not found")
    stmt = select(model).where(model.id == ident, model.account_id == account.id)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def _list_children(
    session: Session, stmt: Select[Any], model: type[Child], limit: int, cursor: str | None
) -> tuple[list[Child], list[uuid.UUID]]:
    rows = list(session.scalars(paginate(stmt, model.id, limit, cursor)).all())
    return rows, [r.id for r in rows]


def _delete_child(session: Session, row: Contact | Address, account: Account, if_match: str | None) -> None:
    what = row.__tablename__
    if if_match is not None:
        check_if_match(if_match, row.version)
    try:
        session.execute(delete(type(row)).where(type(row).id == row.id))
    except IntegrityError:
        raise InUse(f"the {what} is referenced by orders and cannot be deleted") from None
    emit(session, f"{what}.deleted", f"{what}/{row.id}", {"id": str(row.id), "account": account.number})


def create_contact(session: Session, account_ref: str, data: ContactIn, principal: Principal) -> Doc:
    account = _find_account(session, account_ref, principal)
    now = clock.now()
    contact = Contact(**data.model_dump(), account_id=account.id, version=1, created_at=now, updated_at=now)
    session.add(contact)
    session.flush()
    doc = _contact_doc(contact, account)
    _emit(session, "contact.created", f"contact/{contact.id}", doc)
    audit.record(session, actor=principal, action=audit.Action.CONTACT_ROLES_CHANGED, subject=_subject(contact),
                 before={"roles": []}, after={"roles": doc["roles"]})
    return doc


def get_contact(session: Session, account_ref: str, contact_ref: str, principal: Principal) -> Doc:
    account = _find_account(session, account_ref, principal)
    return _contact_doc(_find_child(session, Contact, account, contact_ref), account)


def list_contacts(
    session: Session, account_ref: str, principal: Principal, q: str | None, limit: int, cursor: str | None
) -> Doc:
    account = _find_account(session, account_ref, principal)
    stmt = select(Contact).where(Contact.account_id == account.id)
    if q:
        stmt = stmt.where(
            or_(*(col.icontains(q, autoescape=True) for col in (Contact.first_name, Contact.last_name, Contact.email)))
        )
    rows, ids = _list_children(session, stmt, Contact, limit, cursor)
    return page([_contact_doc(c, account) for c in rows], ids, limit)


def update_contact(
    session: Session, account_ref: str, contact_ref: str, patch: ContactPatch, if_match: str | None,
    principal: Principal,
) -> Doc:
    account = _find_account(session, account_ref, principal)
    contact = _find_child(session, Contact, account, contact_ref, lock=True)
    roles_before = list(contact.roles)
    if apply_changes(contact, patch.model_dump(include=patch.model_fields_set), if_match):
        _emit(session, "contact.updated", f"contact/{contact.id}", _contact_doc(contact, account))
    audit.record(session, actor=principal, action=audit.Action.CONTACT_ROLES_CHANGED, subject=_subject(contact),
                 before={"roles": roles_before}, after={"roles": list(contact.roles)})
    return _contact_doc(contact, account)


def delete_contact(
    session: Session, account_ref: str, contact_ref: str, if_match: str | None, principal: Principal
) -> None:
    account = _find_account(session, account_ref, principal)
    _delete_child(session, _find_child(session, Contact, account, contact_ref, lock=True), account, if_match)


def _check_address(session: Session, account: Account, address: Address) -> None:
    """Keep the account's references unique and at most one default per kind.

    Callers hold the account row lock, so concurrent address writes of one account serialize."""
    if address.reference is not None:
        _refuse_taken(
            session,
            _duplicate("reference", f"the account already has an address '{address.reference}'"),
            Address.account_id == account.id,
            Address.reference == address.reference,
            Address.id != address.id,
        )
    if address.is_default:
        session.execute(
            update(Address)
            .where(
                Address.account_id == account.id,
                Address.kind == address.kind,
                Address.is_default.is_(True),
                Address.id != address.id,
            )
            .values(is_default=False, version=Address.version + 1, updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )


def create_address(session: Session, account_ref: str, data: AddressIn, principal: Principal) -> Doc:
    account = _find_account(session, account_ref, principal, lock=True)
    now = clock.now()
    address = Address(
        **data.model_dump(), id=new_id(), account_id=account.id, version=1, created_at=now, updated_at=now
    )
    _check_address(session, account, address)
    session.add(address)
    session.flush()
    doc = _address_doc(address, account)
    _emit(session, "address.created", f"address/{address.id}", doc)
    return doc


def get_address(session: Session, account_ref: str, address_ref: str, principal: Principal) -> Doc:
    account = _find_account(session, account_ref, principal)
    return _address_doc(_find_child(session, Address, account, address_ref), account)


def list_addresses(
    session: Session, account_ref: str, principal: Principal, kind: str | None, limit: int, cursor: str | None
) -> Doc:
    account = _find_account(session, account_ref, principal)
    stmt = select(Address).where(Address.account_id == account.id)
    if kind:
        stmt = stmt.where(Address.kind == kind)
    rows, ids = _list_children(session, stmt, Address, limit, cursor)
    return page([_address_doc(a, account) for a in rows], ids, limit)


def update_address(
    session: Session, account_ref: str, address_ref: str, patch: AddressPatch, if_match: str | None,
    principal: Principal,
) -> Doc:
    account = _find_account(session, account_ref, principal, lock=True)
    address = _find_child(session, Address, account, address_ref, lock=True)
    if apply_changes(address, patch.model_dump(include=patch.model_fields_set), if_match):
        _check_address(session, account, address)
        _emit(session, "address.updated", f"address/{address.id}", _address_doc(address, account))
    return _address_doc(address, account)


def delete_address(
    session: Session, account_ref: str, address_ref: str, if_match: str | None, principal: Principal
) -> None:
    account = _find_account(session, account_ref, principal, lock=True)
    _delete_child(session, _find_child(session, Address, account, address_ref, lock=True), account, if_match)


def contact_roles(session: Session, principal: Principal) -> frozenset[str]:
    """The buyer roles of the contact behind the principal's key, read now (a role taken away
    counts at once); empty for keys that name no contact."""
    if principal.contact_id is None:
        return frozenset()
    roles = session.execute(select(Contact.roles).where(Contact.id == principal.contact_id)).scalar_one_or_none()
    return frozenset(roles or ())


def may_buy(session: Session, principal: Principal) -> bool:
    """Keys that name no contact buy as before; a contact buys only with the buyer role."""
    return principal.contact_id is None or "buyer" in contact_roles(session, principal)


# ----------------------------------------------------------------------------------------------
# API keys: the secret is returned once by `create_api_key` and never stored or listed


def _key_doc(k: ApiKey, account: str | None) -> Doc:
    return {
        "id": k.id,
        "name": k.name,
        "role": k.role,
        "account": account,
        "contact": k.contact_id,
        "hint": k.hint,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
    }


def create_api_key(session: Session, data: ApiKeyIn, *, actor: Principal | str) -> tuple[Doc, str]:
    """A new key and its secret; a buyer key must be scoped to an account, an admin key may not."""
    account_id = None
    if data.account is not None:
        if data.role is Role.ADMIN:
            raise ValidationFailed([FieldError("account", "an admin key cannot be scoped to an account")])
        account_id = session.execute(select(Account.id).where(Account.number == data.account)).scalar_one_or_none()
        if account_id is None:
            raise ValidationFailed([FieldError("account", f"no account '{data.account}'")])
    elif data.role is Role.BUYER:
        raise ValidationFailed([FieldError("account", "is required for role buyer")])
    if data.contact is not None:
        if data.role is not Role.BUYER:
            raise ValidationFailed([FieldError("contact", "only a buyer key is used by a contact")])
        known = session.execute(
            select(Contact.id).where(Contact.id == data.contact, Contact.account_id == account_id)
        ).first()
        if known is None:
            raise ValidationFailed([FieldError("contact", f"no contact {data.contact} of account '{data.account}'")])
    row, secret = create_key(
        session, name=data.name, role=data.role, account_id=account_id, contact_id=data.contact
    )
    doc = _key_doc(row, data.account)
    audit.record(session, actor=actor, action=audit.Action.API_KEY_CREATED, subject=_key_subject(row),
                 after={k: doc[k] for k in ("name", "role", "account", "contact")})
    return doc, secret


def _key_docs(session: Session, keys: list[ApiKey]) -> list[Doc]:
    numbers = _numbers(session, {k.account_id for k in keys})
    return [_key_doc(k, numbers.get(k.account_id)) for k in keys]


def list_api_keys(
    session: Session, role: str | None, revoked: bool | None, limit: int, cursor: str | None
) -> Doc:
    stmt = select(ApiKey)
    if role:
        stmt = stmt.where(ApiKey.role == role)
    if revoked is not None:
        stmt = stmt.where(ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None))
    keys = list(session.scalars(paginate(stmt, ApiKey.id, limit, cursor)).all())
    return page(_key_docs(session, keys), [k.id for k in keys], limit)


def _find_key(session: Session, ref: str, *, lock: bool = False) -> ApiKey:
    ident = parse_id(ref)
    stmt = select(ApiKey).where(ApiKey.id == ident)
    key = session.scalars(stmt.with_for_update() if lock else stmt).first() if ident else None
    if key is None:
        raise NotFound("API key not found")
    return key


def get_api_key(session: Session, ref: str) -> Doc:
    return _key_docs(session, [_find_key(session, ref)])[0]


def _key_subject(key: ApiKey) -> audit.Subject:
    return audit.Subject("api_key", key.id, key.account_id)


def revoke_api_key(session: Session, ref: str, *, actor: Principal | str) -> None:
    """Revoke a key (again: no change). The last active unscoped admin key stays, so that
    someone can still manage keys; the caller clears the key cache after commit."""
    key = _find_key(session, ref, lock=True)
    if key.revoked_at is not None:
        return
    if key.role == Role.ADMIN.value and key.account_id is None:
        admins = select(ApiKey.id).where(
            ApiKey.role == Role.ADMIN.value, ApiKey.account_id.is_(None), ApiKey.revoked_at.is_(None)
        )
        others = session.execute(admins.where(ApiKey.id != key.id).with_for_update()).all()
        if not others:
            raise LastAdminKey(
                "this is the last active admin key; create another admin key before revoking it",
            )
    key.revoked_at = clock.now()
    audit.record(session, actor=actor, action=audit.Action.API_KEY_REVOKED, subject=_key_subject(key),
                 before={"revoked_at": None}, after={"revoked_at": key.revoked_at})
