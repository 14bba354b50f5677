"""pricing: price books with dated entries and volume tiers, contract book assignments,
promotions with their limits, coupons

Written by hand (only the pricing tables), matching `ordino.pricing.models`;
tests/test_migrations.py checks that the migrated schema equals the models.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALIDITY = 'valid_from IS NULL OR valid_to IS NULL OR valid_to > valid_from'


def upgrade() -> None:
    op.create_table('price_book',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('is_standard', sa.Boolean(), nullable=False),
    sa.Column('valid_from', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind = 'list' OR NOT is_standard", name=op.f('ck_price_book_standard_is_list')),
    sa.CheckConstraint("kind IN ('list', 'contract')", name=op.f('ck_price_book_kind')),
    sa.CheckConstraint(VALIDITY, name=op.f('ck_price_book_validity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_book')),
    sa.UniqueConstraint('code', name=op.f('uq_price_book_code'))
    )
    with op.batch_alter_table('price_book', schema=None) as batch_op:
        batch_op.create_index('uq_price_book_standard', ['currency'], unique=True, postgresql_where=sa.text('is_standard'), sqlite_where=sa.text('is_standard'))

    op.create_table('price_book_account',
    sa.Column('price_book_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('assigned_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_price_book_account_account_id_account')),
    sa.ForeignKeyConstraint(['price_book_id'], ['price_book.id'], name=op.f('fk_price_book_account_price_book_id_price_book'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('price_book_id', 'account_id', name=op.f('pk_price_book_account'))
    )
    with op.batch_alter_table('price_book_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_book_account_account_id'), ['account_id'], unique=False)

    op.create_table('price_book_entry',
    sa.Column('price_book_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('unit_price', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('valid_from', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_price_book_entry_unit_price')),
    sa.CheckConstraint(VALIDITY, name=op.f('ck_price_book_entry_validity')),
    sa.ForeignKeyConstraint(['price_book_id'], ['price_book.id'], name=op.f('fk_price_book_entry_price_book_id_price_book'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sku'], ['product.sku'], name=op.f('fk_price_book_entry_sku_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_book_entry'))
    )
    with op.batch_alter_table('price_book_entry', schema=None) as batch_op:
        batch_op.create_index('ix_price_book_entry_lookup', ['price_book_id', 'sku'], unique=False)

    op.create_table('price_book_tier',
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('from_quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.CheckConstraint('from_quantity >= 2', name=op.f('ck_price_book_tier_from_quantity')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_price_book_tier_unit_price')),
    sa.ForeignKeyConstraint(['entry_id'], ['price_book_entry.id'], name=op.f('fk_price_book_tier_entry_id_price_book_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', 'from_quantity', name=op.f('pk_price_book_tier'))
    )

    op.create_table('promotion',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('percentage', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('amount', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('min_subtotal', sa.BigInteger(), nullable=True),
    sa.Column('buy_quantity', sa.Integer(), nullable=True),
    sa.Column('get_quantity', sa.Integer(), nullable=True),
    sa.Column('get_sku', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('stackable', sa.Boolean(), nullable=False),
    sa.Column('requires_coupon', sa.Boolean(), nullable=False),
    sa.Column('valid_from', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind <> 'amount' OR (amount > 0 AND currency IS NOT NULL)", name=op.f('ck_promotion_amount')),
    sa.CheckConstraint("kind <> 'buy_x_get_y' OR (level = 'line' AND buy_quantity >= 1 AND get_quantity >= 1)", name=op.f('ck_promotion_buy_x_get_y')),
    sa.CheckConstraint("kind <> 'percentage' OR percentage > 0", name=op.f('ck_promotion_percentage')),
    sa.CheckConstraint("kind IN ('percentage', 'amount', 'buy_x_get_y')", name=op.f('ck_promotion_kind')),
    sa.CheckConstraint("level IN ('line', 'order')", name=op.f('ck_promotion_level')),
    sa.CheckConstraint('min_subtotal IS NULL OR (min_subtotal >= 0 AND currency IS NOT NULL)', name=op.f('ck_promotion_min_subtotal')),
    sa.CheckConstraint(VALIDITY, name=op.f('ck_promotion_validity')),
    sa.ForeignKeyConstraint(['get_sku'], ['product.sku'], name=op.f('fk_promotion_get_sku_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion')),
    sa.UniqueConstraint('code', name=op.f('uq_promotion_code'))
    )

    op.create_table('promotion_account',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_promotion_account_account_id_account')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_account_promotion_id_promotion'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', 'account_id', name=op.f('pk_promotion_account'))
    )
    with op.batch_alter_table('promotion_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_account_account_id'), ['account_id'], unique=False)

    op.create_table('promotion_channel',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('channel_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['sales_channel.id'], name=op.f('fk_promotion_channel_channel_id_sales_channel')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_channel_promotion_id_promotion'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('promotion_id', 'channel_id', name=op.f('pk_promotion_channel'))
    )

    op.create_table('promotion_sku',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_promotion_sku_promotion_id_promotion'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sku'], ['product.sku'], name=op.f('fk_promotion_sku_sku_product')),
    sa.PrimaryKeyConstraint('promotion_id', 'sku', name=op.f('pk_promotion_sku'))
    )

    op.create_table('coupon',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('usage_limit', sa.Integer(), nullable=True),
    sa.Column('times_used', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('times_used >= 0', name=op.f('ck_coupon_times_used')),
    sa.CheckConstraint('usage_limit IS NULL OR times_used <= usage_limit', name=op.f('ck_coupon_usage_limit')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], name=op.f('fk_coupon_promotion_id_promotion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon')),
    sa.UniqueConstraint('code', name=op.f('uq_coupon_code'))
    )
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_promotion_id'), ['promotion_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_promotion_id'))
    op.drop_table('coupon')
    op.drop_table('promotion_sku')
    op.drop_table('promotion_channel')
    with op.batch_alter_table('promotion_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotion_account_account_id'))
    op.drop_table('promotion_account')
    op.drop_table('promotion')
    op.drop_table('price_book_tier')
    with op.batch_alter_table('price_book_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_price_book_entry_lookup')
    op.drop_table('price_book_entry')
    with op.batch_alter_table('price_book_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_book_account_account_id'))
    op.drop_table('price_book_account')
    with op.batch_alter_table('price_book', schema=None) as batch_op:
        batch_op.drop_index('uq_price_book_standard', postgresql_where=sa.text('is_standard'), sqlite_where=sa.text('is_standard'))
    op.drop_table('price_book')
