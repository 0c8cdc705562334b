"""The Prefect flows and tasks of gpv, served by ``gpv run``.

Flows are thin shells: load → decide (the pure rules, called inside the store's one transaction) →
persist → notify. Parameters are ids and plain values (ISO timestamps as strings). Each task does
one side effect, declares its retries and is safe to run twice:

* ``apply_trigger`` fires once: a retry first looks at the case's history for its own step;
* the sweep writes each reminder/escalation at most once (database constraint);
* the dispatcher never sends an outbox row twice (stable Message-ID, status per row);
* artifact tasks only add a version to a keyed artifact.

The flows are ``async`` although their tasks are plain sync functions: an async flow run does not
join the heartbeat thread on exit, which a sync flow run waits for. The tasks run one after another
in the flow's thread.

Domain errors (:class:`states.errors.GpvError`) are never retried: a refused trigger ends the run
in a Failed state named ``Refused`` (or ``Invalid`` for bad input).

Prefect sees references and ids only (issue 13): ``fire-trigger`` runs name a step request kept in
gpv's store (:mod:`workflows.store.step_requests`); parameters, run names, tags, logs, artifacts,
state messages and task or flow results carry ids, states, triggers, dates and legal norms, never
the step's free-text parameters, the name of who took it or the rules' message about a refusal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed, State

from notifications.transport import TemporaryDeliveryError
from states.errors import GpvError, InputError, RefusedError
from workflows.orchestration import artifacts, submit
from workflows.orchestration.deployments import (
    ALERT_FLOW,
    DISPATCH_FLOW,
    FIRE_FLOW,
    REPORT_FLOW,
    SWEEP_FLOW,
)
from workflows.store.step_requests import RequestStatus

OVERDUE_KEY = "overdue-deadlines"
ALERT_KEY = "engine-alert"


def _engine() -> Any:
    """The application database's engine, migrated (cached per URL and process by the store)."""
    from workflows.store.db import ready_engine

    return ready_engine()


def _now(now_iso: str | None) -> datetime:
    if not now_iso:
        return datetime.now(UTC)
    value = datetime.fromisoformat(now_iso)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _not_a_domain_error(task: Any, task_run: Any, state: State) -> bool:
    """Retry infrastructure failures only; the rules' answer does not change on a second try.
    A temporary delivery failure (SMTP 4xx, server unreachable) is worth another try."""
    try:
        state.result()
    except TemporaryDeliveryError:
        return True
    except GpvError:
        return False
    except Exception:
        return True
    return True


# --------------------------------------------------------------------------------------- tasks


#: Keys of ``gpv case show`` that stay out of what Prefect sees (task results, the flow's return
#: value): routing's reason names age and disability; it is for the case manager only.
_KEPT_FROM_PREFECT = frozenset({"routing"})
#: What a history entry may show in Prefect: states, triggers and dates, never who took the step.
_HISTORY_FOR_PREFECT = ("at", "trigger", "from", "to")


def _for_prefect(case: dict[str, Any]) -> dict[str, Any]:
    """The case as a task may return it: references, states and dates; no routing reason and no
    author of a step (issue 13: Prefect sees references and ids only)."""
    kept = {k: v for k, v in case.items() if k not in _KEPT_FROM_PREFECT}
    kept["history"] = [
        {k: entry.get(k) for k in _HISTORY_FOR_PREFECT} for entry in case.get("history") or []
    ]
    return kept


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_not_a_domain_error)
def read_request(request_id: str) -> dict[str, Any]:
    """The references of the step request ``request_id`` in gpv's store: id, case, trigger, status
    and norm, never its parameters, effective time or author (no side effect). A missing or
    unknown id raises :class:`InputError`, whose message repeats no value."""
    from workflows.store.step_requests import load_request

    request = load_request(_engine(), request_id)
    return {
        "request": request.id,
        "case_id": request.case_id,
        "trigger": request.trigger,
        "status": request.status.value,
        "norm": request.norm,
    }


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_not_a_domain_error)
def load_case(case_id: str) -> dict[str, Any]:
    """Read the case as ``gpv case show`` prints it, without the routing advice and the authors of
    its steps (no side effect)."""
    from workflows import service

    return _for_prefect(service.show_case(_engine(), case_id))


def already_applied(case: dict[str, Any], seen: int, trigger: str, at: datetime, by: str) -> bool:
    """Whether an entry after the first ``seen`` history entries is this very step (same trigger,
    effective time and author): then an earlier attempt committed it."""
    for entry in case.get("history", [])[seen:]:
        try:
            entry_at = datetime.fromisoformat(str(entry.get("at")))
        except ValueError:
            continue
        if entry_at.tzinfo is None:
            entry_at = entry_at.replace(tzinfo=UTC)
        if entry.get("trigger") == trigger and entry.get("by") == by and entry_at == at:
            return True
    return False


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_not_a_domain_error)
def apply_trigger(request_id: str, seen_history: int) -> dict[str, Any]:
    """Carry out the step request ``request_id`` of gpv's store: ONE transaction of the store
    (states, audit, deadlines, outbox), then the request's outcome.

    Returns ``{"request", "status", "norm"}`` and, once applied, the ``case`` as Prefect may see
    it. A refused or invalid step is not raised: its message may quote the user's input, so it is
    recorded with the request and only the status and norm come back.

    Safe to repeat: a request that has an outcome is not carried out again, and when an earlier
    attempt committed this step but not its outcome (it is in the history after the
    ``seen_history`` entries the flow loaded), the step is not fired twice.
    """
    from workflows import service
    from workflows.store.step_requests import finish_request, load_request, status_of

    engine = _engine()
    request = load_request(engine, request_id)
    outcome: dict[str, Any] = {"request": request.id, "status": request.status.value, "norm": None}
    if request.is_finished:
        return outcome
    current = service.show_case(engine, request.case_id)
    if not already_applied(current, seen_history, request.trigger, request.at, request.by):
        try:
            current = service.fire(
                engine, request.case_id, request.trigger, request.params,
                at=request.at, by=request.by, allow_future=request.allow_future, now=request.now,
            )  # fmt: skip
        except (InputError, RefusedError) as exc:
            status = status_of(exc)
            finish_request(engine, request.id, status, message=exc.message, norm=exc.norm)
            return {**outcome, "status": status.value, "norm": exc.norm}
    finish_request(engine, request.id, RequestStatus.APPLIED)
    return {**outcome, "status": RequestStatus.APPLIED.value, "case": _for_prefect(current)}


@task(retries=2, retry_delay_seconds=[1, 5])
def label_run(tags: list[str]) -> list[str]:
    """Make sure this flow run carries the case/trigger/party tags, however it was created
    (``gpv fire`` sets them; a run started from the dashboard gets them here)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    current = list(flow_run.get_tags() or [])
    missing = [t for t in tags if t not in current]
    if run_id and missing:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(run_id), tags=current + missing)
    return current + missing


@task(retries=2, retry_delay_seconds=[1, 5])
def record_timeline(case: dict[str, Any]) -> str:
    """Add a version to the case's timeline artifact ``case-<id>`` (states, triggers, dates)."""
    key = submit.case_artifact_key(case["id"])
    create_markdown_artifact(  # type: ignore[call-arg]
        artifacts.timeline_markdown(case),
        key=key,
        description=f"Verlauf des Falls {case['id']}",
        _sync=True,
    )
    return key


@task(
    name="deliver_outbox",
    retries=3,
    retry_delay_seconds=[2, 10, 30],
    retry_condition_fn=_not_a_domain_error,
)
def deliver_outbox_task(now_iso: str | None = None) -> dict[str, Any]:
    """One dispatch pass over the outbox (never sends a row twice); the task around
    :func:`workflows.orchestration.submit.deliver_outbox`."""
    return submit.deliver_outbox(_engine(), _now(now_iso))


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_not_a_domain_error)
def sweep(now_iso: str | None = None) -> dict[str, int]:
    """The store's sweep: reminders and escalations to the outbox, each at most once. Returns the
    two counts only (its cost follows what is due, not the backlog of missed deadlines)."""
    from workflows.sweep import run_sweep

    return dict(run_sweep(_engine(), _now(now_iso)))


@task(retries=2, retry_delay_seconds=[1, 5])
def read_overdue(now_iso: str | None = None) -> dict[str, Any]:
    """What is overdue now, bounded: the most overdue deadlines and the total (no side effect)."""
    from workflows.sweep import overdue_report

    return overdue_report(_engine(), _now(now_iso))


@task(retries=2, retry_delay_seconds=[1, 5])
def publish_table(key: str, rows: list[dict[str, Any]], description: str) -> str:
    """Add a version to the table artifact ``key``."""
    create_table_artifact(rows, key=key, description=description, _sync=True)  # type: ignore[call-arg]
    return key


@task(retries=2, retry_delay_seconds=[1, 5])
def publish_markdown(key: str, markdown: str, description: str) -> str:
    """Add a version to the markdown artifact ``key``."""
    create_markdown_artifact(markdown, key=key, description=description, _sync=True)  # type: ignore[call-arg]
    return key


@task(retries=2, retry_delay_seconds=[1, 5])
def read_report(name: str, now_iso: str | None = None) -> list[dict[str, Any]]:
    """One read query of :mod:`workflows.orchestration.artifacts` (no side effect)."""
    return artifacts.REPORTS[name].query(_engine(), _now(now_iso))


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=_not_a_domain_error)
def email_alert(reason: str, run_name: str, run_id: str, event: str, now_iso: str) -> list[str]:
    """E-mail the engine alert to every supervisor of the agreement (configured transport).
    Safe to repeat: the Message-IDs derive from the alert (run id + event), so a retry sends the
    same messages again, never different ones. Returns the supervisors' party ids."""
    from workflows.orchestration.alerts import send_engine_alert

    return send_engine_alert(
        reason=reason, run_name=run_name, run_id=run_id, event=event, now=_now(now_iso)
    )


# --------------------------------------------------------------------------------------- flows


def _fire_run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.get_parameters()
    return submit.fire_run_name(
        str(p.get("request_id") or ""), str(p.get("case_id") or ""), str(p.get("trigger") or "")
    )


#: Request outcomes that end the run Failed, and the name of that state.
_STATE_OF = {
    RequestStatus.REFUSED.value: submit.REFUSED_STATE,
    RequestStatus.INVALID.value: submit.INVALID_STATE,
}


def _not_carried_out(outcome: dict[str, Any]) -> State:
    """The Failed state of a refused or invalid request: a generic message with the norm and the
    request id; the rules' own message stays in gpv's store."""
    name = _STATE_OF[outcome["status"]]
    message = submit.prefect_message(name, outcome["request"], outcome.get("norm"))
    get_run_logger().warning(message)
    return Failed(name=name, message=message)


def _invalid(message: str) -> State:
    get_run_logger().warning(message)
    return Failed(name=submit.INVALID_STATE, message=message)


@flow(name=FIRE_FLOW, flow_run_name=_fire_run_name, validate_parameters=True)
async def fire_trigger(
    request_id: str = "", case_id: str = "", trigger: str = ""
) -> dict[str, Any] | State:
    """Carry out one step request of gpv's store (``gpv fire`` keeps it there and starts this
    run), then deliver the outbox. Prefect sees references only: the request id, the case id and
    the trigger; the step's parameters, effective time and author stay in gpv's store.

    ``case_id`` and ``trigger`` name the run; when given they must match the request.

    Started by hand from the dashboard, the run must name an existing ``request_id``: without
    one, or with an unknown one, it ends ``Invalid`` ("Ein Lauf von fire-trigger braucht die
    Nummer einer in gpv gespeicherten Anfrage …") and changes nothing; a new step cannot be typed
    into the dashboard. A request is carried out at most once: run again, an applied request
    completes with the case unchanged, a refused or invalid one ends as it did the first time.
    A refused request ends ``Refused``, bad input ``Invalid``, each with a generic message naming
    the norm and the request id; ``gpv fire`` prints the rules' full message from gpv's store.
    """
    try:
        request = read_request(request_id)
    except GpvError as exc:  # load_request's messages repeat no value
        return _invalid(exc.message)
    if (case_id and case_id != request["case_id"]) or (trigger and trigger != request["trigger"]):
        return _invalid(
            "Fall oder Auslöser dieses Laufs passen nicht zur gespeicherten Anfrage; "
            f"es wurde nichts ausgeführt (Anfrage {request['request']})."
        )
    if request["status"] in _STATE_OF:
        return _not_carried_out(request)
    before = load_case(request["case_id"])
    party = submit.acting_party(request["trigger"], before.get("carrier"))
    label_run(submit.run_tags(request["case_id"], request["trigger"], party))
    outcome = apply_trigger(request["request"], len(before.get("history", [])))
    if outcome["status"] in _STATE_OF:
        return _not_carried_out(outcome)
    after = outcome.get("case") or load_case(request["case_id"])
    record_timeline(after)
    deliver_outbox_task()
    return after


@flow(name=SWEEP_FLOW)
async def sweep_deadlines(now_iso: str | None = None) -> dict[str, Any]:
    """Sweep the deadlines, then publish the table artifact ``overdue-deadlines`` (the most
    overdue deadlines still outstanding, at most ``workflows.sweep.OVERDUE_LIMIT``, and their
    total in the description). Returns the counts: reminders, escalations, overdue (total)."""
    result = sweep(now_iso)
    overdue = read_overdue(now_iso)
    listed = list(overdue.get("overdue", []))
    total = int(overdue.get("overdue_total", len(listed)))
    publish_table(
        OVERDUE_KEY,
        artifacts.overdue_rows(listed),
        artifacts.overdue_description(_now(now_iso), shown=len(listed), total=total),
    )
    return {
        "reminders": int(result.get("reminders", 0)),
        "escalations": int(result.get("escalations", 0)),
        "overdue": total,
    }


@task(retries=2, retry_delay_seconds=[1, 5])
def publish_undeliverable_alerts(now_iso: str | None = None) -> int:
    """The table artifact ``undeliverable-alerts`` (:mod:`workflows.orchestration.undeliverable`);
    returns how many supervisor alerts reached nobody."""
    from workflows.orchestration.undeliverable import publish_undeliverable

    return publish_undeliverable(_engine(), _now(now_iso))


@flow(name=DISPATCH_FLOW)
async def dispatch_notifications(now_iso: str | None = None) -> dict[str, Any] | State:
    """Deliver what the outbox holds (retries with backoff are the dispatcher's). While a
    supervisor alert about an undelivered notice is undeliverable itself, the run ends Failed
    (``AlertsUndeliverable``) next to the table artifact ``undeliverable-alerts``."""
    result = deliver_outbox_task(now_iso)
    lost = publish_undeliverable_alerts(now_iso)
    if lost:
        from workflows.orchestration.undeliverable import STATE_NAME, failed_message

        return Failed(name=STATE_NAME, message=failed_message(lost))
    return {k: len(v) if isinstance(v, list) else v for k, v in result.items()}


@flow(name=REPORT_FLOW)
async def supervisor_report(now_iso: str | None = None) -> dict[str, int]:
    """Publish the supervisors' tables: cases per stage per town, deadlines met vs. missed in the
    last 30 days per rule and per party, open escalations."""
    counts: dict[str, int] = {}
    for name, report in artifacts.REPORTS.items():
        rows = read_report(name, now_iso)
        publish_table(report.key, rows, report.description)
        counts[name] = len(rows)
    return counts


@flow(name=ALERT_FLOW)
async def alert_supervisor(
    reason: str = "",
    run_name: str = "",
    run_id: str = "",
    event: str = "",
) -> str | State:
    """The engine's safety net: a sweep run failed or turned Late. E-mails the alert to every
    supervisor (task ``email_alert``), publishes it as the markdown artifact ``engine-alert`` and
    logs it as an error, so it shows on the dashboard.

    When the e-mail cannot be sent (after the task's retries), that is logged as an error and
    noted in the artifact, which is still written; the run then ends Failed (``AlertNotSent``)."""
    now = datetime.now(UTC)
    text = artifacts.alert_markdown(
        reason=reason, run_name=run_name, run_id=run_id, event=event, at=now
    )
    logger = get_run_logger()
    logger.error("Aufsicht alarmiert: %s %s (%s)", event or reason, run_name, run_id)
    problem: str | None = None
    try:
        sent = email_alert(reason, run_name, run_id, event, now.isoformat())
    except Exception as exc:  # the artifact must still be written
        problem = " ".join(str(exc).split())[:1000] or type(exc).__name__
        logger.error("Alarm-E-Mail an die Aufsicht nicht versandt: %s", problem)
        text += f"\n**Die E-Mail an die Aufsicht ging nicht hinaus:** {problem}\n"
    else:
        text += f"\nPer E-Mail benachrichtigt: {', '.join(sent)}.\n"
    publish_markdown(ALERT_KEY, text, "Alarm an die Aufsicht: die Fristenprüfung läuft nicht")
    if problem is not None:
        return Failed(name="AlertNotSent", message=f"Alarm-E-Mail nicht versandt: {problem}")
    return text
