"""`POST /orders` requests, combined: the orders a server process receives at the same moment are
placed in one transaction (`kernel.combining`).

One batch is one transaction: one statement claims every Idempotency-Key, the orders are placed
as one after the other would be, their rows written with one statement per table
(`intake.place_orders`), one statement stores every answer, and one COMMIT (one WAL flush) makes
them all durable. Each request gets the answer it would have got alone:
- a replay, or a key used with another body: its own answer, nothing run for it;
- an order whose channel reserves stock at intake runs in a transaction of its own, after the
  batch: its position rows must stay locked only from its reservation to its own COMMIT;
- if any order of the batch is refused (a 4xx raised after its rows were written) or anything
  else fails, the batch is rolled back and every order runs again alone, so each refusal is its
  own and nothing of it is kept;
- a retry whose Idempotency-Key an earlier request of the batch carries runs alone after the
  batch, and replays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import cast

from sqlalchemy.orm import Session

from ordino.inventory import sourcing
from ordino.kernel import idempotency
from ordino.kernel.auth import Principal
from ordino.kernel.combining import ALONE, Alone, run_combined
from ordino.kernel.db import Database
from ordino.kernel.errors import Problem
from ordino.kernel.http import dumps
from ordino.kernel.idempotency import Command, Outcome
from ordino.orders import intake
from ordino.orders.schemas import OrderIn

Result = Outcome | BaseException


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """One `POST /orders` request, its body validated."""

    command: Command
    principal: Principal
    order: OrderIn


def run_calls(
    db: Database, calls: Sequence[PlaceCall], alone: Callable[[Database, PlaceCall], Result] | None = None
) -> list[Result]:
    """Each call's outcome (status and body) or its problem. `alone` places a call in a
    transaction of its own (`place_alone`; a test may pass a wrapper to see which calls ran alone)."""
    return run_combined(db, calls, key=lambda c: c.command.identity(), together=_together,
                        alone=partial(alone or place_alone, db))


def work(order: OrderIn, principal: Principal, session: Session) -> tuple[int, bytes]:
    """Place one order: 201 with the new order, or 200 with the one placed earlier under the
    same (channel, external reference)."""
    return _answer(intake.place_order(session, order, principal))


def _answer(placed: intake.Placed) -> tuple[int, bytes]:
    return (201 if placed.created else 200), dumps(placed.document)


def place_alone(db: Database, call: PlaceCall) -> Result:
    """Place one call in a transaction of its own: its outcome or its problem."""
    try:
        return call.command.run(db, partial(work, call.order, call.principal))
    except Exception as exc:
        return exc


class _Refused(Exception):
    """An order of the batch was refused after it had written rows: the batch is rolled back."""


def _together(calls: Sequence[PlaceCall], session: Session) -> list[Result | Alone]:
    conn = session.connection()
    known, claims = idempotency.claim_each(conn, [call.command.claim for call in calls])
    out: list[Result | Alone | None] = list(known)
    waiting = {c.order.channel for c, o in zip(calls, out, strict=True) if o is None}
    reserving = sourcing.reserving_channels(session, waiting)
    for i, call in enumerate(calls):
        if out[i] is None and call.order.channel in reserving:
            out[i] = ALONE
            claims.pop(i, None)
    go = [i for i, o in enumerate(out) if o is None]
    try:
        placed = intake.place_orders(session, [(calls[i].order, calls[i].principal) for i in go],
                                     {code: sourcing.NONE for code in waiting - reserving})
    except Problem as refused:
        raise _Refused from refused
    answers = {i: _answer(p) for i, p in zip(go, placed, strict=True)}
    for i, answer in answers.items():
        out[i] = Outcome(*answer)
    keyed = [i for i in answers if i in claims]
    stored = idempotency.store_many(conn, [claims[i] for i in keyed], [answers[i] for i in keyed])
    if any(row_id is None for row_id in stored):  # a request with one of these keys committed first
        raise _Refused
    assert all(o is not None for o in out), "every call is answered"
    return cast(list[Result | Alone], out)
