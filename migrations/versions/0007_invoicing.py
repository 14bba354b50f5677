"""invoicing: invoices, credit memos, remittances and their applications; account payment terms and credit limits

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('remittance',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_remittance_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_remittance_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance')),
    sa.UniqueConstraint('account_id', 'reference', name=op.f('uq_remittance_account_id_reference'))
    )
    with op.batch_alter_table('remittance', schema=None) as batch_op:
        batch_op.create_index('ix_remittance_account', ['account_id', 'id'], unique=False)

    op.create_table('credit_memo',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('issued_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('credit_memo_date', sa.Date(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('not_charged_amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_amount', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('closed', 'open', 'partially_refunded')", name=op.f('ck_credit_memo_status')),
    sa.CheckConstraint('refunded_amount >= 0 AND not_charged_amount >= 0 AND balance_amount >= 0 AND balance_amount = total_amount - refunded_amount - not_charged_amount', name=op.f('ck_credit_memo_balance')),
    sa.CheckConstraint('total_amount = net_amount + tax_amount AND total_amount > 0', name=op.f('ck_credit_memo_total')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_credit_memo_account_id_account')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_credit_memo_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_memo')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_memo_number'))
    )
    with op.batch_alter_table('credit_memo', schema=None) as batch_op:
        batch_op.create_index('ix_credit_memo_account_status', ['account_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_credit_memo_order', ['order_summary_id', 'id'], unique=False)
        batch_op.create_index('ix_credit_memo_status', ['status', 'id'], unique=False)

    op.create_table('credit_memo_change_order',
    sa.Column('change_order_id', sa.Uuid(), nullable=False),
    sa.Column('credit_memo_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['change_order_id'], ['change_order.id'], name=op.f('fk_credit_memo_change_order_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['credit_memo.id'], name=op.f('fk_credit_memo_change_order_credit_memo_id_credit_memo')),
    sa.PrimaryKeyConstraint('change_order_id', name=op.f('pk_credit_memo_change_order'))
    )
    with op.batch_alter_table('credit_memo_change_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_memo_change_order_credit_memo_id'), ['credit_memo_id'], unique=False)

    op.create_table('refund_application',
    sa.Column('credit_memo_id', sa.Uuid(), nullable=True),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('capture_id', sa.Uuid(), nullable=False),
    sa.Column('refund_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('applied_at', ordino.kernel.types.UTCDateTime(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("source IN ('unapplied', 'applied')", name=op.f('ck_refund_application_source')),
    sa.CheckConstraint("status IN ('pending', 'applied', 'failed')", name=op.f('ck_refund_application_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_application_amount')),
    sa.ForeignKeyConstraint(['capture_id'], ['payment.id'], name=op.f('fk_refund_application_capture_id_payment')),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['credit_memo.id'], name=op.f('fk_refund_application_credit_memo_id_credit_memo')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_refund_application_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['refund_id'], ['payment.id'], name=op.f('fk_refund_application_refund_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_application')),
    sa.UniqueConstraint('refund_id', name=op.f('uq_refund_application_refund_id'))
    )
    with op.batch_alter_table('refund_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_application_capture_id'), ['capture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_application_credit_memo_id'), ['credit_memo_id'], unique=False)
        batch_op.create_index('ix_refund_application_order', ['order_summary_id', 'status'], unique=False)

    op.create_table('credit_memo_line',
    sa.Column('credit_memo_id', sa.Uuid(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('change_order_id', sa.Uuid(), nullable=False),
    sa.Column('change_order_item_id', sa.Uuid(), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('line_amount', sa.BigInteger(), nullable=False),
    sa.Column('adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('invoiced', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("type IN ('product', 'delivery_charge', 'fee')", name=op.f('ck_credit_memo_line_type')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_credit_memo_line_quantity')),
    sa.ForeignKeyConstraint(['change_order_id'], ['change_order.id'], name=op.f('fk_credit_memo_line_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['change_order_item_id'], ['change_order_item.id'], name=op.f('fk_credit_memo_line_change_order_item_id_change_order_item')),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['credit_memo.id'], name=op.f('fk_credit_memo_line_credit_memo_id_credit_memo')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_credit_memo_line_order_item_summary_id_order_item_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_memo_line')),
    sa.UniqueConstraint('change_order_item_id', name=op.f('uq_credit_memo_line_change_order_item_id')),
    sa.UniqueConstraint('credit_memo_id', 'line_number', name=op.f('uq_credit_memo_line_credit_memo_id_line_number'))
    )
    with op.batch_alter_table('credit_memo_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_memo_line_order_item_summary_id'), ['order_item_summary_id'], unique=False)

    op.create_table('credit_memo_line_adjustment',
    sa.Column('credit_memo_line_id', sa.Uuid(), nullable=False),
    sa.Column('adjustment_line_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['adjustment_line_id'], ['order_item_adjustment_line.id'], name=op.f('fk_credit_memo_line_adjustment_adjustment_line_id_order_item_adjustment_line')),
    sa.ForeignKeyConstraint(['credit_memo_line_id'], ['credit_memo_line.id'], name=op.f('fk_credit_memo_line_adjustment_credit_memo_line_id_credit_memo_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_memo_line_adjustment'))
    )
    with op.batch_alter_table('credit_memo_line_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_memo_line_adjustment_credit_memo_line_id'), ['credit_memo_line_id'], unique=False)

    op.create_table('credit_memo_line_tax',
    sa.Column('credit_memo_line_id', sa.Uuid(), nullable=False),
    sa.Column('tax_line_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rate', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('category', sa.String(length=10), nullable=True),
    sa.Column('jurisdiction', sa.String(length=100), nullable=True),
    sa.Column('exemption_reason_code', sa.String(length=30), nullable=True),
    sa.Column('taxable_amount', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['credit_memo_line_id'], ['credit_memo_line.id'], name=op.f('fk_credit_memo_line_tax_credit_memo_line_id_credit_memo_line')),
    sa.ForeignKeyConstraint(['tax_line_id'], ['order_item_tax_line.id'], name=op.f('fk_credit_memo_line_tax_tax_line_id_order_item_tax_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_memo_line_tax'))
    )
    with op.batch_alter_table('credit_memo_line_tax', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_memo_line_tax_credit_memo_line_id'), ['credit_memo_line_id'], unique=False)

    op.create_table('invoice',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('fulfillment_order_id', sa.Uuid(), nullable=True),
    sa.Column('shipment_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('po_number', sa.String(length=100), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('issued_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('supply_date', sa.Date(), nullable=True),
    sa.Column('payment_terms', sa.String(length=40), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('applied_amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_amount', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind = 'fee' OR shipment_id IS NOT NULL", name=op.f('ck_invoice_shipment')),
    sa.CheckConstraint("kind IN ('shipment', 'fee')", name=op.f('ck_invoice_kind')),
    sa.CheckConstraint("status IN ('cancelled', 'open', 'paid', 'partially_paid')", name=op.f('ck_invoice_status')),
    sa.CheckConstraint('applied_amount >= 0 AND balance_amount >= 0 AND balance_amount = total_amount - applied_amount', name=op.f('ck_invoice_balance')),
    sa.CheckConstraint('total_amount = net_amount + tax_amount AND total_amount >= 0', name=op.f('ck_invoice_total')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_invoice_account_id_account')),
    sa.ForeignKeyConstraint(['fulfillment_order_id'], ['fulfillment_order.id'], name=op.f('fk_invoice_fulfillment_order_id_fulfillment_order')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_invoice_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], name=op.f('fk_invoice_shipment_id_shipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number')),
    sa.UniqueConstraint('shipment_id', name=op.f('uq_invoice_shipment_id'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_account_status', ['account_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_invoice_order', ['order_summary_id', 'id'], unique=False)
        batch_op.create_index('ix_invoice_status', ['status', 'id'], unique=False)

    op.create_table('invoice_line',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=True),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('line_amount', sa.BigInteger(), nullable=False),
    sa.Column('adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("type = 'fee' OR order_item_summary_id IS NOT NULL", name=op.f('ck_invoice_line_item')),
    sa.CheckConstraint("type IN ('product', 'delivery_charge', 'fee')", name=op.f('ck_invoice_line_type')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_invoice_line_quantity')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_invoice_line_order_item_summary_id_order_item_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'line_number', name=op.f('uq_invoice_line_invoice_id_line_number'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_order_item_summary_id'), ['order_item_summary_id'], unique=False)

    op.create_table('payment_application',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('payment_id', sa.Uuid(), nullable=True),
    sa.Column('remittance_id', sa.Uuid(), nullable=True),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('applied_at', ordino.kernel.types.UTCDateTime(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("remittance_id IS NULL OR status = 'applied'", name=op.f('ck_payment_application_remittance_status')),
    sa.CheckConstraint("status IN ('pending', 'applied', 'failed')", name=op.f('ck_payment_application_status')),
    sa.CheckConstraint('(payment_id IS NULL) <> (remittance_id IS NULL)', name=op.f('ck_payment_application_source')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_application_amount')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_payment_application_account_id_account')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_application_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_payment_application_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_payment_application_payment_id_payment')),
    sa.ForeignKeyConstraint(['remittance_id'], ['remittance.id'], name=op.f('fk_payment_application_remittance_id_remittance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_application')),
    sa.UniqueConstraint('invoice_id', 'payment_id', name=op.f('uq_payment_application_invoice_id_payment_id')),
    sa.UniqueConstraint('invoice_id', 'remittance_id', name=op.f('uq_payment_application_invoice_id_remittance_id'))
    )
    with op.batch_alter_table('payment_application', schema=None) as batch_op:
        batch_op.create_index('ix_payment_application_invoice', ['invoice_id', 'id'], unique=False)
        batch_op.create_index('ix_payment_application_order', ['order_summary_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_application_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_application_remittance_id'), ['remittance_id'], unique=False)

    op.create_table('invoice_line_adjustment',
    sa.Column('invoice_line_id', sa.Uuid(), nullable=False),
    sa.Column('adjustment_line_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['adjustment_line_id'], ['order_item_adjustment_line.id'], name=op.f('fk_invoice_line_adjustment_adjustment_line_id_order_item_adjustment_line')),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_line.id'], name=op.f('fk_invoice_line_adjustment_invoice_line_id_invoice_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line_adjustment'))
    )
    with op.batch_alter_table('invoice_line_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_adjustment_adjustment_line_id'), ['adjustment_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_line_adjustment_invoice_line_id'), ['invoice_line_id'], unique=False)

    op.create_table('invoice_line_tax',
    sa.Column('invoice_line_id', sa.Uuid(), nullable=False),
    sa.Column('tax_line_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rate', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('category', sa.String(length=10), nullable=True),
    sa.Column('jurisdiction', sa.String(length=100), nullable=True),
    sa.Column('exemption_reason_code', sa.String(length=30), nullable=True),
    sa.Column('taxable_amount', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_line.id'], name=op.f('fk_invoice_line_tax_invoice_line_id_invoice_line')),
    sa.ForeignKeyConstraint(['tax_line_id'], ['order_item_tax_line.id'], name=op.f('fk_invoice_line_tax_tax_line_id_order_item_tax_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line_tax'))
    )
    with op.batch_alter_table('invoice_line_tax', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_tax_invoice_line_id'), ['invoice_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_line_tax_tax_line_id'), ['tax_line_id'], unique=False)

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('credit_limit_amount', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('credit_limit_currency', sa.String(length=3), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f('ck_account_credit_limit'),
            '(credit_limit_amount IS NULL) = (credit_limit_currency IS NULL)'
            ' AND (credit_limit_amount IS NULL OR credit_limit_amount >= 0)',
        )


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_credit_limit'), type_='check')
        batch_op.drop_column('credit_limit_currency')
        batch_op.drop_column('credit_limit_amount')
        batch_op.drop_column('payment_terms')

    with op.batch_alter_table('invoice_line_tax', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_tax_tax_line_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_line_tax_invoice_line_id'))

    op.drop_table('invoice_line_tax')
    with op.batch_alter_table('invoice_line_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_adjustment_invoice_line_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_line_adjustment_adjustment_line_id'))

    op.drop_table('invoice_line_adjustment')
    with op.batch_alter_table('payment_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_application_remittance_id'))
        batch_op.drop_index(batch_op.f('ix_payment_application_payment_id'))
        batch_op.drop_index('ix_payment_application_order')
        batch_op.drop_index('ix_payment_application_invoice')

    op.drop_table('payment_application')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_order_item_summary_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_status')
        batch_op.drop_index('ix_invoice_order')
        batch_op.drop_index('ix_invoice_account_status')

    op.drop_table('invoice')
    with op.batch_alter_table('credit_memo_line_tax', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_memo_line_tax_credit_memo_line_id'))

    op.drop_table('credit_memo_line_tax')
    with op.batch_alter_table('credit_memo_line_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_memo_line_adjustment_credit_memo_line_id'))

    op.drop_table('credit_memo_line_adjustment')
    with op.batch_alter_table('credit_memo_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_memo_line_order_item_summary_id'))

    op.drop_table('credit_memo_line')
    with op.batch_alter_table('refund_application', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_application_order')
        batch_op.drop_index(batch_op.f('ix_refund_application_credit_memo_id'))
        batch_op.drop_index(batch_op.f('ix_refund_application_capture_id'))

    op.drop_table('refund_application')
    with op.batch_alter_table('credit_memo_change_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_memo_change_order_credit_memo_id'))

    op.drop_table('credit_memo_change_order')
    with op.batch_alter_table('credit_memo', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_memo_status')
        batch_op.drop_index('ix_credit_memo_order')
        batch_op.drop_index('ix_credit_memo_account_status')

    op.drop_table('credit_memo')
    with op.batch_alter_table('remittance', schema=None) as batch_op:
        batch_op.drop_index('ix_remittance_account')

    op.drop_table('remittance')
