"""webhooks: subscriptions, deliveries and delivery attempts

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_subscription',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=500), nullable=True),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_until', ordino.kernel.types.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_webhook_subscription_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscription'))
    )
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_subscription_account_id'), ['account_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('message_id', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('next_attempt_at', ordino.kernel.types.UTCDateTime(), nullable=True),
    sa.Column('lease_until', ordino.kernel.types.UTCDateTime(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', ordino.kernel.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscription.id'],
                            name=op.f('fk_webhook_delivery_subscription_id_webhook_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('subscription_id', 'event_id', name=op.f('uq_webhook_delivery_subscription_id_event_id'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_subscription', ['subscription_id', 'id'], unique=False)
        batch_op.create_index('ix_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('webhook_attempt',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('attempted_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('request_headers', sa.JSON(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'],
                            name=op.f('fk_webhook_attempt_delivery_id_webhook_delivery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempt'))
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempt_delivery_id'), ['delivery_id'], unique=False)


def downgrade() -> None:
    op.drop_table('webhook_attempt')
    op.drop_table('webhook_delivery')
    op.drop_table('webhook_subscription')
