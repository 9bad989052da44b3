"""mfa policies: groups of users with their MFA rule, and each application's MFA rule

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Existing applications inherit the deployment's policy with any factor, which is what they did.
"""

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("mfa_always", sa.Boolean(), nullable=False),
        sa.Column("mfa_factors", sa.JSON(), nullable=False),
        sa.Column("created_at", authserver.models.base.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(36), sa.ForeignKey("groups.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"])
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_policy", sa.String(16), nullable=False,
                                      server_default="inherit"))
        batch_op.add_column(sa.Column("mfa_factors", sa.JSON(), nullable=False,
                                      server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("mfa_factors")
        batch_op.drop_column("mfa_policy")
    op.drop_index("ix_group_members_user_id", "group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
