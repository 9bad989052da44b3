"""trusted devices: browsers a user asked to be remembered after a second factor

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", authserver.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", authserver.models.base.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_trusted_devices_user_id", "trusted_devices", ["user_id"])
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remember_device_days", sa.Integer(), nullable=False,
                                      server_default="30"))


def downgrade() -> None:
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        batch_op.drop_column("remember_device_days")
    op.drop_index("ix_trusted_devices_user_id", "trusted_devices")
    op.drop_table("trusted_devices")
