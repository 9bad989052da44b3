"""sms: phone numbers of authenticators, SMS settings, the SMS credit balance

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Existing settings rows get the SMS defaults; their factors are left as the operator chose them.
The credit balance starts at zero: nothing is sent until an operator tops it up.
"""

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEFAULT_TEMPLATE = (
    "{code} is your {app_name} verification code. It expires in {minutes} minutes."
)
SETTINGS_COLUMNS = [
    sa.Column("sms_template", sa.String(length=500), nullable=False,
              server_default=DEFAULT_TEMPLATE),
    sa.Column("sms_confirm_phone", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("sms_code_minutes", sa.Integer(), nullable=False, server_default="5"),
    sa.Column("sms_resend_cooldown", sa.Integer(), nullable=False, server_default="30"),
    sa.Column("sms_user_hourly", sa.Integer(), nullable=False, server_default="10"),
    sa.Column("sms_phone_hourly", sa.Integer(), nullable=False, server_default="10"),
    sa.Column("sms_ip_hourly", sa.Integer(), nullable=False, server_default="50"),
    sa.Column("sms_allowed_countries", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("sms_low_credit_threshold", sa.BigInteger(), nullable=False, server_default="100"),
]


def upgrade() -> None:
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_ciphertext", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        for column in SETTINGS_COLUMNS:
            batch_op.add_column(column)
    op.create_table(
        "sms_credits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", authserver.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_credits")),
    )


def downgrade() -> None:
    op.drop_table("sms_credits")
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        for column in reversed(SETTINGS_COLUMNS):
            batch_op.drop_column(column.name)
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.drop_column("phone_ciphertext")
