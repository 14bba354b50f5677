"""notifications: outgoing e-mail messages and the contacts' choices of message kinds

`notification_message` holds every message written for an event (unique Message-ID, the whole
message as sent, its status and the SMTP server's answer); `notification_preference` a contact's
choice to receive, or not, one kind of message.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordino.kernel.types

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'notification_message',
        sa.Column('message_id', sa.String(length=200), nullable=False),
        sa.Column('event_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('contact_id', sa.Uuid(), nullable=True),
        sa.Column('account_id', sa.Uuid(), nullable=True),
        sa.Column('language', sa.String(length=20), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('attachment', sa.String(length=200), nullable=True),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('receipt', sa.String(length=500), nullable=True),
        sa.Column('created_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sent', 'not_sent')", name=op.f('ck_notification_message_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_message')),
        sa.UniqueConstraint('message_id', name=op.f('uq_notification_message_message_id')),
    )
    op.create_index('ix_notification_message_event', 'notification_message', ['event_id', 'kind'], unique=False)
    op.create_index('ix_notification_message_account', 'notification_message', ['account_id', 'id'], unique=False)
    op.create_table(
        'notification_preference',
        sa.Column('contact_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_at', ordino.kernel.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_notification_preference_contact_id_contact'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('contact_id', 'kind', name=op.f('pk_notification_preference')),
    )


def downgrade() -> None:
    op.drop_table('notification_preference')
    op.drop_index('ix_notification_message_account', table_name='notification_message')
    op.drop_index('ix_notification_message_event', table_name='notification_message')
    op.drop_table('notification_message')
