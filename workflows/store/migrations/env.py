"""Alembic environment of the case store.

gpv runs Alembic programmatically (``workflows.store.db.migrate``) and passes the connection in
``config.attributes["connection"]``, already inside the transaction that holds the migration lock.
From a shell, ``alembic -x url=sqlite:///.gpv/gpv.db upgrade head`` with ``script_location`` set to
this folder works too (the URL defaults to ``workflows.settings.database_url()``).
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import workflows.store.models
import workflows.store.outbox
import workflows.store.step_requests
import workflows.users

#: Every module that defines tables: the case store, the notification outbox, gpv fire's requests,
#: the users.
TABLE_MODULES = (
    workflows.store.models,
    workflows.store.outbox,
    workflows.store.step_requests,
    workflows.users,
)
target_metadata = SQLModel.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from workflows.store.db import get_engine

    url = context.get_x_argument(as_dictionary=True).get("url")
    with get_engine(url).connect() as conn:
        _configure_and_run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("gpv: offline (SQL script) migrations are not supported.")
run_migrations_online()
