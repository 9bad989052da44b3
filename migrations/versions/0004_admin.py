"""admin: dashboard administrators and blocked users

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

``users.is_admin`` marks the people who may sign in to the dashboard (``protekt create-admin``);
``users.blocked_at`` is set while an administrator has blocked the user. Existing users are
neither. An index on ``audit_events (type, created_at)`` serves the monitoring figures, which
count a few event types over a span of days.
"""

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_admin", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("blocked_at", authserver.models.base.UTCDateTime(),
                                      nullable=True))
    op.create_index("ix_audit_events_type_created_at", "audit_events", ["type", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_type_created_at", table_name="audit_events")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("blocked_at")
        batch_op.drop_column("is_admin")
