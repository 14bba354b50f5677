"""`POST /reservations` requests, combined: the concurrent requests of a process reserve in one
transaction (`kernel.combining`).

One batch is one transaction: one statement claims every Idempotency-Key (try-locks and stored
answers), one validates every line, one writes every reservation row, one every event, one
stores every answer, then one conditional statement per position takes the stock of all of them
(`reserving.take_many`), and one COMMIT. Each request still gets exactly the answer it would have
got alone:
- a replay, an Idempotency-Key still in use or used with another body, a 422: its own answer,
  nothing written for it;
- a 409 `out-of-stock`: its rows, event and stored answer are deleted in the same transaction,
  so a refused key may be used again, as when it runs alone;
- stock is served first come, first served, in the order the requests reached the process;
- a request whose Idempotency-Key an earlier one in the batch carries (a client's retry) runs
  alone after the batch has committed: it replays the first one's answer, or is refused if its
  body differs.

If the batch fails as a whole (an unexpected error), every request in it runs again alone, so
one bad request never fails the others (`kernel.combining.run_combined`).

A reservation is held for an account (`account_for`): an order item's for its order's account,
a scoped key's cart hold for the key's account. Inventory reads no order table: whether a
reference is an order item, and whose, is answered by the function the composition root sets as
`app.state.item_accounts`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import cast

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ordino.inventory import reserving
from ordino.inventory.ledger import RES, Line
from ordino.inventory.reserving import Pending, Wanted
from ordino.kernel import clock, idempotency
from ordino.kernel.auth import Principal
from ordino.kernel.combining import run_combined
from ordino.kernel.db import Database
from ordino.kernel.errors import Conflict, NotFound
from ordino.kernel.http import dumps
from ordino.kernel.idempotency import Command, Outcome

CREATED = 201
R = RES.c

ItemAccounts = Callable[[Session, str], uuid.UUID | None]


def account_for(
    session: Session, reference: str, principal: Principal, item_accounts: ItemAccounts
) -> uuid.UUID | None:
    """The account new reservations of `reference` are held for: the order's when the reference
    is an order item, else the scoped key's (none for an unscoped key). A scoped key may not
    reserve under another account's order item, nor under a reference held for another account
    or for none: 404, as for a record it cannot see."""
    owner = item_accounts(session, reference)
    mine = principal.account_id
    if mine is None:
        return owner
    foreign = session.execute(
        select(R.id).where(R.reference == reference, or_(R.account_id.is_(None), R.account_id != mine)).limit(1)
    ).first()
    if (owner is not None and owner != mine) or foreign is not None:
        raise NotFound("reference not found")
    return mine


@dataclass(frozen=True, slots=True)
class ReserveCall:
    """One `POST /reservations` request, its body validated."""

    command: Command
    reference: str
    lines: list[Line]
    expires_at: datetime | None = None
    expires_in_seconds: int | None = None
    account_id: uuid.UUID | None = None  # the account the units are held for (`account_for`)

    def wanted(self, now: datetime) -> Wanted:
        expires_at = self.expires_at
        if self.expires_in_seconds is not None:
            expires_at = now + timedelta(seconds=self.expires_in_seconds)
        return Wanted(self.reference, self.lines, expires_at, account_id=self.account_id)


Result = Outcome | BaseException


def run_calls(db: Database, calls: Sequence[ReserveCall]) -> list[Result]:
    """Each call's outcome (status and body) or its problem."""
    return run_combined(db, calls, key=lambda c: c.command.identity(), together=_together, alone=partial(_alone, db))


def _answer(pending: Pending) -> bytes:
    return dumps({"reference": pending.docs[0]["reference"], "reservations": pending.docs})


def _alone(db: Database, call: ReserveCall) -> Result:
    def work(session: Session) -> idempotency.Deferred:
        wanted = call.wanted(clock.now())
        pending = reserving.prepare_reserve(
            session, call.reference, call.lines, wanted.expires_at, account_id=wanted.account_id
        )
        # Stock is taken last, after the stored answer: the positions stay locked only until COMMIT.
        return idempotency.Deferred(CREATED, _answer(pending), lambda: _answer(pending) if pending.take() else None)

    try:
        return call.command.run(db, work)
    except Exception as exc:
        return exc


def _together(calls: Sequence[ReserveCall], session: Session) -> list[Result]:
    conn = session.connection()
    known, claims = idempotency.claim_each(conn, [call.command.claim for call in calls])
    out: list[Result | None] = list(known)

    go = [i for i, o in enumerate(out) if o is None]
    now = clock.now()
    pendings: dict[int, Pending] = {}
    for i, prepared in zip(go, reserving.prepare_many(session, [calls[i].wanted(now) for i in go]), strict=True):
        if isinstance(prepared, Pending):
            pendings[i] = prepared
        else:
            out[i] = prepared
    bodies = {i: _answer(p) for i, p in pendings.items()}
    keyed = [i for i in pendings if i in claims]
    stored = idempotency.store_many(conn, [claims[i] for i in keyed], [(CREATED, bodies[i]) for i in keyed])
    rows: dict[int, uuid.UUID] = {}
    for i, row_id in zip(keyed, stored, strict=True):
        if row_id is None:
            out[i] = idempotency.in_progress(concurrent=True)
            pendings.pop(i).discard()
        else:
            rows[i] = row_id

    refused: list[uuid.UUID] = []
    for i, taken in zip(list(pendings), reserving.take_many(session, list(pendings.values())), strict=True):
        if isinstance(taken, Conflict):
            out[i] = taken
            if i in rows:
                refused.append(rows[i])
            continue
        body = bodies[i]
        if taken:  # some of it backordered: the rows and docs say so now
            body = _answer(pendings[i])
            if i in rows:
                idempotency.rewrite(conn, rows[i], body)
        out[i] = Outcome(CREATED, body)
    idempotency.forget(conn, refused)
    assert all(o is not None for o in out), "every call is answered"
    return cast(list[Result], out)
