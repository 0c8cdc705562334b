"""Prefect sees references and ids only (issue 13): a sentinel through the real server.

``gpv fire`` (the command line, in this process) runs every step through the shared Prefect
harness, where a Prefect runner in a background thread serves the deployment as ``gpv run`` does;
``gpv fire`` creates each run of the deployment and carries it out itself, its logs sent to the
API. Every free-text input carries a sentinel: the name of
who acts (``--by``), a conference's location, a cancellation's reason, the location of a step the
rules refuse, and the outcome of a step with bad input; the case was opened by the same name with
the sentinel as the person's reference. Afterwards the Prefect server's database (every table, by
SQLite's own dump, and the raw bytes of the database and its write-ahead log) and Prefect's home
folder are searched: the sentinel is nowhere. The user still reads the rules' full messages with
exit codes 3 and 2, and gpv's own store keeps every request with its free text.

The harness does not persist task runs or events (conftest: their recorder services are off), so
those two are searched only through what reaches the flow runs, logs, artifacts and states.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from workflows.orchestration import submit

pytestmark = pytest.mark.prefect

SENTINEL = "SENTINEL-F20.0-Schizophrenie"
NAME = "SENTINEL-Erika-Mustermann"
#: What must not appear in Prefect, also lowercased or turned into a slug (run names, keys).
NEEDLES = ("sentinel", "f20.0", "f20-0", "schizophrenie", "mustermann")
#: The environment ``run_on_server`` sets for its Prefect client; restored after the test.
CLIENT_ENV = ("GPV_PREFECT_URL", "PREFECT_API_URL", "PREFECT_HOME", "PREFECT_API_AUTH_STRING",
              "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")  # fmt: skip


@pytest.fixture
def served(app_engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The ``fire-trigger`` deployment served by a runner on the harness, as ``gpv run`` serves
    it (``gpv fire`` carries its runs out itself; the runner must not start them a second time);
    yields the API URL."""
    import prefect.settings as ps
    from prefect.deployments.runner import EntrypointType
    from prefect.runner import Runner

    from workflows.orchestration.deployments import FIRE_FLOW
    from workflows.orchestration.flows import fire_trigger

    for var in CLIENT_ENV:
        monkeypatch.delenv(var, raising=False)
    url = str(ps.PREFECT_API_URL.value())
    monkeypatch.setenv("GPV_PREFECT_URL", url)
    deployment = fire_trigger.to_deployment(
        name=FIRE_FLOW, entrypoint_type=EntrypointType.MODULE_PATH
    )
    runner = Runner(name="gpv-sentinel", query_seconds=1, pause_on_shutdown=False)
    ready = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await runner.aadd_deployment(deployment)
        ready.set()
        await runner.start()

    def run() -> None:
        # The runs' logs go to the API here (the harness turns that off), so they are searched.
        with ps.temporary_settings(updates={ps.PREFECT_LOGGING_TO_API_ENABLED: True}):
            asyncio.run(serve())

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    thread.start()
    assert ready.wait(60), "the runner did not start"
    try:
        # gpv fire carries its run out in this process: its logs go to the API too.
        with ps.temporary_settings(updates={ps.PREFECT_LOGGING_TO_API_ENABLED: True}):
            yield url
    finally:
        if loops:
            asyncio.run_coroutine_threadsafe(runner.astop(), loops[0]).result(60)
        thread.join(60)


def _gpv(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``gpv <args>`` in this process: exit code and its error message (the runner in this
    process writes the runs' output to the same stream; the message is the last part)."""
    from workflows.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    return code, err[err.rfind("Fehler: ") :] if "Fehler: " in err else err


def _open_case(engine: Any) -> str:
    from workflows import service

    case = service.open_case(
        engine,
        received=date(2026, 3, 30),
        birth_date=date(1988, 5, 17),
        municipality="Unna",
        disabilities="mental",
        benefit="supported_living",
        school_finished=date(2005, 7, 1),
        person_ref=SENTINEL,
        contact_email=None,
        at=datetime(2026, 3, 30, 9, tzinfo=UTC),
        by=NAME,
    )
    return str(case["id"])


def _prefect_database() -> Path:
    import prefect.settings as ps

    url = str(ps.PREFECT_SERVER_DATABASE_CONNECTION_URL.value())
    assert url.startswith("sqlite"), url
    return Path(url.split(":///", 1)[1])


def _dump(database: Path) -> str:
    """Every table of the Prefect database as SQL text (reads through the write-ahead log)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
        return "\n".join(conn.iterdump())


def _found(text: str) -> list[str]:
    low = text.lower()
    return [n for n in NEEDLES if n in low]


def _files_with_needles(folder: Path) -> dict[str, list[str]]:
    hits = {}
    for path in folder.rglob("*"):
        if path.is_file():
            found = _found(path.read_bytes().decode("utf-8", errors="replace"))
            if found:
                hits[str(path)] = found
    return hits


STEPS: list[tuple[tuple[str, ...], int]] = [
    (("accept_jurisdiction", "--at", "2026-04-01"), 0),
    (("request_consent", "--at", "2026-04-02"), 0),
    # no consent yet: the rules refuse (§ 119 Abs. 1 SGB IX)
    (("schedule_conference", "--at", "2026-04-03", "--set", "date=2026-04-20T10:00",
      "--set", f"location={SENTINEL}"), 3),
    (("give_consent", "--at", "2026-04-06"), 0),
    (("schedule_conference", "--at", "2026-04-07", "--set", "date=2026-04-20T10:00",
      "--set", f"location={SENTINEL}"), 0),
    (("cancel_conference", "--at", "2026-04-08", "--set", f"reason={SENTINEL}"), 0),
    # bad input, which the rules' message quotes
    (("issue_decision", "--at", "2026-04-09", "--set", f"outcome={SENTINEL}"), 2),
]  # fmt: skip


def test_no_free_text_of_a_step_reaches_prefect_and_the_user_still_reads_every_message(
    capsys: pytest.CaptureFixture[str], served: str, app_engine: Any
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from sqlalchemy import select

    from workflows.store.step_requests import StepRequestRow

    case_id = _open_case(app_engine)
    errors = []
    for (trigger, *options), expected in STEPS:
        code, err = _gpv(capsys, "fire", case_id, trigger, "--by", NAME, *options)
        assert code == expected, f"{trigger}: {err}"
        errors.append(err)

    # The user reads the rules' full messages, as without Prefect.
    refused, invalid = errors[2], errors[6]
    assert refused.startswith("Fehler: ") and "§ 119 Abs. 1 SGB IX" in refused
    assert "Zustimmung" in refused and "give_consent" in refused
    assert invalid.startswith("Fehler: ") and SENTINEL in invalid and "outcome" in invalid

    # gpv's own store keeps every request with its free text and outcome.
    with app_engine.connect() as conn:
        rows = conn.execute(select(StepRequestRow).order_by(StepRequestRow.created_at)).all()
    assert [(r.trigger, r.status) for r in rows] == [
        ("accept_jurisdiction", "applied"),
        ("request_consent", "applied"),
        ("schedule_conference", "refused"),
        ("give_consent", "applied"),
        ("schedule_conference", "applied"),
        ("cancel_conference", "applied"),
        ("issue_decision", "invalid"),
    ]
    assert {r.by for r in rows} == {NAME}
    assert rows[2].params["location"] == SENTINEL and rows[2].norm == "§ 119 Abs. 1 SGB IX"
    assert rows[5].params["reason"] == SENTINEL
    assert SENTINEL in rows[6].message

    # Prefect has the runs, by reference only (other tests of the session share the harness and
    # the case id, so the runs are picked by their request ids).
    with get_client(sync_client=True) as client:
        tagged = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"case:{case_id}"]))
        )
    runs = [run for run in tagged if run.parameters.get("request_id") in {r.id for r in rows}]
    assert len(runs) == len(STEPS)
    assert all(set(run.parameters) == {"request_id", "case_id", "trigger"} for run in runs)
    states = sorted(str(run.state.name) for run in runs if run.state)
    assert states == ["Completed"] * 5 + [submit.INVALID_STATE, submit.REFUSED_STATE]

    database = _prefect_database()
    dump = _dump(database)
    # The search is not vacuous: the runs, their logs, states and artifacts are in the dump.
    assert case_id in dump and rows[2].id in dump
    assert f"Abgelehnt (§ 119 Abs. 1 SGB IX); Einzelheiten in gpv, Anfrage {rows[2].id}" in dump
    assert f"case-{case_id.lower()}" in dump and "cancel_conference" in dump
    assert 'INSERT INTO "log"' in dump or "INSERT INTO log" in dump
    assert _found(dump) == []
    for raw in (database, database.with_name(database.name + "-wal")):
        if raw.exists():
            assert _found(raw.read_bytes().decode("utf-8", errors="replace")) == [], raw
    import prefect.settings as ps

    assert _files_with_needles(Path(str(ps.PREFECT_HOME.value()))) == {}
