"""payments: payment methods, order payment summaries, payments, gateway call log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_method',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=True),
    sa.Column('token', sa.String(length=200), nullable=True),
    sa.Column('terms', sa.String(length=40), nullable=True),
    sa.Column('fingerprint', sa.String(length=300), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("method IN ('card', 'wallet', 'invoice')", name=op.f('ck_payment_method_method')),
    sa.CheckConstraint("(method IN ('card', 'wallet') AND gateway IS NOT NULL AND token IS NOT NULL AND terms IS NULL) OR (method = 'invoice' AND gateway IS NULL AND token IS NULL AND terms IS NOT NULL)", name=op.f('ck_payment_method_method_fields')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_method')),
    sa.UniqueConstraint('account_id', 'fingerprint', name=op.f('uq_payment_method_account_id_fingerprint'))
    )
    op.create_table('order_payment_summary',
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('payment_method_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('authorized_amount', sa.BigInteger(), nullable=False),
    sa.Column('captured_amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_capture_amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_refund_amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_reverse_auth_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('authorized_amount >= 0 AND captured_amount >= 0 AND refunded_amount >= 0 AND pending_capture_amount >= 0 AND pending_refund_amount >= 0 AND pending_reverse_auth_amount >= 0', name=op.f('ck_order_payment_summary_amounts_non_negative')),
    sa.CheckConstraint('authorized_amount - captured_amount - pending_capture_amount - pending_reverse_auth_amount >= 0', name=op.f('ck_order_payment_summary_available_to_capture')),
    sa.CheckConstraint('captured_amount - refunded_amount - pending_refund_amount >= 0', name=op.f('ck_order_payment_summary_available_to_refund')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_method.id'], name=op.f('fk_order_payment_summary_payment_method_id_payment_method')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_payment_summary')),
    sa.UniqueConstraint('order_summary_id', 'payment_method_id', name=op.f('uq_order_payment_summary_order_summary_id_payment_method_id'))
    )
    with op.batch_alter_table('order_payment_summary', schema=None) as batch_op:
        batch_op.create_index('ix_order_payment_summary_account', ['account_id', 'id'], unique=False)

    op.create_table('payment',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('summary_id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('order_summary_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('captured_amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_capture_amount', sa.BigInteger(), nullable=False),
    sa.Column('reversed_amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_reverse_amount', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_refund_amount', sa.BigInteger(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=True),
    sa.Column('gateway_reference', sa.String(length=100), nullable=True),
    sa.Column('idempotency_key', sa.String(length=300), nullable=False),
    sa.Column('failure_code', sa.String(length=60), nullable=True),
    sa.Column('failure_message', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('authorization', 'capture', 'refund', 'void')", name=op.f('ck_payment_kind')),
    sa.CheckConstraint("status IN ('pending', 'authorized', 'declined', 'closed', 'expired', 'succeeded', 'failed')", name=op.f('ck_payment_status')),
    sa.CheckConstraint("source IN ('gateway', 'imported')", name=op.f('ck_payment_source')),
    sa.CheckConstraint("kind = 'authorization' OR parent_id IS NOT NULL", name=op.f('ck_payment_parent')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_amount_positive')),
    sa.CheckConstraint('captured_amount >= 0 AND pending_capture_amount >= 0 AND reversed_amount >= 0 AND pending_reverse_amount >= 0 AND refunded_amount >= 0 AND pending_refund_amount >= 0', name=op.f('ck_payment_amounts_non_negative')),
    sa.CheckConstraint('amount - captured_amount - pending_capture_amount - reversed_amount - pending_reverse_amount >= 0', name=op.f('ck_payment_available_to_capture')),
    sa.CheckConstraint('amount - refunded_amount - pending_refund_amount >= 0', name=op.f('ck_payment_available_to_refund')),
    sa.CheckConstraint("kind = 'authorization' OR (captured_amount = 0 AND pending_capture_amount = 0 AND reversed_amount = 0 AND pending_reverse_amount = 0)", name=op.f('ck_payment_authorization_amounts')),
    sa.CheckConstraint("kind = 'capture' OR (refunded_amount = 0 AND pending_refund_amount = 0)", name=op.f('ck_payment_capture_amounts')),
    sa.ForeignKeyConstraint(['parent_id'], ['payment.id'], name=op.f('fk_payment_parent_id_payment')),
    sa.ForeignKeyConstraint(['summary_id'], ['order_payment_summary.id'], name=op.f('fk_payment_summary_id_order_payment_summary')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_idempotency_key'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_order', ['order_summary_id', 'id'], unique=False)
        batch_op.create_index('ix_payment_parent', ['parent_id'], unique=False)
        batch_op.create_index('ix_payment_status', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_payment_summary', ['summary_id', 'id'], unique=False)

    op.create_table('gateway_call',
    sa.Column('payment_id', sa.Uuid(), nullable=True),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=300), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("outcome IN ('approved', 'declined', 'rejected', 'timeout', 'connection_error', 'server_error')", name=op.f('ck_gateway_call_outcome')),
    sa.CheckConstraint('latency_ms >= 0 AND attempt >= 1', name=op.f('ck_gateway_call_latency_attempt')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_gateway_call_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_call'))
    )
    with op.batch_alter_table('gateway_call', schema=None) as batch_op:
        batch_op.create_index('ix_gateway_call_payment', ['payment_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gateway_call', schema=None) as batch_op:
        batch_op.drop_index('ix_gateway_call_payment')

    op.drop_table('gateway_call')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_summary')
        batch_op.drop_index('ix_payment_status')
        batch_op.drop_index('ix_payment_parent')
        batch_op.drop_index('ix_payment_order')

    op.drop_table('payment')
    with op.batch_alter_table('order_payment_summary', schema=None) as batch_op:
        batch_op.drop_index('ix_order_payment_summary_account')

    op.drop_table('order_payment_summary')
    op.drop_table('payment_method')
