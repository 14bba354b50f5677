"""How payments reacts to events. Payments may not import orders: it reads the event's data.

`order.created` carries (besides `id`, `currency` and `grand_total`) the account id and the
payment instructions given at intake:

    {"id": "<order summary id>", "account_id": "<uuid>", "currency": "EUR", "grand_total": "30.00",
     "payments": [{"method": "card", "gateway": "simulator", "token": "tok_visa", "amount": null},
                  {"method": "invoice", "terms": "net_30"}]}

For every instruction the handler makes the payment method and the order payment summary; a
card or wallet is authorized at its gateway for its amount (an instruction without an amount
takes what the others leave of the grand total). Declines and unusable instructions produce a
`payment.authorization_failed` event (the flows capability turns them into process exceptions);
a gateway that does not answer raises, so the worker retries the event later and the pending
authorization is settled with the same idempotency key.

The handler begins every authorization in the worker's transaction and returns the rest to
the payment orchestrator (kernel.worker.AfterCommit): once that transaction commits, the
gateways are called with none open, and the authorizations are settled in a last transaction
that also emits the failures and writes the handler's receipt.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from ordino.kernel.errors import Problem
from ordino.kernel.money import MoneyError, format_minor, parse_amount
from ordino.kernel.outbox import emit
from ordino.kernel.worker import AfterCommit, Event, Handler, Registration
from ordino.payments import domain, orchestrator, service
from ordino.payments.gateway import Gateways
from ordino.payments.service import Intent, MethodSpec

log = logging.getLogger("ordino.payments")
AUTHORIZATION_FAILED = "payment.authorization_failed"
NAME = "payments.authorize_order"
ACTOR = "system:order.created"


def _failure(order: dict[str, Any], index: int, instruction: dict[str, Any], code: str, message: str,
             amount: int | None = None, **extra: Any) -> dict[str, Any]:
    currency = order["currency"]
    return {
        "order_summary_id": order["id"],
        "account_id": order.get("account_id"),
        "payment_index": index,
        "method": instruction.get("method"),
        "gateway": instruction.get("gateway"),
        "amount": None if amount is None else format_minor(amount, currency),
        "currency": currency,
        "code": code,
        "message": message,
        **extra,
    }


def _amount(value: Any, currency: str) -> int | None:
    if value is None:
        return None
    return parse_amount(Decimal(str(value)), currency)


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _begin_one(
    session: Session, adapters: Gateways, data: dict[str, Any], index: int, instruction: dict[str, Any], amount: int
) -> Intent | dict[str, Any] | None:
    """One payment instruction of an order: the authorization begun, the failure to announce, or
    None when there is nothing to authorize (invoice terms, a zero amount)."""
    order_id, account_id = uuid.UUID(str(data["id"])), uuid.UUID(str(data["account_id"]))
    currency = str(data["currency"])
    method = str(instruction.get("method"))
    if method == "invoice":
        terms = instruction.get("terms") or domain.DEFAULT_TERMS
        if domain.parse_terms(terms) is None:
            return _failure(data, index, instruction, "invalid_terms", f"unknown payment terms '{terms}'")
        method_id, _ = service.ensure_method(session, account_id, MethodSpec("invoice", terms=terms))
        service.ensure_summary(session, order_id, account_id, method_id, currency)
        return None
    token = str(instruction.get("token") or "")
    gateway = str(instruction.get("gateway") or "")
    if method not in domain.TOKEN_METHODS or not token or domain.looks_like_card_data(token):
        # never echo the token: it might be card data
        return _failure(data, index, {"method": method, "gateway": gateway}, "invalid_token",
                        "the payment instruction has no usable gateway token", amount)
    if gateway not in adapters:
        return _failure(data, index, instruction, "unknown_gateway",
                        f"no payment gateway named '{gateway}' is configured", amount)
    spec = MethodSpec(method, gateway, token, card_brand=_text(instruction.get("card_brand")),
                      card_last4=_text(instruction.get("card_last4")))
    if amount == 0:
        method_id, _ = service.ensure_method(session, account_id, spec)
        service.ensure_summary(session, order_id, account_id, method_id, currency)
        return None
    try:
        with session.begin_nested():  # a refusal undoes only this instruction's writes
            return service.begin_authorization(
                session, adapters, order_summary_id=order_id, account_id=account_id, currency=currency,
                amount_minor=amount, method=spec, actor=ACTOR,
                idempotency_key=f"{data.get('authorization_key') or f'order/{order_id}'}/payments/{index}/authorize",
            )
    except Problem as problem:  # retrying the event would not change it
        return _failure(data, index, instruction, problem.slug, problem.detail, amount)


def make_order_created_handler(gateways: Gateways | Callable[[], Gateways]) -> Handler:
    """The `order.created` handler with these gateway adapters (or a factory of them)."""

    def handle(session: Session, event: Event) -> AfterCommit | None:
        data = event.data
        instructions = data.get("payments")
        if not instructions:
            return None  # nothing to pay at a gateway, or an event from before payments existed
        adapters = gateways() if callable(gateways) else gateways
        currency = str(data["currency"])
        subject = f"order/{data['id']}"
        try:
            total = _amount(data["grand_total"], currency) or 0
            given = [_amount(i.get("amount"), currency) for i in instructions]
        except (MoneyError, ArithmeticError, ValueError):
            emit(session, AUTHORIZATION_FAILED, subject,
                 _failure(data, 0, {}, "invalid_amount", "the order's payment amounts are not valid amounts"))
            return None
        split = domain.split_total(total, given)
        if split.error:
            emit(session, AUTHORIZATION_FAILED, subject, _failure(data, 0, {}, "amount_exceeds_total", split.error))
            return None
        # Failures found before any gateway call are emitted last, with the handler's receipt,
        # so that a retried event does not announce them twice.
        later: list[dict[str, Any]] = []
        begun: list[tuple[int, dict[str, Any], int, Intent]] = []
        for index, (instruction, amount) in enumerate(zip(instructions, split.amounts, strict=True)):
            outcome = _begin_one(session, adapters, data, index, instruction, amount)
            if isinstance(outcome, Intent):
                begun.append((index, instruction, amount, outcome))
            elif outcome is not None:
                later.append(outcome)
        if split.uncovered:
            later.append(_failure(data, len(instructions), {}, "not_covered",
                                  "the payment instructions do not cover the order total", split.uncovered))

        def settle(s: Session, answers: orchestrator.Answers) -> None:
            declined = {m.payment_id: m for m in answers.settlements if m.settled_now and m.status == "declined"}
            for index, instruction, amount, intent in begun:
                if (m := declined.get(intent.payment_id)) is not None:
                    emit(s, AUTHORIZATION_FAILED, subject, _failure(
                        data, index, instruction, m.code or "declined", m.message or "declined", amount,
                        payment_id=str(m.payment_id),
                    ))
            if answers.complete:  # else the event is retried, and the retry announces them
                for failure in later:
                    emit(s, AUTHORIZATION_FAILED, subject, failure)

        work = orchestrator.Begun([intent for *_, intent in begun], settle)
        return orchestrator.settle_now_or_later(session, adapters, work, actor=ACTOR)

    return handle


def authorize_order_payments(gateways: Gateways | Callable[[], Gateways]) -> Registration:
    """For flows/registry.py, after routing: a gateway that is down then delays only the payment."""
    return Registration(NAME, make_order_created_handler(gateways))


def authorize_added_items(gateways: Gateways | Callable[[], Gateways]) -> Registration:
    """`order.items_added` (the data of `order.created`, with the added amount as `grand_total`
    and an `authorization_key` of its own): the difference is authorized next to the first
    authorization, which stays as it is."""
    return Registration("payments.authorize_added_items", make_order_created_handler(gateways))
