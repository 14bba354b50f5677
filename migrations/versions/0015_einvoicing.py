"""e-invoicing: electronic addresses (Peppol endpoints), the seller's contact and legal mentions,
the buyer's e-invoice format and reference, card and direct-debit details for the payment means,
counties on addresses for US local tax, and unit codes that EN 16931 accepts

Products' units of measure become UN/ECE Recommendation 20/21 codes: a Recommendation 21 package
code stored without its X prefix gets it (BX → XBX, RL → XRL); a code that is neither becomes C62
("one"), the unit of count.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ordino.catalog.units import valid_unit

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _legal_entity() -> tuple[sa.Column, ...]:
    return (
        sa.Column('endpoint_scheme', sa.String(4)),
        sa.Column('endpoint_id', sa.String(100)),
        sa.Column('contact_name', sa.String(200)),
        sa.Column('tax_number', sa.String(40)),
        sa.Column('register_court', sa.String(200)),
        sa.Column('managing_directors', sa.String(300)),
        sa.Column('share_capital', sa.String(100)),
        sa.Column('sepa_creditor_id', sa.String(35)),
        sa.Column('logo', sa.LargeBinary()),
        sa.Column('logo_media_type', sa.String(40)),
    )


def _account() -> tuple[sa.Column, ...]:
    return (
        sa.Column('endpoint_scheme', sa.String(4)),
        sa.Column('endpoint_id', sa.String(100)),
        sa.Column('einvoice_format', sa.String(20), nullable=False, server_default='pdf'),
        sa.Column('buyer_reference', sa.String(100)),
        sa.Column('direct_debit_mandate', sa.String(35)),
        sa.Column('direct_debit_iban', sa.String(34)),
    )


def upgrade() -> None:
    with op.batch_alter_table('legal_entity') as batch:
        for column in _legal_entity():
            batch.add_column(column)
    with op.batch_alter_table('account') as batch:
        for column in _account():
            batch.add_column(column)
        batch.create_check_constraint(
            'einvoice_format', "einvoice_format IN ('pdf', 'peppol', 'xrechnung', 'facturx')")
    with op.batch_alter_table('payment_method') as batch:
        batch.add_column(sa.Column('card_brand', sa.String(20)))
        batch.add_column(sa.Column('card_last4', sa.String(4)))
    with op.batch_alter_table('order_delivery_group_summary') as batch:
        batch.add_column(sa.Column('ship_to_county', sa.String(100)))
    with op.batch_alter_table('address') as batch:
        batch.add_column(sa.Column('county', sa.String(100)))

    product = sa.table('product', sa.column('id', sa.Uuid()), sa.column('unit_of_measure', sa.String(10)))
    bind = op.get_bind()
    for code in bind.execute(sa.select(product.c.unit_of_measure).distinct()).scalars().all():
        if valid_unit(code) != code:
            bind.execute(product.update().where(product.c.unit_of_measure == code)
                         .values(unit_of_measure=valid_unit(code)))


def downgrade() -> None:
    with op.batch_alter_table('address') as batch:
        batch.drop_column('county')
    with op.batch_alter_table('order_delivery_group_summary') as batch:
        batch.drop_column('ship_to_county')
    with op.batch_alter_table('payment_method') as batch:
        batch.drop_column('card_last4')
        batch.drop_column('card_brand')
    with op.batch_alter_table('account') as batch:
        batch.drop_constraint('einvoice_format', type_='check')
        for column in reversed(_account()):
            batch.drop_column(column.name)
    with op.batch_alter_table('legal_entity') as batch:
        for column in reversed(_legal_entity()):
            batch.drop_column(column.name)
