"""The public vocabulary of the engine: every trigger, its process and the parameters it takes.

The command line (``gpv fire CASE TRIGGER --param key=value``) and later the inbox use these names
as they are. ``states.machine`` checks at import that this vocabulary and the transition tables
name exactly the same triggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from states.decision import Process


@dataclass(frozen=True)
class TriggerSpec:
    """One trigger: its process, a German label, the legal reference of the step, and its
    parameters (``required`` must be present and non-blank; ``optional`` may be; nothing else is
    accepted). ``starts_instance``: the trigger opens a new sub-process instance."""

    name: str
    process: Process
    label: str
    norm: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    starts_instance: bool = False

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


#: What each parameter means (German; shown by the command line).
PARAM_HELP: Mapping[str, str] = MappingProxyType(
    {
        "to": "Party-ID des Trägers, an den weitergeleitet wird (egh_carrier oder youth_office)",
        "reason": "Begründung (bleibt im Verlauf, erscheint in keiner Benachrichtigung)",
        "date": "Termin, z. B. 2026-04-15T10:00 (Ortszeit Europe/Berlin) oder mit Zeitzone",
        "location": "Ort des Termins (eine Zeile)",
    }
)

_SPECS: tuple[TriggerSpec, ...] = (
    # case
    TriggerSpec(
        "accept_jurisdiction", Process.CASE, "Zuständigkeit annehmen", "§ 14 Abs. 1 S. 1 SGB IX"
    ),
    TriggerSpec(
        "forward",
        Process.CASE,
        "Antrag weiterleiten",
        "§ 14 Abs. 1 S. 1 SGB IX",
        ("to",),
        ("reason",),
    ),
    TriggerSpec(
        "determine_benefits", Process.CASE, "Leistungen feststellen", "§ 120 Abs. 1 SGB IX"
    ),
    TriggerSpec("issue_decision", Process.CASE, "Bescheid erlassen", "§ 120 Abs. 2 SGB IX"),
    TriggerSpec("start_review", Process.CASE, "Überprüfung beginnen", "§ 121 Abs. 2 SGB IX"),
    TriggerSpec("close", Process.CASE, "Fall abschließen", "§ 121 Abs. 2 SGB IX"),
    TriggerSpec(
        "withdraw", Process.CASE, "Antrag zurücknehmen", "§ 108 Abs. 1 SGB IX", (), ("reason",)
    ),
    # statement
    TriggerSpec(
        "request_statement",
        Process.STATEMENT,
        "Stellungnahme anfordern",
        "§ 121 Abs. 3 SGB IX",
        starts_instance=True,
    ),
    TriggerSpec(
        "accept_statement_request", Process.STATEMENT, "Anfrage annehmen", "§ 17 Abs. 2 SGB IX"
    ),
    TriggerSpec(
        "deliver_statement", Process.STATEMENT, "Stellungnahme abgeben", "§ 17 Abs. 2 SGB IX"
    ),
    TriggerSpec(
        "decline_statement_request",
        Process.STATEMENT,
        "Anfrage ablehnen",
        "§ 17 Abs. 2 SGB IX",
        ("reason",),
    ),
    TriggerSpec(
        "cancel_statement",
        Process.STATEMENT,
        "Anfrage zurückziehen",
        "§ 17 Abs. 2 SGB IX",
        (),
        ("reason",),
    ),
    # conference
    TriggerSpec(
        "request_consent",
        Process.CONFERENCE,
        "Einwilligung anfragen",
        "§ 119 Abs. 1 SGB IX",
        starts_instance=True,
    ),
    TriggerSpec("give_consent", Process.CONFERENCE, "Einwilligung erteilen", "§ 119 Abs. 1 SGB IX"),
    TriggerSpec(
        "refuse_consent",
        Process.CONFERENCE,
        "Einwilligung verweigern",
        "§ 119 Abs. 1 SGB IX",
        (),
        ("reason",),
    ),
    TriggerSpec(
        "schedule_conference",
        Process.CONFERENCE,
        "Konferenz ansetzen",
        "§ 119 Abs. 1 SGB IX",
        ("date", "location"),
    ),
    TriggerSpec(
        "reschedule_conference",
        Process.CONFERENCE,
        "Konferenz verlegen",
        "§ 119 Abs. 1 SGB IX",
        ("date", "location"),
        ("reason",),
    ),
    TriggerSpec(
        "hold_conference", Process.CONFERENCE, "Konferenz durchführen", "§ 119 Abs. 1 SGB IX"
    ),
    TriggerSpec(
        "cancel_conference",
        Process.CONFERENCE,
        "Konferenz absagen",
        "§ 119 Abs. 1 SGB IX",
        (),
        ("reason",),
    ),
    TriggerSpec(
        "revoke_consent",
        Process.CONFERENCE,
        "Einwilligung widerrufen",
        "Art. 7 Abs. 3 DSGVO, § 67b SGB X",
    ),
    # housing
    TriggerSpec(
        "request_housing_support",
        Process.HOUSING,
        "Unterstützung der Wohnungssuche anfragen",
        "§ 117 Abs. 1 SGB IX",
        starts_instance=True,
    ),
    TriggerSpec(
        "acknowledge_housing_support", Process.HOUSING, "Anfrage bestätigen", "§ 117 Abs. 1 SGB IX"
    ),
    TriggerSpec(
        "provide_housing_support", Process.HOUSING, "Unterstützung leisten", "§ 117 Abs. 1 SGB IX"
    ),
    TriggerSpec(
        "close_housing_support", Process.HOUSING, "Unterstützung abschließen", "§ 117 Abs. 1 SGB IX"
    ),
    TriggerSpec(
        "cancel_housing_support",
        Process.HOUSING,
        "Anfrage zurückziehen",
        "§ 117 Abs. 1 SGB IX",
        (),
        ("reason",),
    ),
)

#: trigger name → its full specification.
TRIGGER_SPECS: Mapping[str, TriggerSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: trigger name → the process it moves (the public vocabulary).
TRIGGERS: Mapping[str, Process] = MappingProxyType({s.name: s.process for s in _SPECS})

#: trigger name → the parameters it takes (required first).
TRIGGER_PARAMS: Mapping[str, tuple[str, ...]] = MappingProxyType({s.name: s.params for s in _SPECS})


def triggers_of(process: Process) -> tuple[str, ...]:
    """The triggers of one process, in vocabulary order."""
    return tuple(s.name for s in _SPECS if s.process is process)
