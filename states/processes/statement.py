"""The SPDI specialist statement (fachärztliche Stellungnahme) as a sub-process of a case.

The carrier requests it while the case is in assessment (§ 121 Abs. 3 SGB IX: the carrier works
together with the Gesundheitsamt); the agreement gives the SPDI two weeks (cf. § 17 Abs. 2
SGB IX). While it is awaited the three-week decision period of § 14 Abs. 2 S. 2 SGB IX is replaced;
when it arrives the decision is due two weeks later (§ 14 Abs. 2 S. 3 SGB IX). Which period
applies is decided in :mod:`states.decision_deadline`.
No notification ever carries the statement's content (data minimisation, § 76 SGB X).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from states.decision import (
    CaseState,
    DeadlineStatus,
    NotificationEvent,
    Process,
)
from states.errors import InputError, TransitionRefused
from states.processes.definition import (
    Effects,
    ProcessDefinition,
    StateSpec,
    StepContext,
    Transition,
    TriggerSpec,
    carry,
    close_if_open,
    guard,
    refused,
    start_with_deadline,
)

NORM_REQUEST = "§ 121 Abs. 3 SGB IX"
NORM_STATEMENT = "§ 17 Abs. 2 SGB IX"


class StatementState(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    DECLINED = "declined"
    CANCELLED = "cancelled"


#: A statement in one of these states is still awaited (it blocks determine_benefits).
OPEN_STATES = frozenset({StatementState.REQUESTED, StatementState.ACCEPTED})


def _no_reason(ctx: StepContext) -> TransitionRefused:
    return refused(
        "Die Ablehnung einer Anfrage zur Stellungnahme braucht eine Begründung (Parameter "
        "„reason“); ohne sie bleibt die Anfrage offen",
        NORM_STATEMENT,
    )


@guard(_no_reason)
def has_reason(ctx: StepContext) -> bool:
    return bool(ctx.params.get("reason", "").strip())


def _check_reason(ctx: StepContext) -> None:
    if not ctx.params.get("reason", "").strip():
        raise InputError(
            "Für „decline_statement_request“ fehlt der Parameter „reason“ (Begründung der "
            'Ablehnung); bitte mit --param reason="…" angeben.'
        )


S = StatementState
TRANSITIONS: tuple[Transition, ...] = (
    Transition("accept_statement_request", S.REQUESTED, S.ACCEPTED),
    Transition("deliver_statement", (S.REQUESTED, S.ACCEPTED), S.DELIVERED),
    Transition("decline_statement_request", S.REQUESTED, S.DECLINED, guards=(has_reason,)),
    Transition("cancel_statement", (S.REQUESTED, S.ACCEPTED), S.CANCELLED),
)

STATES: dict[StrEnum, StateSpec] = {
    S.REQUESTED: StateSpec("angefordert", initial=True),
    S.ACCEPTED: StateSpec("angenommen"),
    S.DELIVERED: StateSpec("eingegangen", final=True),
    S.DECLINED: StateSpec("abgelehnt", final=True),
    S.CANCELLED: StateSpec("zurückgezogen", final=True),
}


def _request(ctx: StepContext, fx: Effects) -> None:
    start_with_deadline(ctx, fx, "statement", "statement_requested", Process.STATEMENT)


def _deliver(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "statement", DeadlineStatus.MET)
    # § 14 Abs. 2 S. 3 SGB IX: the decision period runs from the Gutachten's arrival; the day is
    # recorded, the period itself is chosen by states.decision_deadline (which also fills in
    # the notice's due date and norm). Only those: never anything of the statement itself.
    fx.data = {**carry(ctx, Process.STATEMENT), "delivered_on": ctx.today.isoformat()}
    fx.notifications.append(NotificationEvent("statement_delivered", Process.STATEMENT, {}))


def _decline(ctx: StepContext, fx: Effects) -> None:
    # The reason stays in the audit entry's params; the notification says only that it was declined.
    close_if_open(ctx, fx, "statement", DeadlineStatus.CANCELLED, "Anfrage abgelehnt")
    fx.notifications.append(NotificationEvent("statement_declined", Process.STATEMENT, {}))


def _cancel(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "statement", DeadlineStatus.CANCELLED, "Anfrage zurückgezogen")
    fx.notifications.append(NotificationEvent("statement_cancelled", Process.STATEMENT, {}))


def _end_with_case(ctx: StepContext, fx: Effects) -> dict[str, Any]:
    """The case ended while the statement was awaited: the SPDI is told it is no longer needed."""
    fx.notifications.append(NotificationEvent("statement_cancelled", Process.STATEMENT, {}))
    return carry(ctx, Process.STATEMENT)


DEFINITION = ProcessDefinition(
    process=Process.STATEMENT,
    title="SPDI-Stellungnahme",
    state_enum=StatementState,
    states=STATES,
    transitions=TRANSITIONS,
    triggers=(
        TriggerSpec("request_statement", "Stellungnahme anfordern", NORM_REQUEST),
        TriggerSpec(
            "accept_statement_request", "Anfrage annehmen", NORM_STATEMENT, actor="health_service"
        ),
        TriggerSpec(
            "deliver_statement", "Stellungnahme abgeben", NORM_STATEMENT, actor="health_service"
        ),
        TriggerSpec(
            "decline_statement_request",
            "Anfrage ablehnen",
            NORM_STATEMENT,
            ("reason",),
            actor="health_service",
        ),
        TriggerSpec(
            "cancel_statement", "Anfrage zurückziehen", NORM_STATEMENT, optional=("reason",)
        ),
    ),
    start_trigger="request_statement",
    start_norm=NORM_REQUEST,
    start_when=frozenset({CaseState.ASSESSMENT}),
    on_case_end=_end_with_case,
    input_checks={"decline_statement_request": _check_reason},
    effects={
        "request_statement": _request,
        "deliver_statement": _deliver,
        "decline_statement_request": _decline,
        "cancel_statement": _cancel,
    },
)
