"""``gpv run``: the main job. Starts (or reuses) the Prefect server, serves the deployments until
Ctrl-C or SIGTERM, then stops the server it started.

Served deployments (flow name = deployment name; the table is
:data:`workflows.orchestration.deployments.DEPLOYMENTS`):

==========================  ===============  ================================================
``fire-trigger``            on demand        ``gpv fire`` creates and carries out its runs itself;
                                             a run started from the dashboard is served here
``sweep-deadlines``         every minute     reminders, escalations, ``overdue-deadlines``
``dispatch-notifications``  every minute     delivers the outbox (also right after each fire)
``supervisor-report``       every 15 min     the supervisors' tables
``alert-supervisor``        by automation    when a sweep run fails, crashes or turns Late
==========================  ===============  ================================================

The served runs execute in child processes of this one (Prefect's runner); they inherit
``GPV_DATA_DIR`` / ``GPV_DATABASE_URL`` and the client settings of
:mod:`workflows.orchestration.server`. ``GPV_RUNNER_POLL_SECONDS`` (default 2) is how often the
runner asks for due runs: it bounds the pick-up of a run started from the dashboard
(``gpv fire`` creates its runs ``Pending`` and carries them out itself, no runner waits in it).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from uuid import UUID

from workflows.orchestration.alerts import EVENT_STATES
from workflows.orchestration.deployments import ALERT_FLOW, DEPLOYMENTS, REPORT_FLOW, SWEEP_FLOW
from workflows.orchestration.server import PrefectServer, server_config

AUTOMATION_NAME = "gpv: Aufsicht alarmieren, wenn die Fristenprüfung ausfällt"
#: The sweep run's events that raise the alert: those the alert can explain.
ALERT_EVENTS = tuple(EVENT_STATES)
POLL_ENV = "GPV_RUNNER_POLL_SECONDS"


class _Terminated(Exception):
    """SIGTERM before the runner took over its own handling."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


def build_deployments() -> list[Any]:
    """The deployments of :data:`~workflows.orchestration.deployments.DEPLOYMENTS`, not yet
    registered."""
    from prefect.deployments.runner import EntrypointType

    from workflows.orchestration import flows

    return [
        getattr(flows, d.function).to_deployment(
            name=d.name,
            entrypoint_type=EntrypointType.MODULE_PATH,  # independent of the working directory
            tags=["gpv"],
            interval=d.interval_s,
            description=d.description,
        )
        for d in DEPLOYMENTS.values()
    ]


def alert_automation(sweep_deployment_id: UUID, alert_deployment_id: UUID) -> Any:
    """The automation: a failed, crashed or Late sweep run → a run of ``alert-supervisor``."""
    from prefect.automations import Automation
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import EventTrigger, Posture

    return Automation(
        name=AUTOMATION_NAME,
        description="Die Fristenprüfung (sweep-deadlines) ist fehlgeschlagen oder verspätet.",
        trigger=EventTrigger(
            expect=set(ALERT_EVENTS),
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.id": f"prefect.deployment.{sweep_deployment_id}"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=alert_deployment_id,
                parameters={
                    "reason": "Fristenprüfung ausgefallen",
                    "run_name": "{{ event.resource.name }}",
                    "run_id": "{{ event.resource.id }}",
                    "event": "{{ event.event }}",
                },
                job_variables=None,
            )
        ],
    )


def ensure_alert_automation(sweep_deployment_id: UUID, alert_deployment_id: UUID) -> UUID:
    """Create the automation, or bring the one of that name up to date (idempotent)."""
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    wanted = alert_automation(sweep_deployment_id, alert_deployment_id)
    # owner_resource must stay unset: the server refuses it on update.
    core = AutomationCore(**wanted.model_dump(exclude={"id", "owner_resource"}))
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(name=AUTOMATION_NAME)
        if not existing:
            return client.create_automation(automation=core)
        keep, *duplicates = existing
        client.update_automation(automation_id=keep.id, automation=core)
        for extra in duplicates:
            client.delete_automation(automation_id=extra.id)
        return keep.id


def register(deployments: list[Any]) -> dict[str, UUID]:
    """Register (upsert) the deployments; flow name → deployment id."""
    return {d.name: d.apply() for d in deployments}


def start_now(deployment_id: UUID) -> None:
    """One run right away, so a fresh dashboard fills within seconds, not at the next interval."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.create_flow_run_from_deployment(deployment_id, tags=["gpv", "start"])


def run(
    *,
    host: str | None = None,
    port: int | None = None,
    demo: bool = False,
    data_dir: Path | str | None = None,
    prefect_database_url: str | None = None,
    echo: Callable[[str], None] = print,
    expose: bool = False,
) -> int:
    """Start or reuse the server, optionally seed the demo, serve until stopped. Returns 0.
    ``expose`` allows an address beyond loopback (with API authentication, see server_config)."""
    config = server_config(
        data_dir=data_dir, host=host, port=port, database_url=prefect_database_url, expose=expose
    )
    server = PrefectServer(config)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        echo(f"Prefect-Server wird gestartet ({config.api_url}) …")
        server.start()
        if server.reused:
            echo(f"Vorhandener Prefect-Server unter {config.url} wird mitbenutzt.")
        # Before prefect is imported: its settings are read once per process.
        os.environ.update(config.client_environment())
        os.environ.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", os.environ.get(POLL_ENV, "2"))

        from workflows.store.db import ready_engine

        engine = ready_engine()
        if demo:
            from workflows.seeding.demo import seed_demo

            created = seed_demo(engine, datetime.now(UTC))
            echo(
                f"Demo: {created} Fälle angelegt."
                if created
                else "Demo: es gibt schon Fälle, nichts angelegt."
            )

        deployments = build_deployments()
        ids = register(deployments)
        ensure_alert_automation(ids[SWEEP_FLOW], ids[ALERT_FLOW])
        for name in (SWEEP_FLOW, REPORT_FLOW):
            start_now(ids[name])
        echo(f"Dashboard: {config.url}")
        echo("gpv läuft. Beenden mit Strg+C.")
        sys.stdout.flush()

        from prefect import serve

        # serve() installs its own SIGTERM handler and returns after a graceful stop; it pauses
        # the schedules on the way out, so a reused server does not pile up late runs.
        serve(*deployments, print_starting_message=False)
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        # A second SIGTERM must not interrupt stopping the server half-way.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if not server.reused:
                echo("Prefect-Server wird beendet …")
            server.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
    echo("gpv beendet.")
    return 0
