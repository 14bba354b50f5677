"""audit.service.record: in the caller's transaction, so a rolled-back change leaves no entry;
the signature other capabilities call (data exports and erasures use it too)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.accounts import service as accounts
from ordino.accounts.models import Account
from ordino.accounts.schemas import AccountPatch, CreditLimitIn
from ordino.audit import service as audit
from ordino.audit.models import AuditHead
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from tests import factories
from tests.audit.conftest import log

ADMIN = Principal(uuid.UUID(int=7), "ops", Role.ADMIN)


class Refused(Exception):
    pass


def test_a_rolled_back_change_leaves_no_entry(db: Database) -> None:
    factories.account(db, "ACME")

    def change_then_fail(session: Session) -> None:
        patch = AccountPatch(credit_limit=CreditLimitIn(amount="5000", currency="EUR"))
        accounts.update_account(session, "ACME", patch, '"1"', ADMIN)
        raise Refused  # something later in the same transaction refuses

    # when the credit limit is changed in a transaction that then fails
    with pytest.raises(Refused):
        db.transaction(change_then_fail)
    # then neither the change nor its entry exists, and the chain has not moved
    with db.read() as s:
        assert s.execute(select(Account.credit_limit_amount)).scalar_one() is None
        assert s.execute(select(AuditHead.sequence)).scalar_one_or_none() in (None, 0)
    assert log(db) == []
    # and the next committed change is entry 1
    db.transaction(lambda s: accounts.update_account(
        s, "ACME", AccountPatch(credit_limit=CreditLimitIn(amount="10", currency="EUR")), '"1"', ADMIN))
    assert [(e["sequence"], e["after"]) for e in log(db)] == [(1, {"credit_limit": {"amount": "10.00",
                                                                                    "currency": "EUR"}})]


def test_record_takes_a_principal_or_a_named_actor_and_may_carry_no_change(db: Database) -> None:
    contact, account = uuid.uuid4(), uuid.uuid4()

    def work(session: Session) -> list[uuid.UUID | None]:
        return [
            audit.record(session, actor=ADMIN, action=audit.Action.DATA_EXPORTED,
                         subject=audit.Subject("contact", contact, account)),
            audit.record(session, actor="system:retention", action=audit.Action.DATA_ERASED,
                         subject=audit.Subject("contact", contact, account),
                         before={"email": "erased", "roles": ["buyer"]}, after={"email": "erased", "roles": []}),
            audit.record(session, actor=None, action=audit.Action.TAX_PROFILE_CHANGED,
                         subject=audit.Subject("tax_profile", account, account),
                         before={"business": True}, after={"business": True}),
        ]

    ids = db.transaction(work)
    # then the export and the erasure are recorded (only the changed field of the erasure); the
    # change that changed nothing is not
    assert ids[0] is not None and ids[1] is not None and ids[2] is None
    assert log(db) == [
        {"sequence": 1, "action": "data.exported", "actor": ("admin", "ops"),
         "subject": ("contact", str(contact), account), "before": None, "after": None},
        {"sequence": 2, "action": "data.erased", "actor": ("system", "retention"),
         "subject": ("contact", str(contact), account), "before": {"roles": ["buyer"]}, "after": {"roles": []}},
    ]


def test_floats_are_refused_and_nothing_is_written(db: Database) -> None:
    with pytest.raises(TypeError):
        db.transaction(lambda s: audit.record(s, actor=ADMIN, action=audit.Action.PRICE_CHANGED,
                                              subject=audit.Subject("price_book", uuid.uuid4()),
                                              before={"price": 1.5}, after={"price": 2.5}))
    assert log(db) == []
