"""The deadline sweep: one reminder when its day has come, one escalation when a deadline is missed.

Case used throughout: application received Mon 02.03.2026 in Unna by the LWL. Its deadlines:
``jurisdiction`` due Mon 16.03.2026 (reminder Wed 11.03.), ``decision`` due Mon 23.03.2026
(reminder Wed 18.03.).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import partial

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.workflows import conftest
from tests.workflows.conftest import berlin
from workflows import service
from workflows.store.db import dispose_engines, get_engine, migrate, read_session
from workflows.sweep import (
    outstanding_query,
    overdue_query,
    overdue_report,
    reminder_query,
    run_sweep,
)

#: The adult of tests.workflows.conftest, born 1985, case recorded at 10:00 on Mon 02.03.2026.
open_case = partial(conftest.open_case, birth_date=date(1985, 1, 9), at=berlin("2026-03-02T10:00"))


def outbox(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT event, recipient_role, recipient_party, dedup_key, context FROM outbox "
                    "ORDER BY id"
                )
            )
        ]


def deadline(engine: Engine, rule: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, status, reminder_sent_at, escalated_at FROM deadlines "
                "WHERE rule = :r ORDER BY id DESC"
            ),
            {"r": rule},
        ).first()
    return dict(row._mapping)


def test_before_the_reminder_day_nothing_is_sent(engine):
    open_case(engine)
    result = run_sweep(engine, berlin("2026-03-10T23:59"))
    assert result == {"reminders": 0, "escalations": 0}
    assert overdue_report(engine, berlin("2026-03-10T23:59")) == {"overdue": [], "overdue_total": 0}
    assert outbox(engine) == []


def test_a_reminder_is_written_once_when_its_day_has_come(engine):
    open_case(engine)
    first = run_sweep(engine, berlin("2026-03-11T00:01"))
    assert (first["reminders"], first["escalations"]) == (1, 0)
    rows = outbox(engine)
    jurisdiction_id = deadline(engine, "jurisdiction")["id"]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (
            "jurisdiction_reminder",
            "lwl",
            f"deadline:{jurisdiction_id}:reminder:jurisdiction_reminder:responsible:lwl",
        )
    ]
    context = rows[0][4] if isinstance(rows[0][4], dict) else json.loads(rows[0][4])
    assert context["rule"] == "jurisdiction"
    assert context["due"] == "2026-03-16"
    assert context["norm"] == "§ 14 Abs. 1 S. 1 SGB IX"
    assert context["responsible_party"] == "lwl"
    assert deadline(engine, "jurisdiction")["reminder_sent_at"] is not None
    again = run_sweep(engine, berlin("2026-03-12T08:00"))
    assert (again["reminders"], again["escalations"]) == (0, 0)
    assert len(outbox(engine)) == 1


def test_on_its_due_day_a_deadline_is_not_yet_missed(engine):
    open_case(engine)
    result = run_sweep(engine, berlin("2026-03-16T23:59"))
    assert result["escalations"] == 0
    assert deadline(engine, "jurisdiction")["status"] == "open"


def test_a_deadline_past_its_due_day_is_missed_and_escalated_once(engine):
    case_id = open_case(engine)
    run_sweep(engine, berlin("2026-03-11T08:00"))  # the reminder first
    result = run_sweep(engine, berlin("2026-03-17T00:00"))
    assert result["escalations"] == 1
    assert overdue_report(engine, berlin("2026-03-17T00:00"))["overdue"] == [
        {
            "case_id": case_id,
            "rule": "jurisdiction",
            "norm": "§ 14 Abs. 1 S. 1 SGB IX",
            "due": "2026-03-16",
            "days_overdue": 1,
            "responsible_party": "lwl",
        }
    ]
    row = deadline(engine, "jurisdiction")
    assert row["status"] == "missed" and row["escalated_at"] is not None
    escalations = [r for r in outbox(engine) if r[0] == "deadline_missed"]
    assert {r[2] for r in escalations} == {"lwl", "lwl-leitung"}  # responsible and supervisor
    assert all(r[3].startswith(f"deadline:{row['id']}:escalation:") for r in escalations)
    again = run_sweep(engine, berlin("2026-03-18T09:00"))
    assert again["escalations"] == 0
    assert [r for r in outbox(engine) if r[0] == "deadline_missed"] == escalations
    assert overdue_report(engine, berlin("2026-03-18T09:00"))["overdue"][0]["days_overdue"] == 2


def test_a_deadline_overdue_before_its_reminder_went_out_gets_only_the_escalation(engine):
    open_case(engine)
    result = run_sweep(engine, berlin("2026-03-24T08:00"))  # both deadlines missed, no sweep ran
    assert (result["reminders"], result["escalations"]) == (0, 2)
    assert {r[0] for r in outbox(engine)} == {"deadline_missed"}


def test_the_escalation_event_is_the_rules_overdue_event(engine):
    case_id = open_case(engine)
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=berlin("2026-03-03T09:00"), by="fm")
    service.fire(engine, case_id, "request_statement", {}, at=berlin("2026-03-03T09:30"), by="fm")
    # statement requested Tue 03.03.2026 → due Tue 17.03.2026
    run_sweep(engine, berlin("2026-03-18T06:00"))
    events = {(r[0], r[2]) for r in outbox(engine)}
    assert ("statement_overdue", "spdi") in events
    assert ("statement_overdue", "kreis-unna-leitung") in events  # the SPDI's supervisor


def test_escalations_are_recorded_in_the_audit_history_and_the_chain_holds(engine):
    case_id = open_case(engine)
    run_sweep(engine, berlin("2026-03-17T08:00"))
    history = service.show_case(engine, case_id)["history"]
    assert history[-1]["trigger"] == "miss_deadline"
    assert (history[-1]["from"], history[-1]["to"], history[-1]["by"]) == (
        "open",
        "missed",
        "system:sweep",
    )
    assert service.audit_verify(engine)["ok"] is True


def test_notices_of_the_sweep_carry_no_health_data(engine):
    open_case(engine, birth_date=date(1966, 6, 6), disabilities="mental,addiction")
    run_sweep(engine, berlin("2026-03-11T08:00"))
    run_sweep(engine, berlin("2026-03-25T08:00"))
    text_of_outbox = json.dumps([[str(v) for v in r] for r in outbox(engine)])
    assert outbox(engine)
    for health in ("1966-06-06", "mental", "addiction", "seelisch", "Sucht"):
        assert health not in text_of_outbox


def test_the_sweep_queries_are_range_scans_of_their_indexes(engine):
    today = date(2026, 3, 17)
    with read_session(engine) as session:
        conn = session.connection()
        plans = {}
        for name, query in (("due", overdue_query(today)), ("reminder", reminder_query(today))):
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            plans[name] = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            )
    assert "COVERING INDEX ix_deadlines_due" in plans["due"], plans
    assert "COVERING INDEX ix_deadlines_reminder" in plans["reminder"], plans


def test_the_overdue_report_reads_ix_deadlines_due_in_order_without_sorting_the_backlog(engine):
    with read_session(engine) as session:
        conn = session.connection()
        compiled = (
            outstanding_query().limit(500).compile(conn, compile_kwargs={"literal_binds": True})
        )
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "INDEX ix_deadlines_due" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index order is the report's order


def test_gpv_sweep_prints_reminders_and_escalations_as_json(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "GPV_DATA_DIR": str(tmp_path), "GPV_USER": "fm"}
    env.pop("GPV_DATABASE_URL", None)
    gpv = str(Path(sys.executable).with_name("gpv"))
    engine = get_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    try:
        migrate(engine)
        open_case(engine)
    finally:
        dispose_engines()
    done = subprocess.run(
        [gpv, "sweep", "--now", "2026-03-17T08:00", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["reminders"], result["escalations"]) == (0, 1)
    assert result["overdue"][0]["rule"] == "jurisdiction"
    assert result["overdue_total"] == 1


def test_a_sweep_with_a_naive_time_is_refused(engine):
    with pytest.raises(ValueError):
        run_sweep(engine, datetime(2026, 3, 17, 8, 0))
    assert run_sweep(engine, datetime(2026, 3, 17, 8, 0, tzinfo=UTC))["reminders"] == 0


def _per_key_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT dedup_key, count(*) FROM outbox GROUP BY dedup_key")).all()
        )


def test_a_sweep_over_several_chunks_writes_each_reminder_and_escalation_exactly_once(engine):
    cases = [open_case(engine) for _ in range(7)]
    # Wed 11.03.2026: the seven jurisdiction reminders, in chunks of two (four transactions).
    assert run_sweep(engine, berlin("2026-03-11T08:00"), chunk=2) == {
        "reminders": 7,
        "escalations": 0,
    }
    assert run_sweep(engine, berlin("2026-03-11T08:05"), chunk=3)["reminders"] == 0
    # Tue 24.03.2026: jurisdiction (16.03.) and decision (23.03.) of each case are missed.
    assert run_sweep(engine, berlin("2026-03-24T08:00"), chunk=3) == {
        "reminders": 0,
        "escalations": 14,
    }
    assert run_sweep(engine, berlin("2026-03-24T08:05"), chunk=2)["escalations"] == 0
    per_key = _per_key_counts(engine)
    assert set(per_key.values()) == {1}
    events = [r[0] for r in outbox(engine)]
    assert events.count("jurisdiction_reminder") == 7
    assert events.count("deadline_missed") == 14 * 2  # the LWL and its supervisor each
    with engine.connect() as conn:
        missed = conn.execute(
            text("SELECT count(*) FROM audit_entries WHERE trigger = 'miss_deadline'")
        ).scalar_one()
        statuses = conn.execute(text("SELECT DISTINCT status FROM deadlines")).all()
    assert missed == 14 and statuses == [("missed",)]
    assert len({c for c in cases}) == 7 and service.audit_verify(engine)["ok"] is True


def test_a_sweep_in_small_chunks_writes_the_same_notices_as_one_in_a_single_chunk(tmp_path):
    def swept(name: str, chunk: int) -> list[tuple]:
        eng = get_engine(f"sqlite:///{tmp_path / name}")
        migrate(eng)
        for received in ("2026-03-02", "2026-03-03", "2026-03-04"):
            open_case(eng, received=date.fromisoformat(received), at=berlin(f"{received}T10:00"))
        for now in ("2026-03-11T08:00", "2026-03-18T08:00", "2026-03-26T08:00"):
            run_sweep(eng, berlin(now), chunk=chunk)
        return [(r[0], r[1], r[2], r[3]) for r in outbox(eng)]

    try:
        assert sorted(swept("small.db", 1)) == sorted(swept("one.db", 500))
    finally:
        dispose_engines()


def test_the_overdue_report_lists_the_most_overdue_first_up_to_its_limit_and_counts_all(engine):
    for received in ("2026-03-09", "2026-03-02", "2026-03-05"):
        open_case(engine, received=date.fromisoformat(received), at=berlin(f"{received}T10:00"))
    now = berlin("2026-04-01T08:00")
    run_sweep(engine, now)  # jurisdiction and decision of all three are missed
    report = overdue_report(engine, now, limit=2)
    assert report["overdue_total"] == 6
    assert [(o["rule"], o["due"], o["days_overdue"]) for o in report["overdue"]] == [
        ("jurisdiction", "2026-03-16", 16),  # received Mon 02.03.
        ("jurisdiction", "2026-03-19", 13),  # received Thu 05.03.
    ]
    assert set(report["overdue"][0]) == {
        "case_id", "rule", "norm", "due", "days_overdue", "responsible_party",
    }  # fmt: skip
    everything = overdue_report(engine, now)
    assert len(everything["overdue"]) == 6 and everything["overdue"][:2] == report["overdue"]
    assert overdue_report(engine, now, limit=0) == {"overdue": [], "overdue_total": 6}


def test_a_sweep_with_nothing_due_does_not_read_the_backlog_of_missed_deadlines(engine):
    from sqlalchemy import event

    open_case(engine)
    run_sweep(engine, berlin("2026-03-24T08:00"))  # two deadlines missed, still outstanding
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(f"{statement} {parameters}")

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert run_sweep(engine, berlin("2026-03-25T08:00")) == {"reminders": 0, "escalations": 0}
    finally:
        event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, seen  # the two indexed queries of what is due, nothing else
    assert not any("missed" in s for s in seen), seen


def test_a_decision_deadline_replaced_by_a_gutachten_is_never_escalated_or_counted_missed(db_url):
    """Legal-review S2, corrected (C1): received Mon 2026-03-02, statement requested 2026-03-16.
    The sweep of 2026-03-24 escalates nothing for the decision (its S. 2 date, 2026-03-23, was
    replaced by § 14 Abs. 2 S. 3), and no report counts it as missed."""
    from workflows.orchestration import artifacts

    engine = get_engine(db_url)
    try:
        migrate(engine)
        case_id = open_case(engine)
        service.fire(engine, case_id, "accept_jurisdiction", {}, at=berlin("2026-03-04T10:00"),
                     by="fm")  # fmt: skip
        service.fire(engine, case_id, "request_statement", {}, at=berlin("2026-03-16T10:00"),
                     by="fm")  # fmt: skip
        now = berlin("2026-03-24T08:00")
        assert run_sweep(engine, now)["escalations"] == 0
        assert [
            e for e, *_ in outbox(engine) if e in ("deadline_missed", "decision_reminder")
        ] == []
        assert overdue_report(engine, now)["overdue_total"] == 0
        decision = deadline(engine, "decision")
        assert decision["status"] == "superseded" and decision["escalated_at"] is None
        per_rule = artifacts.deadlines_per_rule(engine, berlin("2026-03-31T08:00"))
        assert [r["versäumt"] for r in per_rule if r["Frist"].startswith("decision")] in ([], [0])
        service.fire(engine, case_id, "deliver_statement", {}, at=berlin("2026-03-27T10:00"),
                     by="spdi")  # fmt: skip
        shown = service.show_case(engine, case_id)["deadlines"]
        assert [
            (d["variant"], d["due"], d["status"]) for d in shown if d["rule"] == "decision"
        ] == [
            ("standard", "2026-03-23", "superseded"),
            ("after_statement", "2026-04-10", "open"),
        ]
    finally:
        dispose_engines()
