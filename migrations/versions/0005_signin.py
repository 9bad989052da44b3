"""signin: browser sign-in (authorization code flow), consents and profile claims

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Clients gain their registered ``redirect_uris`` and ``post_logout_redirect_uris`` (empty for
existing clients, which therefore cannot use the browser sign-in until given some) and the
``first_party`` flag (existing clients are first-party: no consent page). Users gain the OIDC
``profile`` claims. A refresh-token family remembers the browser session that opened it, so
logging out revokes it. ``consents`` keeps what a user allowed a third-party client.
"""

import sqlalchemy as sa
from alembic import op

import authserver.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PROFILE = (("name", 200), ("given_name", 100), ("family_name", 100),
           ("preferred_username", 100), ("picture", 2000), ("locale", 35))


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redirect_uris", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("first_party", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table("users", schema=None) as batch_op:
        for name, length in PROFILE:
            batch_op.add_column(sa.Column(name, sa.String(length), nullable=True))
        batch_op.add_column(sa.Column("updated_at", authserver.models.base.UTCDateTime(),
                                      nullable=True))
    with op.batch_alter_table("refresh_token_families", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_session", sa.String(64), nullable=True))
        batch_op.create_index("ix_refresh_token_families_sso_session", ["sso_session"])
    op.create_table(
        "consents",
        sa.Column("user_id", sa.String(36),
                  sa.ForeignKey("users.id", ondelete="CASCADE",
                                name="fk_consents_user_id_users"), nullable=False),
        sa.Column("client_id", sa.String(64),
                  sa.ForeignKey("clients.client_id", ondelete="CASCADE",
                                name="fk_consents_client_id_clients"), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("granted_at", authserver.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "client_id", name="pk_consents"),
    )
    op.create_index("ix_consents_client_id", "consents", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_consents_client_id", table_name="consents")
    op.drop_table("consents")
    with op.batch_alter_table("refresh_token_families", schema=None) as batch_op:
        batch_op.drop_index("ix_refresh_token_families_sso_session")
        batch_op.drop_column("sso_session")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        for name, _ in reversed(PROFILE):
            batch_op.drop_column(name)
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("first_party")
        batch_op.drop_column("post_logout_redirect_uris")
        batch_op.drop_column("redirect_uris")
