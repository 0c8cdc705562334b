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
    refused,
)

NORM = "§ 119 Abs. 1 SGB IX"
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


C = ConferenceState
TRANSITIONS: tuple[Transition, ...] = (
    Transition("give_consent", C.CONSENT_PENDING, C.CONSENTED),
    Transition("refuse_consent", C.CONSENT_PENDING, C.REFUSED),
    Transition("schedule_conference", C.CONSENTED, C.SCHEDULED, guards=(is_future_working_day,)),
    Transition("reschedule_conference", C.SCHEDULED, C.SCHEDULED, guards=(is_future_working_day,)),
    Transition("hold_conference", C.SCHEDULED, C.HELD, guards=(is_conference_day_reached,)),
    Transition("cancel_conference", (C.CONSENT_PENDING, C.CONSENTED, C.SCHEDULED), C.CANCELLED),
    Transition("revoke_consent", (C.CONSENTED, C.SCHEDULED), C.CANCELLED),
)

STATES: dict[StrEnum, StateSpec] = {
    C.CONSENT_PENDING: StateSpec("Einwilligung angefragt", initial=True),
    C.CONSENTED: StateSpec("Einwilligung erteilt"),
    C.SCHEDULED: StateSpec("terminiert"),
    C.HELD: StateSpec("durchgeführt", final=True),
    C.REFUSED: StateSpec("Einwilligung verweigert", final=True),
    C.CANCELLED: StateSpec("abgesagt", final=True),
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
    fx.data = {}
    fx.notifications.append(
        NotificationEvent("consent_requested", Process.CONFERENCE, {"norm": _norm(ctx)})
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
    fx.consent = ConsentRecord("conference", ConsentStatus.REVOKED, _norm(ctx, NORM_REVOCATION))


DEFINITION = ProcessDefinition(
    process=Process.CONFERENCE,
    title="Gesamtplankonferenz",
    state_enum=ConferenceState,
    states=STATES,
    transitions=TRANSITIONS,
    triggers=(
        TriggerSpec("request_consent", "Einwilligung anfragen", NORM),
        TriggerSpec("give_consent", "Einwilligung erteilen", NORM),
        TriggerSpec("refuse_consent", "Einwilligung verweigern", NORM, optional=("reason",)),
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
        "schedule_conference": "Angesetzt wird erst, wenn die Person eingewilligt hat "
        "(give_consent); ein angesetzter Termin wird mit reschedule_conference verlegt.",
        "hold_conference": "Durchgeführt werden kann nur eine angesetzte Konferenz.",
    },
    input_checks={
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
    },
)
