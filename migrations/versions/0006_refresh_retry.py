"""refresh retry: a rotated refresh token remembers its successor

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

A client whose refresh answer was lost (the rotation committed, the answer never arrived) may
present the rotated token again within ``PROTEKT_REFRESH_TOKEN_RETRY_GRACE`` and get the unused
successor's replacement instead of a family revocation (RFC 9700 §4.14.2). Rotated tokens of
existing databases have no successor recorded: presenting them again stays reuse.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("successor_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("successor_hash")
