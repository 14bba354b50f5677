"""privacy: the erasures done (contact_erasure)

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contact_erasure',
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('erased_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('erased_by', sa.String(length=120), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_contact_erasure_account_id_account')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_erasure_contact_id_contact')),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_contact_erasure'))
    )
    with op.batch_alter_table('contact_erasure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_erasure_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_erasure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_erasure_account_id'))
    op.drop_table('contact_erasure')
