"""German names for what the pages show: states, triggers, rules, parties, statuses, roles.

States and triggers take their labels from the process definitions (``StateSpec.label``,
``TriggerSpec.label``), rules their titles from the agreement file, parties their names from it;
the rest is the small tables below. An unknown id is shown as it is, never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from states import glossary
from states.agreement import Agreement
from states.decision import Process
from states.processes.registry import DEFINITIONS, TRIGGER_SPECS

#: Deadline statuses (``DeadlineRow.status``).
DEADLINE_STATUS: Mapping[str, str] = MappingProxyType(
    {
        "open": "offen",
        "met": "eingehalten",
        "missed": "versäumt",
        "cancelled": "aufgehoben",
        "superseded": "ersetzt",
    }
)
ROLES: Mapping[str, str] = MappingProxyType(
    {"case_manager": "Fallmanagement", "member": "Beteiligte Stelle", "supervisor": "Aufsicht"}
)
#: The outcomes of a Bescheid (``issue_decision --set outcome=…``).
OUTCOMES: Mapping[str, str] = MappingProxyType(
    {"approval": "Bewilligung", "partial": "teilweise Bewilligung", "refusal": "Ablehnung"}
)
#: The step parameters as a form names them.
PARAMS: Mapping[str, str] = MappingProxyType(
    {
        "to": "Weiterleiten an",
        "reason": "Begründung",
        "agreed": "Im Einvernehmen mit dem Empfänger (§ 14 Abs. 3 SGB IX)",
        "review": "Überprüfung spätestens am",
        "outcome": "Ergebnis des Bescheids",
        "approved_until": "Bewilligt bis",
        "expert": "Stellungnahme durch",
        "date": "Termin (Datum und Uhrzeit)",
        "location": "Ort",
        "proposed_by": "Vorgeschlagen von",
        "ground": "Ablehnungsgrund",
    }
)


def process_title(process: str) -> str:
    try:
        return DEFINITIONS[Process(process)].title
    except ValueError:
        return process


def state_label(process: str, state: str | None) -> str:
    """``Bedarfsermittlung`` for (case, assessment); "nicht begonnen" for no state."""
    try:
        return DEFINITIONS[Process(process)].label(state)
    except ValueError:
        return state or "–"


def trigger_label(trigger: str) -> str:
    """The German name of a step or history entry (one table: :mod:`states.glossary`)."""
    return glossary.trigger_label(trigger)


def trigger_norm(trigger: str) -> str:
    spec = TRIGGER_SPECS.get(trigger)
    return spec.norm if spec is not None else ""


def rule_title(agreement: Agreement, rule: str) -> str:
    found = agreement.rules.get(rule)
    return found.title if found is not None else rule


def party_name(agreement: Agreement, party: str | None) -> str:
    if not party:
        return "–"
    found = agreement.parties.get(party)
    return found.name if found is not None else party


def deadline_status(status: str) -> str:
    return DEADLINE_STATUS.get(status, status)


def role_label(role: str) -> str:
    return ROLES.get(role, role)


def step_state(trigger: str, state: str | None) -> str:
    """A state in the history, named by the process its trigger moves (``open_case`` and the
    sweep's steps belong to no process of the vocabulary: their state is shown as it is)."""
    spec = TRIGGER_SPECS.get(trigger)
    if not state:
        return "–"
    # An entry outside the vocabulary (opening, correction, consent) moves the case process.
    return state_label(spec.process.value if spec is not None else "case", state)
