"""Tampering with the audit history behind gpv's back is detected: twelve ways an adversary with
write access to the database (not to the anchor file) might try, on SQLite and on PostgreSQL.

The adversary works with plain SQL on the tables (no gpv session, so nothing they do is anchored);
what they cannot touch is the anchor file in the data folder. The one thing that stays
undetectable without the anchor's help is pinned down as well: a consistent extension after the
last anchored head, with the case row adjusted to match, is only a warning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col

from tests.workflows.conftest import noon, open_case
from workflows import service
from workflows.store import anchor, audit
from workflows.store.db import dispose_engines, get_engine, migrate, read_session, write_session
from workflows.store.models import AuditHeadRow, AuditRow, CaseRow

GPV = Path(sys.executable).with_name("gpv")
ENTRIES = AuditRow.__table__  # type: ignore[attr-defined]
HEAD = AuditHeadRow.__table__  # type: ignore[attr-defined]
CASES = CaseRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class History:
    """A store with two cases and six entries, each committed (and anchored) on its own."""

    engine: Engine
    first: str  # entries 1-4: opened, jurisdiction accepted, housing support asked and cancelled
    second: str  # entries 5-6: opened, jurisdiction accepted

    def verify(self) -> dict[str, Any]:
        return service.audit_verify(self.engine)


@pytest.fixture(autouse=True)
def data_folder(tmp_path, monkeypatch) -> Path:
    """The test's own data folder: the anchor file lives there."""
    folder = tmp_path / "daten"
    monkeypatch.setenv("GPV_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def history(db_url) -> Iterator[History]:
    engine = get_engine(db_url)
    first = open_case(engine, "2026-03-02", municipality="Kamen", disabilities="physical")
    service.fire(engine, first, "accept_jurisdiction", {}, at=noon("2026-03-04"), by="b")
    service.fire(engine, first, "request_housing_support", {}, at=noon("2026-03-05"), by="c")
    service.fire(
        engine, first, "cancel_housing_support", {"reason": "erledigt"},
        at=noon("2026-03-06"), by="d",
    )  # fmt: skip
    second = open_case(engine, "2026-03-09")
    service.fire(engine, second, "accept_jurisdiction", {}, at=noon("2026-03-10"), by="b")
    yield History(engine, first, second)


# --------------------------------------------------------------------------------------------------
# The adversary's tools: plain SQL, and hashes computed exactly as gpv computes them


def tamper(engine: Engine, *statements: Any) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def stored_entries(engine: Engine) -> list[AuditRow]:
    with read_session(engine) as session:
        rows = list(session.scalars(select(AuditRow).order_by(col(AuditRow.id))))
        session.expunge_all()
    return rows


def forged(prev: AuditRow, **fields: Any) -> dict[str, Any]:
    """An entry after ``prev`` with a correct hash: what an adversary who read the code writes."""
    values: dict[str, Any] = {
        "id": prev.id + 1, "case_id": prev.case_id, "trigger": "close", "process": "case",
        "from_state": "assessment", "to_state": "closed", "at": noon("2026-03-11"),
        "recorded_at": noon("2026-03-11"), "by": "mallory", "params": {},
        "prev_hash": prev.hash, "hash": "",
    }  # fmt: skip
    values.update(fields)
    values["hash"] = audit.record_hash(AuditRow(**values))
    return values


def rewind_head(last: AuditRow | None) -> Any:
    return update(HEAD).values(
        last_id=last.id if last else 0, last_hash=last.hash if last else audit.GENESIS
    )


def assert_detected(result: dict[str, Any], *words: str) -> None:
    assert result["ok"] is False, result
    for word in words:
        assert word in result["problem"], result["problem"]


# --------------------------------------------------------------------------------------------------
# The twelve variants


def test_an_untouched_history_verifies_with_every_commit_anchored(history):
    result = history.verify()
    assert (result["ok"], result["checked"], result["cases_checked"]) == (True, 6, 2)
    assert (result["anchored"], result["warnings"]) == (6, [])


def test_editing_an_entrys_params_is_detected_at_that_entry(history):
    tamper(history.engine, update(ENTRIES).where(ENTRIES.c.id == 4).values(params={"reason": "x"}))
    result = history.verify()
    assert_detected(result, "Eintrag 4", "nachträglich geändert")
    assert result["first_broken_id"] == 4


def test_editing_who_and_when_of_an_entry_is_detected_at_that_entry(history):
    tamper(
        history.engine,
        update(ENTRIES)
        .where(ENTRIES.c.id == 2)
        .values(by="mallory", at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
    )
    result = history.verify()
    assert_detected(result, "Eintrag 2")
    assert result["first_broken_id"] == 2


def test_deleting_an_entry_in_the_middle_is_detected_as_a_gap(history):
    tamper(history.engine, delete(ENTRIES).where(ENTRIES.c.id == 3))
    result = history.verify()
    assert_detected(result, "Lücke", "Eintrag 3 fehlt")
    assert result["first_broken_id"] == 4


def test_deleting_the_last_entries_is_detected_by_the_chain_head(history):
    tamper(history.engine, delete(ENTRIES).where(ENTRIES.c.id > 4))
    assert_detected(history.verify(), "Kettenende")


def test_deleting_the_last_entries_and_rewinding_the_head_is_detected_by_the_anchor(history):
    fourth = stored_entries(history.engine)[3]
    tamper(history.engine, delete(ENTRIES).where(ENTRIES.c.id > 4), rewind_head(fourth))
    result = history.verify()
    assert_detected(result, "kürzer als verankert", "Eintrag 6")
    assert result["first_broken_id"] == 5


def test_deleting_the_chain_head_row_is_detected(history):
    tamper(history.engine, delete(HEAD))
    assert_detected(history.verify(), "Kettenkopf fehlt")


def test_deleting_every_entry_and_the_head_is_detected_by_the_anchor(history):
    tamper(history.engine, delete(ENTRIES), delete(HEAD))
    result = history.verify()
    assert_detected(result, "kürzer als verankert")
    assert (result["checked"], result["first_broken_id"]) == (0, 1)


def test_swapping_two_entries_is_detected_at_the_first_of_them(history):
    tamper(
        history.engine,
        update(ENTRIES).where(ENTRIES.c.id == 2).values(id=-2),
        update(ENTRIES).where(ENTRIES.c.id == 3).values(id=2),
        update(ENTRIES).where(ENTRIES.c.id == -2).values(id=3),
    )
    result = history.verify()
    assert_detected(result, "Eintrag 2")
    assert result["first_broken_id"] == 2


def test_inserting_a_forged_entry_in_the_middle_is_detected_after_it(history):
    rows = stored_entries(history.engine)
    tamper(
        history.engine,
        update(ENTRIES).where(ENTRIES.c.id > 2).values(id=ENTRIES.c.id + 1000),
        update(ENTRIES).where(ENTRIES.c.id > 1000).values(id=ENTRIES.c.id - 999),
        insert(ENTRIES).values(**forged(rows[1], to_state="assessment", trigger="note")),
        update(HEAD).values(last_id=7),
    )
    result = history.verify()
    assert_detected(result, "Eintrag 4", "verweist nicht")
    assert result["first_broken_id"] == 4


def test_appending_a_forged_entry_with_a_correct_hash_is_detected_by_its_case(history):
    last = stored_entries(history.engine)[-1]
    entry = forged(last, case_id=history.second)
    tamper(
        history.engine,
        insert(ENTRIES).values(**entry),
        update(HEAD).values(last_id=entry["id"], last_hash=entry["hash"]),
    )
    result = history.verify()
    assert_detected(result, f"Fall {history.second}", "Version 2", "3 Änderungen")
    assert result["case_id"] == history.second


def test_a_consistently_rewritten_chain_is_detected_by_the_anchor(history):
    rows = stored_entries(history.engine)
    rows[0].by = "mallory"  # the opening of the first case, rewritten as someone else's
    statements, prev = [], audit.GENESIS
    for row in rows:
        row.prev_hash = prev
        row.hash = prev = audit.record_hash(row)
        statements.append(
            update(ENTRIES).where(ENTRIES.c.id == row.id).values(
                by=row.by, prev_hash=row.prev_hash, hash=row.hash
            )
        )  # fmt: skip
    tamper(history.engine, *statements, rewind_head(rows[-1]))
    result = history.verify()
    assert_detected(result, "Eintrag 1", "weicht vom Anker ab")
    assert result["first_broken_id"] == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"status": "closed"}, ("Status 'closed'", "laut Verlauf 'assessment'")),
        ({"version": 5}, ("Version 5", "2 Änderungen")),
    ],
)
def test_changing_a_case_row_without_an_entry_is_detected(history, change, words):
    tamper(history.engine, update(CASES).where(CASES.c.id == history.second).values(**change))
    result = history.verify()
    assert_detected(result, f"Fall {history.second}", *words)
    assert result["case_id"] == history.second


# --------------------------------------------------------------------------------------------------
# The cases against their entries, and what the anchor cannot see


def test_a_case_deleted_with_its_rows_leaves_entries_naming_a_missing_case(history):
    dependents = [
        table
        for table in SQLModel.metadata.sorted_tables
        if any(fk.column.table is CASES for fk in table.foreign_keys)
    ]
    tamper(
        history.engine,
        *(delete(table).where(table.c.case_id == history.second) for table in dependents),
        delete(CASES).where(CASES.c.id == history.second),
    )
    result = history.verify()
    assert_detected(result, "Eintrag 5", f"Fall {history.second}", "den es nicht gibt")


def test_a_case_row_without_any_entry_is_detected(engine):
    case_id = open_case(engine, "2026-03-02")
    with Session(engine) as session:  # a case row made by hand, beside gpv
        values = {c.name: getattr(session.get(CaseRow, case_id), c.name) for c in CASES.columns}
        session.execute(insert(CASES).values({**values, "id": "C-2026-000099"}))
        session.commit()
    result = service.audit_verify(engine)
    assert_detected(result, "Fall C-2026-000099", "kein Eintrag")


def test_a_consistent_extension_with_its_case_adjusted_is_only_a_warning_about_unanchored_entries(
    engine,
):
    """The limit: after the last anchored head, whoever rewrites chain, head and case row together
    is not caught; verify says how many entries no anchor covers."""
    case_id = open_case(engine, "2026-03-02")
    (first,) = stored_entries(engine)
    entry = forged(first, from_state="received", to_state="withdrawn", trigger="withdraw")
    tamper(
        engine,
        insert(ENTRIES).values(**entry),
        update(HEAD).values(last_id=2, last_hash=entry["hash"]),
        update(CASES).where(CASES.c.id == case_id).values(version=2, status="withdrawn"),
    )
    result = service.audit_verify(engine)
    assert result["ok"] is True
    assert result["warnings"] == [
        "Eintrag 2 ist nicht verankert (die Zeile wurde nicht geschrieben oder von einer anderen "
        "Installation), also nur durch die Kette geschützt."
    ]


def test_the_sweeps_missed_deadlines_do_not_count_as_changes_of_the_case(engine):
    from workflows.sweep import run_sweep

    case_id = open_case(engine, "2026-03-02")  # jurisdiction to be settled by Mon 16.03.2026
    run_sweep(engine, noon("2026-03-24"))
    assert "miss_deadline" in [entry.trigger for entry in stored_entries(engine)]
    assert service.show_case(engine, case_id)["version"] == 1
    assert service.audit_verify(engine)["ok"] is True


# --------------------------------------------------------------------------------------------------
# The anchor file


def anchor_lines(data_folder: Path) -> list[dict[str, Any]]:
    text = (data_folder / anchor.ANCHOR_FILE).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_each_commit_appends_its_head_to_the_anchor_file_in_the_data_folder(engine, data_folder):
    open_case(engine, "2026-03-02")
    lines = anchor_lines(data_folder)
    (entry,) = stored_entries(engine)
    assert [(line["id"], line["hash"]) for line in lines] == [(1, entry.hash)]
    assert lines[0]["db"] == f"sqlite:///{Path(engine.url.database or '').resolve()}"
    assert datetime.fromisoformat(lines[0]["at"]).utcoffset() == timedelta(0)


def test_a_rolled_back_transaction_anchors_nothing(engine, data_folder):
    open_case(engine, "2026-03-02")
    entry = audit.NewEntry(None, "import", "case", None, "received", noon("2026-03-03"), "x", {})
    with pytest.raises(RuntimeError), write_session(engine) as session:
        audit.append(session, entry, recorded_at=noon("2026-03-03"))
        raise RuntimeError("abgebrochen")
    assert [line["id"] for line in anchor_lines(data_folder)] == [1]
    assert service.audit_verify(engine)["ok"] is True


def test_anchor_lines_in_any_order_verify(engine, data_folder):
    case_id = open_case(engine, "2026-03-02")
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by="b")
    path = data_folder / anchor.ANCHOR_FILE
    path.write_text("".join(reversed(path.read_text().splitlines(keepends=True))))
    assert service.audit_verify(engine)["ok"] is True


def test_a_store_without_an_anchor_file_verifies_with_the_note_that_the_anchor_is_missing(
    engine, data_folder
):
    open_case(engine, "2026-03-02")
    (data_folder / anchor.ANCHOR_FILE).unlink()
    result = service.audit_verify(engine)
    assert result["ok"] is True and result["anchored"] == 0
    (warning,) = result["warnings"]
    assert warning.startswith("Anker fehlt:")


def test_an_unreadable_anchor_line_fails_the_check(engine, data_folder):
    open_case(engine, "2026-03-02")
    with (data_folder / anchor.ANCHOR_FILE).open("a") as stream:
        stream.write('{"db": "abgeschnitt\n')
    assert_detected(service.audit_verify(engine), "Zeile 2", "unlesbar")


def test_two_databases_sharing_a_data_folder_keep_their_anchors_apart(tmp_path):
    try:
        one, other = (get_engine(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db"))
        for engine in (one, other):
            migrate(engine)
        open_case(one, "2026-03-02")
        open_case(one, "2026-03-03")
        open_case(other, "2026-03-02")
        results = [service.audit_verify(engine) for engine in (one, other)]
        assert [(r["ok"], r["anchored"], r["warnings"]) for r in results] == [
            (True, 2, []),
            (True, 1, []),
        ]
    finally:
        dispose_engines()


def test_gpv_audit_anchor_puts_the_anchor_elsewhere(engine, tmp_path, monkeypatch, data_folder):
    elsewhere = tmp_path / "andere-platte" / "gpv-anker.log"
    monkeypatch.setenv(anchor.ANCHOR_ENV, str(elsewhere))
    open_case(engine, "2026-03-02")
    assert elsewhere.is_file() and not (data_folder / anchor.ANCHOR_FILE).exists()
    assert service.audit_verify(engine)["anchor"] == str(elsewhere)


def test_an_anchor_that_cannot_be_written_is_logged_and_leaves_the_commit_standing(
    engine, tmp_path, monkeypatch, caplog
):
    blocker = tmp_path / "keine-platte"
    blocker.write_text("")
    monkeypatch.setenv(anchor.ANCHOR_ENV, str(blocker / "anker.log"))
    case_id = open_case(engine, "2026-03-02")
    assert service.show_case(engine, case_id)["version"] == 1
    assert "nicht verankert" in caplog.text and anchor.ANCHOR_ENV in caplog.text


def test_gpv_audit_verify_warns_about_a_missing_anchor_and_fails_on_a_rewound_chain(data_folder):
    data = data_folder
    data.mkdir()
    env = {**os.environ, "GPV_DATA_DIR": str(data), "GPV_USER": "fm"}
    env.pop("GPV_DATABASE_URL", None)
    env.pop(anchor.ANCHOR_ENV, None)
    engine = get_engine(f"sqlite:///{data / 'gpv.db'}")
    try:
        migrate(engine)
        case_id = open_case(engine, "2026-03-02")
        service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by="b")
        first = stored_entries(engine)[0]
        (data / anchor.ANCHOR_FILE).rename(data / "beiseite.log")
        missing = subprocess.run(
            [str(GPV), "audit", "verify"], env=env, capture_output=True, text=True
        )
        (data / "beiseite.log").rename(data / anchor.ANCHOR_FILE)
        tamper(
            engine,
            delete(ENTRIES).where(ENTRIES.c.id == 2),
            rewind_head(first),
            update(CASES).values(version=1, status="received"),
        )
    finally:
        dispose_engines()
    assert missing.returncode == 0, missing.stderr
    assert "Verlauf unversehrt: 2 Einträge und 1 Fälle geprüft" in missing.stdout
    assert "Hinweis: Anker fehlt" in missing.stderr
    broken = subprocess.run([str(GPV), "audit", "verify"], env=env, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "kürzer als verankert" in broken.stderr and "Traceback" not in broken.stderr
