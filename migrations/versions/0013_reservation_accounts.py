"""inventory: the account a reservation is held for (account-scoped keys see their account's only)

Existing reservations of order items get their order's account; other references (cart holds)
stay without one.

Written by hand, matching the models; tests/test_migrations.py checks that the migrated schema
equals the models.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A reservation of an order item has the item's id as its reference: the text form of a UUID on
# PostgreSQL (with hyphens), 32 hex digits as SQLite stores the id.
BACKFILL = {
    'postgresql': (
        "UPDATE inventory_reservation SET account_id = o.account_id FROM order_item_summary i"
        " JOIN order_summary o ON o.id = i.order_summary_id"
        " WHERE inventory_reservation.reference = CAST(i.id AS TEXT)"
    ),
    'sqlite': (
        "UPDATE inventory_reservation SET account_id = (SELECT o.account_id FROM order_item_summary i"
        " JOIN order_summary o ON o.id = i.order_summary_id"
        " WHERE i.id = lower(replace(inventory_reservation.reference, '-', '')))"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table('inventory_reservation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_inventory_reservation_account_id_account'), 'account',
                                    ['account_id'], ['id'])
        batch_op.create_index('ix_inventory_reservation_account', ['account_id', 'id'], unique=False)
    backfill = BACKFILL.get(op.get_bind().dialect.name)
    if backfill:
        op.execute(backfill)


def downgrade() -> None:
    with op.batch_alter_table('inventory_reservation', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_reservation_account')
        batch_op.drop_constraint(batch_op.f('fk_inventory_reservation_account_id_account'), type_='foreignkey')
        batch_op.drop_column('account_id')
