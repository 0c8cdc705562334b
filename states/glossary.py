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
