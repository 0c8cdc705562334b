"""Housing-structure support by the Kreis as a sub-process of a case.

Under the agreement the Kreis supports the housing search through structural conditions (domain.md
§ 6); the carrier asks for it during the Gesamtplanverfahren (§ 117 Abs. 1 SGB IX) and the Kreis's
housing contact acknowledges within the agreed period (deadline ``housing_ack``).
"""

from __future__ import annotations

from enum import StrEnum

from states.decision import CaseState, DeadlineStatus, Process
from states.processes.definition import (
    Effects,
    ProcessDefinition,
    StateSpec,
    StepContext,
    Transition,
    TriggerSpec,
    close_if_open,
    start_with_deadline,
)

NORM = "§ 117 Abs. 1 SGB IX i. V. m. der Kooperationsvereinbarung LWL – Kreis Unna (Wohnen)"
#: The norm each housing step names (the start refusals name the longer NORM).
NORM_STEP = "§ 117 Abs. 1 SGB IX"


class HousingState(StrEnum):
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    PROVIDED = "provided"
    CLOSED = "closed"
    CANCELLED = "cancelled"


H = HousingState
TRANSITIONS: tuple[Transition, ...] = (
    Transition("acknowledge_housing_support", H.REQUESTED, H.ACKNOWLEDGED),
    Transition("provide_housing_support", H.ACKNOWLEDGED, H.PROVIDED),
    Transition("close_housing_support", H.PROVIDED, H.CLOSED),
    Transition("cancel_housing_support", (H.REQUESTED, H.ACKNOWLEDGED, H.PROVIDED), H.CANCELLED),
)

STATES: dict[StrEnum, StateSpec] = {
    H.REQUESTED: StateSpec("angefragt", initial=True),
    H.ACKNOWLEDGED: StateSpec("bestätigt"),
    H.PROVIDED: StateSpec("geleistet"),
    H.CLOSED: StateSpec("abgeschlossen", final=True),
    H.CANCELLED: StateSpec("zurückgezogen", final=True),
}


def _request(ctx: StepContext, fx: Effects) -> None:
    start_with_deadline(ctx, fx, "housing_ack", "housing_requested", Process.HOUSING)


def _acknowledge(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "housing_ack", DeadlineStatus.MET)


def _cancel(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "housing_ack", DeadlineStatus.CANCELLED, "Anfrage zurückgezogen")


DEFINITION = ProcessDefinition(
    process=Process.HOUSING,
    title="Unterstützung der Wohnungssuche",
    state_enum=HousingState,
    states=STATES,
    transitions=TRANSITIONS,
    triggers=(
        TriggerSpec(
            "request_housing_support", "Unterstützung der Wohnungssuche anfragen", NORM_STEP
        ),
        TriggerSpec(
            "acknowledge_housing_support",
            "Anfrage bestätigen",
            NORM_STEP,
            actor="housing_contact",
        ),
        TriggerSpec(
            "provide_housing_support", "Unterstützung leisten", NORM_STEP, actor="housing_contact"
        ),
        TriggerSpec("close_housing_support", "Unterstützung abschließen", NORM_STEP),
        TriggerSpec(
            "cancel_housing_support", "Anfrage zurückziehen", NORM_STEP, optional=("reason",)
        ),
    ),
    start_trigger="request_housing_support",
    start_norm=NORM,
    start_when=frozenset({CaseState.ASSESSMENT}),
    effects={
        "request_housing_support": _request,
        "acknowledge_housing_support": _acknowledge,
        "cancel_housing_support": _cancel,
    },
)
