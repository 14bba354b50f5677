"""credit applications: a credit memo applied to the order's open invoices

A credit memo's invoiced part that was never paid (an order on invoice terms whose invoice is
still open) is applied to the open invoice: a `payment_application` row whose source is the
credit memo (`credit_memo_id`), and the credit memo's `applied_amount`, which its balance now
subtracts. Existing credit memos applied nothing.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_SOURCE = (
    "(CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN remittance_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN credit_memo_id IS NULL THEN 0 ELSE 1 END) = 1"
)
BALANCE = (
    "refunded_amount >= 0 AND not_charged_amount >= 0 AND applied_amount >= 0 AND balance_amount >= 0"
    " AND balance_amount = total_amount - refunded_amount - not_charged_amount - applied_amount"
)
OLD_BALANCE = (
    "refunded_amount >= 0 AND not_charged_amount >= 0 AND balance_amount >= 0"
    " AND balance_amount = total_amount - refunded_amount - not_charged_amount"
)


def upgrade() -> None:
    with op.batch_alter_table('credit_memo') as batch:
        batch.add_column(sa.Column('applied_amount', sa.BigInteger(), nullable=False, server_default='0'))
        batch.drop_constraint(batch.f('ck_credit_memo_balance'), type_='check')
        batch.create_check_constraint('balance', BALANCE)
    with op.batch_alter_table('payment_application') as batch:
        batch.add_column(sa.Column('credit_memo_id', sa.Uuid(), nullable=True))
        batch.create_foreign_key(batch.f('fk_payment_application_credit_memo_id_credit_memo'), 'credit_memo',
                                 ['credit_memo_id'], ['id'])
        batch.create_index(batch.f('ix_payment_application_credit_memo_id'), ['credit_memo_id'], unique=False)
        batch.create_unique_constraint(batch.f('uq_payment_application_invoice_id_credit_memo_id'),
                                       ['invoice_id', 'credit_memo_id'])
        batch.drop_constraint(batch.f('ck_payment_application_source'), type_='check')
        batch.create_check_constraint('source', ONE_SOURCE)
        batch.create_check_constraint('credit_memo_status', "credit_memo_id IS NULL OR status = 'applied'")


def downgrade() -> None:
    applied = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM payment_application WHERE credit_memo_id IS NOT NULL")).scalar_one()
    if applied:  # the schema before could not say what lowered those invoices' balances
        raise RuntimeError(f"{applied} credit memo applications to invoices exist; 0016 cannot record them")
    with op.batch_alter_table('payment_application') as batch:
        batch.drop_constraint(batch.f('ck_payment_application_credit_memo_status'), type_='check')
        batch.drop_constraint(batch.f('ck_payment_application_source'), type_='check')
        batch.create_check_constraint('source', '(payment_id IS NULL) <> (remittance_id IS NULL)')
        batch.drop_constraint(batch.f('uq_payment_application_invoice_id_credit_memo_id'), type_='unique')
        batch.drop_index(batch.f('ix_payment_application_credit_memo_id'))
        batch.drop_constraint(batch.f('fk_payment_application_credit_memo_id_credit_memo'), type_='foreignkey')
        batch.drop_column('credit_memo_id')
    with op.batch_alter_table('credit_memo') as batch:
        batch.drop_constraint(batch.f('ck_credit_memo_balance'), type_='check')
        batch.create_check_constraint('balance', OLD_BALANCE)
        batch.drop_column('applied_amount')
