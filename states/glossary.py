"""The glossary ids of benefit kinds and disability types with their German names (domain.md § 9).

Routing decides with these ids and the agreement file names them (``routing.*`` lists are checked
against :data:`BENEFIT_KINDS` when it loads); messages and the command line show the labels.
"""

from __future__ import annotations

DISABILITY_TYPES: tuple[str, ...] = ("physical", "intellectual", "mental", "sensory", "addiction")

#: German labels, also used in messages.
DISABILITY_LABELS: dict[str, str] = {
    "physical": "körperlich",
    "intellectual": "geistig",
    "mental": "seelisch",
    "sensory": "Sinnesbehinderung",
    "addiction": "Sucht",
}

#: Benefit kinds (glossary ids, domain.md § 9) with their German names.
BENEFIT_LABELS: dict[str, str] = {
    "supported_living": "ambulant betreutes Wohnen",
    "special_housing_form": "besondere Wohnform",
    "residential_24h": "Leistungen über Tag und Nacht",
    "assistance_services": "Assistenzleistungen",
    # The work area (Arbeitsbereich, § 58 SGB IX): Eingliederungshilfe, after school.
    "sheltered_workshop": "Arbeitsbereich der Werkstatt für behinderte Menschen",
    # Entry procedure and vocational training area (§ 57 SGB IX): the Bundesagentur für Arbeit's
    # (§ 63 Abs. 1 Nr. 1 SGB IX), not Eingliederungshilfe.
    "workshop_entry_training": "Eingangsverfahren und Berufsbildungsbereich der Werkstatt für "
    "behinderte Menschen",
    "work_participation": "Teilhabe am Arbeitsleben",
    "education_participation": "Teilhabe an Bildung",
    "school_assistant": "Schulbegleitung",
    "early_intervention": "Frühförderung",
    "therapeutic_day_centre": "heilpädagogische Tagesstätte",
    "daycare_centre": "Kindertageseinrichtung",
    "childminding": "Kindertagespflege",
    "foster_family": "Pflegefamilie",
    "personal_budget": "Persönliches Budget",
    "special_social_difficulties_help": "Hilfe zur Überwindung besonderer sozialer Schwierigkeiten",
    "care_assistance": "Hilfe zur Pflege",
}
BENEFIT_KINDS: tuple[str, ...] = tuple(BENEFIT_LABELS)

#: School status (AG-SGB IX NRW § 1 Abs. 2 S. 1: the Kreis is carrier "bis zur Beendigung der
#: Schulausbildung an einer allgemeinen Schule oder einer Förderschule"), with German names.
SCHOOL_STATUS_LABELS: dict[str, str] = {
    "in_school": "in der Schulausbildung",
    "finished": "Schulausbildung beendet",
    "none": "besucht keine Schule",
}
SCHOOL_STATUSES: tuple[str, ...] = tuple(SCHOOL_STATUS_LABELS)

#: AG-SGB IX NRW § 1 Abs. 2 S. 2: the number of the exception that keeps each benefit with the LWL.
SCHOOL_EXCEPTION_NUMBER: dict[str, int] = {
    "residential_24h": 1,
    "special_housing_form": 1,
    "foster_family": 2,
    "therapeutic_day_centre": 3,
    "daycare_centre": 3,
    "childminding": 3,
    "early_intervention": 4,
}

#: German words accepted beside the ids of :data:`SCHOOL_STATUS_LABELS` (``--school in-schule``).
SCHOOL_STATUS_ALIASES: dict[str, str] = {
    "in-schule": "in_school",
    "schule": "in_school",
    "beendet": "finished",
    "keine": "none",
    "keine-schule": "none",
}

#: Deadline statuses (``states.decision.DeadlineStatus`` values) as people read them.
DEADLINE_STATUS_LABELS: dict[str, str] = {
    "open": "offen",
    "met": "eingehalten",
    "missed": "versäumt",
    "cancelled": "entfallen",
    "superseded": "ersetzt",
}

#: How a step's parameter is written (``gpv fire … --set name=value``), by parameter name.
PARAMETER_FORMATS: dict[str, str] = {
    "to": "Partei-ID, z. B. kreis-unna",
    "reason": "Text",
    "agreed": "ja, wenn der andere Träger zugestimmt hat",
    "review": "JJJJ-MM-TT, z. B. 2028-03-31",
    "outcome": "approval, partial oder refusal",
    "approved_until": "JJJJ-MM-TT, z. B. 2028-03-31",
    "expert": "Partei-ID der Sachverständigen, z. B. spdi",
    "proposed_by": "Partei-ID",
    "ground": "Ablehnungsgrund",
    "date": "JJJJ-MM-TTTHH:MM (Ortszeit), z. B. 2026-03-27T10:00",
    "location": 'Text, z. B. "Kreishaus Unna"',
}

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "_": "-", " ": "-"})


def fold(text: str) -> str:
    """``text`` for comparing ids and German words: lower case, umlauts written out, blanks and
    underscores as dashes (``Sinnesbehinderung`` = ``sinnesbehinderung``, ``in_school`` =
    ``in-school``)."""
    return "-".join(part for part in text.strip().lower().translate(_FOLD).split("-") if part)


def glossary_id(
    text: str, labels: dict[str, str], aliases: dict[str, str] | None = None
) -> str | None:
    """The id that ``text`` names in ``labels`` (the id itself or its German label) or in
    ``aliases``, compared with :func:`fold`; None when it names none."""
    wanted = fold(text)
    for key, label in labels.items():
        if wanted in (fold(key), fold(label)):
            return key
    for alias, key in (aliases or {}).items():
        if wanted == fold(alias):
            return key
    return None


def set_form(name: str) -> str:
    """``--set name=<format>``: how a step's parameter is given on the command line."""
    return f"--set {name}=… ({PARAMETER_FORMATS.get(name, 'Text')})"


# The labels people read, drawn from where each is declared (no second copy): the process
# definitions hold their states' and triggers' German names (``states.processes``).


def state_label(process: str, state: str | None) -> str:
    """The German name of a process state (``assessment`` → „Bedarfsermittlung“)."""
    from states.decision import Process
    from states.processes.registry import DEFINITIONS

    try:
        return DEFINITIONS[Process(process)].label(state)
    except ValueError:
        return str(state)


def process_title(process: str) -> str:
    """The German name of a process (``conference`` → „Gesamtplankonferenz“)."""
    from states.decision import Process
    from states.processes.registry import DEFINITIONS

    try:
        return DEFINITIONS[Process(process)].title
    except ValueError:
        return process


def trigger_label(trigger: str) -> str:
    """The German name of a step (``hold_conference`` → „Konferenz durchführen“); audit entries
    that are no trigger of a process keep their id."""
    from states.processes.registry import TRIGGER_SPECS

    spec = TRIGGER_SPECS.get(trigger)
    return spec.label if spec is not None else OTHER_ENTRY_LABELS.get(trigger, trigger)


#: Audit entries that are not steps of a process, as people read them.
OTHER_ENTRY_LABELS: dict[str, str] = {
    "open_case": "Fall angelegt",
    "correct": "Berichtigung",
    "update_contact": "Kontaktadresse geändert",
    "miss_deadline": "Frist versäumt",
    "record_consent": "Zustimmung zur Beteiligung erfasst",
    "record_objection": "Widerspruch nach § 76 SGB X erfasst",
    "record_parent": "Elternschaft erfasst",
}


def status_id(text: str) -> str | None:
    """A case status given as id or German name (``--status Bedarfsermittlung``), or None."""
    from states.decision import CaseState

    labels = {s.value: state_label("case", s.value) for s in CaseState}
    return glossary_id(text, labels)
