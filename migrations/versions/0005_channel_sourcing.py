"""channel sourcing: where each sales channel's orders are reserved at intake

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_sourcing",
        sa.Column("channel_code", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("target_code", sa.String(length=40), nullable=True),
        sa.Column("updated_at", ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('none', 'location', 'location_group')", name=op.f("ck_channel_sourcing_mode")),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["sales_channel.code"], name=op.f("fk_channel_sourcing_channel_code_sales_channel")
        ),
        sa.PrimaryKeyConstraint("channel_code", name=op.f("pk_channel_sourcing")),
    )


def downgrade() -> None:
    op.drop_table("channel_sourcing")
