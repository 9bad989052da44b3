"""Alembic, driven from the ``protekt`` command: upgrade and "is the schema current?"."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("authserver.migrations")))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), "head")


def is_current(engine: Engine) -> bool:
    """True when the database schema is at the newest migration."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
