"""currencies: dated FX rates

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types
import ordino.pricing.models

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fx_rate',
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('quote', sa.String(length=3), nullable=False),
    sa.Column('rate', ordino.pricing.models.FxRateDecimal(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('base <> quote', name=op.f('ck_fx_rate_distinct_currencies')),
    sa.CheckConstraint('rate > 0', name=op.f('ck_fx_rate_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fx_rate')),
    sa.UniqueConstraint('base', 'quote', 'effective_on', 'source', name=op.f('uq_fx_rate_base_quote_effective_on_source'))
    )
    with op.batch_alter_table('fx_rate', schema=None) as batch_op:
        batch_op.create_index('ix_fx_rate_quote', ['quote', 'base', 'effective_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fx_rate', schema=None) as batch_op:
        batch_op.drop_index('ix_fx_rate_quote')
    op.drop_table('fx_rate')
