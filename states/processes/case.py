"""The Gesamtplanverfahren of one case (SGB IX §§ 117–122), from receipt to decision and review.

The store opens a case in ``received`` (see ``states.advance.open_case_decision``). Within the two
weeks of § 14 Abs. 1 S. 1 SGB IX the carrier either accepts jurisdiction or forwards the
application; afterwards it is the leistender Rehabilitationsträger (§ 14 Abs. 2 S. 1 SGB IX).
Benefits are determined only once an awaited statement arrived and an agreed conference was held
(§ 120 Abs. 1 SGB IX); the decision opens the two-yearly review (§ 121 Abs. 2 SGB IX).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from states.decision import (
    CaseState,
    DeadlineClosure,
    DeadlineStatus,
    NotificationEvent,
    Process,
    ProcessUpdate,
)
from states.errors import InputError, TransitionRefused
from states.processes import conference, statement
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
    open_deadline_of,
    open_rule,
    refused,
)

NORM_JURISDICTION = "§ 14 Abs. 1 S. 1 SGB IX"
NORM_LEADING_CARRIER = "§ 14 Abs. 2 S. 1 SGB IX"
NORM_DETERMINATION = "§ 120 Abs. 1 SGB IX"
FORWARD_TARGET_KINDS = frozenset({"egh_carrier", "youth_office"})
WITHDRAWN_REASON = "Antrag zurückgenommen"
CLOSED_REASON = "Fall abgeschlossen"


STATES: dict[StrEnum, StateSpec] = {
    CaseState.RECEIVED: StateSpec("Antrag eingegangen", initial=True),
    CaseState.ASSESSMENT: StateSpec("Bedarfsermittlung"),
    CaseState.DETERMINED: StateSpec("Leistungen festgestellt"),
    CaseState.DECIDED: StateSpec("Bescheid erlassen"),
    CaseState.CLOSED: StateSpec("abgeschlossen", final=True),
    CaseState.FORWARDED: StateSpec("weitergeleitet", final=True),
    CaseState.WITHDRAWN: StateSpec("zurückgenommen", final=True),
}


def _state_text(state: CaseState) -> str:
    return f"„{STATES[state].label}“ ({state.value})"


#: How a refusal names the time of a case state ("… ist nur während der Bedarfsermittlung möglich").
_PHASES: dict[StrEnum, str] = {CaseState.ASSESSMENT: "während der Bedarfsermittlung"}


def phase_text(state: StrEnum) -> str:
    """How a refusal names the time of a case state: its phrase, or „label“ (value) in words."""
    return _PHASES.get(state, f"im Zustand {_state_text(CaseState(state))}")


def jurisdiction_due(ctx: StepContext) -> date:
    """The last day of the § 14 Abs. 1 period: the open ``jurisdiction`` deadline of the snapshot,
    or (when the store no longer holds it open, e.g. marked missed) recomputed from receipt."""
    open_one = open_deadline_of(ctx, "jurisdiction")
    if open_one is not None:
        return open_one.due
    return open_rule(ctx, "jurisdiction", ctx.snapshot.facts.received_on).due


def _period_over(ctx: StepContext) -> TransitionRefused:
    return refused(
        "Die Weiterleitung ist nicht mehr zulässig: Die Zwei-Wochen-Frist zur Klärung der "
        f"Zuständigkeit endete am {jurisdiction_due(ctx).isoformat()} (Antragseingang "
        f"{ctx.snapshot.facts.received_on.isoformat()}, heute {ctx.today.isoformat()}). Der Träger "
        f"ist damit leistender Rehabilitationsträger ({NORM_LEADING_CARRIER}) und stellt den "
        f"Bedarf selbst fest; der Fall bleibt im Zustand {_state_text(CaseState.RECEIVED)}",
        NORM_JURISDICTION,
    )


@guard(_period_over)
def is_within_jurisdiction_period(ctx: StepContext) -> bool:
    return ctx.today <= jurisdiction_due(ctx)


def _statement_open(ctx: StepContext) -> TransitionRefused:
    state = statement.StatementState(str(ctx.state_of(Process.STATEMENT)))
    return refused(
        "Die Leistungen können noch nicht festgestellt werden: Die SPDI-Stellungnahme ist "
        f"„{statement.STATES[state].label}“ ({state.value}) und noch nicht eingegangen; ihre "
        "Befunde gehören in den Gesamtplan (§ 121 Abs. 4 Nr. 5, § 17 SGB IX). Bitte den Eingang "
        "abwarten oder die Anfrage zurückziehen (cancel_statement); der Fall bleibt im Zustand "
        f"{_state_text(CaseState.ASSESSMENT)}",
        "§ 121 Abs. 4 Nr. 5 SGB IX",
    )


@guard(_statement_open)
def has_no_open_statement(ctx: StepContext) -> bool:
    return ctx.state_of(Process.STATEMENT) not in statement.OPEN_STATES


def _conference_pending(ctx: StepContext) -> TransitionRefused:
    state = conference.ConferenceState(str(ctx.state_of(Process.CONFERENCE)))
    return refused(
        "Die Leistungen können noch nicht festgestellt werden: Der Gesamtplankonferenz wurde "
        f"zugestimmt, sie ist aber noch nicht durchgeführt („{conference.STATES[state].label}“, "
        f"{state.value}); die Feststellung folgt auf die Konferenz (§ 119 Abs. 1 SGB IX). Bitte "
        "die Konferenz durchführen oder absagen (cancel_conference); der Fall bleibt im Zustand "
        f"{_state_text(CaseState.ASSESSMENT)}",
        NORM_DETERMINATION,
    )


@guard(_conference_pending)
def has_no_pending_conference(ctx: StepContext) -> bool:
    return ctx.state_of(Process.CONFERENCE) not in conference.PENDING_STATES


def _check_forward_target(ctx: StepContext) -> None:
    target = ctx.params.get("to", "").strip()
    if not target:
        raise InputError(
            "Für „forward“ fehlt der Parameter „to“ (der Träger, an den weitergeleitet wird)."
        )
    party = ctx.agreement.party(target)  # InputError naming the known parties
    if party.kind not in FORWARD_TARGET_KINDS:
        raise InputError(
            f"An „{party.name}“ ({party.id}) kann nicht weitergeleitet werden: Ziel muss ein "
            "Träger der Eingliederungshilfe oder ein Jugendamt sein."
        )
    if party.id == ctx.snapshot.facts.carrier:
        raise InputError(
            f"„{party.name}“ ({party.id}) ist bereits der Träger dieses Falls; weitergeleitet wird "
            "an einen anderen Träger."
        )


K = CaseState
_OPEN = (K.RECEIVED, K.ASSESSMENT, K.DETERMINED, K.DECIDED)
TRANSITIONS: tuple[Transition, ...] = (
    Transition("accept_jurisdiction", K.RECEIVED, K.ASSESSMENT),
    Transition("forward", K.RECEIVED, K.FORWARDED, guards=(is_within_jurisdiction_period,)),
    Transition(
        "determine_benefits",
        K.ASSESSMENT,
        K.DETERMINED,
        guards=(has_no_open_statement, has_no_pending_conference),
    ),
    Transition("issue_decision", K.DETERMINED, K.DECIDED),
    Transition("start_review", K.DECIDED, K.ASSESSMENT),
    Transition("close", K.DECIDED, K.CLOSED),
    Transition("withdraw", _OPEN, K.WITHDRAWN),
)


def _accept(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "jurisdiction", DeadlineStatus.MET)


def _forward(ctx: StepContext, fx: Effects) -> None:
    party = ctx.agreement.party(ctx.params["to"].strip())
    close_if_open(ctx, fx, "jurisdiction", DeadlineStatus.MET)
    close_if_open(ctx, fx, "decision", DeadlineStatus.CANCELLED, f"weitergeleitet an {party.id}")
    fx.notifications.append(
        NotificationEvent("case_forwarded", Process.CASE, {"to": party.id, "to_name": party.name})
    )


def _issue_decision(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "decision", DeadlineStatus.MET)
    review = open_rule(ctx, "review", ctx.today)
    fx.deadlines_open.append(review)
    fx.notifications.append(
        NotificationEvent(
            "decision_issued",
            Process.CASE,
            {"review_due": review.due.isoformat(), "norm": review.norm},
        )
    )
    fx.facts_update["decided_on"] = ctx.today


def _start_review(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "review", DeadlineStatus.MET)


def _end_everything(ctx: StepContext, fx: Effects, reason: str) -> None:
    """Everything still running ends with the case: open sub-processes are cancelled (each
    definition's ``on_case_end`` says what that means for it, e.g. who is told), open deadlines
    too. (A sub-process left open would be stuck: progressing one needs a case that is not
    final.)"""
    for defn in ctx.sub_processes:
        instance = ctx.instance(defn.process)
        if instance is None or defn.is_final(instance.state):
            continue
        hook = defn.on_case_end
        data = hook(ctx, fx) if hook is not None else carry(ctx, defn.process)
        fx.extra_updates.append(ProcessUpdate(defn.process, instance.state, "cancelled", data))
    fx.deadlines_close.extend(
        DeadlineClosure(d.rule, DeadlineStatus.CANCELLED, reason) for d in ctx.snapshot.deadlines
    )


def _withdraw(ctx: StepContext, fx: Effects) -> None:
    _end_everything(ctx, fx, WITHDRAWN_REASON)


def _close(ctx: StepContext, fx: Effects) -> None:
    # The review deadline (and anything else still open) ends with the case.
    _end_everything(ctx, fx, CLOSED_REASON)


DEFINITION = ProcessDefinition(
    process=Process.CASE,
    title="Gesamtplanverfahren",
    state_enum=CaseState,
    states=STATES,
    transitions=TRANSITIONS,
    triggers=(
        TriggerSpec("accept_jurisdiction", "Zuständigkeit annehmen", NORM_JURISDICTION),
        TriggerSpec(
            "forward", "Antrag weiterleiten", NORM_JURISDICTION, ("to",), optional=("reason",)
        ),
        TriggerSpec("determine_benefits", "Leistungen feststellen", NORM_DETERMINATION),
        TriggerSpec("issue_decision", "Bescheid erlassen", "§ 120 Abs. 2 SGB IX"),
        TriggerSpec("start_review", "Überprüfung beginnen", "§ 121 Abs. 2 SGB IX"),
        TriggerSpec("close", "Fall abschließen", "§ 121 Abs. 2 SGB IX"),
        TriggerSpec("withdraw", "Antrag zurücknehmen", "§ 108 Abs. 1 SGB IX", optional=("reason",)),
    ),
    input_checks={"forward": _check_forward_target},
    effects={
        "accept_jurisdiction": _accept,
        "forward": _forward,
        "issue_decision": _issue_decision,
        "start_review": _start_review,
        "close": _close,
        "withdraw": _withdraw,
    },
)
