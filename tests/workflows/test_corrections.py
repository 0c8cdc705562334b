"""``workflows.corrections.correct_case`` on a real store (SQLite and PostgreSQL): one audited
step, the deadlines re-anchored, the routing advice recorded, nothing written when refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import col

from states.errors import ConflictError, InputError, TransitionRefused
from tests.workflows.conftest import noon, open_case
from workflows import service
from workflows.corrections import correct_case
from workflows.store import audit
from workflows.store.db import get_engine, read_session
from workflows.store.models import AuditRow, DeadlineRow


@pytest.fixture
def store(db_url):
    return get_engine(db_url)


def deadlines(engine, case_id: str) -> list[tuple[str, str, str, str | None]]:
    with read_session(engine) as session:
        rows = session.scalars(
            select(DeadlineRow)
            .where(col(DeadlineRow.case_id) == case_id)
            .order_by(col(DeadlineRow.id))
        ).all()
        return [(d.rule, d.due.isoformat(), d.status, d.closed_reason) for d in rows]


def test_a_wrong_receipt_is_corrected_with_its_deadlines_and_one_audit_entry(store):
    case_id = open_case(store, "2026-03-04")
    case = correct_case(
        store, case_id, field="received_on", value="2026-03-02",
        reason="Eingangsstempel falsch übertragen", at=noon("2026-03-05"), by="fm.b",
    )  # fmt: skip
    assert case["received_on"] == "2026-03-02"
    assert case["version"] == 2
    rows = deadlines(store, case_id)
    assert rows[:2] == [
        (
            "jurisdiction",
            "2026-03-18",
            "superseded",
            "berichtigt: Antragseingang 2026-03-02 statt 2026-03-04",
        ),
        (
            "decision",
            "2026-03-25",
            "superseded",
            "berichtigt: Antragseingang 2026-03-02 statt 2026-03-04",
        ),
    ]
    assert [(r[0], r[1], r[2]) for r in rows[2:]] == [
        ("jurisdiction", "2026-03-16", "open"),
        ("decision", "2026-03-23", "open"),
    ]
    with read_session(store) as session:
        entry = session.scalars(select(AuditRow).order_by(col(AuditRow.id).desc())).first()
        assert entry is not None
        assert (entry.trigger, entry.by) == ("correct", "fm.b")
        assert entry.params == {
            "field": "received_on", "old": "2026-03-04", "new": "2026-03-02",
            "reason": "Eingangsstempel falsch übertragen",
        }  # fmt: skip
        assert audit.verify(session).ok


def test_a_correction_after_the_decision_is_refused_and_writes_nothing(store):
    case_id = open_case(store, "2026-03-02")
    for trigger, params in (
        ("accept_jurisdiction", {}),
        ("determine_benefits", {}),
        ("issue_decision", {"outcome": "refusal"}),
    ):
        service.fire(store, case_id, trigger, params, at=noon("2026-03-04"), by="fm")
    before = service.show_case(store, case_id)
    with pytest.raises(TransitionRefused):
        correct_case(
            store, case_id, field="received_on", value="2026-03-01", reason="Stempel",
            at=noon("2026-03-05"), by="fm",
        )  # fmt: skip
    assert service.show_case(store, case_id) == before


def test_a_receipt_after_a_recorded_step_is_refused(store):
    case_id = open_case(store, "2026-03-02")
    service.fire(store, case_id, "accept_jurisdiction", {}, at=noon("2026-03-03"), by="fm")
    with pytest.raises(TransitionRefused, match="2026-03-03"):
        correct_case(
            store, case_id, field="received_on", value="2026-03-04", reason="Stempel",
            at=noon("2026-03-05"), by="fm",
        )  # fmt: skip


def test_a_wrong_town_reroutes_keeps_the_carrier_and_flags_a_different_answer(store):
    # A 10-year-old in Unna: the youth office of Unna; corrected to Selm, Selm's youth office.
    case_id = open_case(
        store, "2026-03-02", birth_date=date(2015, 6, 1), school="in_school",
        received_by="jugendamt-unna",
    )  # fmt: skip
    case = correct_case(
        store, case_id, field="municipality", value="Selm", reason="Wohnort verwechselt",
        at=noon("2026-03-03"), by="fm",
    )  # fmt: skip
    assert (case["municipality"], case["carrier"]) == ("selm", "jugendamt-unna")
    assert case["routing"]["carrier"] == "jugendamt-selm"
    assert case["routing"]["review_flags"][0].startswith("Zuständigkeit prüfen")
    assert case["history"][-1]["trigger"] == "correct"


def test_a_case_changed_between_load_and_write_is_a_conflict_and_nothing_is_written(
    store, monkeypatch
):
    from workflows import corrections

    case_id = open_case(store, "2026-03-04")
    decide = corrections._decide

    def decide_then_someone_else_writes(*args, **kwargs):
        decided = decide(*args, **kwargs)
        service.update_contact(store, case_id, "p@example.org", at=noon("2026-03-04"), by="fm.b")
        return decided

    monkeypatch.setattr(corrections, "_decide", decide_then_someone_else_writes)
    with pytest.raises(ConflictError):
        correct_case(
            store, case_id, field="received_on", value="2026-03-02", reason="Stempel",
            at=noon("2026-03-05"), by="fm",
        )  # fmt: skip
    case = service.show_case(store, case_id)
    assert (case["received_on"], case["version"]) == ("2026-03-04", 2)


@pytest.mark.parametrize(
    ("field", "value", "reason", "words"),
    [
        ("carrier", "kreis-unna", "x", "lässt sich nicht berichtigen"),
        ("received_on", "02.03.2026", "x", "JJJJ-MM-TT"),
        ("municipality", "Atlantis", "x", "Unbekannte Stadt"),
        ("received_on", "2026-03-01", " ", "--reason"),
    ],
)
def test_bad_input_names_the_problem_and_changes_nothing(store, field, value, reason, words):
    case_id = open_case(store, "2026-03-04")
    before = service.show_case(store, case_id)
    with pytest.raises(InputError, match=words):
        correct_case(
            store, case_id, field=field, value=value, reason=reason, at=noon("2026-03-05"), by="fm"
        )
    assert service.show_case(store, case_id) == before
