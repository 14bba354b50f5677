"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE_SERIES = ("order", "fulfillment_order", "change_order")


def upgrade() -> None:
    op.create_table('account',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'on_hold', 'closed')", name=op.f('ck_account_status')),
    sa.ForeignKeyConstraint(['parent_id'], ['account.id'], name=op.f('fk_account_parent_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('number', name=op.f('uq_account_number'))
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_parent_id'), ['parent_id'], unique=False)

    op.create_table('handler_receipt',
    sa.Column('handler', sa.String(length=120), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('processed_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('handler', 'event_id', name=op.f('pk_handler_receipt'))
    )
    op.create_table('idempotency_key',
    sa.Column('api_key_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('api_key_id', 'key', name=op.f('uq_idempotency_key_api_key_id_key'))
    )
    op.create_table('location',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('line1', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('latitude', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('longitude', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('timezone', sa.String(length=60), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('warehouse', 'store', 'drop_ship', 'digital')", name=op.f('ck_location_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
    sa.UniqueConstraint('code', name=op.f('uq_location_code'))
    )
    op.create_table('number_series',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('last_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_number_series'))
    )
    op.create_table('outbox_event',
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(always=False), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('time', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('dispatched_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('available_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_until', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=2000), nullable=True),
    sa.Column('failed_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_outbox_event')),
    sa.UniqueConstraint('id', name=op.f('uq_outbox_event_id'))
    )
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_event_pending', ['dispatched_at', 'position'], unique=False)

    op.create_table('product',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('unit_of_measure', sa.String(length=10), nullable=False),
    sa.Column('minimum_quantity', sa.Integer(), nullable=False),
    sa.Column('order_multiple', sa.Integer(), nullable=False),
    sa.Column('tax_class', sa.String(length=40), nullable=False),
    sa.Column('weight_kg', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('minimum_quantity >= 1', name=op.f('ck_product_minimum_quantity')),
    sa.CheckConstraint('order_multiple >= 1', name=op.f('ck_product_order_multiple')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('sku', name=op.f('uq_product_sku'))
    )
    op.create_table('sales_channel',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('web', 'marketplace', 'pos', 'edi', 'phone', 'api', 'portal')", name=op.f('ck_sales_channel_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_channel')),
    sa.UniqueConstraint('code', name=op.f('uq_sales_channel_code'))
    )
    op.create_table('status_history',
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.String(length=40), nullable=True),
    sa.Column('to_status', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_history'))
    )
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.create_index('ix_status_history_entity', ['entity_type', 'entity_id', 'at'], unique=False)

    op.create_table('address',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('line1', sa.String(length=200), nullable=False),
    sa.Column('line2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('billing', 'shipping')", name=op.f('ck_address_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_address_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address')),
    sa.UniqueConstraint('account_id', 'reference', name=op.f('uq_address_account_id_reference'))
    )
    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_address_account_id'), ['account_id'], unique=False)
        batch_op.create_index('uq_address_default_per_kind', ['account_id', 'kind'], unique=True, postgresql_where=sa.text('is_default'), sqlite_where=sa.text('is_default'))

    op.create_table('api_key',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=24), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_api_key_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('digest', name=op.f('uq_api_key_digest'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_account_id'), ['account_id'], unique=False)

    op.create_table('contact',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_contact_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_account_id'), ['account_id'], unique=False)

    op.create_table('order_summary',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('channel_id', sa.Uuid(), nullable=False),
    sa.Column('external_reference', sa.String(length=100), nullable=False),
    sa.Column('po_number', sa.String(length=100), nullable=True),
    sa.Column('buyer_contact_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('pricing', sa.String(length=10), nullable=False),
    sa.Column('prices_include_tax', sa.Boolean(), nullable=False),
    sa.Column('ordered_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('bill_to', sa.JSON(), nullable=True),
    sa.Column('payment_instructions', sa.JSON(), nullable=False),
    sa.Column('total_product_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_delivery_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('grand_total_amount', sa.BigInteger(), nullable=False),
    sa.Column('active_process_exception_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("pricing IN ('catalog', 'order')", name=op.f('ck_order_summary_pricing')),
    sa.CheckConstraint('active_process_exception_count >= 0', name=op.f('ck_order_summary_pe_count')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_order_summary_account_id_account')),
    sa.ForeignKeyConstraint(['buyer_contact_id'], ['contact.id'], name=op.f('fk_order_summary_buyer_contact_id_contact')),
    sa.ForeignKeyConstraint(['channel_id'], ['sales_channel.id'], name=op.f('fk_order_summary_channel_id_sales_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_summary')),
    sa.UniqueConstraint('channel_id', 'external_reference', name=op.f('uq_order_summary_channel_id_external_reference')),
    sa.UniqueConstraint('number', name=op.f('uq_order_summary_number'))
    )
    with op.batch_alter_table('order_summary', schema=None) as batch_op:
        batch_op.create_index('ix_order_summary_account', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_order_summary_ordered_at', ['ordered_at'], unique=False)
        batch_op.create_index('ix_order_summary_status', ['status', 'id'], unique=False)

    op.create_table('change_order',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('total_product_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_delivery_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('grand_total_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('cancel', 'return', 'appeasement', 'addition', 'return_fee', 'exchange', 'reship')", name=op.f('ck_change_order_kind')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_change_order_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_order')),
    sa.UniqueConstraint('number', name=op.f('uq_change_order_number'))
    )
    with op.batch_alter_table('change_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_order_order_summary_id'), ['order_summary_id'], unique=False)

    op.create_table('order_delivery_group_summary',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delivery_method', sa.String(length=40), nullable=False),
    sa.Column('ship_to_name', sa.String(length=200), nullable=False),
    sa.Column('ship_to_line1', sa.String(length=200), nullable=False),
    sa.Column('ship_to_line2', sa.String(length=200), nullable=True),
    sa.Column('ship_to_city', sa.String(length=100), nullable=False),
    sa.Column('ship_to_postal_code', sa.String(length=20), nullable=True),
    sa.Column('ship_to_region', sa.String(length=100), nullable=True),
    sa.Column('ship_to_country', sa.String(length=2), nullable=False),
    sa.Column('ship_to_phone', sa.String(length=40), nullable=True),
    sa.Column('ship_to_email', sa.String(length=254), nullable=True),
    sa.Column('ship_to_address_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_order_delivery_group_summary_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['ship_to_address_id'], ['address.id'], name=op.f('fk_order_delivery_group_summary_ship_to_address_id_address')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_delivery_group_summary'))
    )
    with op.batch_alter_table('order_delivery_group_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_delivery_group_summary_order_summary_id'), ['order_summary_id'], unique=False)

    op.create_table('order_item_summary',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('delivery_group_id', sa.Uuid(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('unit_price', ordino.kernel.types.ExactDecimal(), nullable=False),
    sa.Column('quantity_ordered', sa.Integer(), nullable=False),
    sa.Column('quantity_canceled', sa.Integer(), nullable=False),
    sa.Column('quantity_allocated', sa.Integer(), nullable=False),
    sa.Column('quantity_fulfilled', sa.Integer(), nullable=False),
    sa.Column('quantity_return_initiated', sa.Integer(), nullable=False),
    sa.Column('quantity_returned', sa.Integer(), nullable=False),
    sa.Column('line_amount', sa.BigInteger(), nullable=False),
    sa.Column('adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("type IN ('product', 'delivery_charge', 'fee')", name=op.f('ck_order_item_summary_type')),
    sa.CheckConstraint('quantity_canceled >= 0 AND quantity_allocated >= 0 AND quantity_fulfilled >= 0 AND quantity_return_initiated >= 0 AND quantity_returned >= 0', name=op.f('ck_order_item_summary_buckets_non_negative')),
    sa.CheckConstraint('quantity_fulfilled - quantity_return_initiated >= 0', name=op.f('ck_order_item_summary_available_to_return')),
    sa.CheckConstraint('quantity_fulfilled <= quantity_allocated', name=op.f('ck_order_item_summary_fulfilled_allocated')),
    sa.CheckConstraint('quantity_ordered - quantity_canceled - quantity_allocated >= 0', name=op.f('ck_order_item_summary_available_to_fulfill')),
    sa.CheckConstraint('quantity_ordered - quantity_canceled - quantity_returned >= 0', name=op.f('ck_order_item_summary_quantity')),
    sa.CheckConstraint('quantity_ordered > 0', name=op.f('ck_order_item_summary_ordered_positive')),
    sa.CheckConstraint('quantity_returned <= quantity_return_initiated', name=op.f('ck_order_item_summary_returned_initiated')),
    sa.ForeignKeyConstraint(['delivery_group_id'], ['order_delivery_group_summary.id'], name=op.f('fk_order_item_summary_delivery_group_id_order_delivery_group_summary')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_order_item_summary_order_summary_id_order_summary')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_order_item_summary_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_item_summary')),
    sa.UniqueConstraint('order_summary_id', 'line_number', name=op.f('uq_order_item_summary_order_summary_id_line_number'))
    )
    with op.batch_alter_table('order_item_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_item_summary_order_summary_id'), ['order_summary_id'], unique=False)

    op.create_table('change_order_item',
    sa.Column('change_order_id', sa.Uuid(), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('line_amount', sa.BigInteger(), nullable=False),
    sa.Column('adjustment_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['change_order_id'], ['change_order.id'], name=op.f('fk_change_order_item_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_change_order_item_order_item_summary_id_order_item_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_order_item'))
    )
    with op.batch_alter_table('change_order_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_order_item_change_order_id'), ['change_order_id'], unique=False)

    op.create_table('order_item_adjustment_line',
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('change_order_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['change_order_id'], ['change_order.id'], name=op.f('fk_order_item_adjustment_line_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_order_item_adjustment_line_order_item_summary_id_order_item_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_item_adjustment_line'))
    )
    with op.batch_alter_table('order_item_adjustment_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_item_adjustment_line_order_item_summary_id'), ['order_item_summary_id'], unique=False)

    op.create_table('order_item_summary_change',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('change_order_item_id', sa.Uuid(), nullable=False),
    sa.Column('change_type', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("stage IN ('pre_fulfillment', 'in_fulfillment', 'post_fulfillment')", name=op.f('ck_order_item_summary_change_stage')),
    sa.ForeignKeyConstraint(['change_order_item_id'], ['change_order_item.id'], name=op.f('fk_order_item_summary_change_change_order_item_id_change_order_item')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_order_item_summary_change_order_item_summary_id_order_item_summary')),
    sa.ForeignKeyConstraint(['order_summary_id'], ['order_summary.id'], name=op.f('fk_order_item_summary_change_order_summary_id_order_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_item_summary_change'))
    )
    with op.batch_alter_table('order_item_summary_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_item_summary_change_order_summary_id'), ['order_summary_id'], unique=False)

    op.create_table('order_item_tax_line',
    sa.Column('order_item_summary_id', sa.Uuid(), nullable=False),
    sa.Column('adjustment_line_id', sa.Uuid(), nullable=True),
    sa.Column('change_order_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rate', ordino.kernel.types.ExactDecimal(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('jurisdiction', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=10), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['adjustment_line_id'], ['order_item_adjustment_line.id'], name=op.f('fk_order_item_tax_line_adjustment_line_id_order_item_adjustment_line')),
    sa.ForeignKeyConstraint(['change_order_id'], ['change_order.id'], name=op.f('fk_order_item_tax_line_change_order_id_change_order')),
    sa.ForeignKeyConstraint(['order_item_summary_id'], ['order_item_summary.id'], name=op.f('fk_order_item_tax_line_order_item_summary_id_order_item_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_item_tax_line'))
    )
    with op.batch_alter_table('order_item_tax_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_item_tax_line_order_item_summary_id'), ['order_item_summary_id'], unique=False)


    if op.get_bind().dialect.name == "postgresql":
        # Series where gaps are harmless take numbers from sequences (kernel.numbering).
        for name in SEQUENCE_SERIES:
            op.execute(f"CREATE SEQUENCE seq_{name}")

def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCE_SERIES:
            op.execute(f"DROP SEQUENCE seq_{name}")
    with op.batch_alter_table('order_item_tax_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_item_tax_line_order_item_summary_id'))

    op.drop_table('order_item_tax_line')
    with op.batch_alter_table('order_item_summary_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_item_summary_change_order_summary_id'))

    op.drop_table('order_item_summary_change')
    with op.batch_alter_table('order_item_adjustment_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_item_adjustment_line_order_item_summary_id'))

    op.drop_table('order_item_adjustment_line')
    with op.batch_alter_table('change_order_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_order_item_change_order_id'))

    op.drop_table('change_order_item')
    with op.batch_alter_table('order_item_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_item_summary_order_summary_id'))

    op.drop_table('order_item_summary')
    with op.batch_alter_table('order_delivery_group_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_delivery_group_summary_order_summary_id'))

    op.drop_table('order_delivery_group_summary')
    with op.batch_alter_table('change_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_order_order_summary_id'))

    op.drop_table('change_order')
    with op.batch_alter_table('order_summary', schema=None) as batch_op:
        batch_op.drop_index('ix_order_summary_status')
        batch_op.drop_index('ix_order_summary_ordered_at')
        batch_op.drop_index('ix_order_summary_account')

    op.drop_table('order_summary')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_account_id'))

    op.drop_table('contact')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_account_id'))

    op.drop_table('api_key')
    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.drop_index('uq_address_default_per_kind', postgresql_where=sa.text('is_default'), sqlite_where=sa.text('is_default'))
        batch_op.drop_index(batch_op.f('ix_address_account_id'))

    op.drop_table('address')
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.drop_index('ix_status_history_entity')

    op.drop_table('status_history')
    op.drop_table('sales_channel')
    op.drop_table('product')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_event_pending')

    op.drop_table('outbox_event')
    op.drop_table('number_series')
    op.drop_table('location')
    op.drop_table('idempotency_key')
    op.drop_table('handler_receipt')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_parent_id'))

    op.drop_table('account')
