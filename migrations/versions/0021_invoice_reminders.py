"""invoice reminders: how many payment reminders an overdue invoice has had

`invoice.reminder_level` is the last reminder stage announced (`invoice.overdue`): 1 a day past
the due date, 2 at a week, 3 at two weeks, 4 at a month. Existing invoices had none.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoice') as batch:
        batch.add_column(sa.Column('reminder_level', sa.Integer(), nullable=False, server_default='0'))
        batch.create_index('ix_invoice_due', ['status', 'due_date'])


def downgrade() -> None:
    with op.batch_alter_table('invoice') as batch:
        batch.drop_index('ix_invoice_due')
        batch.drop_column('reminder_level')
