"""``gpv fire`` through the server carries its run out itself (issue 11).

The run is a run of the ``fire-trigger`` deployment (the dashboard shows it as before: name,
tags, parameters, state), created ``Pending`` so that no runner starts it a second time, and
executed by Prefect's flow engine in the ``gpv fire`` process: no runner has to be polling.
Here the deployment is registered and NOT served, so only ``gpv fire`` can carry the run out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from workflows.orchestration import submit


@pytest.fixture
def registered(app_engine: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``fire-trigger`` deployment on the harness, registered, served by nobody; the API
    URL in ``GPV_PREFECT_URL``. Returns the deployment's id."""
    import prefect.settings as ps
    from prefect.deployments.runner import EntrypointType

    from workflows.orchestration.deployments import FIRE_FLOW
    from workflows.orchestration.flows import fire_trigger

    for var in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GPV_PREFECT_URL", str(ps.PREFECT_API_URL.value()))
    deployment = fire_trigger.to_deployment(
        name=FIRE_FLOW, entrypoint_type=EntrypointType.MODULE_PATH
    )
    return str(deployment.apply())


def _open_case(engine: Any) -> str:
    from workflows import service

    case = service.open_case(
        engine, received=date(2026, 3, 30), birth_date=date(1988, 5, 17), municipality="Unna",
        disabilities="mental", benefit="supported_living", school_finished=date(2005, 7, 1),
        person_ref=None, contact_email=None, at=datetime(2026, 3, 30, 9, tzinfo=UTC), by="fm",
    )  # fmt: skip
    return str(case["id"])


def _gpv(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from workflows.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _runs_of(case_id: str, since: datetime) -> list[Any]:
    """The runs of ``case_id`` created since ``since`` (the harness is shared by the session's
    tests, and each test's fresh database numbers its first case the same)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"case:{case_id}"]))
        )
    return [run for run in runs if run.created is not None and run.created >= since]


def test_gpv_fire_carries_out_a_run_of_the_deployment_without_any_runner(
    registered: str, app_engine: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id, since = _open_case(app_engine), datetime.now(UTC)
    code, out, err = _gpv(capsys, "fire", case_id, "accept_jurisdiction", "--at", "2026-03-31")
    assert code == 0, err
    assert "Bedarfsermittlung" in out
    (run,) = _runs_of(case_id, since)
    assert str(run.deployment_id) == registered
    assert run.name == submit.run_name("accept_jurisdiction", case_id)
    assert run.state is not None and run.state.is_completed()
    assert set(run.parameters) == {"request_id", "case_id", "trigger"}
    assert "trigger:accept_jurisdiction" in run.tags


def test_the_terminal_shows_the_runs_dashboard_page_and_no_prefect_log_lines(
    registered: str, app_engine: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id, since = _open_case(app_engine), datetime.now(UTC)
    code, _, err = _gpv(capsys, "fire", case_id, "accept_jurisdiction", "--at", "2026-03-31")
    assert code == 0, err
    (run,) = _runs_of(case_id, since)
    assert f"/runs/flow-run/{run.id}" in err
    assert "Finished in state" not in err and "Task run" not in err and "INFO" not in err


def test_a_refused_step_through_the_server_says_why_once_and_ends_the_run_refused(
    registered: str, app_engine: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id, since = _open_case(app_engine), datetime.now(UTC)
    code, _, err = _gpv(capsys, "fire", case_id, "hold_conference", "--at", "2026-03-31")
    assert code == 3
    assert err.count("Fehler: ") == 1 and "§ 119 Abs. 1 SGB IX" in err
    assert "Abgelehnt (" not in err  # Prefect's generic message stays on the dashboard
    (run,) = _runs_of(case_id, since)
    assert run.state is not None and run.state.name == submit.REFUSED_STATE
