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

from states.agreement import STATEMENT_EXPERT
from states.deadlines import open_deadline
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
)

NORM_REQUEST = "§ 121 Abs. 3 SGB IX"
NORM_STATEMENT = "§ 17 Abs. 2 SGB IX"
#: § 35a Abs. 1a SGB VIII: who may give the statement in a youth office's case (S. 1), and that
#: the expert must not belong to the service that delivers the help (S. 4).
NORM_EXPERT = "§ 35a Abs. 1a S. 1 SGB VIII"
NORM_NOT_DELIVERING = "§ 35a Abs. 1a S. 4 SGB VIII"


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


def _expert_named(ctx: StepContext) -> str | None:
    """The expert the request names (``--set expert=ID``), refused when the agreement excludes it
    (it delivers the help, § 35a Abs. 1a S. 4 SGB VIII) or it is not a statement expert of this
    case (a youth office asks a § 35a expert, never automatically the adult SPDI; legal-review
    C4). None when the request names nobody."""
    given = ctx.params.get("expert", "").strip()
    if not given:
        return None
    party = ctx.agreement.party(given)  # InputError naming the known parties
    if party.delivers_help:
        raise refused(
            f"„{party.name}“ ({party.id}) gehört zu dem Dienst, der die Hilfe leistet, und darf "
            "die Stellungnahme deshalb nicht abgeben; bitte eine andere Sachverständige benennen "
            "(--set expert=…); die Anfrage wird nicht angelegt",
            NORM_NOT_DELIVERING,
        )
    experts = ctx.agreement.statement_experts(ctx.snapshot.facts.carrier)
    if party not in experts:
        known = ", ".join(p.id for p in experts) or "keine in der Vereinbarung"
        raise refused(
            f"„{party.name}“ ({party.id}) gibt in diesem Fall keine Stellungnahme ab: Im Fall "
            "eines Jugendamts ist es eine Sachverständige nach § 35a Abs. 1a S. 1 SGB VIII, sonst "
            f"der SPDI (§ 121 Abs. 3 Nr. 3 Buchst. b SGB IX); möglich: {known}",
            NORM_EXPERT,
        )
    return party.id


def _check_request(ctx: StepContext) -> None:
    """The expert asked: the one named, or the only one the agreement offers for this case."""
    if _expert_named(ctx) is not None:
        return
    experts = ctx.agreement.statement_experts(ctx.snapshot.facts.carrier)
    if len(experts) != 1:
        known = ", ".join(p.id for p in experts) or "keine"
        raise InputError(
            "Für „request_statement“ fehlt der Parameter „expert“: Die Vereinbarung nennt für "
            f"diesen Fall nicht genau eine Stelle für die Stellungnahme (möglich: {known}); bitte "
            "mit --set expert=ID angeben."
        )


def _expert(ctx: StepContext) -> str:
    """Who gives the statement: the request's expert (kept with the statement), else the one the
    agreement names for the case (:data:`states.agreement.STATEMENT_EXPERT`)."""
    instance = ctx.instance(Process.STATEMENT)
    recorded = instance.data.get("expert") if instance is not None else None
    named = _expert_named(ctx) if ctx.trigger == "request_statement" else None
    carrier = ctx.snapshot.facts.carrier
    return str(named or recorded or ctx.agreement.party_for(STATEMENT_EXPERT, carrier))


def _request(ctx: StepContext, fx: Effects) -> None:
    # The statement's period is owed by the expert asked, not by a role (several may qualify).
    expert = _expert(ctx)
    spec = open_deadline(ctx.agreement, "statement", ctx.today, responsible_party=expert)
    fx.data = {"expert": expert}
    fx.deadlines_open.append(spec)
    context = {"due": spec.due.isoformat(), "norm": spec.norm, "responsible_party": expert}
    fx.notifications.append(NotificationEvent("statement_requested", Process.STATEMENT, context))
    if ctx.snapshot.facts.objection_notice_given_on is None:
        # § 76 Abs. 2 Nr. 1 SGB X: told of the right to object at the start, and recorded.
        fx.notifications.append(NotificationEvent("objection_notice", Process.STATEMENT, {}))
        fx.facts_update["objection_notice_given_on"] = ctx.today


#: Who writes the statement: the SPDI, or the § 35a expert in a youth office's case.
_ACTOR = STATEMENT_EXPERT


def _deliver(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "statement", DeadlineStatus.MET)
    # § 14 Abs. 2 S. 3 SGB IX: the decision period runs from the Gutachten's arrival; the day is
    # recorded, the period itself is chosen by states.decision_deadline (which also fills in
    # the notice's due date and norm). Only those: never anything of the statement itself.
    fx.data = {**carry(ctx, Process.STATEMENT), "delivered_on": ctx.today.isoformat()}
    fx.notifications.append(NotificationEvent("statement_delivered", Process.STATEMENT, {}))
    # Its author takes part in the conference as such (legal-review M4), unless the person objects
    # to passing the statement on (§ 76 Abs. 2 Nr. 1 SGB X; the store's view applies that).
    author = _expert(ctx)
    authors = ctx.snapshot.facts.statement_by
    fx.facts_update["statement_by"] = tuple(dict.fromkeys((*authors, author)))


def _decline(ctx: StepContext, fx: Effects) -> None:
    # The reason stays in the audit entry's params; the notification says only that it was declined.
    close_if_open(ctx, fx, "statement", DeadlineStatus.CANCELLED, "Anfrage abgelehnt")
    fx.notifications.append(NotificationEvent("statement_declined", Process.STATEMENT, {}))


def _cancel(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "statement", DeadlineStatus.CANCELLED, "Anfrage zurückgezogen")
    fx.notifications.append(_cancelled(ctx))


def _cancelled(ctx: StepContext) -> NotificationEvent:
    """The expert asked learns that the statement is no longer needed."""
    context = {"responsible_party": _expert(ctx)}
    return NotificationEvent("statement_cancelled", Process.STATEMENT, context)


def _end_with_case(ctx: StepContext, fx: Effects) -> dict[str, Any]:
    """The case ended while the statement was awaited: the SPDI is told it is no longer needed."""
    fx.notifications.append(_cancelled(ctx))
    return carry(ctx, Process.STATEMENT)


DEFINITION = ProcessDefinition(
    process=Process.STATEMENT,
    title="SPDI-Stellungnahme",
    state_enum=StatementState,
    states=STATES,
    transitions=TRANSITIONS,
    triggers=(
        TriggerSpec(
            "request_statement", "Stellungnahme anfordern", NORM_REQUEST, optional=("expert",)
        ),
        TriggerSpec("accept_statement_request", "Anfrage annehmen", NORM_STATEMENT, actor=_ACTOR),
        TriggerSpec("deliver_statement", "Stellungnahme abgeben", NORM_STATEMENT, actor=_ACTOR),
        TriggerSpec(
            "decline_statement_request",
            "Anfrage ablehnen",
            NORM_STATEMENT,
            ("reason",),
            actor=_ACTOR,
        ),
        TriggerSpec(
            "cancel_statement", "Anfrage zurückziehen", NORM_STATEMENT, optional=("reason",)
        ),
    ),
    start_trigger="request_statement",
    start_norm=NORM_REQUEST,
    start_when=frozenset({CaseState.ASSESSMENT}),
    on_case_end=_end_with_case,
    input_checks={
        "request_statement": _check_request,
        "decline_statement_request": _check_reason,
    },
    effects={
        "request_statement": _request,
        "deliver_statement": _deliver,
        "decline_statement_request": _decline,
        "cancel_statement": _cancel,
    },
)
