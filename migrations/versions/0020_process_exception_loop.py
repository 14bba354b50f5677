"""process exceptions close the loop: failing step, error, event, assignee, resolution note,
retries; an order's payment hold

Every process exception records what failed (`step`, `error`, `event_id`) so that a retry can
re-run it, who works on it (`assignee`), how it was resolved (`resolution_note`) and its retries
(`retry_count`, `last_retried_at`). A declined authorization puts the order on `payment_hold`.
Existing rows have none of these.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('process_exception') as batch:
        batch.add_column(sa.Column('step', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('error', sa.String(length=4000), nullable=True))
        batch.add_column(sa.Column('event_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('assignee', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('resolution_note', sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column('retry_count', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('last_retried_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_check_constraint('retry_count', 'retry_count >= 0')
        batch.create_index('ix_process_exception_assignee', ['assignee', 'id'], unique=False)
    with op.batch_alter_table('order_summary') as batch:
        batch.add_column(sa.Column('payment_hold', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('order_summary') as batch:
        batch.drop_column('payment_hold')
    with op.batch_alter_table('process_exception') as batch:
        batch.drop_index('ix_process_exception_assignee')
        batch.drop_constraint(batch.f('ck_process_exception_retry_count'), type_='check')
        for column in ('last_retried_at', 'retry_count', 'resolution_note', 'assignee', 'event_id', 'error', 'step'):
            batch.drop_column(column)
