"""How one trigger becomes a Prefect flow run, and how ``gpv fire`` reaches it.

``gpv fire`` calls :func:`run_step`, which asks :func:`server_configured`: with a server it calls
:func:`run_on_server`, which creates a run of the ``fire-trigger`` deployment and carries it out in
this process with Prefect's flow engine (the run is on the server, on the dashboard, with its
states and logs; no runner has to pick it up); without one it calls :func:`run_here`, the same
steps in this process without Prefect (no ``import prefect``, which is slow).

The run name, the tags and the acting party are decided here, purely, so that the flow, the command
line and the tests agree on them.

Prefect sees references and ids only (issue 13): :func:`run_on_server` keeps the request (free-text
parameters, effective time, author) in gpv's store (:mod:`workflows.store.step_requests`) and the
run's parameters are the request id, the case id and the trigger (:func:`fire_parameters`). A
refused or invalid step ends the run with a generic message (:func:`prefect_message`); the rules'
full message stays in gpv's store, and :func:`run_on_server` reads it back for the user.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from states.errors import GpvError, InputError, RefusedError
from workflows.orchestration.deployments import FIRE_FLOW

FIRE_DEPLOYMENT = f"{FIRE_FLOW}/{FIRE_FLOW}"
URL_ENV = "GPV_PREFECT_URL"

#: Final state names of a ``fire-trigger`` run the rules refused (exit 3) or that had bad input
#: (exit 2). The dashboard shows them; :func:`run_on_server` turns them back into the error.
REFUSED_STATE = "Refused"
INVALID_STATE = "Invalid"


def acting_party(trigger: str, carrier: str | None) -> str:
    """The party that performs the step: the trigger's actor (declared with the trigger in its
    process module) resolved by the agreement, e.g. the SPDI for its own statement steps, the
    housing contact for its acknowledgement, otherwise the case's carrier."""
    from states.agreement import CARRIER, load_agreement
    from states.triggers import TRIGGER_SPECS

    spec = TRIGGER_SPECS.get(trigger)
    actor = spec.actor if spec is not None else CARRIER
    if actor == CARRIER:
        return carrier or "unknown"
    return load_agreement().party_for(actor, carrier or "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_name(trigger: str, case_id: str) -> str:
    """``request_statement`` on ``C-2026-000017`` → ``request-statement-c-2026-000017``."""
    return f"{_slug(trigger)}-{_slug(case_id)}"


def case_artifact_key(case_id: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes: ``case-c-2026-000017``."""
    return f"case-{_slug(case_id)}"


def fire_run_name(request_id: str, case_id: str, trigger: str) -> str:
    """The name of a ``fire-trigger`` run: :func:`run_name` when the case id and the trigger are
    well-formed references (``gpv fire`` checked them), otherwise ``fire-trigger`` and the
    request id, so that nothing typed into the dashboard becomes a run name."""
    from states.triggers import TRIGGERS
    from workflows.store.cases import CASE_ID_RE
    from workflows.store.step_requests import REQUEST_ID_RE

    if CASE_ID_RE.match(case_id) and trigger in TRIGGERS:
        return run_name(trigger, case_id)
    if REQUEST_ID_RE.match(request_id):
        return f"{FIRE_FLOW}-{request_id}"
    return f"{FIRE_FLOW}-ohne-anfrage"


def fire_parameters(request_id: str, case_id: str, trigger: str) -> dict[str, str]:
    """What a ``fire-trigger`` run gets: references only, never the step's parameters, its
    effective time or its author (those stay with the request in gpv's store)."""
    return {"request_id": request_id, "case_id": case_id, "trigger": trigger}


def prefect_message(state_name: str, request_id: str, norm: str | None = None) -> str:
    """The message of a refused or invalid run as Prefect keeps it: what happened, the legal norm
    the rules named, and where the details are, never what the user typed."""
    what = "Abgelehnt" if state_name == REFUSED_STATE else "Ungültige Eingabe"
    because = f" ({norm})" if norm else ""
    return f"{what}{because}; Einzelheiten in gpv, Anfrage {request_id}."


def run_tags(case_id: str, trigger: str, party: str) -> list[str]:
    return [f"case:{case_id}", f"trigger:{trigger}", f"party:{party}"]


def error_state_name(exc: GpvError) -> str:
    return REFUSED_STATE if isinstance(exc, RefusedError) else INVALID_STATE


def _api_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if url.endswith("/api") else f"{url}/api"


def _recorded_server(timeout: float) -> str | None:
    """The server ``gpv run`` recorded for this data folder (``<data>/prefect/server.json``), or
    None. A record whose launcher is gone is removed, with a note; a live launcher whose server
    does not answer is :class:`PrefectServerError`."""
    from pathlib import Path

    from workflows.orchestration.server import (
        PrefectServerError,
        is_healthy,
        is_running,
        read_record,
    )
    from workflows.settings import located_data_dir

    folder = located_data_dir()
    record = read_record(Path(folder) / "prefect") if folder is not None else None
    if record is None:
        return None
    if not is_running(record.pid):
        record.path.unlink(missing_ok=True)
        sys.stderr.write(
            f"Hinweis: {record.path} nannte einen Prefect-Server ({record.url}) eines beendeten "
            f"gpv run (PID {record.pid}); der Eintrag wurde entfernt.\n"
        )
        return None
    if not is_healthy(record.api_url, timeout=timeout):
        raise PrefectServerError(
            f"gpv run (PID {record.pid}) hat für diesen Datenordner den Prefect-Server "
            f"{record.url} eingetragen ({record.path}), er antwortet aber nicht. Der Schritt wurde "
            "nicht ausgeführt. Bitte warten, bis gpv run „gpv läuft“ meldet, oder gpv run "
            "beenden und neu starten."
        )
    return record.api_url


def discover_server(timeout: float = 2.0) -> str | None:
    """The API URL of the Prefect server ``gpv fire`` uses, or None (then it runs in process).

    In this order: ``GPV_PREFECT_URL`` (gpv's own setting: a server that does not answer is
    :class:`~workflows.orchestration.server.PrefectServerError`, exit 1, never a silent fallback);
    the server ``gpv run`` recorded in the data folder (:func:`_recorded_server`);
    ``PREFECT_API_URL`` (Prefect's own variable, often set for other purposes: when it does not
    answer, gpv says so on stderr and runs in process)."""
    from workflows.orchestration.server import PrefectServerError, is_healthy

    configured = (os.environ.get(URL_ENV) or "").strip()
    if configured:
        url = _api_url(configured)
        if is_healthy(url, timeout=timeout):
            return url
        raise PrefectServerError(
            f"{URL_ENV}={configured} nennt einen Prefect-Server, der nicht antwortet "
            f"({url}/health). Der Schritt wurde nicht ausgeführt. Bitte gpv run starten oder "
            f"{URL_ENV} entfernen, um ohne Server direkt in der Datenbank zu arbeiten."
        )
    recorded = _recorded_server(timeout)
    if recorded is not None:
        return recorded
    prefect = (os.environ.get("PREFECT_API_URL") or "").strip()
    if prefect:
        url = _api_url(prefect)
        if is_healthy(url, timeout=timeout):
            return url
        sys.stderr.write(
            f"Hinweis: PREFECT_API_URL={prefect} antwortet nicht; gpv fire arbeitet ohne Server.\n"
        )
    return None


def server_configured(timeout: float = 2.0) -> str | None:
    """The API URL of a Prefect server that answers, or None: :func:`discover_server` without
    its stderr notes."""
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):
        return discover_server(timeout)


def prepare_client_environment(api_url: str) -> None:
    """Point a Prefect client in this process at ``api_url``; must run before ``import prefect``
    (its settings are read once). Prefect's home stays in the data folder, never ``~/.prefect``."""
    from workflows.settings import data_dir

    os.environ["PREFECT_API_URL"] = api_url
    # A server exposed beyond loopback asks for the API credentials (gpv run --expose).
    auth = os.environ.get("GPV_PREFECT_AUTH_STRING", "").strip()
    if auth:
        os.environ.setdefault("PREFECT_API_AUTH_STRING", auth)
    os.environ.setdefault("PREFECT_HOME", str(data_dir() / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The run is carried out in this process: its log lines go to the server (the dashboard),
    # not onto the user's terminal, where gpv says what happened in its own words.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def _as_utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise InputError("Der Zeitpunkt braucht eine Zeitzone (intern gilt UTC).")
    return at.astimezone(UTC)


def run_here(
    case_id: str,
    trigger: str,
    params: Mapping[str, str] | None,
    at: datetime | None,
    by: str,
    *,
    engine: Any = None,
    allow_future: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply the trigger and deliver the outbox, in this process, without Prefect.

    The same steps as the ``fire-trigger`` flow (its tasks call the same functions). Without
    ``engine``, the application database migrated to the current schema.
    """
    from workflows import service
    from workflows.store.db import ready_engine

    engine = engine if engine is not None else ready_engine()
    case = service.fire(
        engine, case_id, trigger, dict(params or {}), at=_as_utc(at), by=by,
        allow_future=allow_future, now=now,
    )  # fmt: skip
    # The step is committed; delivery is best effort here. What fails now stays pending in the
    # outbox and goes out with the next dispatch (`gpv dispatch`, or every minute under `gpv run`).
    try:
        deliver_outbox(engine, datetime.now(UTC))
    except Exception as exc:
        sys.stderr.write(
            f"Hinweis: Schritt gespeichert, Benachrichtigungen noch nicht versandt ({exc}). "
            "Sie bleiben im Postausgang und gehen mit dem nächsten Versand (gpv dispatch) hinaus.\n"
        )
    return case


def deliver_outbox(engine: Any, now: datetime) -> dict[str, Any]:
    """One dispatch pass over the outbox (idempotent: sent rows are never sent again)."""
    from workflows.delivery.dispatch import dispatch

    return dict(dispatch(engine, now=now))


def run_on_server(
    case_id: str,
    trigger: str,
    params: Mapping[str, str] | None,
    at: datetime | None,
    by: str,
    *,
    api_url: str | None = None,
    allow_future: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Keep the request in gpv's store, create a ``fire-trigger`` run on the server naming it,
    carry the run out in this process, and return the case as ``gpv case show`` prints it (read
    from the application database, the source of truth).

    A run the rules refused raises :class:`RefusedError`, bad input :class:`InputError`, each
    with the rules' full message as the request in gpv's store keeps it; any other end of the run
    raises :class:`GpvError` naming the run. An unknown trigger or case is refused here, before
    anything reaches Prefect.
    """
    url = api_url or server_configured()
    if url is None:
        raise GpvError(
            "Kein Prefect-Server erreichbar (GPV_PREFECT_URL / PREFECT_API_URL). "
            "Bitte `gpv run` starten oder die Variable entfernen."
        )
    prepare_client_environment(url)
    when = _as_utc(at)

    from workflows import service
    from workflows.store.db import ready_engine
    from workflows.store.step_requests import store_request

    _check_trigger(trigger)
    engine = ready_engine()
    carrier = service.show_case(engine, case_id).get("carrier")
    request_id = store_request(
        engine, case_id, trigger, dict(params or {}), at=when, by=by,
        allow_future=allow_future, now=None if now is None else _as_utc(now),
    )  # fmt: skip
    flow_run = _start_and_wait(
        url,
        parameters=fire_parameters(request_id, case_id, trigger),
        name=run_name(trigger, case_id),
        tags=run_tags(case_id, trigger, acting_party(trigger, carrier)),
    )
    sys.stderr.write(f"gpv fire: Lauf {flow_run.name}: {run_url(url, flow_run.id)}\n")
    _raise_unless_completed(flow_run, engine, request_id)
    return service.show_case(engine, case_id)


def run_url(api_url: str, run_id: Any) -> str:
    """The dashboard page of a flow run: ``http://127.0.0.1:4200/runs/flow-run/<id>``."""
    return f"{api_url.removesuffix('/api')}/runs/flow-run/{run_id}"


def _check_trigger(trigger: str) -> None:
    """An unknown trigger never becomes a run name or a tag: it is refused before the run."""
    from states.triggers import TRIGGERS

    if trigger not in TRIGGERS:
        raise InputError(f"Unbekannter Auslöser {trigger!r}; bekannt sind: {', '.join(TRIGGERS)}.")


def _start_and_wait(url: str, *, parameters: dict[str, Any], name: str, tags: list[str]) -> Any:
    """A run of the ``fire-trigger`` deployment, carried out here, as it ended."""
    import asyncio

    from prefect.exceptions import ObjectNotFound

    try:
        return asyncio.run(_create_and_run(parameters=parameters, name=name, tags=tags))
    except ObjectNotFound:
        raise GpvError(
            f"Der Prefect-Server unter {url} kennt die Bereitstellung {FIRE_DEPLOYMENT!r} nicht. "
            "Sie entsteht mit `gpv run`."
        ) from None


async def _create_and_run(*, parameters: dict[str, Any], name: str, tags: list[str]) -> Any:
    """Create a run of the ``fire-trigger`` deployment and carry it out in this process.

    The run is created ``Pending`` (a runner only takes ``Scheduled`` runs, so no runner of
    ``gpv run`` or worker of a pool starts it too) and executed here by Prefect's flow engine, as
    a runner's child process would: it belongs to the deployment, carries the same name, tags,
    parameters and states, and the dashboard shows it the same. What it saves is the runner's
    poll and a second interpreter importing Prefect and gpv (issue 11: the pick-up was 5.7 of
    12 s). When this process dies mid-run, the step's one transaction has committed or not; the
    run stays ``Running`` until Prefect marks it crashed, and its request, still open, can be
    carried out by a new run from the dashboard."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.logging.handlers import APILogHandler
    from prefect.states import Pending

    from workflows.orchestration.flows import fire_trigger

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(FIRE_DEPLOYMENT)
        created = await client.create_flow_run_from_deployment(
            deployment.id, parameters=parameters, name=name, tags=tags, state=Pending()
        )
        outcome = run_flow(fire_trigger, flow_run=created, parameters=parameters,
                           return_type="state")  # fmt: skip
        if asyncio.iscoroutine(outcome):
            await outcome
        await APILogHandler.aflush()  # the run's logs are on the server before gpv fire returns
        return await client.read_flow_run(created.id)


def _raise_unless_completed(flow_run: Any, engine: Any, request_id: str) -> None:
    """Turn a run that did not complete back into the error the rules or the engine gave; the
    rules' message comes from the request in gpv's store, not from Prefect."""
    from workflows.store.step_requests import load_request

    state = flow_run.state
    if state is None or not state.is_final():
        raise GpvError(
            f"Der Lauf {flow_run.name} wurde angelegt, aber nicht zu Ende ausgeführt (Zustand: "
            f"{state.name if state else 'unbekannt'}). Einzelheiten im Dashboard; die Anfrage "
            f"{request_id} bleibt offen und kann dort mit einem neuen Lauf ausgeführt werden."
        )
    if state.is_completed():
        return
    raise _stored_error(load_request(engine, request_id)) or GpvError(
        f"Der Lauf {flow_run.name} endete mit {state.name}: "
        f"{(state.message or '').strip() or 'ohne Meldung'}. Einzelheiten im Dashboard."
    )


def _stored_error(request: Any) -> GpvError | None:
    """The error a refused or invalid request recorded, with the rules' full message."""
    from workflows.store.step_requests import RequestStatus

    message = request.message or "Der Schritt wurde nicht ausgeführt."
    if request.status is RequestStatus.REFUSED:
        return RefusedError(message, norm=request.norm)
    if request.status is RequestStatus.INVALID:
        return InputError(message, norm=request.norm)
    return None


def run_step(
    case_id: str,
    trigger: str,
    params: Mapping[str, str] | None,
    at: datetime | None,
    by: str,
    *,
    allow_future: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``gpv fire``: through the server :func:`discover_server` finds, otherwise in process; says
    on stderr which way it went. ``allow_future``/``now`` (:mod:`states.step_time`) go either way:
    through the server the step request in gpv's store carries them."""
    url = discover_server()
    if url is not None:
        sys.stderr.write(f"gpv fire: über den Prefect-Server {url.removesuffix('/api')}\n")
        return run_on_server(
            case_id, trigger, params, at, by, api_url=url, allow_future=allow_future, now=now
        )
    sys.stderr.write("gpv fire: ohne Server, direkt in der Datenbank\n")
    return run_here(case_id, trigger, params, at, by, allow_future=allow_future, now=now)
