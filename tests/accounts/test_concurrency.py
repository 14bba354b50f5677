"""Concurrent writes to accounts and addresses, proven on PostgreSQL with parallel connections."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from ordino.accounts import service
from ordino.accounts.models import Account, Address
from ordino.accounts.schemas import AccountIn, AccountPatch, AddressIn
from ordino.kernel.auth import Principal, Role
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from tests import factories

ADMIN = Principal(uuid.uuid4(), "test", Role.ADMIN)
THREADS = 8


@pytest.fixture
def pg(db: Database) -> Database:
    if db.dialect != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    return db


def _race(db: Database, works: list[Callable[[Any], object]]) -> Counter[str]:
    """Run each work in its own transaction and thread, released together; count the outcomes."""
    barrier = threading.Barrier(len(works))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(work: Callable[[Any], object]) -> None:
        barrier.wait()
        try:
            db.transaction(work)
            outcome = "ok"
        except Problem as exc:
            outcome = f"{exc.status} {exc.slug}"
        except Exception as exc:  # anything else would be a 500
            outcome = f"error {type(exc).__name__}"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(w,)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_same_version_patched_at_once_has_exactly_one_winner(pg: Database) -> None:
    # given an account at version 1
    factories.account(pg, "ACME", name="Before")
    # when eight clients change it at once, all holding version 1
    works = [
        (lambda s, n=n: service.update_account(s, "ACME", AccountPatch(name=f"By {n}"), '"1"', ADMIN))
        for n in range(THREADS)
    ]
    outcomes = _race(pg, works)
    # then one wins and seven get a version conflict; no update is lost silently
    assert outcomes == Counter({"ok": 1, "409 version-conflict": THREADS - 1})
    with pg.read() as s:
        assert s.execute(select(Account.version)).scalar_one() == 2


def test_same_number_created_at_once_is_one_account_and_409s(pg: Database) -> None:
    data = AccountIn(number="ACME", name="ACME GmbH", currency="EUR")
    outcomes = _race(pg, [lambda s: service.create_account(s, data, ADMIN)] * THREADS)
    assert outcomes == Counter({"ok": 1, "409 duplicate": THREADS - 1})
    with pg.read() as s:
        assert s.execute(select(Account.number)).scalars().all() == ["ACME"]


def test_defaults_created_at_once_leave_exactly_one_default(pg: Database) -> None:
    factories.account(pg, "ACME")

    def address(n: int) -> AddressIn:
        return AddressIn(reference=f"R{n}", name="Dock", line1="Street 1", city="Berlin", country="DE", is_default=True)

    works = [(lambda s, n=n: service.create_address(s, "ACME", address(n), ADMIN)) for n in range(THREADS)]
    assert _race(pg, works) == Counter({"ok": THREADS})
    with pg.read() as s:
        defaults = s.execute(select(Address.is_default)).scalars().all()
    assert sorted(defaults) == [False] * (THREADS - 1) + [True]


def test_opposite_moves_at_once_cannot_form_a_cycle(pg: Database) -> None:
    for round_ in range(5):
        # given two sibling accounts
        a, b = f"A{round_}", f"B{round_}"
        factories.account(pg, a)
        factories.account(pg, b)
        # when A is put under B and B under A at the same moment
        outcomes = _race(
            pg,
            [
                lambda s, a=a, b=b: service.update_account(s, a, AccountPatch(parent=b), '"1"', ADMIN),
                lambda s, a=a, b=b: service.update_account(s, b, AccountPatch(parent=a), '"1"', ADMIN),
            ],
        )
        # then one move happens and the other is refused
        assert outcomes == Counter({"ok": 1, "409 account-hierarchy-cycle": 1})
        with pg.read() as s:
            parents = s.execute(select(Account.parent_id).where(Account.number.in_([a, b]))).scalars().all()
        assert sorted(p is None for p in parents) == [False, True]
