"""The schema is managed by Alembic: a database created by the migrations equals the models."""

from __future__ import annotations

import json
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

import workflows.store.case_reads  # who read which case (issue 12)
import workflows.store.models
import workflows.store.outbox  # the outbox table is part of the schema
import workflows.store.step_requests  # so is the table of gpv fire's requests
import workflows.users  # and the users (issue 12)
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
        "step_requests",
        "users",
        "case_reads",
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


def _upgrade(engine, revision: str) -> None:
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_store_from_before_the_deadline_variants_is_migrated_keeping_its_rows(
    backend, tmp_path, request
):
    """Issue 9: existing deadline rows get a variant. A decision deadline re-anchored after a
    statement (norm § 14 Abs. 2 S. 3 SGB IX) becomes ``after_statement``; every other row
    ``standard``; statuses (a past "missed" too) stay as they were."""
    from sqlalchemy import text

    url = (
        f"sqlite:///{tmp_path / 'gpv.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = get_engine(url)
    try:
        _upgrade(engine, "0001_initial")
        columns = (
            "case_id, rule, norm, process, anchor_event, anchor_date, nominal_end, due, status, "
            "responsible_party, created_at"
        )
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO cases (id, status, carrier, municipality, received_on, parties, "
                "is_minor, version, birth_date, disabilities, benefit, data_transfer_objection, "
                "created_at, updated_at) VALUES ('C-2026-000001', 'assessment', 'lwl', 'Unna', "
                "'2026-03-02', '[\"lwl\"]', false, 3, '1990-05-17', 'mental', "
                "'supported_living', false, '2026-03-02 09:00:00+00', '2026-03-02 09:00:00+00')"
            ))  # fmt: skip
            for rule, norm, due, status in [
                ("decision", "§ 14 Abs. 2 S. 2 SGB IX", "2026-03-23", "missed"),
                ("decision", "§ 14 Abs. 2 S. 3 SGB IX", "2026-04-02", "open"),
                ("jurisdiction", "§ 14 Abs. 1 S. 1 SGB IX", "2026-03-16", "met"),
            ]:
                conn.execute(
                    text(
                        f"INSERT INTO deadlines ({columns}) VALUES ('C-2026-000001', :rule, :norm, "
                        "'case', 'application_received', '2026-03-02', :due, :due, :status, "
                        "'lwl', '2026-03-02 09:00:00+00')"
                    ),
                    {"rule": rule, "norm": norm, "due": due, "status": status},
                )
        migrate(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        assert _diffs(engine) == []
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT rule, due, status, variant FROM deadlines ORDER BY id")
            ).all()
            case = conn.execute(
                text("SELECT carrier, routed_carrier, routing_flags FROM cases")
            ).one()
        # 0003: existing cases were opened at the routed carrier (routing advice, C5)
        assert (case[0], case[1], json.loads(case[2]) if isinstance(case[2], str) else case[2]) == (
            "lwl", "lwl", [],
        )  # fmt: skip
        assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
            ("decision", "2026-03-23", "missed", "standard"),
            ("decision", "2026-04-02", "open", "after_statement"),
            ("jurisdiction", "2026-03-16", "met", "standard"),
        ]
    finally:
        dispose_engines()
