"""api keys: the digest's scheme (unkeyed SHA-256 before the server secret, then HMAC-SHA256 under
a named server secret); hints that could give away most of a key's secret are blanked

Every digest stored before this revision is a plain SHA-256 of the secret: `digest_scheme` is
'sha256' for them, and the server re-stores each under its secret on the key's first use.

The hint of a key was its first 12 characters whatever the secret's length. The length of a
stored secret is unknown, so a hint is kept only where it is the start of a generated key: it
begins with `ordino_` (a generated key is `ordino_` and 43 random characters, so 12 characters of
it give away 5 of them), it has 12 characters, and it is not itself the secret (its SHA-256 is
not the digest). Every other hint is blanked: keys whose secret was chosen by hand (such as
ORDINO_ADMIN_API_KEY) lose theirs; the bootstrap admin key gets its hint again at start-up, by
the rule for new keys.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERATED_PREFIX = "ordino_"
HINT_LENGTH = 12


def keeps_hint(hint: str, digest: str) -> bool:
    return (
        hint.startswith(GENERATED_PREFIX)
        and len(hint) == HINT_LENGTH
        and hashlib.sha256(hint.encode()).hexdigest() != digest
    )


def upgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_scheme', sa.String(length=32), server_default='sha256',
                                      nullable=False))
    api_key = sa.table('api_key', sa.column('id', sa.Uuid()), sa.column('hint', sa.String()),
                       sa.column('digest', sa.String()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(api_key.c.id, api_key.c.hint, api_key.c.digest).where(api_key.c.hint != '')).all()
    blank = [row.id for row in rows if not keeps_hint(row.hint, row.digest)]
    for start in range(0, len(blank), 500):
        conn.execute(sa.update(api_key).where(api_key.c.id.in_(blank[start:start + 500])).values(hint=''))


def downgrade() -> None:
    # Blanked hints stay blank: they are not known any more. Digests re-stored under the server
    # secret do not verify as plain SHA-256: those keys must be created again after a downgrade.
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('digest_scheme')
