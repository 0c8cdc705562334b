"""The law a case is planned under: the Gesamtplan of SGB IX Teil 2, or the Hilfeplan of SGB VIII.

A case whose carrier is a youth office (party kind ``youth_office``) is Eingliederungshilfe for a
child or young person with a (threatened) mental disability under § 35a SGB VIII (§ 10 Abs. 4 S. 1
SGB VIII). The youth office plans it in a Hilfeplan (§ 36 SGB VIII), not in the
Gesamtplanverfahren of §§ 117–122 SGB IX, which binds the Träger der Eingliederungshilfe only
(legal-review C4). It is a rehabilitation carrier (§ 6 Abs. 1 Nr. 6 SGB IX), so the periods of
§ 14 SGB IX run all the same.

What differs is data, one :class:`Law` row per law (:data:`LAWS`): the notices that read
differently (an ``_sgb8`` event with its own templates), the norm a step names, the agreement rule
of the plan's review, and whether a conference sets the two-month reading of the decision period.
:func:`law_of` picks the row from the carrier's kind; who gives the specialist statement follows
the same kind (:meth:`states.agreement.Agreement.statement_experts`).

§ 36 SGB VIII was not re-read in the legal review (its § 10 lists it as [U]); the norms below are
cited from its structure as recalled: Abs. 1 S. 1 (advice and participation of the custodians and
the child), Abs. 2 S. 1 (decision by several specialists), Abs. 2 S. 2 (Hilfeplan, regular review).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from states.agreement import Agreement

SGB9 = "sgb9"
SGB8 = "sgb8"
#: The carrier kind whose cases run under SGB VIII.
YOUTH_OFFICE_KIND = "youth_office"


@dataclass(frozen=True)
class Law:
    """One law's reading of the process.

    ``events``: a notice the rules emit → the notice sent under this law (its own row in
    :data:`notifications.events.EVENTS`). ``trigger_norms``: a trigger → the norm it names under
    this law (else its :class:`~states.processes.definition.TriggerSpec` norm). ``review_rule``:
    the agreement rule the Bescheid opens for the plan's review. ``conference_sets_two_months``:
    whether a conference chooses the two-month decision period (§ 15 Abs. 4 S. 2, § 120 Abs. 1
    SGB IX).
    """

    id: str
    title: str  # German, the procedure's name in messages
    review_rule: str
    conference_sets_two_months: bool
    events: Mapping[str, str] = field(default_factory=dict)
    trigger_norms: Mapping[str, str] = field(default_factory=dict)

    def event(self, name: str) -> str:
        return self.events.get(name, name)


_PARTICIPATION = "§ 36 Abs. 1 S. 1, Abs. 2 S. 2 SGB VIII"
_EXPERT = "§ 35a Abs. 1a S. 1 SGB VIII"

LAWS: Mapping[str, Law] = MappingProxyType(
    {
        SGB9: Law(
            SGB9,
            "Gesamtplanverfahren (SGB IX §§ 117–122)",
            review_rule="review",
            conference_sets_two_months=True,
        ),
        SGB8: Law(
            SGB8,
            "Hilfeplanverfahren des Jugendamts (§ 35a, § 36 SGB VIII)",
            review_rule="hilfeplan_review",
            # § 120 Abs. 1 SGB IX binds the Träger der Eingliederungshilfe; a Hilfeplangespräch is
            # no Teilhabeplankonferenz (§ 20 SGB IX), so § 15 Abs. 4 S. 2 is not triggered by it.
            conference_sets_two_months=False,
            events=MappingProxyType(
                {
                    "consent_requested": "consent_requested_sgb8",
                    "conference_invitation": "conference_invitation_sgb8",
                    "conference_rescheduled": "conference_rescheduled_sgb8",
                    "conference_cancelled": "conference_cancelled_sgb8",
                    "decision_issued": "decision_issued_sgb8",
                    "statement_requested": "statement_requested_sgb8",
                    "statement_cancelled": "statement_cancelled_sgb8",
                }
            ),
            trigger_norms=MappingProxyType(
                {
                    "request_consent": _PARTICIPATION,
                    "give_consent": _PARTICIPATION,
                    "refuse_consent": _PARTICIPATION,
                    "revoke_consent": _PARTICIPATION,
                    "schedule_conference": _PARTICIPATION,
                    "reschedule_conference": _PARTICIPATION,
                    "hold_conference": _PARTICIPATION,
                    "cancel_conference": _PARTICIPATION,
                    "request_statement": _EXPERT,
                    "accept_statement_request": _EXPERT,
                    "deliver_statement": _EXPERT,
                    "decline_statement_request": _EXPERT,
                    "cancel_statement": _EXPERT,
                    "determine_benefits": "§ 36 Abs. 2 S. 1 SGB VIII",
                    "draw_up_plan": "§ 36 Abs. 2 S. 2 SGB VIII",
                    "issue_decision": "§ 35a Abs. 1 S. 1 SGB VIII, § 31 S. 1 SGB X",
                    "start_review": "§ 36 Abs. 2 S. 2 SGB VIII",
                }
            ),
        ),
    }
)


def law_of(agreement: Agreement, carrier: str) -> Law:
    """The law of a case carried by ``carrier``: SGB VIII for a youth office, else SGB IX."""
    party = agreement.parties.get(carrier)
    return LAWS[SGB8 if party is not None and party.kind == YOUTH_OFFICE_KIND else SGB9]


def trigger_norm(agreement: Agreement, carrier: str, trigger: str, norm: str) -> str:
    """The norm ``trigger`` names in a case of ``carrier`` (``norm``: its SGB IX reading)."""
    return law_of(agreement, carrier).trigger_norms.get(trigger, norm)
