"""The flows, tasks, reports and demo of the Prefect shell.

Most logic runs through ``.fn()`` and plain functions; a few tests make real flow runs against the
one shared harness (tags and run name, the ``overdue-deadlines`` and ``case-<id>`` artifacts, the
alert automation). Dates are real: Easter 2026 (Karfreitag 3 April, Ostermontag 6 April).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from workflows.orchestration import artifacts as reports
from workflows.orchestration import submit as orchestration

NOW = datetime(2026, 4, 20, 8, 0, tzinfo=UTC)  # Monday after Easter week


def _open(engine: Any, received: date, **overrides: Any) -> dict[str, Any]:
    from workflows import service

    facts = {
        "received": received,
        "birth_date": date(1988, 5, 17),
        "municipality": "Unna",
        "disabilities": "mental",
        "benefit": "supported_living",
        "school_finished": date(2005, 7, 1),
        "person_ref": None,
        "contact_email": None,
        "at": datetime(received.year, received.month, received.day, 9, tzinfo=UTC),
        "by": "fm-test",
    }
    facts.update(overrides)
    return service.open_case(engine, **facts)


def _request(
    engine: Any, case_id: str, trigger: str, params: dict[str, str], at_iso: str, by: str
) -> str:
    """Keep a step request in gpv's store, as ``gpv fire`` does before it starts a run."""
    from workflows.store.step_requests import store_request

    at = datetime.fromisoformat(at_iso)
    return store_request(engine, case_id, trigger, params, at=at, by=by)


# ------------------------------------------------------------------------ naming and parties


def test_the_run_name_is_the_trigger_and_the_case_in_lowercase_with_dashes() -> None:
    assert orchestration.run_name("request_statement", "C-2026-000017") == (
        "request-statement-c-2026-000017"
    )


def test_the_case_artifact_key_uses_only_lowercase_letters_digits_and_dashes() -> None:
    assert orchestration.case_artifact_key("C-2026-000017") == "case-c-2026-000017"


@pytest.mark.parametrize(
    ("trigger", "party"),
    [
        ("request_statement", "lwl"),
        ("accept_statement_request", "spdi"),
        ("deliver_statement", "spdi"),
        ("decline_statement_request", "spdi"),
        ("acknowledge_housing_support", "kreis-unna-wohnen"),
        ("provide_housing_support", "kreis-unna-wohnen"),
        ("request_housing_support", "lwl"),
        ("issue_decision", "lwl"),
    ],
)
def test_the_party_tag_names_who_takes_the_step(trigger: str, party: str) -> None:
    assert orchestration.acting_party(trigger, "lwl") == party


def test_a_run_is_tagged_with_case_trigger_and_party() -> None:
    assert orchestration.run_tags("C-2026-000017", "deliver_statement", "spdi") == [
        "case:C-2026-000017",
        "trigger:deliver_statement",
        "party:spdi",
    ]


def test_every_deployment_row_names_a_flow_of_that_name_in_the_flows_file() -> None:
    from workflows.orchestration import flows
    from workflows.orchestration.deployments import DEPLOYMENTS, FLOWS_FILE
    from workflows.orchestration.pool import PROJECT_ROOT

    assert (PROJECT_ROOT / FLOWS_FILE).is_file()
    for name, row in DEPLOYMENTS.items():
        assert getattr(flows, row.function).name == name


def test_without_a_configured_server_gpv_fire_runs_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GPV_PREFECT_URL", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    assert orchestration.server_configured(timeout=0.5) is None


# ------------------------------------------------------------------------------ pure renderers


def test_the_overdue_table_lists_the_longest_overdue_first() -> None:
    rows = reports.overdue_rows(
        [
            {"case_id": "C-2026-000002", "rule": "statement", "norm": "§ 17 Abs. 2 SGB IX",
             "due": "2026-04-14", "days_overdue": 6, "responsible_party": "spdi"},
            {"case_id": "C-2026-000001", "rule": "jurisdiction", "norm": "§ 14 Abs. 1 S. 1 SGB IX",
             "due": "2026-04-07", "days_overdue": 13, "responsible_party": "lwl"},
        ]
    )  # fmt: skip
    assert [r["Fall"] for r in rows] == ["C-2026-000001", "C-2026-000002"]
    assert set(rows[0]) == {"Fall", "Frist", "Norm", "fällig", "Tage überfällig", "verantwortlich"}


def test_the_timeline_shows_every_step_of_the_history() -> None:
    case = {
        "id": "C-2026-000017", "status": "assessment", "carrier": "lwl", "municipality": "unna",
        "processes": {"case": "assessment", "statement": "requested"},
        "deadlines": [{"rule": "statement", "norm": "§ 17 Abs. 2 SGB IX", "due": "2026-04-07",
                       "status": "open"}],
        "history": [
            {"trigger": "open_case", "from": None, "to": "received",
             "at": "2026-03-16T10:00:00+01:00", "by": "fm"},
            {"trigger": "request_statement", "from": None, "to": "requested",
             "at": "2026-03-24T10:00:00+01:00", "by": "fm"},
        ],
        "version": 3,
    }  # fmt: skip
    text = reports.timeline_markdown(case)
    assert "# Fall C-2026-000017" in text
    assert "| request_statement |" in text and "| open_case |" in text
    assert "2026-04-07" in text


def test_the_timeline_names_no_person_and_no_parameter_of_a_step() -> None:
    case = {
        "id": "C-2026-000017", "status": "assessment", "carrier": "lwl", "municipality": "unna",
        "history": [{"trigger": "withdraw", "from": "assessment", "to": "withdrawn",
                     "at": "2026-03-24T10:00:00+01:00", "by": "Erika Mustermann",
                     "params": {"reason": "Umzug nach Bayern"}}],
    }  # fmt: skip
    text = reports.timeline_markdown(case)
    assert "| withdraw |" in text
    assert "Mustermann" not in text and "Bayern" not in text


def test_prefect_sees_the_history_without_who_took_each_step() -> None:
    from workflows.orchestration.flows import _for_prefect

    case = {"id": "C-2026-000017", "routing": {"reason": "Alter"},
            "history": [{"trigger": "open_case", "from": None, "to": "received",
                         "at": "2026-03-16T10:00:00+01:00", "by": "Erika Mustermann"}]}  # fmt: skip
    seen = _for_prefect(case)
    assert "routing" not in seen
    assert seen["history"] == [
        {"at": "2026-03-16T10:00:00+01:00", "trigger": "open_case", "from": None, "to": "received"}
    ]


def test_a_run_name_is_built_from_references_only() -> None:
    assert orchestration.fire_run_name("a" * 32, "C-2026-000017", "request_statement") == (
        "request-statement-c-2026-000017"
    )
    assert orchestration.fire_run_name("a" * 32, "Frau Muster", "request_statement") == (
        f"fire-trigger-{'a' * 32}"
    )
    assert orchestration.fire_run_name("Frau Muster", "", "") == "fire-trigger-ohne-anfrage"


def test_a_refused_run_tells_prefect_the_norm_and_the_request_but_not_the_reason() -> None:
    assert orchestration.prefect_message("Refused", "ab12", "§ 119 Abs. 1 SGB IX") == (
        "Abgelehnt (§ 119 Abs. 1 SGB IX); Einzelheiten in gpv, Anfrage ab12."
    )
    assert orchestration.prefect_message("Invalid", "ab12") == (
        "Ungültige Eingabe; Einzelheiten in gpv, Anfrage ab12."
    )


def test_a_step_counts_as_applied_only_when_it_appears_after_what_the_flow_had_seen() -> None:
    from workflows.orchestration.flows import already_applied

    at = datetime(2026, 3, 24, 9, tzinfo=UTC)
    entry = {"trigger": "request_statement", "at": "2026-03-24T10:00:00+01:00", "by": "fm"}
    case = {"history": [{"trigger": "open_case", "at": "x", "by": "fm"}, entry]}
    assert already_applied(case, 1, "request_statement", at, "fm")
    assert not already_applied(case, 2, "request_statement", at, "fm")
    assert not already_applied(case, 1, "request_statement", at, "someone-else")


# ----------------------------------------------------------------------------- demo and reports


def test_the_demo_opens_about_forty_cases_in_all_ten_towns_and_every_stage(app_db: Any) -> None:
    from workflows import service
    from workflows.seeding.demo import seed_demo

    assert seed_demo(app_db, NOW) == 40
    cases = service.list_cases(app_db, now=NOW)
    # plus the two cases opened where the "forwarded" applications went (§ 14 Abs. 2 S. 4 SGB IX)
    assert len(cases) == 42
    assert {c["status"] for c in cases} == set(reports.STAGE_ORDER)
    rows = reports.cases_per_stage(app_db, NOW)
    assert len(rows) == 10 and all(r["gesamt"] > 0 for r in rows)


def test_the_demo_is_built_through_the_service_so_every_case_has_a_real_history(
    app_db: Any,
) -> None:
    from workflows import service
    from workflows.seeding.demo import seed_demo

    seed_demo(app_db, NOW)
    # "decided after conference" (C-2026-000005 is the forwarded application's linked case)
    case = service.show_case(app_db, "C-2026-000017")
    assert len(case["history"]) >= 7
    assert all(datetime.fromisoformat(h["at"]) < NOW for h in case["history"])
    assert service.audit_verify(app_db)["ok"]


def test_the_demo_adds_nothing_when_cases_exist(app_db: Any) -> None:
    from workflows.seeding.demo import seed_demo

    _open(app_db, date(2026, 4, 1))
    assert seed_demo(app_db, NOW) == 0


def test_right_after_the_demo_a_sweep_finds_reminders_due_and_deadlines_overdue(
    app_db: Any,
) -> None:
    from workflows.seeding.demo import seed_demo
    from workflows.sweep import run_sweep

    seed_demo(app_db, NOW)
    result = run_sweep(app_db, NOW)
    assert result["reminders"] > 0 and result["escalations"] > 0
    escalations = reports.open_escalations(app_db, NOW)
    assert {e["verantwortlich"] for e in escalations} >= {"spdi", "kreis-unna-wohnen"}
    per_party = {r["Beteiligte"]: r for r in reports.deadlines_per_party(app_db, NOW)}
    assert per_party["spdi"]["versäumt"] > 0
    assert any(r["eingehalten"] > 0 for r in reports.deadlines_per_rule(app_db, NOW))


def test_a_deadline_met_more_than_thirty_days_ago_is_not_in_the_report(app_db: Any) -> None:
    from workflows import service

    case = _open(app_db, date(2026, 1, 5))
    service.fire(app_db, case["id"], "accept_jurisdiction", {},
                 at=datetime(2026, 1, 7, 9, tzinfo=UTC), by="fm")  # fmt: skip
    assert reports.deadlines_per_rule(app_db, NOW) == []
    in_window = reports.deadlines_per_rule(app_db, datetime(2026, 1, 20, tzinfo=UTC))
    assert in_window[0]["eingehalten"] == 1


# --------------------------------------------------------------------------- tasks via .fn()


def test_applying_the_same_step_twice_fires_it_once(app_engine: Any) -> None:
    from workflows.orchestration.flows import apply_trigger

    case = _open(app_engine, date(2026, 3, 30))
    seen = len(case["history"])
    at = "2026-04-01T08:00:00+00:00"
    request = _request(app_engine, case["id"], "accept_jurisdiction", {}, at, "fm")
    first = apply_trigger.fn(request, seen)
    again = apply_trigger.fn(request, seen)
    assert first["status"] == again["status"] == "applied"
    assert first["case"]["status"] == "assessment"
    assert service_version(app_engine, case["id"]) == first["case"]["version"]


def test_a_step_committed_before_its_outcome_was_recorded_is_not_fired_again(
    app_engine: Any,
) -> None:
    from workflows import service
    from workflows.orchestration.flows import apply_trigger
    from workflows.store.step_requests import load_request

    case = _open(app_engine, date(2026, 3, 30))
    seen = len(case["history"])
    at = "2026-04-01T08:00:00+00:00"
    request = _request(app_engine, case["id"], "accept_jurisdiction", {}, at, "fm")
    # The first attempt committed the step and then died before it recorded the outcome.
    fired = service.fire(app_engine, case["id"], "accept_jurisdiction", {},
                         at=datetime.fromisoformat(at), by="fm")  # fmt: skip
    outcome = apply_trigger.fn(request, seen)
    assert outcome["status"] == "applied"
    assert outcome["case"]["version"] == fired["version"]
    assert load_request(app_engine, request).status == "applied"


def service_version(engine: Any, case_id: str) -> int:
    from workflows import service

    return int(service.show_case(engine, case_id)["version"])


def test_the_sweep_flow_counts_reminders_escalations_and_overdue(app_engine: Any) -> None:
    from workflows.orchestration.flows import sweep_deadlines

    # Received Mon 30 March: jurisdiction (2 weeks) due Tue 14 April, missed by 20 April;
    # decision (3 weeks) due Mon 20 April, its reminder (3 working days before) is due.
    _open(app_engine, date(2026, 3, 30))
    result = asyncio.run(sweep_deadlines.fn(NOW.isoformat()))
    assert result == {"reminders": 1, "escalations": 1, "overdue": 1}


# ------------------------------------------------------------------- real runs on the harness


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def test_a_fired_trigger_is_a_flow_run_named_after_it_and_tagged(app_engine: Any) -> None:
    from workflows.orchestration.flows import fire_trigger

    case = _open(app_engine, date(2026, 3, 30))
    request = _request(app_engine, case["id"], "accept_jurisdiction", {},
                       "2026-04-01T08:00:00+00:00", "fm")  # fmt: skip
    state = asyncio.run(fire_trigger(request, case["id"], "accept_jurisdiction", return_state=True))
    assert state.is_completed()
    with _client() as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name == f"accept-jurisdiction-{case['id'].lower()}"
    assert {f"case:{case['id']}", "trigger:accept_jurisdiction", "party:lwl"} <= set(run.tags)
    # The routing advice (its reason names age and disability) never reaches Prefect (issue 9/13)
    result = state.result()
    assert result["id"] == case["id"] and "routing" not in result


def test_each_step_adds_a_version_of_the_case_timeline_artifact(app_engine: Any) -> None:
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from workflows.orchestration.flows import fire_trigger

    case = _open(app_engine, date(2026, 3, 30))
    runs = []
    for at, trigger in (("2026-04-01T08:00:00+00:00", "accept_jurisdiction"),
                        ("2026-04-02T08:00:00+00:00", "request_statement")):  # fmt: skip
        request = _request(app_engine, case["id"], trigger, {}, at, "fm")
        state = asyncio.run(fire_trigger(request, case["id"], trigger, return_state=True))
        runs.append(state.state_details.flow_run_id)
    key = f"case-{case['id'].lower()}"
    with _client() as client:
        versions = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=runs)),
        )
    assert len(versions) == 2
    assert all(v.type == "markdown" for v in versions)
    assert any("request_statement" in str(v.data) for v in versions)


def test_a_refused_trigger_ends_the_run_refused_with_the_rules_reason(app_engine: Any) -> None:
    from workflows import service
    from workflows.orchestration.flows import fire_trigger
    from workflows.store.step_requests import load_request

    case = _open(app_engine, date(2026, 3, 30))
    request = _request(app_engine, case["id"], "issue_decision", {"outcome": "refusal"},
                       "2026-04-01T08:00:00+00:00", "fm")  # fmt: skip
    state = asyncio.run(fire_trigger(request, case["id"], "issue_decision", return_state=True))
    assert state.is_failed() and state.name == orchestration.REFUSED_STATE
    # Prefect gets a generic message naming the request; the rules' reason stays in gpv's store.
    assert state.message.startswith("Abgelehnt") and request in state.message
    stored = load_request(app_engine, request)
    assert stored.status == "refused" and stored.message and stored.message not in state.message
    assert service.show_case(app_engine, case["id"])["version"] == case["version"]


def test_a_run_started_from_the_dashboard_without_a_request_ends_invalid(app_engine: Any) -> None:
    from workflows.orchestration.flows import fire_trigger

    case = _open(app_engine, date(2026, 3, 30))
    for request_id in ("", "0" * 32, "kein-gueltiger-wert"):
        state = asyncio.run(
            fire_trigger(request_id, case["id"], "accept_jurisdiction", return_state=True)
        )
        assert state.is_failed() and state.name == orchestration.INVALID_STATE
        assert "Anfrage" in state.message and "kein-gueltiger-wert" not in state.message
    assert service_version(app_engine, case["id"]) == case["version"]


def test_a_run_whose_case_does_not_match_its_request_changes_nothing(app_engine: Any) -> None:
    from workflows.orchestration.flows import fire_trigger

    case = _open(app_engine, date(2026, 3, 30))
    other = _open(app_engine, date(2026, 3, 31))
    request = _request(app_engine, case["id"], "accept_jurisdiction", {},
                       "2026-04-01T08:00:00+00:00", "fm")  # fmt: skip
    state = asyncio.run(
        fire_trigger(request, other["id"], "accept_jurisdiction", return_state=True)
    )
    assert state.is_failed() and state.name == orchestration.INVALID_STATE
    assert service_version(app_engine, case["id"]) == case["version"]
    assert service_version(app_engine, other["id"]) == other["version"]


def test_a_request_is_carried_out_at_most_once(app_engine: Any) -> None:
    from workflows.orchestration.flows import fire_trigger

    case = _open(app_engine, date(2026, 3, 30))
    request = _request(app_engine, case["id"], "accept_jurisdiction", {},
                       "2026-04-01T08:00:00+00:00", "fm")  # fmt: skip
    first = asyncio.run(fire_trigger(request, return_state=True))
    again = asyncio.run(fire_trigger(request, return_state=True))
    assert first.is_completed() and again.is_completed()
    assert again.result()["version"] == first.result()["version"] == case["version"] + 1


def test_the_sweep_flow_publishes_the_overdue_deadlines_table(app_engine: Any) -> None:
    from workflows.orchestration.flows import OVERDUE_KEY, sweep_deadlines

    case = _open(app_engine, date(2026, 3, 30))
    state = asyncio.run(sweep_deadlines(NOW.isoformat(), return_state=True))
    assert state.is_completed()
    with _client() as client:
        artifact = client.read_latest_artifacts(artifact_filter=_key_filter(OVERDUE_KEY), limit=1)[
            0
        ]
    assert artifact.type == "table"
    assert case["id"] in str(artifact.data) and "jurisdiction" in str(artifact.data)


def test_the_overdue_table_is_bounded_and_its_description_counts_all(
    app_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workflows.sweep
    from workflows.orchestration.flows import OVERDUE_KEY, sweep_deadlines

    monkeypatch.setattr(workflows.sweep, "OVERDUE_LIMIT", 1)
    first = _open(app_engine, date(2026, 3, 30))  # jurisdiction due Tue 14.04., missed
    _open(app_engine, date(2026, 3, 31))  # jurisdiction due Tue 14.04. as well
    oldest = _open(app_engine, date(2026, 3, 23))  # jurisdiction due Tue 07.04., most overdue
    result = asyncio.run(sweep_deadlines(NOW.isoformat()))
    assert result["overdue"] >= 3 and first["id"]
    with _client() as client:
        artifact = client.read_latest_artifacts(artifact_filter=_key_filter(OVERDUE_KEY), limit=1)[
            0
        ]
    assert oldest["id"] in str(artifact.data) and first["id"] not in str(artifact.data)
    assert artifact.description.endswith(
        f"die 1 am längsten überfälligen von {result['overdue']} insgesamt"
    )


def test_the_overdue_description_says_how_many_of_how_many_are_listed() -> None:
    at = datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
    assert reports.overdue_description(at, shown=3, total=3) == (
        "Überfällige Fristen, Stand 2026-06-02 06:00 UTC: 3 insgesamt"
    )
    assert reports.overdue_description(at, shown=500, total=51930) == (
        "Überfällige Fristen, Stand 2026-06-02 06:00 UTC: die 500 am längsten überfälligen "
        "von 51.930 insgesamt"
    )


def test_the_supervisor_report_publishes_its_tables(app_engine: Any) -> None:
    from workflows.orchestration.flows import supervisor_report

    _open(app_engine, date(2026, 3, 30))
    counts = asyncio.run(supervisor_report(NOW.isoformat()))
    assert counts["cases_per_stage"] == 10
    with _client() as client:
        keys = {
            a.key
            for a in client.read_latest_artifacts(
                artifact_filter=_key_filter(*(r.key for r in reports.REPORTS.values()))
            )
        }
    assert keys == {r.key for r in reports.REPORTS.values()}


def _key_filter(*keys: str) -> Any:
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    return ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=list(keys)))


def test_the_alert_automation_is_created_once_however_often_gpv_starts(
    prefect_harness: str,
) -> None:
    from workflows.orchestration import serve as launcher

    ids = launcher.register(launcher.build_deployments())
    first = launcher.ensure_alert_automation(ids["sweep-deadlines"], ids["alert-supervisor"])
    second = launcher.ensure_alert_automation(ids["sweep-deadlines"], ids["alert-supervisor"])
    assert first == second
    with _client() as client:
        assert len(client.read_automations_by_name(name=launcher.AUTOMATION_NAME)) == 1


def test_a_failed_sweep_run_starts_an_alert_supervisor_run(prefect_harness: str) -> None:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.states import Failed

    from workflows.orchestration import serve as launcher

    ids = launcher.register(launcher.build_deployments())
    launcher.ensure_alert_automation(ids["sweep-deadlines"], ids["alert-supervisor"])
    alert_filter = DeploymentFilter(id=DeploymentFilterId(any_=[ids["alert-supervisor"]]))
    with _client() as client:
        before = len(client.read_flow_runs(deployment_filter=alert_filter))
        run = client.create_flow_run_from_deployment(ids["sweep-deadlines"])
        client.set_flow_run_state(run.id, Failed(message="test: sweep failed"), force=True)
        deadline = time.monotonic() + 60
        alerts: list[Any] = []
        while time.monotonic() < deadline:
            alerts = client.read_flow_runs(deployment_filter=alert_filter)
            if len(alerts) > before:
                break
            time.sleep(0.5)
    assert len(alerts) == before + 1
    newest = max(alerts, key=lambda r: r.created)
    assert newest.parameters["run_id"] == f"prefect.flow-run.{run.id}"
    assert newest.parameters["event"] == "prefect.flow-run.Failed"
    assert isinstance(ids["alert-supervisor"], UUID)
