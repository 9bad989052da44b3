"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from authserver import create_app
from authserver.clients import MFA_GRANT_TYPES
from authserver.config import Settings
from authserver.extensions import db, services
from authserver.mfa.settings import MfaSettings
from authserver.migrate import _config, is_current, upgrade
from authserver.models import Base
from tests.support import TEST_ENCRYPTION_KEY


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent_and_reports_current(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    upgrade(engine)
    assert is_current(engine)
    engine.dispose()


def test_an_empty_database_is_not_current(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert not is_current(engine)
    upgrade(engine)
    assert is_current(engine)


def test_0002_gives_password_clients_the_mfa_grants_and_takes_them_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0001")
        for client_id, grants in (("spa", '["password", "refresh_token"]'),
                                  ("machine", '["client_credentials"]')):
            conn.execute(sa.text(
                "INSERT INTO clients (client_id, name, grant_types, scopes, audiences, created_at)"
                " VALUES (:id, :id, :grants, '[]', '[]', '2026-01-01 00:00:00')"
            ), {"id": client_id, "grants": grants})
    upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT client_id, grant_types FROM clients")).all())
    assert json.loads(rows["spa"]) == ["password", "refresh_token", *MFA_GRANT_TYPES]
    assert json.loads(rows["machine"]) == ["client_credentials"]
    with engine.begin() as conn:
        command.downgrade(_config(conn), "0001")
        rows = dict(conn.execute(sa.text("SELECT client_id, grant_types FROM clients")).all())
    engine.dispose()
    assert json.loads(rows["spa"]) == ["password", "refresh_token"]


def test_0003_gives_stored_settings_the_sms_defaults_and_keeps_their_factors(
    database_url: str,
) -> None:
    """A deployment that saved MFA settings before SMS existed: after the upgrade its settings
    load with the SMS defaults, its factor list unchanged; the downgrade takes SMS away again."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        command.downgrade(_config(conn), "0002")
        conn.execute(sa.text(
            "INSERT INTO mfa_settings (id, enabled, factors, policy, totp_issuer, mfa_token_ttl,"
            " token_max_failures, user_failure_burst, user_failure_drain,"
            " user_max_consecutive_failures, updated_at) VALUES (1, :on, :factors, 'optional',"
            " 'Acme', 600, 5, 10, 360, 100, '2026-01-01 00:00:00')"
        ), {"on": True, "factors": '["otp", "recovery-code"]'})
    try:
        upgrade(engine)
        app = create_app(Settings.from_env({"PROTEKT_DATABASE_URL": database_url,
                                            "PROTEKT_REDIS_URL": "memory://",
                                            "PROTEKT_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY}))
        with app.app_context():
            loaded = services.mfa.settings.load()
            assert loaded == replace(MfaSettings(), totp_issuer="Acme",
                                     factors=("otp", "recovery-code"))
            assert services.mfa.sms_credits.balance() == 0
            db.engine.dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM mfa_settings"))
        upgrade(engine)
        engine.dispose()
