"""The one place a money movement runs from begin to settlement, owning its transactions.

A gateway call is never made inside an open database transaction (after Stripe's "atomic
phases"):

1. begin (one transaction, committed): the caller's `begin` writes pending records with their
   amounts held (payments.steps `begin_*`) and its own bookkeeping (e.g. pending applications
   to an invoice), and answers `Begun`: the intents to send and how to settle them;
2. the gateway of every unsettled intent is called, with no transaction open;
3. settle (one transaction, committed): every answer is finished (payments.steps.finish), the
   calls of gateways that did not answer are logged, then the caller's `settle` runs.

When a gateway did not answer, step 3 still commits what did answer and the calls, then raises
`GatewayUnavailable`: the record stays pending with its amount held, and running the same
operation again (same idempotency key) calls the gateway with the same key and settles once.

Who completes the work decides how step 3 commits: `run` commits it plainly (invoicing's ensure
funds and refunds, the periodic jobs); `run_command` stores the API's answer under the
request's Idempotency-Key in it; a worker handler begins in the worker's own transaction and
returns `later(...)`, whose step 3 also writes the handler's receipt (kernel.worker.AfterCommit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from ordino.kernel.db import Database
from ordino.kernel.faults import crash_point
from ordino.kernel.http import dumps
from ordino.kernel.idempotency import Command, Outcome
from ordino.kernel.ids import new_id
from ordino.kernel.worker import AfterCommit
from ordino.payments import reads
from ordino.payments.errors import GatewayNotAnswering
from ordino.payments.gateway import GatewayResult, Gateways, GatewayUnavailable
from ordino.payments.steps import Intent, Settlement, call_gateway, finish, record_calls

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Answers:
    settlements: Sequence[Settlement]  # what step 3 settled now
    complete: bool  # every gateway answered; else step 3 commits, then GatewayUnavailable is raised


@dataclass(frozen=True, slots=True)
class Begun(Generic[T]):
    """What step 1 began: the intents to send (settled ones are skipped), and the caller's part
    of step 3, run after every answer is finished."""

    intents: Sequence[Intent]
    settle: Callable[[Session, Answers], T]

    @property
    def to_send(self) -> list[Intent]:
        return [i for i in self.intents if not i.settled]


def complete(
    db: Database, gateways: Gateways, begun: Begun[T], commit: Callable[[Callable[[Session], T]], R], *,
    actor: str | None = None,
) -> R:
    """Steps 2 and 3 of what step 1 began and committed; `commit` runs step 3 in one transaction."""
    answered: list[tuple[Intent, GatewayResult]] = []
    unanswered: list[tuple[Intent, GatewayUnavailable]] = []
    for intent in begun.to_send:
        crash_point(f"payments.{intent.operation}:before_gateway")
        try:
            answered.append((intent, call_gateway(gateways, intent)))
        except GatewayUnavailable as exc:
            unanswered.append((intent, exc))
        crash_point(f"payments.{intent.operation}:after_gateway_before_settle")

    def settle(session: Session) -> T:
        for intent, exc in unanswered:
            record_calls(session, intent.payment_id, intent.gateway, exc.calls)
        settlements = [finish(session, intent, result, actor) for intent, result in answered]
        return begun.settle(session, Answers(settlements, not unanswered))

    if unanswered:
        db.transaction(settle)  # what answered is settled and the calls are logged; the rest stays pending
        raise unanswered[0][1]
    return commit(settle)


def run(db: Database, gateways: Gateways, begin: Callable[[Session], Begun[T]], *, actor: str | None = None) -> T:
    """Begin, call the gateways, settle: three steps, each transaction committed here."""
    return complete(db, gateways, db.transaction(begin), db.transaction, actor=actor)


def later(gateways: Gateways, begun: Begun[T], *, actor: str | None = None) -> AfterCommit | None:
    """For a worker handler that began in the worker's transaction: None when nothing is left to
    send, else the steps after that transaction commits, whose last one also writes the receipt."""
    if not begun.to_send:
        return None

    def after(db: Database, last: Callable[[Session], None]) -> None:
        def with_receipt(work: Callable[[Session], T]) -> None:
            def unit(session: Session) -> None:
                work(session)
                last(session)

            db.transaction(unit)

        complete(db, gateways, begun, with_receipt, actor=actor)

    return AfterCommit(after)


def settle_now_or_later(
    session: Session, gateways: Gateways, begun: Begun[T], *, actor: str | None = None
) -> AfterCommit | None:
    """`later`; when no gateway needs to be called, step 3 runs now, in the handler's
    transaction, which writes the receipt."""
    after = later(gateways, begun, actor=actor)
    if after is None:
        begun.settle(session, Answers((), True))
    return after


def run_command(
    db: Database, gateways: Gateways, command: Command, begin: Callable[[Session, str], Intent], *,
    actor: str | None = None, then: Callable[[Session, Intent], object] | None = None,
) -> Outcome:
    """A money movement asked through the API, answered 201 with its payment record. `begin`
    gets the record's idempotency key, made of the API key's and the request's; step 3 runs
    `then` (the caller's bookkeeping of the settled record), stores the answer under the
    Idempotency-Key, and a key answered before replays without beginning anything. A gateway that
    does not answer is 502, the record staying pending."""
    with db.read() as session:
        answered = command.answered(session)
    if answered:
        return command.run(db, _replayed)
    key = f"api:{command.api_key_id}:{command.key}" if command.key is not None else f"api:{new_id()}"

    def step1(session: Session) -> Begun[tuple[int, bytes]]:
        intent = begin(session, key)

        def answer(s: Session, _answers: Answers) -> tuple[int, bytes]:
            if then is not None:
                then(s, intent)
            return 201, dumps(reads.get_payment(s, intent.payment_id))

        return Begun([intent], answer)

    begun = db.transaction(step1)
    try:
        return complete(db, gateways, begun, lambda work: command.run(db, work), actor=actor)
    except GatewayUnavailable:
        intent = begun.to_send[0]
        raise GatewayNotAnswering(
            f"the payment gateway did not answer; the {intent.operation} is pending. Send the same request"
            " with the same Idempotency-Key again to settle it.",
            extra={"payment_id": str(intent.payment_id)},
        ) from None


def run_then_answer(db: Database, command: Command, use_case: Callable[[], object],
                    answer: Callable[[Session], tuple[int, bytes]]) -> Outcome:
    """A use case that runs its own money movements (ensure funds, ensure refunds), asked through
    the API: its answer is stored under the Idempotency-Key once it is done, and a key answered
    before replays without running it again. It is idempotent anyway (its movements are keyed)."""
    with db.read() as session:
        answered = command.answered(session)
    if not answered:
        try:
            use_case()
        except GatewayUnavailable:
            raise GatewayNotAnswering(
                "the payment gateway did not answer; what it was asked is pending and is settled when the"
                " same request is sent again",
            ) from None
    return command.run(db, answer)


def _replayed(_session: Session) -> tuple[int, bytes]:
    raise AssertionError("a stored answer replays without running the work")
