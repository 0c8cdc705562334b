"""The one rule for writing a step (workflows.store.rows, .sweep_rule): pure; the SQL follows it.

The sweep's queries and the store's deadline closings are derived from the rule's conditions
(``cases.where``); these tests run both on the same rows, on SQLite and PostgreSQL, and demand
that the SQL and the pure evaluation pick the same rows and leave them the same.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from states.deadlines import berlin_date, is_overdue
from states.decision import (
    DeadlineClosure,
    DeadlineSpec,
    DeadlineStatus,
    Decision,
    Process,
    ProcessUpdate,
)
from states.errors import ConflictError
from tests.workflows.conftest import berlin
from workflows.store import cases
from workflows.store.db import get_engine, read_session, write_session
from workflows.store.models import CaseRow, DeadlineRow
from workflows.store.rows import (
    MISSED_OUTSTANDING,
    OUTSTANDING,
    SUPERSEDED,
    CurrentRows,
    DeadlineClosing,
    Values,
    apply_closing,
    decision_rows,
    matches,
)
from workflows.store.sweep_rule import (
    ESCALATION_CLAIM,
    REMINDER_CLAIM,
    past_due,
    reminder_due,
    start_of,
    swept_until,
)
from workflows.sweep import outstanding_query, overdue_query, reminder_query

CASE = "C-2026-000001"
BASE = date(2026, 3, 16)
AT = berlin("2026-03-20T10:00")
DAYS = [BASE + timedelta(days=n) for n in range(-4, 5)]


def _grid() -> list[Values]:
    """Deadline rows in every combination the rules distinguish (status, reminded or not,
    reminder day before/on/after ``BASE`` or none, due before/on/after, closed or not)."""
    sent = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    rows = []
    for n, (status, reminded, remind, due, closed, rule) in enumerate(
        itertools.product(
            ("open", "missed", "met", "cancelled"),
            (None, sent),
            (None, -2, 0, 2),
            (-1, 0, 1),
            (None, sent),
            ("decision", "statement"),
        ),
        start=1,
    ):
        rows.append(
            {
                "id": n, "case_id": CASE, "rule": rule, "norm": "§ 14 SGB IX", "process": "case",
                "anchor_event": "received", "anchor_date": BASE - timedelta(days=21),
                "nominal_end": BASE + timedelta(days=due), "due": BASE + timedelta(days=due),
                "remind_on": None if remind is None else BASE + timedelta(days=remind),
                "status": status, "responsible_party": "lwl", "reminder_sent_at": reminded,
                "escalated_at": None, "closed_at": closed, "closed_reason": None,
                "created_at": sent,
            }
        )  # fmt: skip
    return rows


@pytest.fixture
def stored(db_url: str) -> tuple[str, list[Values]]:
    """The grid, in a migrated store (the case row only satisfies the foreign key)."""
    rows = _grid()
    with write_session(get_engine(db_url)) as session:
        session.add(
            CaseRow(
                id=CASE, status="assessment", carrier="lwl", municipality="unna",
                received_on=BASE, birth_date=date(1990, 5, 17), disabilities="mental",
                benefit="supported_living", created_at=AT, updated_at=AT,
            )
        )  # fmt: skip
        session.flush()
        session.execute(DeadlineRow.__table__.insert(), rows)  # type: ignore[attr-defined]
    return db_url, rows


def _ids(db_url: str, query) -> set[int]:
    with read_session(get_engine(db_url)) as session:
        return {int(row[0]) for row in session.execute(query)}


def _pure(rows: list[Values], conditions) -> set[int]:
    return {row["id"] for row in rows if matches(row, conditions)}


def test_the_sweep_queries_pick_exactly_the_rows_the_pure_rule_picks(stored):
    db_url, rows = stored
    for today in DAYS:
        assert _ids(db_url, reminder_query(today)) == _pure(rows, reminder_due(today)), today
        assert _ids(db_url, overdue_query(today)) == _pure(rows, past_due(today)), today
    assert _ids(db_url, outstanding_query()) == _pure(rows, MISSED_OUTSTANDING)
    everything = select(col(DeadlineRow.id))
    for conditions in (OUTSTANDING, ESCALATION_CLAIM, REMINDER_CLAIM):
        assert _ids(db_url, everything.where(*cases.where(conditions))) == _pure(rows, conditions)


@pytest.mark.parametrize(
    "closing",
    [
        DeadlineClosing("decision", DeadlineStatus.MET, "", AT),
        DeadlineClosing("statement", DeadlineStatus.MISSED, "", AT),
        DeadlineClosing("decision", DeadlineStatus.CANCELLED, SUPERSEDED, AT),
    ],
    ids=["met", "done-late", "superseded"],
)
def test_a_closing_leaves_the_same_rows_in_the_store_as_in_memory(stored, closing):
    db_url, rows = stored
    engine = get_engine(db_url)
    with write_session(engine) as session:
        cases.close_deadlines(session, CASE, closing)
    apply_closing(rows, closing)
    columns = ("id", "status", "closed_at", "closed_reason")
    with read_session(engine) as session:
        stored_rows = session.execute(
            select(*(col(getattr(DeadlineRow, c)) for c in columns)).order_by(col(DeadlineRow.id))
        ).all()
    assert [tuple(r) for r in stored_rows] == [tuple(row[c] for c in columns) for row in rows]


def test_past_due_is_the_legal_rule_a_period_ends_at_midnight_of_its_due_day():
    row = {"status": "open", "closed_at": None, "due": BASE}
    first = start_of(BASE + timedelta(days=1))
    for now in (first - timedelta(microseconds=1), first, first + timedelta(hours=30)):
        assert matches(row, past_due(berlin_date(now))) == is_overdue(BASE, now), now
    assert not is_overdue(BASE, first - timedelta(microseconds=1)) and is_overdue(BASE, first)


def test_a_sweep_running_every_minute_reminds_on_the_reminder_day_and_escalates_after_the_due_day():
    reminded, overdue, late = (
        {"id": 1, "status": "open", "reminder_sent_at": None, "closed_at": None,
         "remind_on": BASE - timedelta(days=3), "due": BASE},
        {"id": 2, "status": "open", "reminder_sent_at": None, "closed_at": None,
         "remind_on": None, "due": BASE - timedelta(days=2)},
        {"id": 3, "status": "open", "reminder_sent_at": None, "closed_at": None,
         "remind_on": BASE + timedelta(days=2), "due": BASE + timedelta(days=1)},
    )  # fmt: skip
    reminders, escalations = swept_until(
        [reminded, overdue, late], start_of(BASE + timedelta(days=3))
    )
    assert [(s.row["id"], s.at, s.today) for s in reminders] == [
        (1, start_of(BASE - timedelta(days=3)), BASE - timedelta(days=3))
    ]  # the third was overdue before its reminder day: only its escalation
    assert [(s.row["id"], s.at) for s in escalations] == [
        (2, start_of(BASE - timedelta(days=1))),
        (1, start_of(BASE + timedelta(days=1))),
        (3, start_of(BASE + timedelta(days=2))),
    ]
    assert escalations[0].values == {"status": "missed", "escalated_at": escalations[0].at}
    assert reminded["status"] == "open"  # the rows are not changed by the replay


SPEC = DeadlineSpec(
    "decision", "§ 14 Abs. 2 SGB IX", Process.CASE, "statement_received", BASE,
    BASE + timedelta(days=14), BASE + timedelta(days=14), None, "lwl",
)  # fmt: skip
CURRENT = CurrentRows(
    version=3,
    processes={
        "case": {"instance_no": 1, "state": "assessment"},
        "statement": {"instance_no": 1, "state": "declined"},
    },
)


LATER = AT + timedelta(days=1)  # when gpv writes the step


def _rows(*updates: ProcessUpdate, **decision):
    return decision_rows(
        CASE, CURRENT, Decision("t", updates, **decision), at=AT, by="fm", now=LATER
    )


def test_a_new_deadline_supersedes_the_outstanding_one_of_its_rule_after_the_closings():
    changes = _rows(
        ProcessUpdate(Process.CASE, "assessment", "assessment"),
        deadlines_open=(SPEC,),
        deadlines_close=(DeadlineClosure("statement", DeadlineStatus.MET),),
    )
    assert changes.closings == (DeadlineClosing("statement", DeadlineStatus.MET, "", AT),)
    (new,) = changes.new_deadlines
    assert new.supersedes == DeadlineClosing("decision", DeadlineStatus.CANCELLED, SUPERSEDED, AT)
    assert new.values["status"] == "open" and new.values["created_at"] == LATER
    assert changes.case == {"status": "assessment", "updated_at": LATER}


def test_an_update_expecting_another_state_than_the_current_one_is_a_conflict():
    with pytest.raises(ConflictError, match="erwartet Version 3"):
        _rows(ProcessUpdate(Process.CASE, "received", "assessment"))


def test_a_sub_process_started_and_moved_by_one_decision_is_one_new_instance():
    changes = _rows(
        ProcessUpdate(Process.STATEMENT, None, "requested", new_instance=True),
        ProcessUpdate(Process.STATEMENT, "requested", "accepted", {"by": "spdi"}),
    )
    assert changes.instance_changes == ()
    (new,) = changes.new_instances
    assert (new["instance_no"], new["state"], new["data"]) == (2, "accepted", {"by": "spdi"})


def test_a_fact_the_store_does_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown fact 'shoe_size'"):
        _rows(ProcessUpdate(Process.CASE, None, "assessment"), facts_update={"shoe_size": 44})
