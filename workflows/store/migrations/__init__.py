"""Alembic migrations of the case store, applied programmatically by
``workflows.store.db.migrate``."""
