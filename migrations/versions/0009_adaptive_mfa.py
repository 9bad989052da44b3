"""adaptive mfa: the devices and networks users signed in from, and the risk settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

``known_contexts`` keeps keyed hashes of device ids and IP prefixes, never the values. The MFA
settings gain the risk signals' weights, the thresholds and what a high risk does.
"""

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SETTINGS = (("adaptive_weight_new_device", "2"), ("adaptive_weight_new_network", "1"),
            ("adaptive_weight_failures", "2"), ("adaptive_weight_common_password", "2"),
            ("adaptive_failures", "3"), ("adaptive_medium", "2"), ("adaptive_high", "4"),
            ("adaptive_memory_days", "90"))


def upgrade() -> None:
    op.create_table(
        "known_contexts",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Column("first_seen", authserver.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_seen", authserver.models.base.UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        for name, default in SETTINGS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False,
                                          server_default=default))
        batch_op.add_column(sa.Column("adaptive_block_high", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        batch_op.drop_column("adaptive_block_high")
        for name, _ in reversed(SETTINGS):
            batch_op.drop_column(name)
    op.drop_table("known_contexts")
