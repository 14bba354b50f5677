"""fulfillment: channel routing policies, routing decisions and attempts, fulfillment orders with
their items, shipments with theirs; process exceptions (orders)

Written by hand (only these tables), matching `ordino.fulfillment.models` and
`ordino.orders.exception_models`; tests/test_migrations.py checks that the migrated schema equals
the models.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_routing_policy',
    sa.Column('channel_id', sa.Uuid(), nullable=False),
    sa.Column('max_splits', sa.Integer(), nullable=False),
    sa.Column('allow_partial', sa.Boolean(), nullable=False),
    sa.Column('excluded_locations', sa.JSON(), nullable=False),
    sa.Column('excluded_kinds', sa.JSON(), nullable=False),
    sa.Column('priorities', sa.JSON(), nullable=False),
    sa.Column('location_costs', sa.JSON(), nullable=False),
    sa.Column('respect_capacity', sa.Boolean(), nullable=False),
    sa.Column('prefer_overstock', sa.Boolean(), nullable=False),
    sa.Column('distance', sa.String(length=10), nullable=False),
    sa.Column('distance_weight', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('cost_weight', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('priority_weight', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('overstock_weight', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('search_budget', sa.Integer(), nullable=False),
    sa.Column('max_routing_attempts', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("distance IN ('shipment', 'unit')", name=op.f('ck_channel_routing_policy_distance')),
    sa.CheckConstraint('max_routing_attempts >= 0', name=op.f('ck_channel_routing_policy_max_routing_attempts')),
    sa.CheckConstraint('max_splits >= 1', name=op.f('ck_channel_routing_policy_max_splits')),
    sa.CheckConstraint('search_budget >= 1', name=op.f('ck_channel_routing_policy_search_budget')),
    sa.ForeignKeyConstraint(['channel_id'], ['sales_channel.id'], name=op.f('fk_channel_routing_policy_channel_id_sales_channel')),
    sa.PrimaryKeyConstraint('channel_id', name=op.f('pk_channel_routing_policy'))
    )
    op.create_table('process_exception',
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=4000), nullable=True),
    sa.Column('attached_to_type', sa.String(length=60), nullable=False),
    sa.Column('attached_to_id', sa.Uuid(), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=True),
    sa.Column('dedup_key', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("category IN ('fulfillment', 'payment', 'invoicing', 'order_activation', 'order_approval', 'inventory', 'other')", name=op.f('ck_process_exception_category')),
    sa.CheckConstraint("severity IN ('low', 'high')", name=op.f('ck_process_exception_severity')),
    sa.CheckConstraint("status IN ('new', 'triaged', 'paused', 'ignored', 'voided', 'resolved')", name=op.f('ck_process_exception_status')),
    sa.CheckConstraint('priority BETWEEN 1 AND 5', name=op.f('ck_process_exception_priority')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_process_exception_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_exception')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_process_exception_dedup_key'))
    )
    with op.batch_alter_table('process_exception', schema=None) as batch_op:
        batch_op.create_index('ix_process_exception_attached', ['attached_to_type', 'attached_to_id'], unique=False)
        batch_op.create_index('ix_process_exception_order', ['order_summary_id', 'id'], unique=False)
        batch_op.create_index('ix_process_exception_status', ['status', 'id'], unique=False)

    op.create_table('delivery_group_routing',
    sa.Column('delivery_group_id', sa.Uuid(), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('routing_attempts', sa.Integer(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('routing_attempts >= 0', name=op.f('ck_delivery_group_routing_routing_attempts')),
    sa.ForeignKeyConstraint(['delivery_group_id'], ['order_delivery_group_summary.id'], name=op.f('fk_delivery_group_routing_delivery_group_id_order_delivery_group_summary')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_delivery_group_routing_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('delivery_group_id', name=op.f('pk_delivery_group_routing'))
    )
    with op.batch_alter_table('delivery_group_routing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_group_routing_order_summary_id'), ['order_summary_id'], unique=False)

    op.create_table('routing_decision',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('delivery_group_id', sa.Uuid(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=30), nullable=False),
    sa.Column('excluded_locations', sa.JSON(), nullable=False),
    sa.Column('ship_to_point', sa.JSON(), nullable=True),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('routed_units', sa.BigInteger(), nullable=False),
    sa.Column('unroutable_units', sa.BigInteger(), nullable=False),
    sa.Column('optimal', sa.Boolean(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("trigger IN ('order_created', 'rejection', 'manual', 'stock_arrived')", name=op.f('ck_routing_decision_trigger')),
    sa.ForeignKeyConstraint(['delivery_group_id'], ['order_delivery_group_summary.id'], name=op.f('fk_routing_decision_delivery_group_id_order_delivery_group_summary')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_routing_decision_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_decision'))
    )
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.create_index('ix_routing_decision_order', ['order_summary_id', 'id'], unique=False)

    op.create_table('fulfillment_order',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('delivery_group_id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('routing_decision_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('capacity_day', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'allocated', 'assigned', 'picked', 'packed', 'partially_shipped', 'fulfilled', 'cancelled', 'rejected')", name=op.f('ck_fulfillment_order_status')),
    sa.ForeignKeyConstraint(['delivery_group_id'], ['order_delivery_group_summary.id'], name=op.f('fk_fulfillment_order_delivery_group_id_order_delivery_group_summary')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_fulfillment_order_location_id_location')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_fulfillment_order_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['routing_decision_id'], ['routing_decision.id'], name=op.f('fk_fulfillment_order_routing_decision_id_routing_decision')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_order')),
    sa.UniqueConstraint('number', name=op.f('uq_fulfillment_order_number'))
    )
    with op.batch_alter_table('fulfillment_order', schema=None) as batch_op:
        batch_op.create_index('ix_fulfillment_order_location', ['location_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_fulfillment_order_order', ['order_summary_id', 'id'], unique=False)
        batch_op.create_index('ix_fulfillment_order_status', ['status', 'id'], unique=False)

    op.create_table('fulfillment_order_item',
    sa.Column('fulfillment_order_id', sa.Uuid(), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('quantity_fulfilled', sa.Integer(), nullable=False),
    sa.Column('quantity_canceled', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_fulfillment_order_item_quantity')),
    sa.CheckConstraint('quantity_fulfilled + quantity_canceled <= quantity', name=op.f('ck_fulfillment_order_item_remaining')),
    sa.CheckConstraint('quantity_fulfilled >= 0 AND quantity_canceled >= 0', name=op.f('ck_fulfillment_order_item_buckets_non_negative')),
    sa.ForeignKeyConstraint(['fulfillment_order_id'], ['fulfillment_order.id'], name=op.f('fk_fulfillment_order_item_fulfillment_order_id_fulfillment_order')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_fulfillment_order_item_order_item_summary_id_order_item_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_order_item')),
    sa.UniqueConstraint('fulfillment_order_id', 'order_item_summary_id', name=op.f('uq_fulfillment_order_item_fulfillment_order_id_order_item_summary_id'))
    )
    with op.batch_alter_table('fulfillment_order_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fulfillment_order_item_order_item_summary_id'), ['order_item_summary_id'], unique=False)

    op.create_table('shipment',
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('fulfillment_order_id', sa.Uuid(), nullable=False),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('carrier', sa.String(length=60), nullable=False),
    sa.Column('service', sa.String(length=60), nullable=True),
    sa.Column('tracking_numbers', sa.JSON(), nullable=False),
    sa.Column('shipped_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('shipped', 'delivered')", name=op.f('ck_shipment_status')),
    sa.ForeignKeyConstraint(['fulfillment_order_id'], ['fulfillment_order.id'], name=op.f('fk_shipment_fulfillment_order_id_fulfillment_order')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_shipment_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment')),
    sa.UniqueConstraint('fulfillment_order_id', 'sequence', name=op.f('uq_shipment_fulfillment_order_id_sequence')),
    sa.UniqueConstraint('number', name=op.f('uq_shipment_number'))
    )
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_order_summary_id'), ['order_summary_id'], unique=False)

    op.create_table('shipment_item',
    sa.Column('shipment_id', sa.Uuid(), nullable=False),
    sa.Column('fulfillment_order_item_id', sa.Uuid(), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_shipment_item_quantity')),
    sa.ForeignKeyConstraint(['fulfillment_order_item_id'], ['fulfillment_order_item.id'], name=op.f('fk_shipment_item_fulfillment_order_item_id_fulfillment_order_item')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_shipment_item_order_item_summary_id_order_item_summary')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], name=op.f('fk_shipment_item_shipment_id_shipment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_item'))
    )
    with op.batch_alter_table('shipment_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_item_shipment_id'), ['shipment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('shipment_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_item_shipment_id'))

    op.drop_table('shipment_item')
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_order_summary_id'))

    op.drop_table('shipment')
    with op.batch_alter_table('fulfillment_order_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fulfillment_order_item_order_item_summary_id'))

    op.drop_table('fulfillment_order_item')
    with op.batch_alter_table('fulfillment_order', schema=None) as batch_op:
        batch_op.drop_index('ix_fulfillment_order_status')
        batch_op.drop_index('ix_fulfillment_order_order')
        batch_op.drop_index('ix_fulfillment_order_location')

    op.drop_table('fulfillment_order')
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_routing_decision_order')

    op.drop_table('routing_decision')
    with op.batch_alter_table('delivery_group_routing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_group_routing_order_summary_id'))

    op.drop_table('delivery_group_routing')
    with op.batch_alter_table('process_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_process_exception_status')
        batch_op.drop_index('ix_process_exception_order')
        batch_op.drop_index('ix_process_exception_attached')

    op.drop_table('process_exception')
    op.drop_table('channel_routing_policy')
