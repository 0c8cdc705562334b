"""Migration 0006_consent_register on a store from before it (issue 10), on SQLite and PostgreSQL:
no consent is assumed for anyone; a statement already delivered names the SPDI as its author,
unless the person objected to passing it on (§ 76 Abs. 2 Nr. 1 SGB X)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.workflows.store.test_migrations import _upgrade
from workflows.store.db import SCHEMA_HEAD, current_revision, dispose_engines, get_engine, migrate

_CASE = (
    "INSERT INTO cases (id, status, carrier, municipality, received_on, parties, is_minor, "
    "version, birth_date, disabilities, benefit, data_transfer_objection, created_at, updated_at) "
    "VALUES (:id, 'assessment', 'lwl', 'unna', '2026-03-02', "
    "'[\"lwl\", \"spdi\", \"jobcenter-kreis-unna\"]', false, 3, '1990-05-17', 'mental', "
    "'supported_living', :objection, '2026-03-02 09:00:00+00', '2026-03-02 09:00:00+00')"
)
_STATEMENT = (
    "INSERT INTO process_instances (case_id, process, instance_no, state, data, opened_at, "
    "updated_at) VALUES (:id, 'statement', 1, :state, '{}', '2026-03-04 09:00:00+00', "
    "'2026-03-18 09:00:00+00')"
)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_store_from_before_the_consent_register_assumes_no_consent(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'gpv.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = get_engine(url)
    try:
        _upgrade(engine, "0005_step_requests")
        with engine.begin() as conn:
            for case_id, objection, state in [
                ("C-2026-000001", False, "delivered"),
                ("C-2026-000002", True, "delivered"),
                ("C-2026-000003", False, "requested"),
            ]:
                conn.execute(text(_CASE), {"id": case_id, "objection": objection})
                conn.execute(text(_STATEMENT), {"id": case_id, "state": state})
        migrate(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, consented, statement_by FROM cases ORDER BY id")
            ).all()
    finally:
        dispose_engines()

    def plain(value):
        return json.loads(value) if isinstance(value, str) else value

    assert [(r[0], plain(r[1]), plain(r[2])) for r in rows] == [
        ("C-2026-000001", [], ["spdi"]),
        ("C-2026-000002", [], []),
        ("C-2026-000003", [], []),
    ]
