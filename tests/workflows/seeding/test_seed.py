"""The benchmark seed: realistic shape, consistent with the engine, usable, repeatable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from states.agreement import load_agreement
from states.decision import CaseState
from workflows import service
from workflows.seeding.seed import seed
from workflows.store.db import dispose_engines, get_engine, migrate
from workflows.sweep import overdue_report, run_sweep

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=BERLIN)  # Monday after Whit Monday (25 May 2026)
CASES = 200


@pytest.fixture
def seeded(engine: Engine) -> tuple[Engine, dict]:
    """A freshly seeded store, for tests that change it."""
    return engine, seed(engine, cases=CASES, now=NOW)


@pytest.fixture(scope="module")
def seeded_once(tmp_path_factory) -> Iterator[tuple[Engine, dict]]:
    """One seeded store shared by the tests that only read (a sweep with nothing to do included)."""
    eng = get_engine(f"sqlite:///{tmp_path_factory.mktemp('seed') / 'gpv.db'}")
    migrate(eng)
    yield eng, seed(eng, cases=CASES, now=NOW)
    dispose_engines()


def rows(engine: Engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_seeding_200_cases_spreads_them_over_all_ten_towns_and_every_case_state(seeded_once):
    engine, result = seeded_once
    assert result["cases"] == CASES
    # plus the cases opened where applications were forwarded to (§ 14 Abs. 2 S. 4 SGB IX)
    assert result["forwarded_cases"] > 0
    assert rows(engine, "SELECT count(*) FROM cases") == [(CASES + result["forwarded_cases"],)]
    towns = {t for (t,) in rows(engine, "SELECT DISTINCT municipality FROM cases")}
    assert towns == set(load_agreement().towns)
    states = {s for (s,) in rows(engine, "SELECT DISTINCT status FROM cases")}
    assert states == {s.value for s in CaseState}
    assert result["by_status"] == dict(
        sorted(Counter(s for (s,) in rows(engine, "SELECT status FROM cases")).items())
    )


def test_seeded_sub_processes_reach_open_and_final_states_of_each_kind(seeded_once):
    engine, _ = seeded_once
    found = set(rows(engine, "SELECT DISTINCT process, state FROM process_instances"))
    for expected in [
        ("statement", "requested"),
        ("statement", "accepted"),
        ("statement", "delivered"),
        ("statement", "declined"),
        ("conference", "consent_pending"),
        ("conference", "scheduled"),
        ("conference", "held"),
        ("conference", "refused"),
        ("conference", "cancelled"),
        ("housing", "requested"),
        ("housing", "acknowledged"),
        ("housing", "provided"),
        ("housing", "closed"),
    ]:
        assert expected in found


def test_seeded_deadlines_are_open_overdue_and_due_for_reminders_as_of_now(seeded_once):
    engine, result = seeded_once
    per_case = Counter(
        c for (c,) in rows(engine, "SELECT case_id FROM deadlines WHERE status = 'open'")
    )
    # At most three deadlines can be open at once (decision, statement, housing_ack in assessment);
    # while a Gutachten is awaited without a conference no decision deadline runs (§ 14 Abs. 2 S. 3)
    assert 2 <= max(per_case.values()) <= 3
    assert result["open_deadlines"] == sum(per_case.values())
    assert 0.8 <= result["open_deadlines"] / CASES <= 3
    dues = [date.fromisoformat(str(d)) for (d,) in rows(engine, "SELECT due FROM deadlines")]
    today = NOW.date()
    assert any(d < today - timedelta(days=7) for d in dues)
    assert any(today <= d <= today + timedelta(days=14) for d in dues)
    statuses = {s for (s,) in rows(engine, "SELECT DISTINCT status FROM deadlines")}
    # superseded: § 14 Abs. 2 S. 2 replaced by S. 3 or § 15 Abs. 4 (legal-review C1, C2)
    assert statuses == {"open", "met", "missed", "cancelled", "superseded"}
    # Overdue steps are still outstanding (missed, closed_at NULL) and reminders were sent.
    assert rows(
        engine, "SELECT count(*) FROM deadlines WHERE status = 'missed' AND closed_at IS NULL"
    )[0][0]
    assert rows(engine, "SELECT count(*) FROM deadlines WHERE reminder_sent_at IS NOT NULL")[0][0]


def test_a_sweep_at_the_seed_time_finds_nothing_left_to_do(seeded_once):
    engine, _ = seeded_once
    result = run_sweep(engine, NOW)
    assert result == {"reminders": 0, "escalations": 0}
    report = overdue_report(engine, NOW)  # the missed, still outstanding deadlines are listed
    assert report["overdue"] and report["overdue_total"] >= len(report["overdue"])


def test_a_sweep_the_next_morning_finds_a_batch_of_reminders_and_escalations(seeded):
    engine, _ = seeded
    result = run_sweep(engine, NOW + timedelta(days=1))
    assert result["reminders"] > 0
    assert result["escalations"] > 0


def test_seeded_audit_history_passes_verification(seeded_once):
    engine, result = seeded_once
    verified = service.audit_verify(engine)
    assert verified["ok"], verified
    assert verified["checked"] == result["audit_entries"]


def test_each_seeded_case_version_counts_its_steps_and_its_status_is_its_case_process(seeded_once):
    engine, _ = seeded_once
    steps = dict(
        rows(
            engine,
            "SELECT case_id, count(*) FROM audit_entries WHERE by <> 'system:sweep' "
            "GROUP BY case_id",
        )
    )
    for case_id, version, status, process_state in rows(
        engine,
        "SELECT c.id, c.version, c.status, p.state FROM cases c JOIN process_instances p "
        "ON p.case_id = c.id AND p.process = 'case'",
    ):
        assert version == steps[case_id]  # open_case plus one per trigger fired
        assert status == process_state


def test_a_seeded_case_can_be_fired(seeded):
    engine, _ = seeded
    (case_id, version), *_ = rows(
        engine, "SELECT id, version FROM cases WHERE status = 'received' ORDER BY id"
    )
    shown = service.fire(engine, case_id, "accept_jurisdiction", {}, at=NOW, by="test")
    assert shown["status"] == "assessment"
    assert shown["version"] == version + 1
    (requested,) = rows(
        engine,
        "SELECT c.id FROM cases c JOIN process_instances p ON p.case_id = c.id "
        "WHERE p.process = 'statement' AND p.state = 'requested' AND c.status = 'assessment' "
        "ORDER BY c.id LIMIT 1",
    )
    shown = service.fire(engine, requested[0], "deliver_statement", {}, at=NOW, by="test")
    assert shown["processes"]["statement"] == "delivered"
    assert service.audit_verify(engine)["ok"]


def _second_seed_does_not_collide(engine: Engine) -> None:
    first = seed(engine, cases=60, now=NOW)
    second = seed(engine, cases=60, now=NOW, rng_seed=7)
    ids = [i for (i,) in rows(engine, "SELECT id FROM cases")]
    assert len(ids) == len(set(ids)) == 120 + first["forwarded_cases"] + second["forwarded_cases"]
    assert first["last_id"] != second["last_id"]
    opened = service.open_case(
        engine,
        received=date(2026, 5, 29),
        birth_date=date(1990, 5, 17),
        municipality="Unna",
        disabilities="mental",
        benefit="supported_living",
        at=NOW,
        by="test",
    )
    assert opened["id"] not in ids
    assert len(opened["deadlines"]) == 2  # new deadline rows get fresh ids after the seeded ones
    assert service.audit_verify(engine)["ok"]


def test_a_second_seed_and_a_case_opened_afterwards_do_not_collide(engine):
    _second_seed_does_not_collide(engine)


@pytest.mark.postgres
def test_a_second_seed_and_a_case_opened_afterwards_do_not_collide_on_postgresql(postgres_url):
    eng = get_engine(postgres_url)
    try:
        migrate(eng)
        _second_seed_does_not_collide(eng)
        (case_id,) = rows(eng, "SELECT id FROM cases WHERE status = 'received' LIMIT 1")[0]
        assert service.fire(eng, case_id, "accept_jurisdiction", {}, at=NOW, by="test")
    finally:
        dispose_engines()


def test_the_same_rng_seed_gives_the_same_cases(tmp_path):
    results = []
    for name in ("a", "b"):
        eng = get_engine(f"sqlite:///{tmp_path / name}.db")
        migrate(eng)
        results.append(seed(eng, cases=40, now=NOW))
        results[-1].pop("seconds")
    dispose_engines()
    assert results[0] == results[1]


def test_gpv_dev_seed_prints_json_and_refuses_a_bad_count(tmp_path, monkeypatch, capsys):
    import json

    from workflows.cli import main

    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GPV_DATABASE_URL", raising=False)
    try:
        with pytest.raises(SystemExit) as exited:
            main(["dev", "seed", "--cases", "0"])
        assert exited.value.code == 2
        assert "--cases" in capsys.readouterr().err
        main(["dev", "seed", "--cases", "15", "--now", "2026-06-01T08:00", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert out["cases"] == 15
    finally:
        dispose_engines()


def test_the_peak_profile_gives_about_three_open_deadlines_per_case_and_nothing_left_to_do(engine):
    result = seed(engine, cases=CASES, now=NOW, profile="peak")
    assert result["profile"] == "peak"
    open_per_case = result["open_deadlines"] / CASES
    assert 2.7 <= open_per_case <= 3.0, result
    assert rows(engine, "SELECT count(*) FROM deadlines WHERE status = 'open'") == [
        (result["open_deadlines"],)
    ]
    per_case = Counter(
        n for _, n in rows(
            engine, "SELECT case_id, count(*) FROM deadlines WHERE status = 'open' GROUP BY case_id"
        )
    )  # fmt: skip
    # decision, statement and housing_ack open; a youth office's case has no two-month reading
    # with a Hilfeplangespräch (SGB VIII), so its decision period waits for the statement
    assert per_case[3] >= 0.75 * CASES
    assert set(per_case) <= {2, 3}
    open_rules = rows(engine, "SELECT DISTINCT rule FROM deadlines WHERE status = 'open'")
    assert {r for (r,) in open_rules} == {"jurisdiction", "decision", "statement", "housing_ack"}
    assert run_sweep(engine, NOW) == {"reminders": 0, "escalations": 0}
    assert service.audit_verify(engine)["ok"]


def test_gpv_dev_seed_takes_a_profile_and_refuses_an_unknown_one(tmp_path, monkeypatch, capsys):
    import json

    from workflows.cli import main

    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GPV_DATABASE_URL", raising=False)
    try:
        with pytest.raises(SystemExit) as exited:
            main(["dev", "seed", "--cases", "5", "--profile", "busy"])
        assert exited.value.code == 2
        assert "--profile" in capsys.readouterr().err
        args = ["dev", "seed", "--cases", "12", "--profile", "peak", "--now", "2026-06-01T08:00"]
        main([*args, "--json"])
        out = json.loads(capsys.readouterr().out)
        assert out["profile"] == "peak" and out["open_deadlines"] >= 2 * 12
    finally:
        dispose_engines()
