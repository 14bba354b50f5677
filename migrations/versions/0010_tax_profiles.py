"""tax: legal entities (sellers), account tax profiles and exemption certificates; order tax mode,
notes, and the taxable amount and exemption reason of tax lines

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('legal_entity',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('line1', sa.String(length=200), nullable=False),
    sa.Column('line2', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('vat_id', sa.String(length=40), nullable=True),
    sa.Column('registration_number', sa.String(length=60), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('bank_name', sa.String(length=100), nullable=True),
    sa.Column('us_nexus_states', sa.JSON(), nullable=True),
    sa.Column('invalid_vat_id', sa.String(length=20), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("invalid_vat_id IN ('refuse', 'tax_as_b2c')", name=op.f('ck_legal_entity_invalid_vat_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_entity')),
    sa.UniqueConstraint('code', name=op.f('uq_legal_entity_code'))
    )
    with op.batch_alter_table('legal_entity', schema=None) as batch_op:
        batch_op.create_index('uq_legal_entity_default', ['is_default'], unique=True,
                              postgresql_where=sa.text('is_default'), sqlite_where=sa.text('is_default'))
    with op.batch_alter_table('sales_channel', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_entity', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sales_channel_legal_entity_legal_entity'), 'legal_entity',
                                    ['legal_entity'], ['code'])

    op.create_table('account_tax_profile',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('business', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_tax_profile_account_id_account')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_tax_profile'))
    )
    op.create_table('tax_exemption_certificate',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', ordino.kernel.types.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                            name=op.f('fk_tax_exemption_certificate_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_exemption_certificate')),
    sa.UniqueConstraint('account_id', 'number', name=op.f('uq_tax_exemption_certificate_account_id_number'))
    )
    with op.batch_alter_table('tax_exemption_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_exemption_certificate_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('order_summary', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_mode', sa.String(length=10), server_default='given', nullable=False))
        batch_op.add_column(sa.Column('tax_notes', sa.JSON(), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_order_summary_tax_mode'), "tax_mode IN ('calculate', 'given')")
    with op.batch_alter_table('order_item_tax_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taxable_amount', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('exemption_reason_code', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_item_tax_line', schema=None) as batch_op:
        batch_op.drop_column('exemption_reason_code')
        batch_op.drop_column('taxable_amount')
    with op.batch_alter_table('order_summary', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_order_summary_tax_mode'), type_='check')
        batch_op.drop_column('tax_notes')
        batch_op.drop_column('tax_mode')
    with op.batch_alter_table('tax_exemption_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_exemption_certificate_account_id'))
    op.drop_table('tax_exemption_certificate')
    op.drop_table('account_tax_profile')
    with op.batch_alter_table('sales_channel', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sales_channel_legal_entity_legal_entity'), type_='foreignkey')
        batch_op.drop_column('legal_entity')
    with op.batch_alter_table('legal_entity', schema=None) as batch_op:
        batch_op.drop_index('uq_legal_entity_default')
    op.drop_table('legal_entity')
