"""The notification events: one row per event, everything else derived.

A row (:class:`Event`) says who gets which template (its :class:`Rule` lines), the event's German
title, the agreement's deadline rule it is about, whether it carries a calendar file and whether it
is an escalation. The policy (``POLICY``), the titles (``EVENT_TITLES``), the deadline rules
(``EVENT_RULES``), the calendar methods (``CONFERENCE_EVENTS``) and the escalations
(``ESCALATIONS``) are views of this one table, so a new event is one new row plus its templates.

The table is checked when this module is imported (:func:`check_events`): a typo in a role, a
person without a plain-language text, an escalation that reaches no supervisor, a missing text or
HTML template or a missing subject fails at import, not when the first letter is due.

This module is cheap to import: no Jinja2, no icalendar.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

TEMPLATE_DIR = Path(__file__).with_name("templates")


class Role(StrEnum):
    """A recipient role; :func:`notifications.policy.resolve` turns it into party ids."""

    CARRIER = "carrier"  # the case manager at the case's carrier
    SPDI = "spdi"  # the SPDI (party of kind health_service)
    PERSON = "person"  # the person or their legal guardian
    YOUTH_OFFICE = "youth_office"  # youth office of the person's town; minors only
    HOUSING = "housing"  # the Kreis contact for housing-structure support
    SUPERVISOR = "supervisor"  # supervisor of the carrier
    RESPONSIBLE_SUPERVISOR = "responsible_supervisor"  # supervisor of the party that must act
    RECEIVING_CARRIER = "receiving_carrier"  # context["to"] of case_forwarded (§ 14 Abs. 1 SGB IX)
    RESPONSIBLE = "responsible"  # context["responsible_party"] of reminders and escalations
    PARTICIPANTS = "participants"  # conference: person, carrier, the case's involved parties


class Method(StrEnum):
    """The iTIP method of a conference's calendar file (RFC 5546)."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class Rule:
    """One recipient line of an event: ``role`` gets ``template``.

    ``person_template`` is the plain-language variant used when the role resolves to the person
    (required for roles that can). ``fallback`` is the role used when a context-dependent role
    (responsible, receiving_carrier) finds no party in the context, so that no notice is lost.
    """

    role: Role
    template: str
    person_template: str | None = None
    fallback: Role | None = None


@dataclass(frozen=True)
class Event:
    """One notification event (``states.decision.NotificationEvent.event``).

    ``deadline_rule`` is the agreement's deadline rule the event is about when its context does not
    name one (its title and norm reach the letter); ``calendar`` the method of the conference
    file it carries; ``escalation`` marks a missed deadline that must reach a supervisor.
    """

    name: str
    title: str  # a short German name: subjects of alerts, the outbox listing
    rules: tuple[Rule, ...]
    deadline_rule: str | None = None
    calendar: Method | None = None
    escalation: bool = False


R = Role
EVENTS: tuple[Event, ...] = (
    # SPDI specialist statement (§ 17 SGB IX, agreement)
    Event(
        "statement_requested",
        "Fachärztliche Stellungnahme angefragt",
        (Rule(R.SPDI, "statement_requested"),),
        deadline_rule="statement",
    ),
    # § 76 Abs. 2 Nr. 1 SGB X: the person learns of the right to object when a statement is first
    # requested (legal-review M5).
    Event(
        "objection_notice",
        "Hinweis auf das Widerspruchsrecht",
        (Rule(R.PERSON, "objection_notice_person"),),
    ),
    Event(
        "statement_reminder",
        "Erinnerung: fachärztliche Stellungnahme",
        (Rule(R.RESPONSIBLE, "statement_reminder", fallback=R.SPDI),),
        deadline_rule="statement",
    ),
    Event(
        "statement_overdue",
        "Fachärztliche Stellungnahme überfällig",
        (
            Rule(R.RESPONSIBLE, "statement_overdue", fallback=R.SPDI),
            Rule(R.CARRIER, "statement_overdue_carrier"),
            Rule(R.SUPERVISOR, "statement_overdue_supervisor"),
            Rule(R.RESPONSIBLE_SUPERVISOR, "statement_overdue_supervisor", fallback=R.SUPERVISOR),
        ),
        deadline_rule="statement",
        escalation=True,
    ),
    Event(
        "statement_delivered",
        "Fachärztliche Stellungnahme eingegangen",
        (Rule(R.CARRIER, "statement_delivered"),),
        deadline_rule="decision",
    ),
    Event(
        "statement_declined",
        "Fachärztliche Stellungnahme abgelehnt",
        (Rule(R.CARRIER, "statement_declined"),),
    ),
    Event(
        "statement_cancelled",
        "Anfrage fachärztliche Stellungnahme zurückgezogen",
        (Rule(R.SPDI, "statement_cancelled"),),
    ),
    # Consent (§ 119 Abs. 1, § 117 Abs. 3-5 SGB IX)
    Event(
        "consent_requested",
        "Einwilligung zur Gesamtplankonferenz erbeten",
        (
            Rule(R.PERSON, "consent_requested_person"),
            Rule(R.YOUTH_OFFICE, "consent_requested_youth_office"),
        ),
    ),
    # Gesamtplankonferenz (§ 119 SGB IX): the person first, so they get the plain-language text
    Event(
        "conference_invitation",
        "Einladung zur Gesamtplankonferenz",
        (
            Rule(R.PERSON, "conference_invitation_person"),
            Rule(R.PARTICIPANTS, "conference_invitation", "conference_invitation_person"),
            Rule(R.YOUTH_OFFICE, "conference_invitation"),
        ),
        calendar=Method.REQUEST,
    ),
    # § 119 Abs. 1 S. 3 SGB IX: a proposed conference turned down, on a statutory ground.
    Event(
        "proposal_refused",
        "Vorschlag einer Gesamtplankonferenz abgelehnt",
        (Rule(R.PERSON, "proposal_refused_person"),),
    ),
    Event(
        "conference_rescheduled",
        "Gesamtplankonferenz verlegt",
        (
            Rule(R.PERSON, "conference_rescheduled_person"),
            Rule(R.PARTICIPANTS, "conference_rescheduled", "conference_rescheduled_person"),
            Rule(R.YOUTH_OFFICE, "conference_rescheduled"),
        ),
        calendar=Method.REQUEST,
    ),
    Event(
        "conference_cancelled",
        "Gesamtplankonferenz abgesagt",
        (
            Rule(R.PERSON, "conference_cancelled_person"),
            Rule(R.PARTICIPANTS, "conference_cancelled", "conference_cancelled_person"),
            Rule(R.YOUTH_OFFICE, "conference_cancelled"),
        ),
        calendar=Method.CANCEL,
    ),
    # Housing-structure support (agreement)
    Event(
        "housing_requested",
        "Unterstützung bei der Wohnungssuche angefragt",
        (Rule(R.HOUSING, "housing_requested"),),
        deadline_rule="housing_ack",
    ),
    Event(
        "housing_reminder",
        "Erinnerung: Unterstützung bei der Wohnungssuche",
        (Rule(R.RESPONSIBLE, "housing_reminder", fallback=R.HOUSING),),
        deadline_rule="housing_ack",
    ),
    # The seed: the Kreis supports housing "nur mit strukturellen Rahmenbedingungen" (legal-review
    # M6). By default a lapsed request goes to the housing contact and the carrier only; the
    # agreement escalates to the Kreis supervisors only where it says so (overdue_event of
    # [deadlines.housing_ack] = "housing_overdue").
    Event(
        "housing_lapsed",
        "Unterstützung bei der Wohnungssuche nicht bestätigt",
        (
            Rule(R.RESPONSIBLE, "housing_lapsed", fallback=R.HOUSING),
            Rule(R.CARRIER, "housing_overdue_carrier"),
        ),
        deadline_rule="housing_ack",
    ),
    Event(
        "housing_overdue",
        "Unterstützung bei der Wohnungssuche überfällig",
        (
            Rule(R.RESPONSIBLE, "housing_overdue", fallback=R.HOUSING),
            Rule(R.CARRIER, "housing_overdue_carrier"),
            Rule(R.SUPERVISOR, "housing_overdue_supervisor"),
            Rule(R.RESPONSIBLE_SUPERVISOR, "housing_overdue_supervisor", fallback=R.SUPERVISOR),
        ),
        deadline_rule="housing_ack",
        escalation=True,
    ),
    # Responsibility (§ 14 Abs. 1 SGB IX): the person and the receiving carrier
    Event(
        "case_forwarded",
        "Antrag weitergeleitet",
        (
            Rule(R.PERSON, "case_forwarded_person"),
            Rule(R.RECEIVING_CARRIER, "case_forwarded"),
            Rule(R.YOUTH_OFFICE, "case_forwarded_youth_office"),
        ),
    ),
    # Decision and review (§ 120 Abs. 2, § 121 Abs. 2 SGB IX)
    Event(
        "decision_issued",
        "Entscheidung über den Antrag",
        (
            Rule(R.PERSON, "decision_issued_person"),
            Rule(R.YOUTH_OFFICE, "decision_issued_youth_office"),
        ),
        deadline_rule="review",
    ),
    Event(
        "review_due",
        "Überprüfung des Gesamtplans steht an",
        (
            Rule(R.RESPONSIBLE, "review_due", fallback=R.CARRIER),
            Rule(R.PERSON, "review_due_person"),
        ),
        deadline_rule="review",
    ),
    # The end of the approval period the Bescheid set: time to clarify continuation (LWL practice)
    Event(
        "approval_ending",
        "Bewilligungszeitraum endet",
        (Rule(R.RESPONSIBLE, "approval_ending", fallback=R.CARRIER),),
        deadline_rule="approval_end",
    ),
    # Responsibility (§ 14 Abs. 1 SGB IX): routing names another carrier or none; the receiving
    # carrier must check within two weeks (legal-review C5). No reason in the notice: it names
    # age and disability.
    Event(
        "jurisdiction_check",
        "Zuständigkeit prüfen",
        (Rule(R.CARRIER, "jurisdiction_check"),),
        deadline_rule="jurisdiction",
    ),
    # Reminders of the carrier's own deadlines (§ 14 SGB IX)
    Event(
        "jurisdiction_reminder",
        "Erinnerung: Zuständigkeit klären",
        (Rule(R.RESPONSIBLE, "jurisdiction_reminder", fallback=R.CARRIER),),
        deadline_rule="jurisdiction",
    ),
    Event(
        "decision_reminder",
        "Erinnerung: über den Antrag entscheiden",
        (Rule(R.RESPONSIBLE, "decision_reminder", fallback=R.CARRIER),),
        deadline_rule="decision",
    ),
    # Any other missed deadline: escalation
    Event(
        "deadline_missed",
        "Frist versäumt",
        (
            Rule(R.RESPONSIBLE, "deadline_missed", fallback=R.CARRIER),
            Rule(R.SUPERVISOR, "deadline_missed_supervisor"),
            Rule(R.RESPONSIBLE_SUPERVISOR, "deadline_missed_supervisor", fallback=R.SUPERVISOR),
        ),
        escalation=True,
    ),
    # A message finally failed: the carrier's supervisor must reach the party another way
    Event(
        "delivery_failed",
        "Nachricht nicht zustellbar",
        (Rule(R.SUPERVISOR, "delivery_failed_supervisor"),),
    ),
    # A youth office's case (§ 35a SGB VIII; legal-review C4): the notices that read differently
    # under SGB VIII (states.law.LAWS names them). The Hilfeplan (§ 36 SGB VIII) replaces the
    # Gesamtplan; the youth office is the carrier and is never told as an involved party; the
    # statement goes to the expert of § 35a Abs. 1a SGB VIII the request names.
    Event(
        "statement_requested_sgb8",
        "Stellungnahme nach § 35a Abs. 1a SGB VIII angefragt",
        (Rule(R.RESPONSIBLE, "statement_requested_sgb8"),),
        deadline_rule="statement",
    ),
    Event(
        "statement_cancelled_sgb8",
        "Anfrage Stellungnahme nach § 35a Abs. 1a SGB VIII zurückgezogen",
        (Rule(R.RESPONSIBLE, "statement_cancelled"),),
    ),
    Event(
        "consent_requested_sgb8",
        "Beteiligung am Hilfeplangespräch erbeten",
        (Rule(R.PERSON, "consent_requested_sgb8_person"),),
    ),
    Event(
        "conference_invitation_sgb8",
        "Einladung zum Hilfeplangespräch",
        (
            Rule(R.PERSON, "conference_invitation_sgb8_person"),
            Rule(R.PARTICIPANTS, "conference_invitation_sgb8", "conference_invitation_sgb8_person"),
        ),
        calendar=Method.REQUEST,
    ),
    Event(
        "conference_rescheduled_sgb8",
        "Hilfeplangespräch verlegt",
        (
            Rule(R.PERSON, "conference_rescheduled_sgb8_person"),
            Rule(
                R.PARTICIPANTS, "conference_rescheduled_sgb8", "conference_rescheduled_sgb8_person"
            ),
        ),
        calendar=Method.REQUEST,
    ),
    Event(
        "conference_cancelled_sgb8",
        "Hilfeplangespräch abgesagt",
        (
            Rule(R.PERSON, "conference_cancelled_sgb8_person"),
            Rule(R.PARTICIPANTS, "conference_cancelled_sgb8", "conference_cancelled_sgb8_person"),
        ),
        calendar=Method.CANCEL,
    ),
    Event(
        "decision_issued_sgb8",
        "Entscheidung über den Antrag",
        (Rule(R.PERSON, "decision_issued_sgb8_person"),),
        deadline_rule="hilfeplan_review",
    ),
    Event(
        "review_due_sgb8",
        "Überprüfung des Hilfeplans steht an",
        (
            Rule(R.RESPONSIBLE, "review_due_sgb8", fallback=R.CARRIER),
            Rule(R.PERSON, "review_due_sgb8_person"),
        ),
        deadline_rule="hilfeplan_review",
    ),
)
del R


@lru_cache(maxsize=1)
def subjects() -> Mapping[str, str]:
    """Subject templates by template id (``templates/subjects.toml``)."""
    with (TEMPLATE_DIR / "subjects.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return dict(data["subjects"])


def template_ids(events: Iterable[Event] = EVENTS) -> list[str]:
    """Every template id the events use, sorted (the golden tests render each one)."""
    ids: set[str] = set()
    for event in events:
        for rule in event.rules:
            ids.add(rule.template)
            if rule.person_template:
                ids.add(rule.person_template)
    return sorted(ids)


# ----------------------------------------------------------------------- the check at import


def _has_recipients(event: Event) -> str | None:
    return None if event.rules else "has no recipients"


def _person_texts_are_plain(event: Event) -> str | None:
    for rule in event.rules:
        if rule.role is Role.PERSON and not rule.template.endswith("_person"):
            return "the person's template must end in _person"
        if rule.role is Role.PARTICIPANTS and not rule.person_template:
            return "participants need a person_template"
    return None


def _escalation_reaches_a_supervisor(event: Event) -> str | None:
    if event.escalation and not any(r.role is Role.SUPERVISOR for r in event.rules):
        return "an escalation must reach the supervisor"
    return None


def _templates_exist(event: Event) -> str | None:
    for template_id in template_ids((event,)):
        for suffix in (".txt.j2", ".html.j2"):
            if not (TEMPLATE_DIR / f"{template_id}{suffix}").is_file():
                return f"template file {template_id}{suffix} is missing in {TEMPLATE_DIR}"
        if template_id not in subjects():
            return f"template {template_id!r} has no subject in templates/subjects.toml"
    return None


#: The checks every event row passes, in order; each returns a problem or None.
CHECKS = (
    _has_recipients,
    _person_texts_are_plain,
    _escalation_reaches_a_supervisor,
    _templates_exist,
)


def check_events(events: Iterable[Event]) -> None:
    """Refuse an event table with a duplicate name or a row that fails one of :data:`CHECKS`
    (``ValueError`` naming the event: a programming error, found at import)."""
    seen: set[str] = set()
    for event in events:
        if event.name in seen:
            raise ValueError(f"events: {event.name!r} is listed twice")
        seen.add(event.name)
        for rule in event.rules:
            Role(rule.role)
        for check in CHECKS:
            problem = check(event)
            if problem is not None:
                raise ValueError(f"events: {event.name}: {problem}")


check_events(EVENTS)

#: The views of the table.
POLICY: Mapping[str, tuple[Rule, ...]] = {event.name: event.rules for event in EVENTS}
EVENT_TITLES: Mapping[str, str] = {event.name: event.title for event in EVENTS}
EVENT_RULES: Mapping[str, str] = {e.name: e.deadline_rule for e in EVENTS if e.deadline_rule}
CONFERENCE_EVENTS: Mapping[str, Method] = {e.name: e.calendar for e in EVENTS if e.calendar}
ESCALATIONS: frozenset[str] = frozenset(event.name for event in EVENTS if event.escalation)
