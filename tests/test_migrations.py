"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from authserver.migrate import is_current, upgrade
from authserver.models import Base


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
