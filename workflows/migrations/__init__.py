"""Alembic migrations of the case store, applied programmatically by ``workflows.db.migrate``."""
