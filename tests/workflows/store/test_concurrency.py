"""Real parallel processes on the same data, on SQLite and on PostgreSQL.

Two case managers firing on one case at once: exactly one wins, the other gets a conflict and
nothing of it is written. Two sweeps at once: each reminder and escalation exists exactly once.
Concurrent openings get distinct, consecutive case ids and one unforked audit chain.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import text

from tests.workflows import conftest
from tests.workflows.conftest import berlin
from workflows import service
from workflows.store.db import get_engine

GPV = Path(sys.executable).with_name("gpv")
SPAWN = multiprocessing.get_context("spawn")
TIMEOUT = 120


def open_case(url: str, received: str = "2026-03-02") -> str:
    return conftest.open_case(
        get_engine(url),
        received,
        birth_date=date(1988, 8, 8),
        municipality="Lünen",
        disabilities="intellectual",
        at=berlin(f"{received}T09:00"),
    )


# -- child processes (module level, so that "spawn" can import them) -----------------------------


def _load_decide_wait_persist(url, case_id, trigger, barrier, results):
    from states.advance import advance
    from states.errors import ConflictError
    from workflows.store import cases
    from workflows.store.db import get_engine, read_session, write_session

    engine = get_engine(url)
    at = berlin("2026-03-04T10:00")
    with read_session(engine) as session:
        loaded = cases.load_snapshot(session, case_id)
    decision = advance(loaded.snapshot, trigger, {}, at, f"fm-{trigger}")
    barrier.wait(timeout=TIMEOUT)  # both have loaded the same version before either persists
    try:
        with write_session(engine) as session:
            cases.persist_decision(session, case_id, loaded.version, decision, at=at, by="fm")
        results.put((trigger, "ok"))
    except ConflictError as exc:
        results.put((trigger, f"conflict: {exc.message}"))


def _sweep_twice(url, barrier, results, chunk=None):
    from workflows.store.db import get_engine
    from workflows.sweep import CHUNK, run_sweep

    engine = get_engine(url)
    for now in ("2026-03-11T08:00", "2026-03-24T08:00"):
        barrier.wait(timeout=TIMEOUT)
        result = run_sweep(engine, berlin(now), chunk=chunk or CHUNK)
        results.put((now, result["reminders"], result["escalations"]))


def _sweep_twice_in_chunks(url, chunk, barrier, results):
    _sweep_twice(url, barrier, results, chunk)


def _open_cases(url, n, barrier, results):
    barrier.wait(timeout=TIMEOUT)
    for _ in range(n):
        results.put(open_case(url))


def _run(target, args_per_process, expect: int) -> list:
    results = SPAWN.Queue()
    barrier = SPAWN.Barrier(len(args_per_process))
    procs = [
        SPAWN.Process(target=target, args=(*args, barrier, results)) for args in args_per_process
    ]
    for p in procs:
        p.start()
    out: list = []
    # Read while the children run (a child exits only once its queued results are read).
    while len(out) < expect and any(p.is_alive() for p in procs):
        with contextlib.suppress(queue.Empty):
            out.append(results.get(timeout=1))
    while len(out) < expect:
        out.append(results.get(timeout=5))
    for p in procs:
        p.join(TIMEOUT)
    assert [p.exitcode for p in procs] == [0] * len(procs), "a child process failed"
    return out


# -- tests ----------------------------------------------------------------------------------------


def test_two_managers_firing_on_one_case_at_once_one_wins_the_other_gets_a_conflict(db_url):
    case_id = open_case(db_url)
    engine = get_engine(db_url)
    service.fire(engine, case_id, "accept_jurisdiction", {}, at=berlin("2026-03-03T09:00"), by="fm")
    # Two sub-processes that do not touch each other's state: only the case version can tell
    # that the second decision was taken on a stale case.
    outcomes = dict(
        _run(
            _load_decide_wait_persist,
            [(db_url, case_id, "request_statement"), (db_url, case_id, "request_housing_support")],
            expect=2,
        )
    )
    assert sorted(v.split(":")[0] for v in outcomes.values()) == ["conflict", "ok"], outcomes
    winner = next(t for t, v in outcomes.items() if v == "ok")
    loser = next(t for t, v in outcomes.items() if v != "ok")
    assert "gleichzeitig geändert" in outcomes[loser]
    case = service.show_case(get_engine(db_url), case_id)
    triggers = [h["trigger"] for h in case["history"]]
    assert triggers == ["open_case", "accept_jurisdiction", winner]
    assert case["version"] == 3
    loser_process = {"request_statement": "statement", "request_housing_support": "housing"}[loser]
    assert case["processes"][loser_process] is None
    with engine.connect() as conn:
        rules = conn.execute(text("SELECT rule FROM deadlines WHERE status = 'open'")).scalars()
        assert {"request_statement": "statement", "request_housing_support": "housing_ack"}[
            loser
        ] not in set(rules)
    assert service.audit_verify(get_engine(db_url))["ok"] is True


def test_two_gpv_fire_commands_at_once_exactly_one_succeeds(db_url, tmp_path):
    case_id = open_case(db_url)
    env = {
        **os.environ,
        "GPV_DATABASE_URL": db_url,
        "GPV_DATA_DIR": str(tmp_path),
        "GPV_USER": "fm",
    }
    cmd = [str(GPV), "fire", case_id, "accept_jurisdiction", "--at", "2026-03-04"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    done = [(p.wait(timeout=TIMEOUT), *p.communicate()) for p in procs]
    assert sorted(code for code, _, _ in done) == [0, 3], done
    loser = next(err for code, _, err in done if code == 3)
    # A line starts with it (notes such as "gpv fire: ohne Server …" may come first).
    assert "\nFehler: " in "\n" + loser and "Traceback" not in loser
    history = service.show_case(get_engine(db_url), case_id)["history"]
    assert [h["trigger"] for h in history] == ["open_case", "accept_jurisdiction"]


def _assert_each_notice_once(db_url: str, outcomes: list, cases: int) -> None:
    reminders = sum(r for now, r, _ in outcomes if now.startswith("2026-03-11"))
    escalations = sum(e for now, _, e in outcomes if now.startswith("2026-03-24"))
    assert reminders == cases  # the jurisdiction reminder of each case, once
    assert escalations == 2 * cases  # jurisdiction and decision of each case, once
    with get_engine(db_url).connect() as conn:
        per_key = conn.execute(
            text("SELECT event, count(*) FROM outbox GROUP BY event ORDER BY event")
        ).all()
        duplicated = conn.execute(
            text("SELECT count(*) FROM (SELECT dedup_key FROM outbox GROUP BY dedup_key "
                 "HAVING count(*) > 1) AS d")
        ).scalar_one()  # fmt: skip
        missed_audits = conn.execute(
            text("SELECT count(*) FROM audit_entries WHERE trigger = 'miss_deadline'")
        ).scalar_one()
    # jurisdiction_reminder → the LWL; deadline_missed → the LWL and its supervisor
    assert dict(per_key) == {
        "deadline_missed": 2 * 2 * cases,
        "jurisdiction_reminder": cases,
    }
    assert duplicated == 0
    assert missed_audits == 2 * cases
    assert service.audit_verify(get_engine(db_url))["ok"] is True


def test_two_sweeps_at_once_write_each_reminder_and_escalation_once(db_url):
    cases = [open_case(db_url) for _ in range(12)]
    outcomes = _run(_sweep_twice, [(db_url,), (db_url,)], expect=4)
    _assert_each_notice_once(db_url, outcomes, len(cases))


def test_two_sweeps_at_once_in_several_chunks_write_each_reminder_and_escalation_once(db_url):
    cases = [open_case(db_url) for _ in range(12)]
    # 12 reminders, then 24 escalations, in chunks of 5 and 7: the two sweeps' transactions
    # interleave chunk by chunk, and each chunk commits on its own.
    outcomes = _run(_sweep_twice_in_chunks, [(db_url, 5), (db_url, 7)], expect=4)
    _assert_each_notice_once(db_url, outcomes, len(cases))


def test_cases_opened_at_once_get_distinct_consecutive_ids_and_one_chain(db_url):
    ids = _run(_open_cases, [(db_url, 5), (db_url, 5)], expect=10)
    assert sorted(ids) == [f"C-2026-{n:06d}" for n in range(1, 11)]
    result = service.audit_verify(get_engine(db_url))
    assert (result["ok"], result["checked"], result["problem"]) == (True, 10, None)
    assert (result["anchored"], result["cases_checked"], result["warnings"]) == (10, 10, [])
