"""Payment methods of accounts (gateway tokens, invoice terms) and order payment summaries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.money import is_currency
from ordino.payments import domain
from ordino.payments.errors import PaymentSummaryMismatch
from ordino.payments.models import OrderPaymentSummary, PaymentMethod

S = OrderPaymentSummary


@dataclass(frozen=True, slots=True)
class MethodSpec:
    method: str  # card | wallet | invoice
    gateway: str | None = None
    token: str | None = None
    terms: str | None = None
    card_brand: str | None = None  # printed on invoices: the card's network …
    card_last4: str | None = None  # … and its last four digits (EN 16931 BT-87)


def dialect_insert(session: Session, model: Any) -> Any:
    """INSERT with ON CONFLICT, for the session's database."""
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def check_token(token: str, field: str = "token") -> None:
    if domain.looks_like_card_data(token):
        # the value is neither echoed nor stored
        raise ValidationFailed([FieldError(field, "must be a gateway token; card data is never accepted")])


def ensure_method(session: Session, account_id: uuid.UUID, spec: MethodSpec) -> tuple[uuid.UUID, bool]:
    """The account's payment method for `spec`, created when new; returns (id, created)."""
    terms = spec.terms
    if spec.method in domain.TOKEN_METHODS:
        errors = [FieldError(name, "is required") for name in ("gateway", "token") if not getattr(spec, name)]
        if errors:
            raise ValidationFailed(errors)
        assert spec.token is not None
        check_token(spec.token)
    elif spec.method == "invoice":
        terms = terms or domain.DEFAULT_TERMS
        if domain.parse_terms(terms) is None:
            raise ValidationFailed([FieldError("terms", "must be due_on_receipt, net_<days>, net_<days>_eom or eom")])
    else:
        raise ValidationFailed([FieldError("method", f"must be one of {', '.join(domain.METHODS)}")])
    token_method = spec.method != "invoice"
    gateway, token = (spec.gateway, spec.token) if token_method else (None, None)
    terms = None if token_method else terms
    row = {
        "id": new_id(),
        "account_id": account_id,
        "method": spec.method,
        "gateway": gateway,
        "token": token,
        "terms": terms,
        "fingerprint": domain.fingerprint(spec.method, gateway, token, terms),
        "card_brand": spec.card_brand if token_method else None,
        "card_last4": spec.card_last4 if token_method else None,
        "created_at": clock.now(),
    }
    created = session.execute(
        dialect_insert(session, PaymentMethod)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["account_id", "fingerprint"])
        .returning(PaymentMethod.id)
    ).first()
    if created is not None:
        return created.id, True
    found = session.execute(
        select(PaymentMethod.id).where(
            PaymentMethod.account_id == account_id, PaymentMethod.fingerprint == row["fingerprint"]
        )
    ).scalar_one()
    if token_method and spec.card_last4:
        # The same token is the same card: details given later fill in what an earlier order left out.
        session.execute(update(PaymentMethod).where(PaymentMethod.id == found)
                        .values(card_brand=spec.card_brand, card_last4=spec.card_last4))
    return found, False


def ensure_summary(
    session: Session, order_summary_id: uuid.UUID, account_id: uuid.UUID, payment_method_id: uuid.UUID, currency: str
) -> uuid.UUID:
    """The order payment summary of (order, method), created with zero amounts when new."""
    if not is_currency(currency):
        raise ValidationFailed([FieldError("currency", "must be an active ISO 4217 currency")])
    now = clock.now()
    session.execute(
        dialect_insert(session, S)
        .values(
            id=new_id(), order_summary_id=order_summary_id, account_id=account_id,
            payment_method_id=payment_method_id, currency=currency, authorized_amount=0, captured_amount=0,
            refunded_amount=0, pending_capture_amount=0, pending_refund_amount=0, pending_reverse_auth_amount=0,
            created_at=now, updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["order_summary_id", "payment_method_id"])
    )
    row = session.execute(
        select(S.id, S.currency, S.account_id).where(
            S.order_summary_id == order_summary_id, S.payment_method_id == payment_method_id
        )
    ).one()
    if row.currency != currency or row.account_id != account_id:
        raise PaymentSummaryMismatch(
            f"the order's payments with this method are in {row.currency}, not {currency}"
            if row.currency != currency else "the payment summary belongs to another account",
        )
    return uuid.UUID(str(row.id))


