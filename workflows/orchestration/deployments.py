"""The deployments of gpv, one row each: what ``gpv run`` serves and what the work pool runs.

The flow name is the deployment name (``gpv fire`` asks for ``fire-trigger/fire-trigger``). Both
:mod:`workflows.orchestration.serve` and :mod:`workflows.orchestration.pool` read this table, so a
new flow or another interval is one row here. Nothing here imports Prefect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Where the flows live, relative to the project root (the pool's entrypoints point there).
FLOWS_FILE = "workflows/orchestration/flows.py"

FIRE_FLOW = "fire-trigger"
SWEEP_FLOW = "sweep-deadlines"
DISPATCH_FLOW = "dispatch-notifications"
REPORT_FLOW = "supervisor-report"
ALERT_FLOW = "alert-supervisor"


@dataclass(frozen=True)
class Deployment:
    """One deployment: flow (= deployment) name, the flow function in :data:`FLOWS_FILE`, its
    schedule in seconds (None: on demand or by automation) and the dashboard's description."""

    name: str
    function: str
    interval_s: int | None
    description: str

    @property
    def entrypoint(self) -> str:
        """``workflows/orchestration/flows.py:<function>``, relative to the project root."""
        return f"{FLOWS_FILE}:{self.function}"


DEPLOYMENTS: Mapping[str, Deployment] = {
    d.name: d
    for d in (
        Deployment(
            FIRE_FLOW,
            "fire_trigger",
            None,
            "Eine in gpv gespeicherte Anfrage (gpv fire) auf ihren Fall anwenden.",
        ),
        Deployment(SWEEP_FLOW, "sweep_deadlines", 60, "Fristen prüfen."),
        Deployment(DISPATCH_FLOW, "dispatch_notifications", 60, "Benachrichtigungen zustellen."),
        Deployment(REPORT_FLOW, "supervisor_report", 15 * 60, "Berichte für die Aufsicht."),
        Deployment(
            "alert-supervisor", "alert_supervisor", None, "Aufsicht alarmieren (Automation)."
        ),
    )
}
