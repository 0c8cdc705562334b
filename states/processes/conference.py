"""The Gesamtplankonferenz (§ 119 SGB IX) as a sub-process of a case.

The carrier may hold it only with the person's consent (§ 119 Abs. 1 SGB IX); consent is revocable
at any time; the § 119 Zustimmung is a procedural consent, not the data-protection Einwilligung
of Art. 7 Abs. 3 DSGVO / § 67b SGB X (legal-review m4). A conference is set for a future NRW
working day; its calendar invitation keeps one ``uid`` per case and instance, and every change
(new time, cancellation) raises ``sequence`` so calendars replace the old entry (RFC 5545).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from states.calendar import (
    BERLIN,
    PLAUSIBLE_YEARS,
    WEEKDAY_NAMES,
    holiday_name,
    is_working_day,
)
from states.decision import CaseState, ConsentRecord, ConsentStatus, NotificationEvent, Process
from states.errors import InputError, TransitionRefused
from states.law import trigger_norm
from states.processes.definition import (
    Effects,
    ProcessDefinition,
    StateSpec,
    StepContext,
    Transition,
    TriggerSpec,
    carry,
    guard,
    param_choice,
    refused,
)

NORM = "§ 119 Abs. 1 SGB IX"
#: The person and the rehabilitation carriers involved may propose a conference (§ 119 Abs. 1 S. 2
#: SGB IX); the carrier may turn a proposal down only on one of the two grounds of S. 3.
NORM_PROPOSAL = "§ 119 Abs. 1 S. 2 SGB IX"
NORM_PROPOSAL_REFUSAL = "§ 119 Abs. 1 S. 3 SGB IX"
#: The grounds of § 119 Abs. 1 S. 3 SGB IX (``refuse_proposal --set ground=…``).
PROPOSAL_GROUNDS = {
    "written_facts": "der maßgebliche Sachverhalt lässt sich schriftlich ermitteln",
    "disproportionate": "der Aufwand steht nicht in angemessenem Verhältnis zum Umfang der "
    "beantragten Leistung",
}
#: The same grounds in plain words, for the letter to the person.
PROPOSAL_GROUNDS_PLAIN = {
    "written_facts": "Wir können alles Wichtige auch schriftlich klären",
    "disproportionate": "Eine Konferenz wäre zu viel Aufwand für die beantragte Hilfe",
}
#: Revoking the § 119 Zustimmung: the consent of § 119 Abs. 1 S. 1 is given and taken back under the
#: same norm (legal-review m4: it is no data-protection Einwilligung).
NORM_REVOCATION = "§ 119 Abs. 1 S. 1 SGB IX"
MAX_LOCATION_LENGTH = 200


class ConferenceState(StrEnum):
    CONSENT_PENDING = "consent_pending"
    CONSENTED = "consented"
    SCHEDULED = "scheduled"
    HELD = "held"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    PROPOSAL_REFUSED = "proposal_refused"


#: A conference in one of these states was agreed to but not yet held (it blocks
#: determine_benefits: § 119 Abs. 1, § 120 Abs. 1 SGB IX).
PENDING_STATES = frozenset({ConferenceState.CONSENTED, ConferenceState.SCHEDULED})


def parse_conference_time(value: str) -> datetime:
    """``2026-04-15T10:00`` (local time in Europe/Berlin) or with an offset → an aware datetime in
    Europe/Berlin. Raise InputError for anything else."""
    text = (value or "").strip()
    try:
        if len(text) <= 10:  # a date alone: the conference needs a time of day
            raise ValueError(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"Ungültiger Termin {value!r}: erwartet wird Datum und Uhrzeit wie 2026-04-15T10:00 "
            "(Ortszeit Europe/Berlin) oder mit Zeitzone wie 2026-04-15T10:00+02:00."
        ) from None
    low, high = PLAUSIBLE_YEARS
    # Checked before the zone is applied: near year 1 or 9999 an offset leaves the calendar.
    if not low <= parsed.year <= high:
        raise InputError(
            f"Der Termin {value!r} liegt außerhalb der Jahre {low}–{high}; bitte das Jahr prüfen "
            "(z. B. --set date=2026-04-15T10:00)."
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=BERLIN)
    return parsed.astimezone(BERLIN)


def _check_schedule_input(ctx: StepContext) -> None:
    parse_conference_time(ctx.params.get("date", ""))
    location = ctx.params.get("location", "")
    if not location.strip():
        raise InputError("Der Ort der Gesamtplankonferenz fehlt (Parameter „location“).")
    if "\n" in location or "\r" in location:
        raise InputError("Der Ort der Gesamtplankonferenz muss in eine Zeile passen.")
    if len(location.strip()) > MAX_LOCATION_LENGTH:
        raise InputError(
            "Der Ort der Gesamtplankonferenz ist zu lang "
            f"(höchstens {MAX_LOCATION_LENGTH} Zeichen)."
        )


def _state_text(state: str | None) -> str:
    spec = STATES.get(ConferenceState(state)) if state else None
    return f"„{spec.label}“ ({state})" if spec else f"„{state}“"


def _why_not_a_working_day(day: date, region: str) -> str:
    name = holiday_name(day, region=region)
    if name is not None:
        return f"{day.isoformat()} ist ein Feiertag in NRW ({name})"
    return f"{day.isoformat()} ist ein {WEEKDAY_NAMES[day.weekday()]}"


def _bad_date(ctx: StepContext) -> TransitionRefused:
    when = parse_conference_time(ctx.params["date"])
    state = ctx.state_of(Process.CONFERENCE)
    if when <= ctx.at:
        why = (
            f"Der Termin {when.isoformat(timespec='minutes')} liegt nicht in der Zukunft "
            f"(jetzt: {ctx.at.astimezone(BERLIN).isoformat(timespec='minutes')})"
        )
    else:
        why = _why_not_a_working_day(when.date(), ctx.agreement.holiday_region)
    return refused(
        f"{why}; eine Gesamtplankonferenz wird nur für einen künftigen Arbeitstag in NRW "
        f"angesetzt, sie bleibt im Zustand {_state_text(state)}",
        NORM,
    )


@guard(_bad_date)
def is_future_working_day(ctx: StepContext) -> bool:
    when = parse_conference_time(ctx.params["date"])
    return when > ctx.at and is_working_day(when.date(), region=ctx.agreement.holiday_region)


def _scheduled_at(ctx: StepContext) -> datetime:
    instance = ctx.instance(Process.CONFERENCE)
    assert instance is not None  # the machine only fires hold_conference on a scheduled instance
    return datetime.fromisoformat(str(instance.data["scheduled_at"])).astimezone(BERLIN)


def _too_early(ctx: StepContext) -> TransitionRefused:
    return refused(
        f"Die Gesamtplankonferenz ist für den {_scheduled_at(ctx).date().isoformat()} angesetzt "
        f"und kann nicht vorher als durchgeführt gelten (heute: {ctx.today.isoformat()}); sie "
        f"bleibt im Zustand {_state_text(C.SCHEDULED)}",
        NORM,
    )


@guard(_too_early)
def is_conference_day_reached(ctx: StepContext) -> bool:
    return ctx.today >= _scheduled_at(ctx).date()


def blocks_determination(ctx: StepContext) -> bool:
    """Whether the conference keeps the benefits from being determined: it was agreed to and not
    yet held (§ 119 Abs. 1, § 120 Abs. 1 SGB IX), or it was proposed and the carrier has neither
    followed nor refused the proposal (§ 119 Abs. 1 S. 2-3 SGB IX)."""
    state = ctx.state_of(Process.CONFERENCE)
    return state in PENDING_STATES or (state == C.CONSENT_PENDING and was_proposed(ctx))


#: The states in which a parent's conference (§ 119 Abs. 4 SGB IX) no longer stands in the way:
#: held, or the parent said no (refused, or revoked: the data records it).
def parent_conference_settled(ctx: StepContext) -> bool:
    state = ctx.state_of(Process.CONFERENCE)
    if state in (C.HELD, C.REFUSED):
        return True
    return state == C.CANCELLED and bool(carry(ctx, Process.CONFERENCE).get("consent_revoked"))


def was_proposed(ctx: StepContext) -> bool:
    """Whether the current conference was proposed by the person or a carrier (§ 119 Abs. 1
    S. 2 SGB IX): ``request_consent --set proposed_by=…``."""
    return bool(carry(ctx, Process.CONFERENCE).get("proposed_by"))


def _not_proposed(ctx: StepContext) -> TransitionRefused:
    return refused(
        "Abgelehnt werden kann nur ein Vorschlag der Person oder eines beteiligten Trägers "
        "(request_consent --set proposed_by=person); eine Konferenz, die der Träger selbst "
        "angefragt hat, sagt er mit cancel_conference ab. Sie bleibt im Zustand "
        f"{_state_text(ctx.state_of(Process.CONFERENCE))}",
        NORM_PROPOSAL_REFUSAL,
    )


@guard(_not_proposed)
def is_a_proposal(ctx: StepContext) -> bool:
    return was_proposed(ctx)


def _proposal_pending(ctx: StepContext) -> TransitionRefused:
    return refused(
        "Die Konferenz geht auf einen Vorschlag zurück; dem ist grundsätzlich zu folgen, "
        "abgelehnt wird er nur mit einem der Gründe des § 119 Abs. 1 S. 3 SGB IX "
        "(refuse_proposal --set ground=written_facts|disproportionate --set reason=…). Sie bleibt "
        f"im Zustand {_state_text(ctx.state_of(Process.CONFERENCE))}",
        NORM_PROPOSAL_REFUSAL,
    )


@guard(_proposal_pending)
def is_not_a_pending_proposal(ctx: StepContext) -> bool:
    """A proposal still awaiting consent is not silently cancelled by the carrier."""
    return not (was_proposed(ctx) and ctx.state_of(Process.CONFERENCE) == C.CONSENT_PENDING)


C = ConferenceState
TRANSITIONS: tuple[Transition, ...] = (
    Transition("give_consent", C.CONSENT_PENDING, C.CONSENTED),
    Transition("refuse_consent", C.CONSENT_PENDING, C.REFUSED),
    Transition("schedule_conference", C.CONSENTED, C.SCHEDULED, guards=(is_future_working_day,)),
    Transition("reschedule_conference", C.SCHEDULED, C.SCHEDULED, guards=(is_future_working_day,)),
    Transition("hold_conference", C.SCHEDULED, C.HELD, guards=(is_conference_day_reached,)),
    Transition(
        "cancel_conference",
        (C.CONSENT_PENDING, C.CONSENTED, C.SCHEDULED),
        C.CANCELLED,
        guards=(is_not_a_pending_proposal,),
    ),
    Transition("refuse_proposal", C.CONSENT_PENDING, C.PROPOSAL_REFUSED, guards=(is_a_proposal,)),
    Transition("revoke_consent", (C.CONSENTED, C.SCHEDULED), C.CANCELLED),
)

STATES: dict[StrEnum, StateSpec] = {
    C.CONSENT_PENDING: StateSpec("Zustimmung angefragt", initial=True),
    C.CONSENTED: StateSpec("Zustimmung erteilt"),
    C.SCHEDULED: StateSpec("terminiert"),
    C.HELD: StateSpec("durchgeführt", final=True),
    C.REFUSED: StateSpec("Zustimmung verweigert", final=True),
    C.CANCELLED: StateSpec("abgesagt", final=True),
    C.PROPOSAL_REFUSED: StateSpec("Vorschlag abgelehnt", final=True),
}


def conference_uid(ctx: StepContext) -> str:
    """Stable per case and conference instance (the ICS UID)."""
    instance = ctx.instance(Process.CONFERENCE)
    number = instance.instance_no if instance else 1
    return f"conference-{ctx.snapshot.facts.case_id}-{number}@gpv"


def _invite(ctx: StepContext, fx: Effects, sequence: int, event: str) -> None:
    when = parse_conference_time(ctx.params["date"])
    data: dict[str, Any] = {
        "scheduled_at": when.isoformat(),
        "location": ctx.params["location"].strip(),
        "sequence": sequence,
        "uid": conference_uid(ctx),
    }
    fx.data = {**carry(ctx, Process.CONFERENCE), **data}
    fx.notifications.append(NotificationEvent(event, Process.CONFERENCE, dict(data)))


def _cancelled(ctx: StepContext, fx: Effects) -> dict[str, Any]:
    """The conference's data after a cancellation and, if it was scheduled, the cancellation notice
    (same uid, sequence + 1) so invitees' calendars drop it. Also what ending the case means."""
    data = carry(ctx, Process.CONFERENCE)
    if ctx.state_of(Process.CONFERENCE) != C.SCHEDULED:
        return data
    data["sequence"] = int(data.get("sequence", 0)) + 1
    keys = ("scheduled_at", "location", "sequence", "uid")
    context: dict[str, Any] = {k: data[k] for k in keys if k in data}
    fx.notifications.append(NotificationEvent("conference_cancelled", Process.CONFERENCE, context))
    return data


def _norm(ctx: StepContext, norm: str = NORM) -> str:
    """The step's norm in this case: § 119 SGB IX, or § 36 SGB VIII in a youth office's case."""
    return trigger_norm(ctx.agreement, ctx.snapshot.facts.carrier, ctx.trigger, norm)


def _request(ctx: StepContext, fx: Effects) -> None:
    proposer = ctx.params.get("proposed_by", "").strip()
    fx.data = {"proposed_by": proposer, "proposed_on": ctx.today.isoformat()} if proposer else {}
    fx.notifications.append(
        NotificationEvent("consent_requested", Process.CONFERENCE, {"norm": _norm(ctx)})
    )


def _check_proposer(ctx: StepContext) -> None:
    """``proposed_by`` is the person or a rehabilitation carrier of the agreement (§ 119 Abs. 1
    S. 2 SGB IX: "die Leistungsberechtigten und die beteiligten Rehabilitationsträger")."""
    proposer = ctx.params.get("proposed_by", "").strip()
    if not proposer or proposer == "person":
        return
    carriers = ctx.agreement.decision_deadline.rehabilitation_carrier_kinds
    party = ctx.agreement.parties.get(proposer)
    if party is None or party.kind not in carriers:
        raise InputError(
            f"proposed_by={proposer!r}: vorschlagen können die Person (proposed_by=person) und "
            f"die beteiligten Rehabilitationsträger ({NORM_PROPOSAL})."
        )


def _check_refusal_ground(ctx: StepContext) -> None:
    param_choice(ctx, "ground", PROPOSAL_GROUNDS, f"kein Grund des {NORM_PROPOSAL_REFUSAL}")


def _refuse_proposal(ctx: StepContext, fx: Effects) -> None:
    # The reason stays in the audit entry's params (gpv's store); the person is told by letter.
    fx.data = {**carry(ctx, Process.CONFERENCE), "refusal_ground": ctx.params["ground"].strip()}
    fx.notifications.append(
        NotificationEvent(
            "proposal_refused",
            Process.CONFERENCE,
            {
                "norm": NORM_PROPOSAL_REFUSAL,
                "ground": PROPOSAL_GROUNDS_PLAIN[ctx.params["ground"].strip()],
            },
        )
    )


def _give(ctx: StepContext, fx: Effects) -> None:
    fx.consent = ConsentRecord("conference", ConsentStatus.GIVEN, _norm(ctx))


def _refuse(ctx: StepContext, fx: Effects) -> None:
    fx.consent = ConsentRecord("conference", ConsentStatus.REFUSED, _norm(ctx))


def _schedule(ctx: StepContext, fx: Effects) -> None:
    _invite(ctx, fx, 0, "conference_invitation")


def _reschedule(ctx: StepContext, fx: Effects) -> None:
    sequence = int(carry(ctx, Process.CONFERENCE).get("sequence", 0)) + 1
    _invite(ctx, fx, sequence, "conference_rescheduled")


def _cancel(ctx: StepContext, fx: Effects) -> None:
    fx.data = _cancelled(ctx, fx)


def _revoke(ctx: StepContext, fx: Effects) -> None:
    _cancel(ctx, fx)
    fx.data = {**(fx.data or {}), "consent_revoked": True}
    fx.consent = ConsentRecord("conference", ConsentStatus.REVOKED, _norm(ctx, NORM_REVOCATION))


DEFINITION = ProcessDefinition(
    process=Process.CONFERENCE,
    title="Gesamtplankonferenz",
    state_enum=ConferenceState,
    states=STATES,
    transitions=TRANSITIONS,
    triggers=(
        TriggerSpec("request_consent", "Zustimmung anfragen", NORM, optional=("proposed_by",)),
        TriggerSpec("give_consent", "Zustimmung erteilen", NORM),
        TriggerSpec("refuse_consent", "Zustimmung verweigern", NORM, optional=("reason",)),
        TriggerSpec(
            "refuse_proposal",
            "Vorschlag einer Konferenz ablehnen",
            NORM_PROPOSAL_REFUSAL,
            ("ground", "reason"),
        ),
        TriggerSpec("schedule_conference", "Konferenz ansetzen", NORM, ("date", "location")),
        TriggerSpec(
            "reschedule_conference",
            "Konferenz verlegen",
            NORM,
            ("date", "location"),
            optional=("reason",),
        ),
        TriggerSpec("hold_conference", "Konferenz durchführen", NORM),
        TriggerSpec("cancel_conference", "Konferenz absagen", NORM, optional=("reason",)),
        TriggerSpec("revoke_consent", "Zustimmung zurücknehmen", NORM_REVOCATION),
    ),
    start_trigger="request_consent",
    start_norm=NORM,
    start_when=frozenset({CaseState.ASSESSMENT}),
    on_case_end=_cancelled,
    hints={
        "schedule_conference": "Angesetzt wird erst, wenn die Person zugestimmt hat "
        "(give_consent); ein angesetzter Termin wird mit reschedule_conference verlegt.",
        "hold_conference": "Durchgeführt werden kann nur eine angesetzte Konferenz.",
        "refuse_proposal": "Abgelehnt wird ein Vorschlag, solange die Zustimmung aussteht.",
    },
    input_checks={
        "request_consent": _check_proposer,
        "refuse_proposal": _check_refusal_ground,
        "schedule_conference": _check_schedule_input,
        "reschedule_conference": _check_schedule_input,
    },
    effects={
        "request_consent": _request,
        "give_consent": _give,
        "refuse_consent": _refuse,
        "schedule_conference": _schedule,
        "reschedule_conference": _reschedule,
        "cancel_conference": _cancel,
        "revoke_consent": _revoke,
        "refuse_proposal": _refuse_proposal,
    },
)
