"""Invoices, credit memos, remittances and how payments apply to them.

Amounts are integer minor units of the document's currency. Every document keeps its own totals
and balance, held by CHECK constraints (`balance = total − applied`), so open receivables are one
query: `SELECT account_id, SUM(balance_amount) FROM invoice WHERE status IN ('open',
'partially_paid') GROUP BY account_id`.

Lines keep what an EN 16931 renderer needs: SKU, name, quantity, unit price (`Decimal`), line,
adjustment, net and tax amounts, and their adjustments and tax lines (rate, category,
jurisdiction, exemption reason code, taxable amount).

Payments apply to invoices (`payment_application`: a capture of the payments engine, or a
remittance received for invoice terms); refunds apply to credit memos or to an order's excess
funds (`refund_application`). Applications of money still at the gateway are `pending` until the
gateway answers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordino.invoicing.domain import (
    APPLICATION_STATUSES,
    CREDIT_MEMO_STATUSES,
    INVOICE_KINDS,
    INVOICE_STATUSES,
    LINE_TYPES,
    REFUND_SOURCES,
)
from ordino.kernel.db import Base, IdMixin
from ordino.kernel.types import ExactDecimal, UTCDateTime


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Exactly one source: a capture, a remittance or a credit memo.
APPLICATION_SOURCE = (
    "(CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN remittance_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN credit_memo_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class Invoice(IdMixin, Base):
    """An amount to be paid: one per shipment of a fulfilment order, or a fee on an order."""

    __tablename__ = "invoice"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    fulfillment_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("fulfillment_order.id"))
    shipment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("shipment.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean)
    po_number: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    invoice_date: Mapped[date] = mapped_column(Date)
    supply_date: Mapped[date | None] = mapped_column(Date)  # when the goods shipped
    payment_terms: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[date] = mapped_column(Date)
    net_amount: Mapped[int] = mapped_column(BigInteger)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    applied_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_amount: Mapped[int] = mapped_column(BigInteger)
    # The last payment reminder announced for it overdue (invoicing.reminders); 0: none.
    reminder_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_invoice_order", "order_summary_id", "id"),
        Index("ix_invoice_due", "status", "due_date"),
        Index("ix_invoice_account_status", "account_id", "status", "id"),
        Index("ix_invoice_status", "status", "id"),
        CheckConstraint(_in("kind", INVOICE_KINDS), name="kind"),
        CheckConstraint(_in("status", INVOICE_STATUSES), name="status"),
        CheckConstraint("kind = 'fee' OR shipment_id IS NOT NULL", name="shipment"),
        CheckConstraint("total_amount = net_amount + tax_amount AND total_amount >= 0", name="total"),
        CheckConstraint(
            "applied_amount >= 0 AND balance_amount >= 0 AND balance_amount = total_amount - applied_amount",
            name="balance",
        ),
    )


class InvoiceLine(IdMixin, Base):
    __tablename__ = "invoice_line"

    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoice.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    order_item_summary_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("order_item_summary.id"), index=True
    )
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    line_amount: Mapped[int] = mapped_column(BigInteger)  # the share of the order line's amount
    adjustment_amount: Mapped[int] = mapped_column(BigInteger)  # its share of the line's discounts (≤ 0)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    net_amount: Mapped[int] = mapped_column(BigInteger)  # line + adjustments, without tax

    __table_args__ = (
        UniqueConstraint("invoice_id", "line_number"),
        CheckConstraint(_in("type", LINE_TYPES), name="type"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("type = 'fee' OR order_item_summary_id IS NOT NULL", name="item"),
    )


class InvoiceLineAdjustment(IdMixin, Base):
    __tablename__ = "invoice_line_adjustment"

    invoice_line_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoice_line.id"), index=True)
    adjustment_line_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("order_item_adjustment_line.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)


class InvoiceLineTax(IdMixin, Base):
    __tablename__ = "invoice_line_tax"

    invoice_line_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoice_line.id"), index=True)
    tax_line_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("order_item_tax_line.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    rate: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    category: Mapped[str | None] = mapped_column(String(10))
    jurisdiction: Mapped[str | None] = mapped_column(String(100))
    exemption_reason_code: Mapped[str | None] = mapped_column(String(30))
    taxable_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)


class CreditMemo(IdMixin, Base):
    """An amount owed back to the customer, for one or more change orders of one order."""

    __tablename__ = "credit_memo"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    credit_memo_date: Mapped[date] = mapped_column(Date)
    net_amount: Mapped[int] = mapped_column(BigInteger)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    # Settled by refunds, without one where the credit is for amounts never charged
    # (cancelled units that were never invoiced nor paid for), or by applying it to the order's
    # open invoices (invoiced amounts not paid yet, on invoice terms).
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    not_charged_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    balance_amount: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_credit_memo_order", "order_summary_id", "id"),
        Index("ix_credit_memo_account_status", "account_id", "status", "id"),
        Index("ix_credit_memo_status", "status", "id"),
        CheckConstraint(_in("status", CREDIT_MEMO_STATUSES), name="status"),
        CheckConstraint("total_amount = net_amount + tax_amount AND total_amount > 0", name="total"),
        CheckConstraint(
            "refunded_amount >= 0 AND not_charged_amount >= 0 AND applied_amount >= 0 AND balance_amount >= 0"
            " AND balance_amount = total_amount - refunded_amount - not_charged_amount - applied_amount",
            name="balance",
        ),
    )


class CreditMemoChangeOrder(Base):
    """Which change orders a credit memo credits; the key makes a change order credited once."""

    __tablename__ = "credit_memo_change_order"

    change_order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("change_order.id"), primary_key=True)
    credit_memo_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("credit_memo.id"), index=True)


class CreditMemoLine(IdMixin, Base):
    """A change order item, credited: positive amounts of what the change took off the order."""

    __tablename__ = "credit_memo_line"

    credit_memo_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("credit_memo.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    change_order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("change_order.id"))
    change_order_item_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("change_order_item.id"), unique=True)
    order_item_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_item_summary.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    line_amount: Mapped[int] = mapped_column(BigInteger)
    adjustment_amount: Mapped[int] = mapped_column(BigInteger)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    net_amount: Mapped[int] = mapped_column(BigInteger)
    # False for cancelled units: never shipped, so never invoiced (nor captured at shipment).
    invoiced: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint("credit_memo_id", "line_number"),
        CheckConstraint(_in("type", LINE_TYPES), name="type"),
        CheckConstraint("quantity >= 0", name="quantity"),
    )


class CreditMemoLineAdjustment(IdMixin, Base):
    __tablename__ = "credit_memo_line_adjustment"

    credit_memo_line_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("credit_memo_line.id"), index=True)
    adjustment_line_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("order_item_adjustment_line.id"))
    name: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)


class CreditMemoLineTax(IdMixin, Base):
    __tablename__ = "credit_memo_line_tax"

    credit_memo_line_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("credit_memo_line.id"), index=True)
    tax_line_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("order_item_tax_line.id"))
    name: Mapped[str] = mapped_column(String(200))
    rate: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    category: Mapped[str | None] = mapped_column(String(10))
    jurisdiction: Mapped[str | None] = mapped_column(String(100))
    exemption_reason_code: Mapped[str | None] = mapped_column(String(30))
    taxable_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)


class Remittance(IdMixin, Base):
    """A payment received from an account on invoice terms (a bank transfer, a cheque)."""

    __tablename__ = "remittance"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(100))
    received_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("account_id", "reference"),
        Index("ix_remittance_account", "account_id", "id"),
        CheckConstraint("amount > 0", name="amount"),
    )


class PaymentApplication(IdMixin, Base):
    """What is applied to an invoice: money (a capture, `payment_id`, or a remittance), or a credit
    memo of the order (`credit_memo_id`) crediting an invoice not paid yet."""

    __tablename__ = "payment_application"

    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoice.id"))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("payment.id"), index=True)
    remittance_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("remittance.id"), index=True)
    credit_memo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("credit_memo.id"), index=True)
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("account.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("invoice_id", "payment_id"),
        UniqueConstraint("invoice_id", "remittance_id"),
        UniqueConstraint("invoice_id", "credit_memo_id"),
        Index("ix_payment_application_invoice", "invoice_id", "id"),
        Index("ix_payment_application_order", "order_summary_id", "status"),
        CheckConstraint(APPLICATION_SOURCE, name="source"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint(_in("status", APPLICATION_STATUSES), name="status"),
        CheckConstraint("remittance_id IS NULL OR status = 'applied'", name="remittance_status"),
        CheckConstraint("credit_memo_id IS NULL OR status = 'applied'", name="credit_memo_status"),
    )


class RefundApplication(IdMixin, Base):
    """A refund made by invoicing: for a credit memo, or of an order's excess funds (no memo).

    `source` says which money it gave back: `unapplied` funds (captured and applied to no
    invoice) or `applied` funds (paid for an invoice whose goods the credit memo credits).
    """

    __tablename__ = "refund_application"

    credit_memo_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("credit_memo.id"), index=True)
    order_summary_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("order_summary.id"))
    capture_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payment.id"), index=True)
    refund_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payment.id"), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_refund_application_order", "order_summary_id", "status"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint(_in("source", REFUND_SOURCES), name="source"),
        CheckConstraint(_in("status", APPLICATION_STATUSES), name="status"),
    )
