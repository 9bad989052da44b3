"""passkeys: WebAuthn credentials as authenticators, and their settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

An authenticator may now be a WebAuthn credential (``webauthn-platform`` or
``webauthn-roaming``, which needs a wider ``type``): its credential id (unique, looked up by a
passwordless sign-in), COSE public key, signature counter, transports, backup flags and AAGUID.
The MFA settings gain the user-verification requirement and whether a passkey sign-in counts as
MFA, and whether dashboard administrators must use one. A deployment that stored its settings
keeps its list of factors: passkeys stay off there
until an operator adds them; one on the defaults has them on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.alter_column("type", existing_type=sa.String(16), type_=sa.String(32))
        batch_op.add_column(sa.Column("credential_id", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("public_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("sign_count", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("transports", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("backup_eligible", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("backed_up", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("aaguid", sa.String(36), nullable=True))
        batch_op.create_index("ix_authenticators_credential_id", ["credential_id"], unique=True)
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webauthn_user_verification", sa.String(16),
                                      nullable=False, server_default="preferred"))
        batch_op.add_column(sa.Column("passkey_counts_as_mfa", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column("admins_phishing_resistant", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("mfa_settings", schema=None) as batch_op:
        batch_op.drop_column("admins_phishing_resistant")
        batch_op.drop_column("passkey_counts_as_mfa")
        batch_op.drop_column("webauthn_user_verification")
    with op.batch_alter_table("authenticators", schema=None) as batch_op:
        batch_op.drop_index("ix_authenticators_credential_id")
        for name in ("aaguid", "backed_up", "backup_eligible", "transports", "sign_count",
                     "public_key", "credential_id"):
            batch_op.drop_column(name)
        batch_op.alter_column("type", existing_type=sa.String(32), type_=sa.String(16))
