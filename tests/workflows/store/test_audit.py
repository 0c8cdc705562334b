"""The audit history is append-only and hash-chained; tampering behind the engine's back shows."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.workflows.conftest import noon, open_case
from workflows import service
from workflows.store import audit
from workflows.store.db import dispose_engines, get_engine, migrate, read_session, write_session
from workflows.store.models import AuditRow

GPV = Path(sys.executable).with_name("gpv")


@pytest.fixture(autouse=True)
def data_folder(tmp_path, monkeypatch) -> Path:
    """The test's own data folder: the audit anchor is written there."""
    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    return tmp_path


def a_case_with_history(engine: Engine) -> str:
    case_id = open_case(engine, municipality="Kamen", disabilities="physical", by="a")
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by="b")
    service.fire(engine, case_id, "request_housing_support", {}, at=noon("2026-03-05"), by="c")
    service.fire(
        engine,
        case_id,
        "cancel_housing_support",
        {"reason": "erledigt"},
        at=noon("2026-03-06"),
        by="d",
    )
    return case_id


def test_an_untouched_history_verifies_against_its_anchor_and_its_case(engine, data_folder):
    a_case_with_history(engine)
    assert service.audit_verify(engine) == {
        "ok": True,
        "checked": 4,
        "first_broken_id": None,
        "problem": None,
        "case_id": None,
        "cases_checked": 1,
        "anchored": 4,
        "anchor": str(data_folder / "audit-anchor.log"),
        "warnings": [],
    }


def test_each_entry_hashes_its_canonical_encoding_and_the_previous_hash(engine):
    a_case_with_history(engine)
    with read_session(engine) as session:
        rows = session.exec(select(AuditRow).order_by(AuditRow.id)).all()
    prev = "0" * 64
    for row in rows:
        fields = {
            "id": row.id,
            "case_id": row.case_id,
            "trigger": row.trigger,
            "process": row.process,
            "from_state": row.from_state,
            "to_state": row.to_state,
            "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "recorded_at": row.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "by": row.by,
            "params": row.params,
            "prev_hash": prev,
        }
        encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row.prev_hash == prev
        assert row.hash == hashlib.sha256(encoded.encode()).hexdigest()
        prev = row.hash
    assert rows[3].params == {"reason": "erledigt"}


@pytest.mark.parametrize(
    ("statement", "broken"),
    [
        ("UPDATE audit_entries SET by = 'mallory' WHERE id = 2", 2),
        ("UPDATE audit_entries SET to_state = 'decided' WHERE id = 3", 3),
        ('UPDATE audit_entries SET params = \'{"reason": "anders"}\' WHERE id = 4', 4),
        ("UPDATE audit_entries SET at = '2026-01-01 00:00:00.000000' WHERE id = 1", 1),
        ("DELETE FROM audit_entries WHERE id = 2", 3),
    ],
)
def test_an_entry_changed_behind_the_engines_back_is_named(engine, statement, broken):
    a_case_with_history(engine)
    with engine.begin() as conn:
        conn.execute(text(statement))
    result = service.audit_verify(engine)
    assert result["ok"] is False
    assert result["first_broken_id"] == broken
    assert f"Eintrag {broken}" in result["problem"]


def test_an_entry_rewritten_with_a_fresh_hash_still_breaks_the_chain_at_the_next(engine):
    a_case_with_history(engine)
    with read_session(engine) as session:
        row = session.get(AuditRow, 2)
        session.expunge(row)
    row.by = "mallory"
    forged = audit.record_hash(row)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_entries SET by = 'mallory', hash = :h WHERE id = 2"), {"h": forged}
        )
    result = service.audit_verify(engine)
    assert (result["ok"], result["first_broken_id"]) == (False, 3)


def test_a_cut_off_tail_is_detected_by_the_chain_head(engine):
    a_case_with_history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE id = 4"))
    result = service.audit_verify(engine)
    assert result["ok"] is False
    assert "Kettenende" in result["problem"]


def test_appending_continues_the_chain_from_its_head(engine):
    a_case_with_history(engine)
    now = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    with write_session(engine) as session:
        ids = audit.append_many(
            session,
            [
                audit.NewEntry(None, "import", "case", None, "received", now, "seed", {"n": i})
                for i in range(3)
            ],
            recorded_at=now,
        )
    assert ids == [5, 6, 7]
    assert service.audit_verify(engine)["checked"] == 7


def test_gpv_audit_verify_names_the_broken_entry_and_exits_nonzero(tmp_path):
    env = {**os.environ, "GPV_DATA_DIR": str(tmp_path), "GPV_USER": "fm"}
    env.pop("GPV_DATABASE_URL", None)
    engine = get_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    try:
        migrate(engine)
        a_case_with_history(engine)
        ok = subprocess.run(
            [str(GPV), "audit", "verify", "--json"], env=env, capture_output=True, text=True
        )
        assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_entries SET trigger = 'close' WHERE id = 2"))
    finally:
        dispose_engines()
    broken = subprocess.run([str(GPV), "audit", "verify"], env=env, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "Eintrag 2" in broken.stderr
    assert "Traceback" not in broken.stderr
