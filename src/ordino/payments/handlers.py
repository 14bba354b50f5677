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

The handler runs in the worker's transaction, and commits it between the steps of each
authorization (payments.service.execute), so no transaction is open during a gateway call.
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
from ordino.kernel.worker import Event, Handler, Registration
from ordino.payments import domain, service
from ordino.payments.gateway import Gateways, gateways_from_env
from ordino.payments.service import MethodSpec

log = logging.getLogger("ordino.payments")
AUTHORIZATION_FAILED = "payment.authorization_failed"

_default_gateways: Gateways | None = None


def default_gateways() -> Gateways:
    global _default_gateways
    if _default_gateways is None:
        _default_gateways = gateways_from_env()
    return _default_gateways


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


def make_order_created_handler(gateways: Gateways | Callable[[], Gateways]) -> Handler:
    """The `order.created` handler with these gateway adapters (or a factory of them)."""

    def handle(session: Session, event: Event) -> None:
        data = event.data
        instructions = data.get("payments")
        if not instructions:
            return  # nothing to pay at a gateway, or an event from before payments existed
        adapters = gateways() if callable(gateways) else gateways
        order_id = uuid.UUID(str(data["id"]))
        account_id = uuid.UUID(str(data["account_id"]))
        currency = str(data["currency"])
        subject = f"order/{order_id}"
        # Failures found before any gateway call are emitted last, with the handler's receipt,
        # so that a retried event does not announce them twice.
        later: list[dict[str, Any]] = []
        try:
            total = _amount(data["grand_total"], currency) or 0
            given = [_amount(i.get("amount"), currency) for i in instructions]
        except (MoneyError, ArithmeticError, ValueError):
            emit(session, AUTHORIZATION_FAILED, subject,
                 _failure(data, 0, {}, "invalid_amount", "the order's payment amounts are not valid amounts"))
            return
        split = domain.split_total(total, given)
        if split.error:
            emit(session, AUTHORIZATION_FAILED, subject, _failure(data, 0, {}, "amount_exceeds_total", split.error))
            return
        for index, (instruction, amount) in enumerate(zip(instructions, split.amounts, strict=True)):
            method = str(instruction.get("method"))
            if method == "invoice":
                terms = instruction.get("terms") or domain.DEFAULT_TERMS
                if domain.parse_terms(terms) is None:
                    message = f"unknown payment terms '{terms}'"
                    later.append(_failure(data, index, instruction, "invalid_terms", message))
                    continue
                method_id, _ = service.ensure_method(session, account_id, MethodSpec("invoice", terms=terms))
                service.ensure_summary(session, order_id, account_id, method_id, currency)
                continue
            token = str(instruction.get("token") or "")
            gateway = str(instruction.get("gateway") or "")
            if method not in domain.TOKEN_METHODS or not token or domain.looks_like_card_data(token):
                # never echo the token: it might be card data
                later.append(_failure(data, index, {"method": method, "gateway": gateway}, "invalid_token",
                                      "the payment instruction has no usable gateway token", amount))
                continue
            if gateway not in adapters:
                later.append(_failure(data, index, instruction, "unknown_gateway",
                                      f"no payment gateway named '{gateway}' is configured", amount))
                continue
            spec = MethodSpec(method, gateway, token)
            if amount == 0:
                method_id, _ = service.ensure_method(session, account_id, spec)
                service.ensure_summary(session, order_id, account_id, method_id, currency)
                continue
            actor = "system:order.created"
            try:
                with session.begin_nested():  # a refusal undoes only this instruction's writes
                    intent = service.begin_authorization(
                        session, adapters, order_summary_id=order_id, account_id=account_id, currency=currency,
                        amount_minor=amount, method=spec, actor=actor,
                        idempotency_key=f"order/{order_id}/payments/{index}/authorize",
                    )
            except Problem as problem:  # retrying the event would not change it
                later.append(_failure(data, index, instruction, problem.slug, problem.detail, amount))
                continue
            settled = service.execute(session, adapters, intent, actor)
            if settled.settled_now and settled.status == "declined":
                emit(session, AUTHORIZATION_FAILED, subject, _failure(
                    data, index, instruction, settled.code or "declined", settled.message or "declined", amount,
                    payment_id=str(settled.payment_id),
                ))
        if split.uncovered:
            later.append(_failure(data, len(instructions), {}, "not_covered",
                                  "the payment instructions do not cover the order total", split.uncovered))
        for failure in later:
            emit(session, AUTHORIZATION_FAILED, subject, failure)

    return handle


on_order_created = make_order_created_handler(default_gateways)
# For flows/registry.py, after routing: a gateway that is down then delays only the payment.
AUTHORIZE_ORDER_PAYMENTS = Registration("payments.authorize_order", on_order_created)
