"""Who is told what: the recipients of an event, resolved for one case.

The table of events (who gets which template) is :data:`notifications.events.EVENTS`; ``POLICY``
is its view by event name. Which party a role means is decided here, once per role
(:data:`PARTIES_OF`), from the cooperation agreement and the case (:class:`CaseView`), never from
code paths per event.

Data minimisation starts here: :class:`CaseView` carries only the non-health fields of a case.
Nothing in this package ever sees a birth date, a disability, a benefit or a diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from notifications.events import ESCALATIONS, POLICY, Role, Rule, template_ids
from states.errors import InputError

__all__ = [
    "ESCALATIONS",
    "PERSON",
    "POLICY",
    "AgreementLike",
    "CaseView",
    "Recipient",
    "Role",
    "Rule",
    "resolve",
    "template_ids",
]

#: The party id used for the person (or their legal guardian); their address is on the case.
PERSON = "person"


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
    #: Parties the person (a minor's custodians) agreed to involve (``gpv case consent``): only
    #: they hear of the case beyond the carriers and a requested statement (legal-review M2-M4).
    consented: tuple[str, ...] = ()
    #: Parties that delivered a statement in this case, unless the person objected to passing
    #: it on (§ 76 Abs. 2 Nr. 1 SGB X): the conference invites them as its authors.
    statement_by: tuple[str, ...] = ()

    @classmethod
    def of(cls, case: Any) -> CaseView:
        """Build the view from a store row (or anything with these attributes).

        Reads exactly ``id``/``case_id``, ``carrier``, ``municipality``, ``parties``, ``is_minor``,
        ``contact_email``/``has_contact_email``, ``consented``, ``statement_by`` and
        ``data_transfer_objection``: nothing else of the row is touched.
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
            consented=tuple(getattr(case, "consented", None) or ()),
            statement_by=()
            if getattr(case, "data_transfer_objection", False)
            else tuple(getattr(case, "statement_by", None) or ()),
        )


class AgreementLike(Protocol):
    """What resolution needs of ``states.agreement.Agreement``."""

    @property
    def parties(self) -> Mapping[str, Any]: ...

    @property
    def towns(self) -> Mapping[str, Any]: ...

    def supervisor_of(self, party_id: str) -> str: ...

    def housing_party(self) -> str: ...


def _carrier(case: CaseView, context: Mapping[str, Any], agreement: AgreementLike) -> list[str]:
    return [case.carrier]


def _person(case: CaseView, context: Mapping[str, Any], agreement: AgreementLike) -> list[str]:
    return [PERSON]


def _spdi(case: CaseView, context: Mapping[str, Any], agreement: AgreementLike) -> list[str]:
    return [pid for pid, p in agreement.parties.items() if p.kind == "health_service"]


def _youth_office(
    case: CaseView, context: Mapping[str, Any], agreement: AgreementLike
) -> list[str]:
    """A minor's youth office, once the custodians agreed (§ 117 Abs. 6 SGB IX [U], M3)."""
    town = agreement.towns.get(case.municipality)
    office = getattr(town, "youth_office", None) if town is not None else None
    # The one routing involved (the parents' residence decides, § 86 Abs. 1 S. 1 SGB VIII); never
    # the carrier: a youth office's own case is no case it is involved in (legal-review C4).
    kinds = {pid: getattr(p, "kind", None) for pid, p in agreement.parties.items()}
    office = next((p for p in case.parties if kinds.get(p) == "youth_office"), office)
    if office == case.carrier:
        return []
    return [office] if case.is_minor and office and office in case.consented else []


def _housing(case: CaseView, context: Mapping[str, Any], agreement: AgreementLike) -> list[str]:
    return [agreement.housing_party()]


def _supervisor(case: CaseView, context: Mapping[str, Any], agreement: AgreementLike) -> list[str]:
    return [agreement.supervisor_of(case.carrier)]


def _responsible(case: CaseView, context: Mapping[str, Any], agreement: AgreementLike) -> list[str]:
    party = context.get("responsible_party")
    return [str(party)] if party else []


def _responsible_supervisor(
    case: CaseView, context: Mapping[str, Any], agreement: AgreementLike
) -> list[str]:
    party = context.get("responsible_party")
    return [agreement.supervisor_of(str(party))] if party and party != PERSON else []


def _receiving_carrier(
    case: CaseView, context: Mapping[str, Any], agreement: AgreementLike
) -> list[str]:
    party = context.get("to")
    return [str(party)] if party else []


def _participants(
    case: CaseView, context: Mapping[str, Any], agreement: AgreementLike
) -> list[str]:
    """The conference: the person, the carrier, the parties the person agreed to involve, and
    whoever wrote a statement in the case (legal-review M4: nobody is invited automatically)."""
    invited = [p for p in case.parties if p in case.consented or p in case.statement_by]
    return [PERSON, case.carrier, *invited, *case.statement_by]


_Resolver = Callable[[CaseView, Mapping[str, Any], AgreementLike], list[str]]

#: The party ids one role means for a case; an empty list when the role does not apply.
PARTIES_OF: Mapping[Role, _Resolver] = {
    Role.CARRIER: _carrier,
    Role.PERSON: _person,
    Role.SPDI: _spdi,
    Role.YOUTH_OFFICE: _youth_office,
    Role.HOUSING: _housing,
    Role.SUPERVISOR: _supervisor,
    Role.RESPONSIBLE: _responsible,
    Role.RESPONSIBLE_SUPERVISOR: _responsible_supervisor,
    Role.RECEIVING_CARRIER: _receiving_carrier,
    Role.PARTICIPANTS: _participants,
}
if set(PARTIES_OF) != set(Role):  # pragma: no cover - checked at import
    raise AssertionError(f"policy: no resolver for {set(Role) - set(PARTIES_OF)}")


def resolve(
    event: str,
    case: CaseView,
    context: Mapping[str, Any],
    agreement: AgreementLike,
) -> list[Recipient]:
    """The recipients of ``event`` for ``case``, in table order, each party once.

    A party named by two roles gets one message: the first rule in the table wins (the table lists
    the person first where they get a plain-language text). Unknown party ids (not in the agreement)
    are refused, so a typo in a context value cannot route a message to nowhere.
    """
    try:
        rules = POLICY[event]
    except KeyError:
        raise InputError(
            f"Unbekanntes Benachrichtigungsereignis {event!r}; bekannt sind: {', '.join(POLICY)}."
        ) from None
    seen: set[str] = set()
    out: list[Recipient] = []
    for rule in rules:
        parties = PARTIES_OF[rule.role](case, context, agreement)
        role = rule.role
        if not parties and rule.fallback is not None:
            role = rule.fallback
            parties = PARTIES_OF[role](case, context, agreement)
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
