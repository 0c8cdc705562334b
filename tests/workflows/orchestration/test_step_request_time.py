"""``gpv fire --allow-future`` and ``--now`` through the Prefect server (issue 12): the step
request in gpv's store carries them, the flow passes them to ``service.fire``, and Prefect still
sees the request id, the case and the trigger only."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from workflows.orchestration import submit
from workflows.store.step_requests import load_request, store_request

RECEIVED = date(2026, 3, 30)


def _case(engine: Any) -> dict[str, Any]:
    from workflows import service

    return service.open_case(
        engine, received=RECEIVED, birth_date=date(1988, 5, 17), municipality="Unna",
        disabilities="mental", benefit="supported_living", school_finished=date(2005, 7, 1),
        at=datetime(2026, 3, 30, 9, tzinfo=UTC), by="fm",
    )  # fmt: skip


def _version(engine: Any, case_id: str) -> int:
    from workflows import service

    return int(service.show_case(engine, case_id)["version"])


def test_a_request_keeps_allow_future_and_the_logical_now(app_db: Any) -> None:
    now = datetime(2026, 4, 1, 8, tzinfo=UTC)
    plain = store_request(app_db, "C-2026-000001", "accept_jurisdiction", {}, at=now, by="fm")
    marked = store_request(
        app_db, "C-2026-000001", "accept_jurisdiction", {}, at=now, by="fm",
        allow_future=True, now=now - timedelta(days=1),
    )  # fmt: skip
    assert (load_request(app_db, plain).allow_future, load_request(app_db, plain).now) == (
        False,
        None,
    )
    stored = load_request(app_db, marked)
    assert stored.allow_future is True and stored.now == now - timedelta(days=1)


def test_the_flow_refuses_a_future_step_unless_the_request_allows_it(app_db: Any) -> None:
    from workflows.orchestration.flows import apply_trigger

    case = _case(app_db)
    seen, later = len(case["history"]), datetime.now(UTC) + timedelta(days=7)
    refused = store_request(app_db, case["id"], "accept_jurisdiction", {}, at=later, by="fm")
    assert apply_trigger.fn(refused, seen)["status"] == "invalid"
    assert "--allow-future" in (load_request(app_db, refused).message or "")
    assert _version(app_db, case["id"]) == case["version"]
    allowed = store_request(
        app_db, case["id"], "accept_jurisdiction", {}, at=later, by="fm", allow_future=True
    )
    assert apply_trigger.fn(allowed, seen)["status"] == "applied"
    assert _version(app_db, case["id"]) == case["version"] + 1


def test_the_flow_judges_the_step_against_the_requests_now(app_db: Any) -> None:
    """``--now`` (a replayed or simulated day): a step after it is refused even though it lies
    before the clock, and one before it goes through."""
    from workflows.orchestration.flows import apply_trigger

    case = _case(app_db)
    seen, at = len(case["history"]), datetime(2026, 4, 1, 8, tzinfo=UTC)
    early = store_request(
        app_db, case["id"], "accept_jurisdiction", {}, at=at, by="fm",
        now=at - timedelta(hours=1),
    )  # fmt: skip
    assert apply_trigger.fn(early, seen)["status"] == "invalid"
    on_time = store_request(
        app_db, case["id"], "accept_jurisdiction", {}, at=at, by="fm",
        now=at + timedelta(hours=1),
    )  # fmt: skip
    assert apply_trigger.fn(on_time, seen)["status"] == "applied"


def test_a_step_that_records_what_happened_stays_refused_through_the_flow(app_db: Any) -> None:
    from workflows.orchestration.flows import apply_trigger

    case = _case(app_db)
    later = datetime.now(UTC) + timedelta(days=7)
    request = store_request(
        app_db, case["id"], "withdraw", {}, at=later, by="fm", allow_future=True
    )
    assert apply_trigger.fn(request, len(case["history"]))["status"] == "invalid"
    assert _version(app_db, case["id"]) == case["version"]


def test_a_real_run_applies_an_allowed_future_step_and_prefect_sees_references_only(
    app_engine: Any,
) -> None:
    from prefect.client.orchestration import get_client

    from workflows.orchestration.flows import fire_trigger

    case = _case(app_engine)
    later = datetime.now(UTC) + timedelta(days=7)
    request = store_request(
        app_engine, case["id"], "accept_jurisdiction", {}, at=later, by="fm", allow_future=True
    )
    state = asyncio.run(fire_trigger(request, case["id"], "accept_jurisdiction", return_state=True))
    assert state.is_completed()
    assert state.result()["version"] == case["version"] + 1
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.parameters == {
        "request_id": request,
        "case_id": case["id"],
        "trigger": "accept_jurisdiction",
    }


def test_gpv_fire_with_allow_future_goes_through_a_found_server(monkeypatch, capsys) -> None:
    """No fallback to the database any more: the flags travel with the request."""
    calls: list[dict[str, Any]] = []
    url = "http://127.0.0.1:4200/api"
    monkeypatch.setattr(submit, "discover_server", lambda: url)
    monkeypatch.setattr(submit, "run_here", lambda *a, **kw: calls.append({"here": kw}))
    monkeypatch.setattr(
        submit, "run_on_server", lambda *a, **kw: calls.append({"server": kw}) or {}
    )
    now = datetime(2026, 4, 1, 8, tzinfo=UTC)
    submit.run_step("C-2026-000001", "schedule_conference", {}, now, "fm",
                    allow_future=True, now=now)  # fmt: skip
    assert calls == [{"server": {"api_url": url, "allow_future": True, "now": now}}]
    err = capsys.readouterr().err
    assert "über den Prefect-Server http://127.0.0.1:4200" in err
    assert "ohne Server" not in err and "ohne den Prefect-Server" not in err
