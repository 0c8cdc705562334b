"""The case store: one decision = one transaction, optimistic versions, ids, time, data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from states.errors import ConflictError, InputError, NotFoundError, RefusedError
from tests.workflows.conftest import noon, open_case
from workflows import service, settings
from workflows.store import cases
from workflows.store.db import dispose_engines, get_engine, migrate, read_session, write_session
from workflows.store.models import AuditRow, CaseRow, DeadlineRow
from workflows.sweep import run_sweep

BY = "fallmanagerin.a"

#: The adult of tests.workflows.conftest, with a file reference and a contact address.
open_adult = partial(open_case, person_ref="AZ-4711", contact_email="person@example.org", by=BY)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in (
                "cases",
                "process_instances",
                "deadlines",
                "consents",
                "audit_entries",
                "outbox",
            )
        }


def test_opening_a_case_routes_it_and_opens_the_two_section_14_deadlines(engine):
    case_id = open_adult(engine)
    case = service.show_case(engine, case_id)
    assert case["id"] == "C-2026-000001"
    assert case["status"] == "received"
    assert case["carrier"] == "lwl"
    assert case["municipality"] == "unna"
    assert case["processes"] == {
        "case": "received",
        "statement": None,
        "conference": None,
        "housing": None,
    }
    assert [(d["rule"], d["due"], d["status"]) for d in case["deadlines"]] == [
        ("jurisdiction", "2026-03-16", "open"),
        ("decision", "2026-03-23", "open"),
    ]
    assert case["version"] == 1
    assert case["history"][0]["trigger"] == "open_case"


def test_case_ids_count_per_year_of_receipt(engine):
    ids = [
        open_adult(engine, "2025-12-30"),
        open_adult(engine, "2026-01-05"),
        open_adult(engine, "2026-01-06"),
        open_adult(engine, "2025-12-31"),
    ]
    assert ids == ["C-2025-000001", "C-2026-000001", "C-2026-000002", "C-2025-000002"]


def test_bulk_allocation_hands_out_consecutive_ids(engine):
    with write_session(engine) as session:
        first = cases.allocate_case_ids(session, 2026, 3)
        second = cases.allocate_case_ids(session, 2026, 2)
    assert first == ["C-2026-000001", "C-2026-000002", "C-2026-000003"]
    assert second == ["C-2026-000004", "C-2026-000005"]


#: A school benefit after school ended: routing cannot decide (AG-SGB IX NRW § 1 Abs. 2).
UNDECIDED = {
    "birth_date": date(2008, 1, 1),
    "benefit": "school_assistant",
    "school_finished": date(2025, 7, 1),
}


def test_an_undecided_routing_without_a_receiving_carrier_asks_for_it_and_writes_nothing(
    engine, monkeypatch
):
    monkeypatch.delenv(settings.RECEIVED_BY_ENV, raising=False)
    before = counts(engine)
    with pytest.raises(InputError) as asked:
        open_adult(engine, **UNDECIDED)
    assert "--received-by" in asked.value.message and "§ 14 Abs. 1" in asked.value.message
    assert counts(engine) == before


def test_an_undecided_routing_opens_the_case_at_the_receiving_carrier_with_its_clock(engine):
    """Legal-review C5 (S3 corrected): the two weeks of § 14 Abs. 1 S. 1 SGB IX run at the
    carrier that received the application, whatever routing says; the case is flagged
    "Zuständigkeit prüfen" and that carrier is told, without the reason (it names age and
    disability)."""
    case = service.show_case(engine, open_adult(engine, received_by="lwl", **UNDECIDED))
    assert case["carrier"] == "lwl" and case["received_on"] == "2026-03-02"
    assert case["routing"]["carrier"] is None
    assert case["routing"]["review_flags"][0].startswith("Zuständigkeit prüfen: ")
    assert "laufende Schulausbildung" in case["routing"]["reason"]
    jurisdiction = next(d for d in case["deadlines"] if d["rule"] == "jurisdiction")
    assert (jurisdiction["due"], jurisdiction["status"]) == ("2026-03-16", "open")
    with engine.connect() as conn:
        notices = conn.execute(text("SELECT event, recipient_party, context FROM outbox")).all()
    assert [(n[0], n[1]) for n in notices] == [("jurisdiction_check", "lwl")]
    assert "Schul" not in str(notices[0][2])


def test_routing_to_another_carrier_is_advice_and_the_clock_runs_where_the_application_arrived(
    engine, monkeypatch
):
    """An adult's application that arrived at the Kreis (GPV_RECEIVED_BY): the LWL is the carrier
    by the rules (AG-SGB IX NRW § 1 Abs. 1), but the Kreis must decide or forward within two weeks
    of its receipt (§ 14 Abs. 1 S. 1 SGB IX); the LWL is not a party of the case until then."""
    monkeypatch.setenv(settings.RECEIVED_BY_ENV, "kreis-unna")
    case = service.show_case(engine, open_adult(engine))
    assert (case["carrier"], case["routing"]["carrier"]) == ("kreis-unna", "lwl")
    assert "LWL" in case["routing"]["review_flags"][0]
    with read_session(engine) as session:
        row = session.get(CaseRow, case["id"])
        assert row is not None and "lwl" not in row.parties
    forwarded = service.fire(
        engine, case["id"], "forward", {"to": "lwl"}, at=noon("2026-03-10"), by=BY
    )
    assert forwarded["status"] == "forwarded"


def test_a_receiving_party_that_runs_no_gesamtplanverfahren_is_bad_input(engine):
    before = counts(engine)
    with pytest.raises(InputError, match="--received-by"):
        open_adult(engine, received_by="spdi")
    assert counts(engine) == before


def test_a_failure_in_the_middle_of_persisting_writes_nothing(engine, monkeypatch):
    case_id = open_adult(engine)
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by=BY)
    before = counts(engine)
    version = service.show_case(engine, case_id)["version"]

    import workflows.store.outbox

    def explode(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(workflows.store.outbox, "enqueue", explode)
    with pytest.raises(RuntimeError):
        # request_statement opens a deadline, a process instance, an audit entry, then the outbox
        service.fire(engine, case_id, "request_statement", {}, at=noon("2026-03-05"), by=BY)
    assert counts(engine) == before
    case = service.show_case(engine, case_id)
    assert case["version"] == version
    assert case["processes"]["statement"] is None
    with read_session(engine) as session:
        head = session.execute(text("SELECT last_id FROM audit_chain_head")).scalar_one()
    assert head == before["audit_entries"]


def test_a_decision_on_a_stale_version_is_a_conflict_and_writes_nothing(engine):
    from states.advance import advance

    case_id = open_adult(engine)
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by=BY)
    with read_session(engine) as session:
        loaded = cases.load_snapshot(session, case_id)
    service.fire(engine, case_id, "request_housing_support", {}, at=noon("2026-03-04"), by=BY)
    before = counts(engine)
    # A statement request does not clash with the housing sub-process by state: only the version
    # shows that it was decided on a case that has changed since.
    decision = advance(loaded.snapshot, "request_statement", {}, noon("2026-03-04"), BY)
    with pytest.raises(ConflictError) as conflict, write_session(engine) as session:
        cases.persist_decision(
            session, case_id, loaded.version, decision, at=noon("2026-03-04"), by=BY
        )
    assert "gleichzeitig geändert" in conflict.value.message
    assert "erneut versuchen" in conflict.value.message
    assert counts(engine) == before
    assert service.show_case(engine, case_id)["processes"]["statement"] is None


def test_an_unknown_case_is_not_found(engine):
    with pytest.raises(NotFoundError):
        service.show_case(engine, "C-2026-999999")
    with pytest.raises(NotFoundError):
        service.fire(engine, "nonsense", "close", {}, at=noon("2026-03-04"), by=BY)


def test_an_unknown_trigger_is_bad_input(engine):
    case_id = open_adult(engine)
    with pytest.raises(InputError):
        service.fire(engine, case_id, "approve_everything", {}, at=noon("2026-03-04"), by=BY)


def test_the_decision_period_is_re_anchored_when_the_statement_arrives(engine):
    case_id = open_adult(engine)
    for trigger, day in [
        ("accept_jurisdiction", "2026-03-04"),
        ("request_statement", "2026-03-05"),
        ("deliver_statement", "2026-04-07"),
    ]:
        service.fire(engine, case_id, trigger, {}, at=noon(day), by=BY)
    rows = [
        (d["rule"], d["due"], d["status"]) for d in service.show_case(engine, case_id)["deadlines"]
    ]
    # Received Mon 02.03.2026 → § 14 Abs. 2 S. 2: Mon 23.03.; statement delivered Tue 07.04.2026
    # → § 14 Abs. 2 S. 3: two weeks, Tue 21.04.2026 (domain.md § 3.3 D').
    decision_rows = [r for r in rows if r[0] == "decision"]
    # The S. 2 deadline is superseded when the Gutachten is requested, not cancelled or missed
    # (legal-review C1).
    assert decision_rows == [
        ("decision", "2026-03-23", "superseded"),
        ("decision", "2026-04-21", "open"),
    ]
    with read_session(engine) as session:
        open_per_rule = session.execute(
            text(
                "SELECT rule, count(*) FROM deadlines WHERE case_id = :c AND status = 'open' "
                "GROUP BY rule"
            ),
            {"c": case_id},
        ).all()
    assert all(n == 1 for _, n in open_per_rule)


def test_timestamps_are_stored_and_returned_as_timezone_aware_utc(engine):
    case_id = open_adult(engine)
    with read_session(engine) as session:
        entry = session.get(AuditRow, 1)
        case = session.get(CaseRow, case_id)
    assert entry.at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert entry.at.tzinfo is not None and entry.recorded_at.tzinfo is not None
    assert case.created_at.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_refused(engine):
    with pytest.raises(InputError):
        open_adult(engine, at=datetime(2026, 3, 2, 12, 0))


def test_health_data_lives_only_in_the_cases_table(engine):
    case_id = open_adult(engine, birth_date=date(1977, 7, 7))
    for trigger, day in [
        ("accept_jurisdiction", "2026-03-04"),
        ("request_statement", "2026-03-05"),
        ("request_consent", "2026-03-06"),
    ]:
        service.fire(engine, case_id, trigger, {}, at=noon(day), by=BY)
    with engine.connect() as conn:
        outbox = conn.execute(text("SELECT context, dedup_key, template_id FROM outbox")).all()
        audit_rows = conn.execute(text("SELECT params FROM audit_entries")).all()
        processes = conn.execute(text("SELECT data FROM process_instances")).all()
        stored = conn.execute(
            text("SELECT birth_date, disabilities FROM cases WHERE id = :c"), {"c": case_id}
        ).one()
    assert outbox, "the statement request must notify someone"
    assert str(stored[0]).startswith("1977-07-07") and stored[1] == "mental"
    elsewhere = json.dumps([list(map(str, r)) for r in (*outbox, *audit_rows, *processes)])
    for health in ("1977-07-07", "mental", "seelisch"):
        assert health not in elsewhere


def test_a_missed_deadline_stays_missed_when_the_step_is_finally_done(engine):
    case_id = open_adult(engine)
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by=BY)
    service.fire(engine, case_id, "request_statement", {}, at=noon("2026-03-05"), by=BY)
    run_sweep(engine, noon("2026-03-25"))  # statement due Thu 19.03.2026 → missed
    tasks = service.tasks(engine, party="spdi", now=noon("2026-03-25"))
    assert [(t["rule"], t["overdue"]) for t in tasks] == [("statement", True)]
    service.fire(engine, case_id, "deliver_statement", {}, at=noon("2026-03-26"), by=BY)
    with read_session(engine) as session:
        statement = session.execute(
            text("SELECT status, closed_at FROM deadlines WHERE rule = 'statement'")
        ).one()
    assert statement[0] == "missed" and statement[1] is not None
    assert service.tasks(engine, party="spdi", now=noon("2026-03-26")) == []


def test_the_contact_address_change_is_audited_without_keeping_the_address(engine):
    case_id = open_adult(engine, contact_email=None)
    result = service.update_contact(
        engine, case_id, "betreuerin@example.org", at=noon("2026-03-03"), by=BY
    )
    assert result["version"] == 2
    assert result["history"][-1]["trigger"] == "update_contact"
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT contact_email FROM cases")).scalar_one()
        params = conn.execute(text("SELECT params FROM audit_entries ORDER BY id DESC")).first()[0]
    assert stored == "betreuerin@example.org"
    assert "betreuerin" not in str(params)
    with pytest.raises(InputError):
        service.update_contact(engine, case_id, "no address\n", at=noon("2026-03-03"), by=BY)


def test_listing_filters_by_status_town_and_overdue(engine):
    first = open_adult(engine, municipality="Bönen")
    second = open_adult(engine, "2026-03-03", municipality="Unna")
    service.fire(engine, second, "accept_jurisdiction", {}, at=noon("2026-03-04"), by=BY)
    now = noon("2026-03-17")  # jurisdiction of the first case was due Mon 16.03.2026
    assert [c["id"] for c in service.list_cases(engine, now=now)] == [second, first]
    assert [c["id"] for c in service.list_cases(engine, status="received", now=now)] == [first]
    assert [c["id"] for c in service.list_cases(engine, municipality="Boenen", now=now)] == [first]
    overdue = service.list_cases(engine, overdue=True, now=now)
    assert [c["id"] for c in overdue] == [first] and overdue[0]["overdue"] is True
    with pytest.raises(InputError):
        service.list_cases(engine, status="approved", now=now)


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_a_deadline_of_an_unknown_case_is_refused_by_the_foreign_key(engine):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), write_session(engine) as session:
        session.add(
            DeadlineRow(
                case_id="C-2026-000404",
                rule="jurisdiction",
                norm="§ 14 Abs. 1 S. 1 SGB IX",
                process="case",
                anchor_event="application_received",
                anchor_date=date(2026, 3, 2),
                nominal_end=date(2026, 3, 16),
                due=date(2026, 3, 16),
                responsible_party="lwl",
                created_at=datetime.now(UTC),
            )
        )


def test_the_data_folder_and_database_url_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(settings.DATABASE_URL_ENV, raising=False)
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "daten"))
    assert settings.data_dir() == (tmp_path / "daten").resolve()
    assert (tmp_path / "daten").is_dir()
    assert settings.database_url() == f"sqlite:///{(tmp_path / 'daten' / 'gpv.db').resolve()}"
    monkeypatch.setenv(settings.DATABASE_URL_ENV, "postgresql+psycopg://u@h/gpv")
    assert settings.database_url() == "postgresql+psycopg://u@h/gpv"
    monkeypatch.delenv(settings.DATA_DIR_ENV)
    monkeypatch.chdir(tmp_path)
    assert settings.data_dir() == (tmp_path / ".gpv").resolve()


@pytest.mark.postgres
def test_the_store_works_the_same_on_postgresql(postgres_url):
    engine = get_engine(postgres_url)
    try:
        migrate(engine)
        case_id = open_adult(engine)
        service.fire(engine, case_id, "accept_jurisdiction", {}, at=noon("2026-03-04"), by=BY)
        case = service.show_case(engine, case_id)
        assert case["status"] == "assessment" and case["version"] == 2
        with read_session(engine) as session:
            entry = session.get(AuditRow, 1)
        assert entry.at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
        assert service.audit_verify(engine)["ok"] is True
    finally:
        dispose_engines()


def test_closing_a_rules_deadline_searches_the_case_index_not_the_backlog(engine):
    """Closing or re-anchoring names case, rule and status; on SQLite that must be an index search
    on ix_deadlines_case, never a walk over every missed deadline of every case."""
    from sqlalchemy import update
    from sqlmodel import col

    from states.decision import DeadlineStatus
    from workflows.store.rows import DeadlineClosing

    closing = DeadlineClosing("decision", DeadlineStatus.MET, "", noon("2026-03-20"))
    for conditions, _ in closing.targets():  # the WHERE clauses cases.apply_decision runs
        statement = (
            update(DeadlineRow)
            .where(col(DeadlineRow.case_id) == "C-2026-000001", *cases.where(conditions))
            .values(closed_reason="x")
        )
        sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "USING INDEX ix_deadlines_case (case_id=? AND rule=? AND status=?)" in plan


def test_forwarding_opens_a_linked_case_at_the_target_with_its_own_receipt(engine):
    """§ 14 Abs. 2 S. 4 SGB IX (legal-review C5): received by the LWL on Mon 2026-03-02, forwarded
    to the Kreis on Tue 2026-03-10. The Kreis's case runs from its own receipt (decision due three
    weeks later, Tue 2026-03-31), has no two weeks to forward again, and both cases name each
    other; the audit records the link."""
    first = open_adult(engine, benefit="school_assistant", birth_date=date(2012, 3, 4),
                       school="in_school", received_by="lwl")  # fmt: skip
    service.fire(engine, first, "forward", {"to": "kreis-unna"}, at=noon("2026-03-10"), by=BY)
    shown = service.show_case(engine, first)
    second = shown["forwarded_to"]
    assert shown["status"] == "forwarded" and second is not None
    linked = service.show_case(engine, second)
    assert (linked["carrier"], linked["received_on"], linked["forwarded_from"]) == (
        "kreis-unna", "2026-03-10", first,
    )  # fmt: skip
    assert [(d["rule"], d["due"], d["status"]) for d in linked["deadlines"]] == [
        ("decision", "2026-03-31", "open")
    ]
    assert "§ 14 Abs. 2 S. 4" in linked["routing"]["review_flags"][0]
    with read_session(engine) as session:
        entry = session.scalars(
            select(AuditRow).where(AuditRow.case_id == second)  # type: ignore[arg-type]
        ).one()
        assert entry.params == {"forwarded_from": first}
    assert service.audit_verify(engine)["ok"]


def test_a_second_forwarding_needs_the_agreement_of_section_14_abs_3(engine):
    """The Kreis may forward on only in agreement with the carrier it deems responsible (§ 14
    Abs. 3 SGB IX); the periods already running go on, so the third case keeps the Kreis's
    receipt date."""
    first = open_adult(engine, received_by="kreis-unna")
    service.fire(engine, first, "forward", {"to": "lwl"}, at=noon("2026-03-03"), by=BY)
    second = service.show_case(engine, first)["forwarded_to"]
    before = counts(engine)
    with pytest.raises(RefusedError, match=r"§ 14 Abs. 3|Einvernehmen") as refused:
        service.fire(engine, second, "forward", {"to": "kreis-unna"}, at=noon("2026-03-05"), by=BY)
    assert refused.value.norm == "§ 14 Abs. 3 SGB IX"
    assert counts(engine) == before
    service.fire(engine, second, "forward", {"to": "jugendamt-unna", "agreed": "ja"},
                 at=noon("2026-03-05"), by=BY)  # fmt: skip
    third = service.show_case(engine, service.show_case(engine, second)["forwarded_to"])
    assert (third["carrier"], third["received_on"]) == ("jugendamt-unna", "2026-03-03")


def test_forwarding_to_a_carrier_outside_gpv_opens_no_case_there(engine):
    first = open_adult(engine, received_by="lwl")
    service.fire(engine, first, "forward", {"to": "agentur-fuer-arbeit-hamm"},
                 at=noon("2026-03-04"), by=BY)  # fmt: skip
    assert service.show_case(engine, first)["forwarded_to"] is None
