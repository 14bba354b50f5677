"""B2B buying: buyer roles on contacts, contacts on API keys, approval rules and requests, quotes

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approval_rule',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('skus', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind <> 'restricted_products' OR skus IS NOT NULL", name=op.f('ck_approval_rule_skus')),
    sa.CheckConstraint("kind = 'monthly_spend' OR contact_id IS NULL", name=op.f('ck_approval_rule_contact')),
    sa.CheckConstraint("kind = 'restricted_products' OR (amount >= 0 AND currency IS NOT NULL)", name=op.f('ck_approval_rule_amount')),
    sa.CheckConstraint("kind IN ('order_total', 'monthly_spend', 'restricted_products')", name=op.f('ck_approval_rule_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_approval_rule_account_id_account')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_approval_rule_contact_id_contact')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_rule'))
    )
    with op.batch_alter_table('approval_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_rule_account_id'), ['account_id'], unique=False)

    op.create_table('approval_request',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('buyer_contact_id', sa.Uuid(), nullable=True),
    sa.Column('requested_by', sa.String(length=120), nullable=True),
    sa.Column('requested_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_by_contact_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_approval_request_status')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_approval_request_account_id_account')),
    sa.ForeignKeyConstraint(['buyer_contact_id'], ['contact.id'], name=op.f('fk_approval_request_buyer_contact_id_contact')),
    sa.ForeignKeyConstraint(['decided_by_contact_id'], ['contact.id'], name=op.f('fk_approval_request_decided_by_contact_id_contact')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_approval_request_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_request')),
    sa.UniqueConstraint('order_summary_id', name=op.f('uq_approval_request_order_summary_id'))
    )
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.create_index('ix_approval_request_account', ['account_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_approval_request_status', ['status', 'id'], unique=False)

    op.create_table('quote',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('channel_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.String(length=2000), nullable=True),
    sa.Column('agent_note', sa.String(length=2000), nullable=True),
    sa.Column('requested_by_contact_id', sa.Uuid(), nullable=True),
    sa.Column('shipping_charge', sa.BigInteger(), nullable=False),
    sa.Column('total_product_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('valid_until', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('priced_by', sa.String(length=120), nullable=True),
    sa.Column('priced_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_summary_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'requested', 'priced', 'sent', 'accepted', 'rejected', 'expired')", name=op.f('ck_quote_status')),
    sa.CheckConstraint('shipping_charge >= 0', name=op.f('ck_quote_shipping_charge')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_quote_account_id_account')),
    sa.ForeignKeyConstraint(['channel_id'], ['sales_channel.id'], name=op.f('fk_quote_channel_id_sales_channel')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_quote_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['requested_by_contact_id'], ['contact.id'], name=op.f('fk_quote_requested_by_contact_id_contact')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote')),
    sa.UniqueConstraint('number', name=op.f('uq_quote_number')),
    sa.UniqueConstraint('order_summary_id', name=op.f('uq_quote_order_summary_id'))
    )
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.create_index('ix_quote_account', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_quote_expiry', ['status', 'valid_until'], unique=False)

    op.create_table('quote_line',
    sa.Column('quote_id', sa.Uuid(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('price_source', sa.String(length=10), nullable=True),
    sa.Column('line_amount', sa.BigInteger(), nullable=True),
    sa.Column('adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('adjustments', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("price_source IS NULL OR price_source IN ('catalog', 'agent')", name=op.f('ck_quote_line_price_source')),
    sa.CheckConstraint('adjustment_amount <= 0', name=op.f('ck_quote_line_adjustment_amount')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_quote_line_quantity')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_quote_line_product_id_product')),
    sa.ForeignKeyConstraint(['quote_id'], ['quote.id'], name=op.f('fk_quote_line_quote_id_quote'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_line'))
    )
    with op.batch_alter_table('quote_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_line_quote_id'), ['quote_id'], unique=False)
        batch_op.create_index('uq_quote_line_number', ['quote_id', 'line_number'], unique=True)

    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_key_contact_id_contact'), 'contact', ['contact_id'], ['id'])

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        # Quote numbers may have gaps: a sequence, like order numbers (kernel.numbering).
        op.execute("CREATE SEQUENCE seq_quote")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE seq_quote")
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('roles')

    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_key_contact_id_contact'), type_='foreignkey')
        batch_op.drop_column('contact_id')

    with op.batch_alter_table('quote_line', schema=None) as batch_op:
        batch_op.drop_index('uq_quote_line_number')
        batch_op.drop_index(batch_op.f('ix_quote_line_quote_id'))

    op.drop_table('quote_line')
    with op.batch_alter_table('quote', schema=None) as batch_op:
        batch_op.drop_index('ix_quote_expiry')
        batch_op.drop_index('ix_quote_account')

    op.drop_table('quote')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_request_status')
        batch_op.drop_index('ix_approval_request_account')

    op.drop_table('approval_request')
    with op.batch_alter_table('approval_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_rule_account_id'))

    op.drop_table('approval_rule')
