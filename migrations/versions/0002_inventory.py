"""inventory: location groups, daily capacity, positions, futures, reservations, imports;
product.backorder_policy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backorder_policy', sa.String(length=10), server_default='deny', nullable=False))
        batch_op.create_check_constraint(op.f('ck_product_backorder_policy'), "backorder_policy IN ('deny', 'backorder')")

    op.create_table('inventory_import',
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_applied', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('rows_failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("format IN ('csv', 'ndjson')", name=op.f('ck_inventory_import_format')),
    sa.CheckConstraint("status IN ('running', 'completed', 'failed')", name=op.f('ck_inventory_import_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_import'))
    )
    op.create_table('inventory_record',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('applied_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_inventory_record'))
    )
    op.create_table('location_group',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location_group')),
    sa.UniqueConstraint('code', name=op.f('uq_location_group_code'))
    )
    op.create_table('inventory_import_error',
    sa.Column('import_id', sa.Uuid(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['inventory_import.id'], name=op.f('fk_inventory_import_error_import_id_inventory_import'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_import_error'))
    )
    with op.batch_alter_table('inventory_import_error', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_import_error_import', ['import_id', 'row_number'], unique=False)

    op.create_table('inventory_position',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('on_hand', sa.BigInteger(), nullable=False),
    sa.Column('reserved', sa.BigInteger(), nullable=False),
    sa.Column('safety_stock', sa.BigInteger(), nullable=False),
    sa.Column('futures', sa.BigInteger(), nullable=False),
    sa.Column('backordered', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('backordered >= 0', name=op.f('ck_inventory_position_backordered')),
    sa.CheckConstraint('futures >= 0', name=op.f('ck_inventory_position_futures')),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_inventory_position_on_hand')),
    sa.CheckConstraint('reserved >= 0', name=op.f('ck_inventory_position_reserved')),
    sa.CheckConstraint('safety_stock >= 0', name=op.f('ck_inventory_position_safety_stock')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_inventory_position_location_id_location')),
    sa.ForeignKeyConstraint(['sku'], ['product.sku'], name=op.f('fk_inventory_position_sku_product')),
    sa.PrimaryKeyConstraint('sku', 'location_id', name=op.f('pk_inventory_position'))
    )
    with op.batch_alter_table('inventory_position', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_position_backordered', ['sku', 'location_id'], unique=False, postgresql_where=sa.text('backordered > 0'), sqlite_where=sa.text('backordered > 0'))
        batch_op.create_index(batch_op.f('ix_inventory_position_location_id'), ['location_id'], unique=False)

    op.create_table('inventory_reservation',
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('open_quantity', sa.BigInteger(), nullable=False),
    sa.Column('backordered_quantity', sa.BigInteger(), nullable=False),
    sa.Column('fulfilled_quantity', sa.BigInteger(), nullable=False),
    sa.Column('released_quantity', sa.BigInteger(), nullable=False),
    sa.Column('transferred_quantity', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expires_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('transferred_from_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("(status = 'active') = (open_quantity > 0)", name=op.f('ck_inventory_reservation_open_when_active')),
    sa.CheckConstraint("status IN ('active', 'fulfilled', 'released', 'expired', 'transferred')", name=op.f('ck_inventory_reservation_status')),
    sa.CheckConstraint('backordered_quantity >= 0 AND backordered_quantity <= open_quantity', name=op.f('ck_inventory_reservation_backordered')),
    sa.CheckConstraint('open_quantity >= 0 AND fulfilled_quantity >= 0 AND released_quantity >= 0 AND transferred_quantity >= 0', name=op.f('ck_inventory_reservation_buckets')),
    sa.CheckConstraint('quantity = open_quantity + fulfilled_quantity + released_quantity + transferred_quantity', name=op.f('ck_inventory_reservation_balance')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_inventory_reservation_quantity')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_inventory_reservation_location_id_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reservation'))
    )
    with op.batch_alter_table('inventory_reservation', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_reservation_expiry', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'active' AND expires_at IS NOT NULL"), sqlite_where=sa.text("status = 'active' AND expires_at IS NOT NULL"))
        batch_op.create_index('ix_inventory_reservation_position', ['sku', 'location_id', 'status'], unique=False)
        batch_op.create_index('ix_inventory_reservation_reference', ['reference', 'sku'], unique=False)

    op.create_table('location_capacity',
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('units_per_day', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('units_per_day >= 0', name=op.f('ck_location_capacity_units_per_day')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_capacity_location_id_location')),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_location_capacity'))
    )
    op.create_table('location_capacity_day',
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.CheckConstraint('capacity IS NULL OR capacity >= 0', name=op.f('ck_location_capacity_day_capacity')),
    sa.CheckConstraint('confirmed >= 0', name=op.f('ck_location_capacity_day_confirmed')),
    sa.CheckConstraint('held >= 0', name=op.f('ck_location_capacity_day_held')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_capacity_day_location_id_location')),
    sa.PrimaryKeyConstraint('location_id', 'day', name=op.f('pk_location_capacity_day'))
    )
    op.create_table('location_group_member',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['location_group.id'], name=op.f('fk_location_group_member_group_id_location_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_group_member_location_id_location')),
    sa.PrimaryKeyConstraint('group_id', 'location_id', name=op.f('pk_location_group_member'))
    )
    with op.batch_alter_table('location_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_group_member_location_id'), ['location_id'], unique=False)

    op.create_table('inventory_future',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('expected_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_inventory_future_quantity')),
    sa.ForeignKeyConstraint(['sku', 'location_id'], ['inventory_position.sku', 'inventory_position.location_id'], name='fk_inventory_future_position'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_future')),
    sa.UniqueConstraint('sku', 'location_id', 'expected_on', name=op.f('uq_inventory_future_sku_location_id_expected_on'))
    )


def downgrade() -> None:
    op.drop_table('inventory_future')
    with op.batch_alter_table('location_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_group_member_location_id'))

    op.drop_table('location_group_member')
    op.drop_table('location_capacity_day')
    op.drop_table('location_capacity')
    with op.batch_alter_table('inventory_reservation', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_reservation_reference')
        batch_op.drop_index('ix_inventory_reservation_position')
        batch_op.drop_index('ix_inventory_reservation_expiry', postgresql_where=sa.text("status = 'active' AND expires_at IS NOT NULL"), sqlite_where=sa.text("status = 'active' AND expires_at IS NOT NULL"))

    op.drop_table('inventory_reservation')
    with op.batch_alter_table('inventory_position', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_position_location_id'))
        batch_op.drop_index('ix_inventory_position_backordered', postgresql_where=sa.text('backordered > 0'), sqlite_where=sa.text('backordered > 0'))

    op.drop_table('inventory_position')
    with op.batch_alter_table('inventory_import_error', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_import_error_import')

    op.drop_table('inventory_import_error')
    op.drop_table('location_group')
    op.drop_table('inventory_record')
    op.drop_table('inventory_import')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_product_backorder_policy'), type_='check')
        batch_op.drop_column('backorder_policy')
