"""The schema is managed by Alembic: a database created by the migrations equals the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import workflows.store.models
import workflows.store.outbox  # the outbox table is part of the schema
from workflows.store.db import (
    MIGRATIONS_DIR,
    SCHEMA_HEAD,
    current_revision,
    dispose_engines,
    get_engine,
    migrate,
)

GPV = Path(sys.executable).with_name("gpv")


def _diffs(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_the_schema_head_constant_names_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


def test_the_models_cover_every_table_of_the_store():
    assert set(SQLModel.metadata.tables) >= {
        "cases",
        "case_sequences",
        "process_instances",
        "deadlines",
        "consents",
        "audit_entries",
        "audit_chain_head",
        "outbox",
    }
    assert workflows.store.models.CaseRow.__tablename__ == "cases"


def test_a_sqlite_database_created_by_the_migrations_equals_the_models(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        assert _diffs(engine) == []
    finally:
        dispose_engines()


@pytest.mark.postgres
def test_a_postgresql_database_created_by_the_migrations_equals_the_models(postgres_url):
    engine = get_engine(postgres_url)
    try:
        migrate(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        assert _diffs(engine) == []
    finally:
        dispose_engines()


def test_migrating_an_up_to_date_database_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'gpv.db'}"
    migrate(get_engine(url))
    dispose_engines()
    before = (tmp_path / "gpv.db").read_bytes()
    migrate(get_engine(url))
    dispose_engines()
    assert (tmp_path / "gpv.db").read_bytes() == before


def test_two_commands_starting_on_a_fresh_data_folder_at_once_both_migrate_safely(tmp_path):
    env = {**os.environ, "GPV_DATA_DIR": str(tmp_path)}
    env.pop("GPV_DATABASE_URL", None)
    procs = [
        subprocess.Popen(
            [str(GPV), "case", "list", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [r[0] for r in results] == [0, 0, 0], results
    engine = get_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    try:
        assert current_revision(engine) == SCHEMA_HEAD
        assert _diffs(engine) == []
    finally:
        dispose_engines()
