"""mfa: settings, authenticators, recovery codes; the MFA grants for password clients

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

A client that could use the password grant before this migration gets the three MFA grants too:
without them its users who enroll a second factor could no longer finish a login.
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MFA_GRANTS = [
    "http://protekt.dev/oauth/grant-type/mfa-otp",
    "http://protekt.dev/oauth/grant-type/mfa-oob",
    "http://protekt.dev/oauth/grant-type/mfa-recovery-code",
]


def upgrade() -> None:
    op.create_table(
        "mfa_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("totp_issuer", sa.String(length=64), nullable=False),
        sa.Column("mfa_token_ttl", sa.Integer(), nullable=False),
        sa.Column("token_max_failures", sa.Integer(), nullable=False),
        sa.Column("user_failure_burst", sa.Integer(), nullable=False),
        sa.Column("user_failure_drain", sa.Integer(), nullable=False),
        sa.Column("user_max_consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", authserver.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_settings")),
    )
    op.create_table(
        "authenticators",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("oob_channel", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", authserver.models.base.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", authserver.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", authserver.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_authenticators_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authenticators")),
    )
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authenticators_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", authserver.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", authserver.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)

    _grant_mfa_to_password_clients()


CLIENTS = sa.table(
    "clients", sa.column("client_id", sa.String()), sa.column("grant_types", sa.JSON())
)


def _grant_mfa_to_password_clients() -> None:
    _rewrite_grants(lambda grants: grants + [g for g in MFA_GRANTS if g not in grants]
                    if "password" in grants else grants)


def _rewrite_grants(change: Callable[[list[str]], list[str]]) -> None:
    connection = op.get_bind()
    for client_id, grant_types in connection.execute(sa.select(CLIENTS)).all():
        changed = change(grant_types)
        if changed != grant_types:
            connection.execute(
                CLIENTS.update().where(CLIENTS.c.client_id == client_id)
                .values(grant_types=changed)
            )


def downgrade() -> None:
    _rewrite_grants(lambda grants: [g for g in grants if g not in MFA_GRANTS])
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_user_id"))
    op.drop_table("recovery_codes")
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authenticators_user_id"))
    op.drop_table("authenticators")
    op.drop_table("mfa_settings")
