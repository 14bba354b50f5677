"""servicing: return orders (RMA) with their lines, receipts and receipt lines

Written from the models; tests/test_migrations.py checks that the migrated schema equals them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('return_order',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('return_location_id', sa.Uuid(), nullable=True),
    sa.Column('label_carrier', sa.String(length=100), nullable=False),
    sa.Column('label_tracking_reference', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'approved', 'partially_received', 'received', 'closed', 'cancelled')", name=op.f('ck_return_order_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_return_order_account_id_account')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_return_order_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['return_location_id'], ['location.id'], name=op.f('fk_return_order_return_location_id_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_order')),
    sa.UniqueConstraint('number', name=op.f('uq_return_order_number'))
    )
    with op.batch_alter_table('return_order', schema=None) as batch_op:
        batch_op.create_index('ix_return_order_account', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_return_order_order', ['order_summary_id', 'id'], unique=False)

    op.create_table('return_receipt',
    sa.Column('return_order_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('change_order_id', sa.Uuid(), nullable=True),
    sa.Column('fee_change_order_id', sa.Uuid(), nullable=True),
    sa.Column('credit_memo_id', sa.Uuid(), nullable=True),
    sa.Column('restocking_fee_amount', sa.BigInteger(), nullable=False),
    sa.Column('return_shipping_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['change_order_id'], ['change_order.id'], name=op.f('fk_return_receipt_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['credit_memo_id'], ['credit_memo.id'], name=op.f('fk_return_receipt_credit_memo_id_credit_memo')),
    sa.ForeignKeyConstraint(['fee_change_order_id'], ['change_order.id'], name=op.f('fk_return_receipt_fee_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_return_receipt_location_id_location')),
    sa.ForeignKeyConstraint(['return_order_id'], ['return_order.id'], name=op.f('fk_return_receipt_return_order_id_return_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_receipt'))
    )
    with op.batch_alter_table('return_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_receipt_return_order_id'), ['return_order_id'], unique=False)

    op.create_table('return_order_line',
    sa.Column('return_order_id', sa.Uuid(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('quantity_expected', sa.Integer(), nullable=False),
    sa.Column('quantity_received', sa.Integer(), nullable=False),
    sa.Column('quantity_rejected', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity_received + quantity_rejected <= quantity_expected', name=op.f('ck_return_order_line_quantities')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_return_order_line_order_item_summary_id_order_item_summary')),
    sa.ForeignKeyConstraint(['return_order_id'], ['return_order.id'], name=op.f('fk_return_order_line_return_order_id_return_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_order_line')),
    sa.UniqueConstraint('return_order_id', 'line_number', name='uq_return_order_line_number')
    )
    op.create_table('return_receipt_line',
    sa.Column('return_receipt_id', sa.Uuid(), nullable=False),
    sa.Column('return_order_line_id', sa.Uuid(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('reason_for_rejection', sa.String(length=200), nullable=True),
    sa.Column('disposition', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("disposition IN ('restock', 'scrap', 'repair', 'return_to_vendor')", name=op.f('ck_return_receipt_line_disposition')),
    sa.ForeignKeyConstraint(['return_order_line_id'], ['return_order_line.id'], name=op.f('fk_return_receipt_line_return_order_line_id_return_order_line')),
    sa.ForeignKeyConstraint(['return_receipt_id'], ['return_receipt.id'], name=op.f('fk_return_receipt_line_return_receipt_id_return_receipt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_receipt_line'))
    )
    with op.batch_alter_table('return_receipt_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_receipt_line_return_receipt_id'), ['return_receipt_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('return_receipt_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_receipt_line_return_receipt_id'))

    op.drop_table('return_receipt_line')
    op.drop_table('return_order_line')
    with op.batch_alter_table('return_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_receipt_return_order_id'))

    op.drop_table('return_receipt')
    with op.batch_alter_table('return_order', schema=None) as batch_op:
        batch_op.drop_index('ix_return_order_order')
        batch_op.drop_index('ix_return_order_account')

    op.drop_table('return_order')
