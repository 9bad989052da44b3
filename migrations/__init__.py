"""Alembic migrations; shipped inside the package as ``authserver.migrations``."""
