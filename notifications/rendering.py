"""Rendering a notice: German text, HTML, subject and (for conferences) the calendar file.

One Jinja2 :class:`~jinja2.Environment` for the project (:func:`environment`): templates are files
under ``notifications/templates`` (``<template_id>.txt.j2`` and ``<template_id>.html.j2``, subjects
in ``subjects.toml``), ``StrictUndefined`` so a misspelt variable fails instead of printing nothing,
autoescaping for HTML only.

Templates see a fixed set of variables (:func:`template_variables`) built from the case's non-health
fields (:class:`~notifications.policy.CaseView`), the agreement's names and rules and the notice's
plain context. Nothing else reaches them: no birth date, disability, benefit or diagnosis, and no
free text of a statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.events import (
    CONFERENCE_EVENTS,
    EVENT_RULES,
    EVENT_TITLES,
    TEMPLATE_DIR,
    Method,
    subjects,
)
from notifications.ics import DEFAULT_DURATION, conference_ics
from notifications.message import Attachment, RenderedMessage, one_line
from notifications.policy import PERSON, AgreementLike, CaseView, Recipient, resolve
from states.calendar import BERLIN, WEEKDAY_NAMES

__all__ = [
    "TEMPLATE_DIR",
    "Attachment",
    "RenderedMessage",
    "as_date",
    "as_datetime",
    "de_date",
    "de_date_short",
    "de_datetime",
    "environment",
    "render",
    "render_template",
    "subjects",
    "template_variables",
]

_MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime (Berlin calendar day) or an ISO string; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return as_date(datetime.fromisoformat(text))


def as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"conference time {value!r} has no time zone")
    return moment


def de_date(value: Any) -> str:
    """``Montag, 16. März 2026``."""
    day = as_date(value)
    if day is None:
        return ""
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day.day}. {_MONTHS[day.month - 1]} {day.year}"


def de_date_short(value: Any) -> str:
    """``16.03.2026``."""
    day = as_date(value)
    return day.strftime("%d.%m.%Y") if day else ""


def de_datetime(value: Any) -> str:
    """``Donnerstag, 12. März 2026, 10:00 Uhr`` in Berlin time."""
    moment = as_datetime(value)
    if moment is None:
        return ""
    local = moment.astimezone(BERLIN)
    return f"{de_date(local.date())}, {local:%H:%M} Uhr"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The project's one Jinja2 environment (cached)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["de_date"] = de_date
    env.filters["de_date_short"] = de_date_short
    env.filters["de_datetime"] = de_datetime
    return env


@lru_cache(maxsize=256)
def _subject_template(template_id: str) -> Any:
    return environment().from_string(subjects()[template_id])


def _party_name(agreement: AgreementLike, party: str | None) -> str | None:
    if not party:
        return None
    if party == PERSON:
        return "die Person (Anschrift im Fall hinterlegt)"
    found = agreement.parties.get(party)
    return found.name if found is not None else party


def _rule(agreement: Any, event: str, context: Mapping[str, Any]) -> Any:
    rule_id = context.get("rule") or EVENT_RULES.get(event)
    if not rule_id:
        return None
    rules = getattr(agreement, "rules", {})
    return rules.get(rule_id)


#: How a letter names where a period comes from (legal-review m3): only a statute is a
#: "Rechtsgrundlage"; an assumed period of the agreement says that it is not confirmed.
_BASIS_TEXT = {
    "statute": "Rechtsgrundlage: {norm}",
    "agreement": "vereinbarte Bearbeitungsfrist – {norm}",
    "agreement_unconfirmed": "vereinbarte Bearbeitungsfrist, noch nicht bestätigt – {norm}",
}


def _basis_text(norm: str | None, basis: str) -> str | None:
    """``Rechtsgrundlage: § 14 Abs. 1 S. 1 SGB IX`` or ``vereinbarte Bearbeitungsfrist, noch
    nicht bestätigt (…)``; None without a norm."""
    if not norm:
        return None
    return _BASIS_TEXT.get(basis, _BASIS_TEXT["statute"]).format(norm=norm)


def _deadline_variables(
    event: str, context: Mapping[str, Any], agreement: AgreementLike
) -> dict[str, Any]:
    """What the letter says about the deadline: its title, norm and due date."""
    rule = _rule(agreement, event, context)
    due = context.get("due") or context.get("review_due") or context.get("decision_due")
    norm = context.get("norm") or (rule.norm if rule is not None else None)
    return {
        "title": context.get("title") or (rule.title if rule is not None else None),
        "norm": norm,
        "basis": _basis_text(norm, getattr(rule, "basis", "statute")),
        "due": de_date(due) if due else None,
        "due_short": de_date_short(due) if due else None,
        "responsible_name": _party_name(agreement, context.get("responsible_party")),
        "to_name": context.get("to_name") or _party_name(agreement, context.get("to")),
        "forwarded_on": de_date(context.get("forwarded_on")) or None,
        "ground": context.get("ground"),
    }


def _conference_variables(context: Mapping[str, Any], has_calendar: bool) -> dict[str, Any]:
    """When and where the Gesamtplankonferenz is held."""
    scheduled_at = context.get("scheduled_at")
    return {
        "when": de_datetime(scheduled_at) if scheduled_at else None,
        "when_short": de_date_short(scheduled_at) if scheduled_at else None,
        "location": context.get("location"),
        "sequence": context.get("sequence"),
        "has_calendar": has_calendar,
    }


def _failure_variables(context: Mapping[str, Any], agreement: AgreementLike) -> dict[str, Any]:
    """Which message failed (``delivery_failed`` only)."""
    failed = context.get("failed") or {}
    return {
        "failed_event_title": EVENT_TITLES.get(failed.get("event", ""), failed.get("event")),
        "failed_party_name": _party_name(agreement, failed.get("party")),
        "failed_channel": {"email": "E-Mail", "letter": "Brief"}.get(failed.get("channel") or ""),
        "failed_attempts": failed.get("attempts"),
        "failed_error": (str(failed.get("error") or "")[:300]) or None,
        "failed_outbox_id": failed.get("outbox_id"),
        "failed_unconfirmed": bool(failed.get("unconfirmed")),
    }


#: The consent request → the invitation whose recipients it names (a youth office's case: the
#: Hilfeplangespräch, § 36 SGB VIII).
_INVITATION_OF = {
    "consent_requested": "conference_invitation",
    "consent_requested_sgb8": "conference_invitation_sgb8",
}


def _attendees(
    event: str, case: CaseView, context: Mapping[str, Any], agreement: AgreementLike
) -> list[str]:
    """For a consent request: who else the conference would invite, by name (legal-review M4:
    the person learns who attends before agreeing). The invitation's own recipients, so the
    letter and the invitations can never disagree."""
    invitation = _INVITATION_OF.get(event)
    if invitation is None:
        return []
    invited = resolve(invitation, case, context, agreement)
    return [str(_party_name(agreement, r.party)) for r in invited if not r.is_person]


def template_variables(
    recipient: Recipient,
    event: str,
    case: CaseView,
    context: Mapping[str, Any],
    agreement: AgreementLike,
    *,
    message_id: str,
    carrier_contact: str | None = None,
    has_calendar: bool = False,
) -> dict[str, Any]:
    """Every variable a template may use; values not applying to the event are None."""
    return {
        "event": event,
        "event_title": EVENT_TITLES.get(event, event),
        "role": recipient.role,
        "recipient_is_person": recipient.is_person,
        "recipient_name": None if recipient.is_person else _party_name(agreement, recipient.party),
        # A minor's letters go to the custodians and speak about the child (legal-review m5).
        "about_child": recipient.is_person and case.is_minor,
        "attendees": _attendees(event, case, context, agreement),
        "case_ref": case.case_id,
        "carrier_name": _party_name(agreement, case.carrier) or case.carrier,
        "carrier_contact": carrier_contact,
        **_deadline_variables(event, context, agreement),
        **_conference_variables(context, has_calendar),
        **_failure_variables(context, agreement),
        "message_id": message_id,
    }


def render(
    recipient: Recipient,
    event: str,
    case: CaseView,
    context: Mapping[str, Any],
    agreement: AgreementLike,
    *,
    message_id: str,
    sender: str | None = None,
    recipient_address: str | None = None,
    carrier_contact: str | None = None,
    issued_at: datetime | None = None,
    with_calendar: bool = True,
    conference_duration: timedelta = DEFAULT_DURATION,
) -> RenderedMessage:
    """Render one notice for one recipient. Deterministic: same inputs, same bytes.

    ``issued_at`` (the outbox row's creation time) stamps the calendar file; ``sender`` and
    ``recipient_address`` become its ORGANIZER and ATTENDEE. ``with_calendar=False`` (letters)
    leaves the calendar file out.
    """
    method = CONFERENCE_EVENTS.get(event)
    attachments: tuple[Attachment, ...] = ()
    if method is not None and with_calendar and context.get("scheduled_at"):
        start = as_datetime(context["scheduled_at"])
        assert start is not None
        ics = conference_ics(
            method=method,
            uid=str(context.get("uid") or f"conference-{case.case_id}@gpv"),
            sequence=int(context.get("sequence") or 0),
            start=start,
            location=str(context.get("location") or ""),
            case_ref=case.case_id,
            dtstamp=issued_at or datetime(1970, 1, 1, tzinfo=UTC),
            duration=conference_duration,
            organizer=sender,
            attendee=recipient_address,
        )
        filename = "absage.ics" if method is Method.CANCEL else "einladung.ics"
        attachments = (Attachment(filename, "text/calendar", ics, {"method": method.value}),)
    variables = template_variables(
        recipient,
        event,
        case,
        context,
        agreement,
        message_id=message_id,
        carrier_contact=carrier_contact,
        has_calendar=bool(attachments),
    )
    return render_template(recipient.template_id, variables, attachments)


def render_template(
    template_id: str, variables: Mapping[str, Any], attachments: tuple[Attachment, ...] = ()
) -> RenderedMessage:
    """Subject (one line), text and HTML of ``template_id`` through the project's one Jinja2
    environment."""
    env = environment()
    text = env.get_template(f"{template_id}.txt.j2").render(variables)
    html = env.get_template(f"{template_id}.html.j2").render(variables)
    subject = one_line(_subject_template(template_id).render(variables))
    return RenderedMessage(subject=subject, text=text, html=html, attachments=attachments)
