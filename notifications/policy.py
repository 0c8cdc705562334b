"""Who is told what: the notification policy as a table, and the recipient resolution.

``POLICY`` maps an event (``states.decision.NotificationEvent.event``) to the recipient roles and
the template each role gets. Which party a role means is decided from the cooperation agreement and
the case (:class:`CaseView`), never from code paths per event. The table is checked when this
module is imported (:func:`validate_policy`): a typo in a role or a missing person template
fails at import.

Data minimisation starts here: :class:`CaseView` carries only the non-health fields of a case.
Nothing in this package ever sees a birth date, a disability, a benefit or a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from states.errors import InputError

#: The party id used for the person (or their legal guardian); their address is on the case.
PERSON = "person"


class Role(StrEnum):
    """A recipient role; :func:`resolve` turns it into party ids."""

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


@dataclass(frozen=True)
class Rule:
    """One line of the policy: ``role`` gets ``template``.

    ``person_template`` is the plain-language variant used when the role resolves to the person
    (required for roles that can). ``fallback`` is the role used when a context-dependent role
    (responsible, receiving_carrier) finds no party in the context, so that no notice is lost.
    """

    role: Role
    template: str
    person_template: str | None = None
    fallback: Role | None = None


@dataclass(frozen=True)
class Recipient:
    role: str
    party: str  # a party id of the agreement, or PERSON
    template_id: str

    @property
    def is_person(self) -> bool:
        return self.party == PERSON


@dataclass(frozen=True)
class CaseView:
    """The only view of a case notifications get: no health data, by construction."""

    case_id: str  # pseudonymous reference, e.g. "C-2026-000017"
    carrier: str
    municipality: str
    parties: tuple[str, ...] = ()
    is_minor: bool = False
    has_contact_email: bool = False

    @classmethod
    def of(cls, case: Any) -> CaseView:
        """Build the view from a store row (or anything with these attributes).

        Reads exactly ``id``/``case_id``, ``carrier``, ``municipality``, ``parties``, ``is_minor``
        and ``contact_email``/``has_contact_email``: nothing else of the row is touched.
        """
        if isinstance(case, CaseView):
            return case
        case_id = getattr(case, "case_id", None) or case.id
        if hasattr(case, "has_contact_email"):
            has_email = bool(case.has_contact_email)
        else:
            has_email = bool(getattr(case, "contact_email", None))
        return cls(
            case_id=str(case_id),
            carrier=str(case.carrier),
            municipality=str(case.municipality),
            parties=tuple(case.parties or ()),
            is_minor=bool(case.is_minor),
            has_contact_email=has_email,
        )


class AgreementLike(Protocol):
    """What resolution needs of ``states.agreement.Agreement``."""

    @property
    def parties(self) -> Mapping[str, Any]: ...

    @property
    def towns(self) -> Mapping[str, Any]: ...

    def supervisor_of(self, party_id: str) -> str: ...

    def housing_party(self) -> str: ...


# Escalations: the party that must act, the carrier that waits, and the supervisors.
ESCALATIONS: frozenset[str] = frozenset({"statement_overdue", "housing_overdue", "deadline_missed"})

R = Role
POLICY: Mapping[str, tuple[Rule, ...]] = {
    # SPDI specialist statement (§ 17 SGB IX, agreement)
    "statement_requested": (Rule(R.SPDI, "statement_requested"),),
    "statement_reminder": (Rule(R.RESPONSIBLE, "statement_reminder", fallback=R.SPDI),),
    "statement_overdue": (
        Rule(R.RESPONSIBLE, "statement_overdue", fallback=R.SPDI),
        Rule(R.CARRIER, "statement_overdue_carrier"),
        Rule(R.SUPERVISOR, "statement_overdue_supervisor"),
        Rule(R.RESPONSIBLE_SUPERVISOR, "statement_overdue_supervisor", fallback=R.SUPERVISOR),
    ),
    "statement_delivered": (Rule(R.CARRIER, "statement_delivered"),),
    "statement_declined": (Rule(R.CARRIER, "statement_declined"),),
    "statement_cancelled": (Rule(R.SPDI, "statement_cancelled"),),
    # Consent (§ 119 Abs. 1, § 117 Abs. 3-5 SGB IX)
    "consent_requested": (
        Rule(R.PERSON, "consent_requested_person"),
        Rule(R.YOUTH_OFFICE, "consent_requested_youth_office"),
    ),
    # Gesamtplankonferenz (§ 119 SGB IX): the person first, so they get the plain-language text
    "conference_invitation": (
        Rule(R.PERSON, "conference_invitation_person"),
        Rule(R.PARTICIPANTS, "conference_invitation", "conference_invitation_person"),
        Rule(R.YOUTH_OFFICE, "conference_invitation"),
    ),
    "conference_rescheduled": (
        Rule(R.PERSON, "conference_rescheduled_person"),
        Rule(R.PARTICIPANTS, "conference_rescheduled", "conference_rescheduled_person"),
        Rule(R.YOUTH_OFFICE, "conference_rescheduled"),
    ),
    "conference_cancelled": (
        Rule(R.PERSON, "conference_cancelled_person"),
        Rule(R.PARTICIPANTS, "conference_cancelled", "conference_cancelled_person"),
        Rule(R.YOUTH_OFFICE, "conference_cancelled"),
    ),
    # Housing-structure support (agreement)
    "housing_requested": (Rule(R.HOUSING, "housing_requested"),),
    "housing_reminder": (Rule(R.RESPONSIBLE, "housing_reminder", fallback=R.HOUSING),),
    "housing_overdue": (
        Rule(R.RESPONSIBLE, "housing_overdue", fallback=R.HOUSING),
        Rule(R.CARRIER, "housing_overdue_carrier"),
        Rule(R.SUPERVISOR, "housing_overdue_supervisor"),
        Rule(R.RESPONSIBLE_SUPERVISOR, "housing_overdue_supervisor", fallback=R.SUPERVISOR),
    ),
    # Responsibility (§ 14 Abs. 1 SGB IX): the person and the receiving carrier
    "case_forwarded": (
        Rule(R.PERSON, "case_forwarded_person"),
        Rule(R.RECEIVING_CARRIER, "case_forwarded"),
        Rule(R.YOUTH_OFFICE, "case_forwarded_youth_office"),
    ),
    # Decision and review (§ 120 Abs. 2, § 121 Abs. 2 SGB IX)
    "decision_issued": (
        Rule(R.PERSON, "decision_issued_person"),
        Rule(R.YOUTH_OFFICE, "decision_issued_youth_office"),
    ),
    "review_due": (
        Rule(R.RESPONSIBLE, "review_due", fallback=R.CARRIER),
        Rule(R.PERSON, "review_due_person"),
    ),
    # Reminders of the carrier's own deadlines (§ 14 SGB IX)
    "jurisdiction_reminder": (Rule(R.RESPONSIBLE, "jurisdiction_reminder", fallback=R.CARRIER),),
    "decision_reminder": (Rule(R.RESPONSIBLE, "decision_reminder", fallback=R.CARRIER),),
    # Any other missed deadline: escalation
    "deadline_missed": (
        Rule(R.RESPONSIBLE, "deadline_missed", fallback=R.CARRIER),
        Rule(R.SUPERVISOR, "deadline_missed_supervisor"),
        Rule(R.RESPONSIBLE_SUPERVISOR, "deadline_missed_supervisor", fallback=R.SUPERVISOR),
    ),
    # A message finally failed: the carrier's supervisor must reach the party another way
    "delivery_failed": (Rule(R.SUPERVISOR, "delivery_failed_supervisor"),),
}
del R

# Roles whose resolution can yield the person.
_PERSON_ROLES = frozenset({Role.PERSON, Role.PARTICIPANTS})


def validate_policy(policy: Mapping[str, tuple[Rule, ...]]) -> None:
    """Refuse a policy table with an empty event, a role that can reach the person without a
    plain-language template, or an escalation that does not reach a supervisor."""
    for event, rules in policy.items():
        if not rules:
            raise ValueError(f"policy: event {event!r} has no recipients")
        for rule in rules:
            Role(rule.role)
            if rule.role is Role.PERSON and not rule.template.endswith("_person"):
                raise ValueError(f"policy: {event}: the person's template must end in _person")
            if rule.role is Role.PARTICIPANTS and not rule.person_template:
                raise ValueError(f"policy: {event}: participants need a person_template")
        if event in ESCALATIONS and not any(r.role is Role.SUPERVISOR for r in rules):
            raise ValueError(f"policy: escalation {event!r} must reach the supervisor")


def template_ids(policy: Mapping[str, tuple[Rule, ...]] | None = None) -> list[str]:
    """Every template id the policy uses, sorted (the golden tests render each one)."""
    ids: set[str] = set()
    for rules in (policy or POLICY).values():
        for rule in rules:
            ids.add(rule.template)
            if rule.person_template:
                ids.add(rule.person_template)
    return sorted(ids)


def _parties_of(
    role: Role, case: CaseView, context: Mapping[str, Any], agreement: AgreementLike
) -> list[str]:
    """The party ids one role means for this case; empty when the role does not apply."""
    if role is Role.CARRIER:
        return [case.carrier]
    if role is Role.PERSON:
        return [PERSON]
    if role is Role.SPDI:
        return [pid for pid, p in agreement.parties.items() if p.kind == "health_service"]
    if role is Role.YOUTH_OFFICE:
        town = agreement.towns.get(case.municipality)
        office = getattr(town, "youth_office", None) if town is not None else None
        return [office] if case.is_minor and office else []
    if role is Role.HOUSING:
        return [agreement.housing_party()]
    if role is Role.SUPERVISOR:
        return [agreement.supervisor_of(case.carrier)]
    if role is Role.RESPONSIBLE:
        party = context.get("responsible_party")
        return [str(party)] if party else []
    if role is Role.RESPONSIBLE_SUPERVISOR:
        party = context.get("responsible_party")
        return [agreement.supervisor_of(str(party))] if party and party != PERSON else []
    if role is Role.RECEIVING_CARRIER:
        party = context.get("to")
        return [str(party)] if party else []
    if role is Role.PARTICIPANTS:
        return [PERSON, case.carrier, *case.parties]
    raise AssertionError(role)  # pragma: no cover - Role is closed


def resolve(
    event: str,
    case: CaseView,
    context: Mapping[str, Any],
    agreement: AgreementLike,
    *,
    policy: Mapping[str, tuple[Rule, ...]] | None = None,
) -> list[Recipient]:
    """The recipients of ``event`` for ``case``, in table order, each party once.

    A party named by two roles gets one message: the first rule in the table wins (the table lists
    the person first where they get a plain-language text). Unknown party ids (not in the agreement)
    are refused, so a typo in a context value cannot route a message to nowhere.
    """
    table = policy or POLICY
    try:
        rules = table[event]
    except KeyError:
        raise InputError(
            f"Unbekanntes Benachrichtigungsereignis {event!r}; bekannt sind: {', '.join(table)}."
        ) from None
    seen: set[str] = set()
    out: list[Recipient] = []
    for rule in rules:
        parties = _parties_of(rule.role, case, context, agreement)
        role = rule.role
        if not parties and rule.fallback is not None:
            role = rule.fallback
            parties = _parties_of(role, case, context, agreement)
        for party in parties:
            if party in seen:
                continue
            if party != PERSON and party not in agreement.parties:
                raise InputError(
                    f"Ereignis {event!r}: Partei {party!r} steht nicht in der "
                    "Kooperationsvereinbarung (states/agreement.toml)."
                )
            seen.add(party)
            template = rule.template
            if party == PERSON and rule.person_template:
                template = rule.person_template
            out.append(Recipient(role=str(rule.role), party=party, template_id=template))
    return out


def events() -> Iterable[str]:
    """The events the policy knows, in table order."""
    return iter(POLICY)


validate_policy(POLICY)
