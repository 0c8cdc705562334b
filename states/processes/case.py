"""The Gesamtplanverfahren of one case (SGB IX §§ 117–122), from receipt to decision and review.

The store opens a case in ``received`` (see ``states.advance.open_case_decision``). Within the two
weeks of § 14 Abs. 1 S. 1 SGB IX the carrier either accepts jurisdiction or forwards the
application; afterwards it is the leistender Rehabilitationsträger (§ 14 Abs. 2 S. 1 SGB IX).
Benefits are determined only once an awaited statement arrived and an agreed conference was held
(§ 120 Abs. 1 SGB IX). The Gesamtplan follows, naming its review date (§ 121 Abs. 1, 4 Nr. 1
SGB IX); only a refusal may be issued without it. An approval opens the review (at the plan's date,
at the latest after two years, § 121 Abs. 2 S. 2) and a reminder before its approval period ends;
a refusal opens neither.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from states.calendar import nominal_end
from states.decision import (
    CaseState,
    DeadlineClosure,
    DeadlineStatus,
    NotificationEvent,
    Process,
    ProcessUpdate,
)
from states.errors import InputError, TransitionRefused
from states.law import law_of
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
    param_choice,
    refused,
)

NORM_JURISDICTION = "§ 14 Abs. 1 S. 1 SGB IX"
NORM_LEADING_CARRIER = "§ 14 Abs. 2 S. 1 SGB IX"
NORM_DETERMINATION = "§ 120 Abs. 1 SGB IX"
NORM_PLAN = "§ 121 Abs. 1, Abs. 4 Nr. 1 SGB IX"
NORM_DECISION = "§ 120 Abs. 2 SGB IX"
#: The outcomes of a Bescheid; all but a refusal approve benefits for a period.
OUTCOMES = ("approval", "partial", "refusal")
REFUSAL = "refusal"
WITHDRAWN_REASON = "Antrag zurückgenommen"
CLOSED_REASON = "Fall abgeschlossen"


STATES: dict[StrEnum, StateSpec] = {
    CaseState.RECEIVED: StateSpec("Antrag eingegangen", initial=True),
    CaseState.ASSESSMENT: StateSpec("Bedarfsermittlung"),
    CaseState.DETERMINED: StateSpec("Leistungen festgestellt"),
    CaseState.PLANNED: StateSpec("Gesamtplan aufgestellt"),
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
    """§ 14 Abs. 1 S. 1 SGB IX: two weeks from receipt. A case forwarded in has no such period:
    its agreed forwarding (§ 14 Abs. 3) is bound by the decision period that keeps running."""
    return ctx.snapshot.facts.forwarded_from is not None or ctx.today <= jurisdiction_due(ctx)


#: The answers that record the agreement of § 14 Abs. 3 SGB IX (``--set agreed=ja``).
AGREED = frozenset({"ja", "yes", "true"})


def _forwarded_already(ctx: StepContext) -> TransitionRefused:
    return refused(
        f"Der Antrag wurde bereits an diesen Träger weitergeleitet (von "
        f"{ctx.snapshot.facts.forwarded_from}); er ist leistender Träger und leitet nicht erneut "
        "weiter (§ 14 Abs. 2 S. 4 SGB IX), es sei denn im Einvernehmen mit dem Träger, den er für "
        "zuständig hält: dann mit --set agreed=ja (§ 14 Abs. 3 SGB IX); der Fall bleibt im "
        f"Zustand {_state_text(CaseState.RECEIVED)}",
        "§ 14 Abs. 3 SGB IX",
    )


@guard(_forwarded_already)
def is_first_forwarding_or_agreed(ctx: StepContext) -> bool:
    """§ 14 Abs. 2 S. 4 SGB IX: one forwarding; a second only by agreement (§ 14 Abs. 3)."""
    if ctx.snapshot.facts.forwarded_from is None:
        return True
    return ctx.params.get("agreed", "").strip().lower() in AGREED


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
    return not conference.blocks_determination(ctx)


#: § 119 Abs. 4 SGB IX: for a parent with a disability the conference is held with their consent.
NORM_PARENT_CONFERENCE = "§ 119 Abs. 4 SGB IX"


def _parent_conference_missing(ctx: StepContext) -> TransitionRefused:
    return refused(
        "Die Person ist Mutter oder Vater eines Kindes: Mit ihrer Zustimmung ist eine "
        "Gesamtplankonferenz durchzuführen, bevor die Leistungen festgestellt werden. Bitte die "
        "Zustimmung anfragen (request_consent) und die Konferenz durchführen, oder festhalten, "
        "dass die Person nicht zustimmt (refuse_consent); der Fall bleibt im Zustand "
        f"{_state_text(CaseState.ASSESSMENT)}",
        NORM_PARENT_CONFERENCE,
    )


@guard(_parent_conference_missing)
def has_parent_conference_unless_refused(ctx: StepContext) -> bool:
    return not ctx.snapshot.facts.is_parent or conference.parent_conference_settled(ctx)


def _check_forward_target(ctx: StepContext) -> None:
    target = ctx.params.get("to", "").strip()
    if not target:
        raise InputError(
            "Für „forward“ fehlt der Parameter „to“ (der Träger, an den weitergeleitet wird)."
        )
    party = ctx.agreement.party(target)  # InputError naming the known parties
    # § 14 Abs. 1 S. 2 SGB IX: to the carrier the forwarding one deems responsible, any
    # rehabilitation carrier (§ 6 Abs. 1) the agreement lists.
    if party.kind not in ctx.agreement.decision_deadline.rehabilitation_carrier_kinds:
        raise InputError(
            f"An „{party.name}“ ({party.id}) kann nicht weitergeleitet werden: Ziel muss ein "
            "Rehabilitationsträger sein (§ 6 Abs. 1, § 14 Abs. 1 S. 2 SGB IX), z. B. ein Träger "
            "der Eingliederungshilfe, ein Jugendamt oder die Agentur für Arbeit."
        )
    if party.id == ctx.snapshot.facts.carrier:
        raise InputError(
            f"„{party.name}“ ({party.id}) ist bereits der Träger dieses Falls; weitergeleitet wird "
            "an einen anderen Träger."
        )


def _parse_day(ctx: StepContext, name: str, trigger: str) -> date:
    value = ctx.params.get(name, "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"Für „{trigger}“ ist {name}={value!r} kein Datum; erwartet wird JJJJ-MM-TT, z. B. "
            f"--set {name}=2028-03-31."
        ) from None


#: How a refusal names the review periods of the agreement file.
_PERIOD_WORDS = {"2y": "zwei Jahre", "1y": "ein Jahr", "6m": "sechs Monate", "3m": "drei Monate"}


def _review_rule(ctx: StepContext) -> str:
    """The agreement rule of the plan's review: § 121 Abs. 2 S. 2 SGB IX for a Gesamtplan, the
    agreed review of a youth office's Hilfeplan (§ 36 Abs. 2 S. 2 SGB VIII)."""
    return law_of(ctx.agreement, ctx.snapshot.facts.carrier).review_rule


def _check_plan(ctx: StepContext) -> None:
    """§ 121 Abs. 4 Nr. 1 SGB IX: the plan names its review date; § 121 Abs. 2 S. 2: at the
    latest two years on (a Hilfeplan: the agreed period of its review rule)."""
    review = _parse_day(ctx, "review", "draw_up_plan")
    rule = ctx.agreement.rule(_review_rule(ctx))
    limit = nominal_end(ctx.today, rule.period)
    if not ctx.today < review <= limit:
        raise InputError(
            f"Der Überprüfungszeitpunkt {review.isoformat()} muss nach dem heutigen Tag "
            f"({ctx.today.isoformat()}) und spätestens am {limit.isoformat()} liegen "
            f"({_PERIOD_WORDS.get(str(rule.period), str(rule.period))}, {rule.norm})."
        )


def _check_decision(ctx: StepContext) -> None:
    """The Bescheid's outcome, and the end of the approval period for an approval."""
    outcome = param_choice(ctx, "outcome", OUTCOMES, "Ergebnis des Bescheids")
    given = bool(ctx.params.get("approved_until", "").strip())
    if outcome == REFUSAL:
        if given:
            raise InputError(
                "Eine Ablehnung hat keinen Bewilligungszeitraum; bitte approved_until weglassen."
            )
        return
    if not given:
        raise InputError(
            "Für eine Bewilligung fehlt das Ende des Bewilligungszeitraums: --set "
            "approved_until=JJJJ-MM-TT (§ 120 Abs. 2 SGB IX)."
        )
    until = _parse_day(ctx, "approved_until", "issue_decision")
    limit = nominal_end(ctx.today, ctx.agreement.rule("approval_end").period)
    if not ctx.today < until <= limit:
        raise InputError(
            f"Das Ende des Bewilligungszeitraums {until.isoformat()} muss nach dem heutigen Tag "
            f"und spätestens am {limit.isoformat()} liegen."
        )


def _no_plan(ctx: StepContext) -> TransitionRefused:
    return refused(
        "Vor einer Bewilligung ist der Gesamtplan aufzustellen (draw_up_plan mit dem "
        "Überprüfungszeitpunkt); nur eine Ablehnung (outcome=refusal) ergeht ohne ihn. Der Fall "
        f"bleibt im Zustand {_state_text(CaseState.DETERMINED)}",
        "§ 121 Abs. 1 SGB IX",
    )


@guard(_no_plan)
def has_plan_unless_refusal(ctx: StepContext) -> bool:
    planned = ctx.state_of(Process.CASE) == CaseState.PLANNED
    return planned or ctx.params.get("outcome", "").strip() == REFUSAL


K = CaseState
_OPEN = (K.RECEIVED, K.ASSESSMENT, K.DETERMINED, K.PLANNED, K.DECIDED)
TRANSITIONS: tuple[Transition, ...] = (
    Transition("accept_jurisdiction", K.RECEIVED, K.ASSESSMENT),
    Transition(
        "forward",
        K.RECEIVED,
        K.FORWARDED,
        guards=(is_first_forwarding_or_agreed, is_within_jurisdiction_period),
    ),
    Transition(
        "determine_benefits",
        K.ASSESSMENT,
        K.DETERMINED,
        guards=(
            has_no_open_statement,
            has_no_pending_conference,
            has_parent_conference_unless_refused,
        ),
    ),
    # § 120 Abs. 4 SGB IX: in an urgent case benefits are provided provisionally, before the
    # conference and the Bescheid; recorded with its reason, it stops no period.
    Transition("grant_provisional_benefits", K.ASSESSMENT, K.ASSESSMENT),
    Transition("grant_provisional_benefits", K.DETERMINED, K.DETERMINED),
    Transition("draw_up_plan", K.DETERMINED, K.PLANNED),
    Transition(
        "issue_decision", (K.DETERMINED, K.PLANNED), K.DECIDED, guards=(has_plan_unless_refusal,)
    ),
    Transition("start_review", K.DECIDED, K.ASSESSMENT),
    Transition("close", K.DECIDED, K.CLOSED),
    Transition("withdraw", _OPEN, K.WITHDRAWN),
)


def _accept(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "jurisdiction", DeadlineStatus.MET)


#: § 120 Abs. 4 SGB IX: provisional benefits in an urgent case, before the conference.
NORM_PROVISIONAL = "§ 120 Abs. 4 SGB IX"


def _grant_provisionally(ctx: StepContext, fx: Effects) -> None:
    """Recorded, with its reason in the audit entry (gpv's store only); the periods of § 14 and
    § 15 SGB IX run on: a provisional benefit is no decision on the application."""
    data = carry(ctx, Process.CASE)
    fx.data = {**data, "provisional_since": data.get("provisional_since") or ctx.today.isoformat()}


def _forward(ctx: StepContext, fx: Effects) -> None:
    party = ctx.agreement.party(ctx.params["to"].strip())
    close_if_open(ctx, fx, "jurisdiction", DeadlineStatus.MET)
    close_if_open(ctx, fx, "decision", DeadlineStatus.CANCELLED, f"weitergeleitet an {party.id}")
    fx.notifications.append(
        NotificationEvent(
            "case_forwarded",
            Process.CASE,
            # The person learns the day it was sent on (legal-review m5).
            {"to": party.id, "to_name": party.name, "forwarded_on": ctx.today.isoformat()},
        )
    )


def _draw_up_plan(ctx: StepContext, fx: Effects) -> None:
    # The plan itself (with its findings) stays outside gpv; the case keeps its review date.
    fx.data = {**carry(ctx, Process.CASE), "review": ctx.params["review"].strip()}


def _issue_decision(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, "decision", DeadlineStatus.MET)
    fx.facts_update["decided_on"] = ctx.today
    outcome = ctx.params["outcome"].strip()
    if outcome == REFUSAL:
        # Nothing approved, no plan to carry forward: no review, no approval period (C6).
        fx.notifications.append(
            NotificationEvent("decision_issued", Process.CASE, {"outcome": outcome})
        )
        return
    plan = ctx.instance(Process.CASE)
    planned = (plan.data.get("review") if plan is not None else None) or None
    review = open_rule(
        ctx,
        _review_rule(ctx),
        ctx.today,
        reason="Überprüfungszeitpunkt laut Gesamtplan" if planned else "",
        until=date.fromisoformat(planned) if planned else None,
    )
    approval = open_rule(
        ctx,
        "approval_end",
        ctx.today,
        reason="Ende des Bewilligungszeitraums laut Bescheid",
        until=date.fromisoformat(ctx.params["approved_until"].strip()),
    )
    fx.deadlines_open.extend((review, approval))
    fx.notifications.append(
        NotificationEvent(
            "decision_issued",
            Process.CASE,
            {"outcome": outcome, "review_due": review.due.isoformat(), "norm": review.norm},
        )
    )


def _start_review(ctx: StepContext, fx: Effects) -> None:
    close_if_open(ctx, fx, _review_rule(ctx), DeadlineStatus.MET)
    close_if_open(ctx, fx, "approval_end", DeadlineStatus.MET)


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
            "forward",
            "Antrag weiterleiten",
            NORM_JURISDICTION,
            ("to",),
            optional=("reason", "agreed"),
        ),
        TriggerSpec("determine_benefits", "Leistungen feststellen", NORM_DETERMINATION),
        TriggerSpec("draw_up_plan", "Gesamtplan aufstellen", NORM_PLAN, ("review",)),
        TriggerSpec(
            "issue_decision",
            "Bescheid erlassen",
            NORM_DECISION,
            ("outcome",),
            optional=("approved_until",),
        ),
        TriggerSpec("start_review", "Überprüfung beginnen", "§ 121 Abs. 2 SGB IX"),
        TriggerSpec(
            "close",
            "Fall abschließen",
            # No norm closes a case; the Bescheid's period or its revocation ends the benefits
            # (legal-review m4: § 121 Abs. 2 has nothing to do with closing).
            "Ende des Bewilligungszeitraums oder Aufhebung (§ 48 SGB X)",
        ),
        TriggerSpec(
            "grant_provisional_benefits",
            "Leistungen vorläufig erbringen (Eilfall)",
            NORM_PROVISIONAL,
            ("reason",),
        ),
        TriggerSpec(
            "withdraw",
            "Antrag zurücknehmen",
            # Before the Bescheid the application is taken back (§ 108 Abs. 1: benefits only on
            # application); after it the person waives the benefits (§ 46 SGB I) [U, m4].
            "§ 108 Abs. 1 SGB IX; nach dem Bescheid § 46 SGB I",
            optional=("reason",),
        ),
    ),
    input_checks={
        "forward": _check_forward_target,
        "draw_up_plan": _check_plan,
        "issue_decision": _check_decision,
    },
    effects={
        "accept_jurisdiction": _accept,
        "forward": _forward,
        "draw_up_plan": _draw_up_plan,
        "issue_decision": _issue_decision,
        "start_review": _start_review,
        "close": _close,
        "withdraw": _withdraw,
        "grant_provisional_benefits": _grant_provisionally,
    },
)
