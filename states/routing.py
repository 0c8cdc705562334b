"""Responsibility routing: which carrier decides, and who else takes part (domain.md § 4).

The rules, in the order they are applied:

1. Benefits outside the Eingliederungshilfe: Hilfe zur Pflege (§§ 61 ff. SGB XII) goes to the Kreis
   as local social-assistance carrier, help for special social difficulties (§§ 67 ff. SGB XII) to
   the LWL [V2]; for minors youth welfare comes first (§ 10 Abs. 4 S. 1 SGB VIII), so those are left
   to a human.
2. A minor with a mental disability (seelische Behinderung; addiction counts as one, § 3 EinglHV)
   and no other → the youth office of the town (§ 35a, § 10 Abs. 4 S. 1 SGB VIII). Together with a
   physical, sensory (körperlich, § 1 EinglHV) or intellectual disability the needs overlap and a
   human decides.
3. Before the end of school education (AG-SGB IX NRW § 1 Abs. 2 S. 1): the Kreis Unna, except for
   the benefits of § 1 Abs. 2 S. 2 Nr. 1–4, which stay with the LWL.
4. Otherwise the LWL (AG-SGB IX NRW § 1 Abs. 1).

Whatever the rules cannot settle comes back undecided (``carrier=None``) with the reason; nothing
is guessed. Benefit kinds and disability types are the glossary ids of domain.md § 9.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from states.errors import InputError

if TYPE_CHECKING:
    from states.agreement import Agreement

ADULT_AGE = 18

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
    "sheltered_workshop": "Werkstatt für behinderte Menschen",
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

_MENTAL = frozenset({"mental", "addiction"})
_OTHER_THAN_MENTAL = frozenset({"physical", "intellectual", "sensory"})


@dataclass(frozen=True)
class PersonFacts:
    """What routing needs to know: no diagnoses, only the disability types."""

    birth_date: date
    municipality: str
    disabilities: frozenset[str]
    benefit: str
    school_finished: date | None = None


@dataclass(frozen=True)
class RoutingResult:
    """The carrier (None when undecided) and the parties to involve, carrier first."""

    carrier: str | None
    parties: tuple[str, ...]
    legal_basis: str
    reason: str
    town: str
    is_minor: bool

    @property
    def decided(self) -> bool:
        return self.carrier is not None


def _normalise(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(" ", "_")


def parse_disabilities(text: str) -> frozenset[str]:
    """Parse comma-separated disability types (``"mental,physical"``); at least one."""
    items = [_normalise(part) for part in (text or "").split(",") if part.strip()]
    valid = ", ".join(DISABILITY_TYPES)
    if not items:
        raise InputError(f"Keine Behinderungsart angegeben; möglich sind: {valid}.")
    for item in items:
        if item not in DISABILITY_TYPES:
            raise InputError(f"Unbekannte Behinderungsart {item!r}; möglich sind: {valid}.")
    return frozenset(items)


def parse_benefit(text: str) -> str:
    """Parse one benefit kind id (``"school_assistant"``)."""
    item = _normalise(text or "")
    if item not in BENEFIT_LABELS:
        raise InputError(
            f"Unbekannte Leistungsart {text!r}; möglich sind: {', '.join(BENEFIT_KINDS)}."
        )
    return item


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``; born on 29 Feb, one is a year older from 1 March in common years
    (§ 187 Abs. 2 S. 2, § 188 Abs. 2 and 3 BGB)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _de(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def route(facts: PersonFacts, on: date, agreement: Agreement) -> RoutingResult:
    """Decide carrier and parties for ``facts`` as of the day ``on`` (Europe/Berlin)."""
    if facts.birth_date > on:
        raise InputError(
            f"Das Geburtsdatum {facts.birth_date.isoformat()} liegt nach dem Stichtag "
            f"{on.isoformat()}."
        )
    if not facts.disabilities:
        raise InputError(
            f"Keine Behinderungsart angegeben; möglich sind: {', '.join(DISABILITY_TYPES)}."
        )
    unknown = sorted(facts.disabilities - set(DISABILITY_TYPES))
    if unknown:
        raise InputError(
            f"Unbekannte Behinderungsart {unknown[0]!r}; "
            f"möglich sind: {', '.join(DISABILITY_TYPES)}."
        )
    benefit = parse_benefit(facts.benefit)
    town = agreement.town(facts.municipality)
    settings = agreement.routing
    age = age_on(facts.birth_date, on)
    is_minor = age < ADULT_AGE
    label = BENEFIT_LABELS[benefit]
    has_mental = bool(facts.disabilities & _MENTAL)
    has_other = bool(facts.disabilities & _OTHER_THAN_MENTAL)

    carrier: str | None
    if benefit == "care_assistance":
        if is_minor:
            carrier, basis = None, "§ 10 Abs. 4 S. 1 SGB VIII; §§ 61 ff. SGB XII"
            reason = (
                "Hilfe zur Pflege für eine minderjährige Person: Leistungen der Jugendhilfe gehen "
                "denen des SGB XII vor (§ 10 Abs. 4 S. 1 SGB VIII); bitte von Hand klären."
            )
        else:
            carrier, basis = "kreis-unna", "§§ 61 ff. SGB XII; AG-SGB XII NRW (örtlicher Träger)"
            reason = (
                "Hilfe zur Pflege außerhalb der Eingliederungshilfe trägt der Kreis Unna als "
                "örtlicher Träger der Sozialhilfe; ob § 103 Abs. 2 SGB IX die Pflege in die "
                "Eingliederungshilfe einbezieht, ist im Einzelfall zu prüfen."
            )
    elif benefit == "special_social_difficulties_help":
        if is_minor:
            carrier, basis = None, "§ 10 Abs. 4 S. 1 SGB VIII; §§ 67 ff. SGB XII"
            reason = (
                "Hilfe nach §§ 67 ff. SGB XII für eine minderjährige Person: Leistungen der "
                "Jugendhilfe gehen vor (§ 10 Abs. 4 S. 1 SGB VIII); bitte von Hand klären."
            )
        else:
            carrier, basis = "lwl", "§§ 67 ff. SGB XII; AG-SGB XII NRW (überörtlicher Träger)"
            reason = (
                "Wohnbezogene Hilfe zur Überwindung besonderer sozialer Schwierigkeiten trägt in "
                "NRW der LWL als überörtlicher Träger der Sozialhilfe."
            )
    elif is_minor and has_mental and has_other:
        carrier, basis = None, "§ 10 Abs. 4 S. 1 und S. 2 SGB VIII"
        kinds = ", ".join(DISABILITY_LABELS[d] for d in DISABILITY_TYPES if d in facts.disabilities)
        reason = (
            f"Minderjährige Person mit mehreren Behinderungsarten ({kinds}): seelische Behinderung "
            "gehört zur Jugendhilfe (§ 10 Abs. 4 S. 1 SGB VIII), körperliche oder geistige zur "
            "Eingliederungshilfe (§ 10 Abs. 4 S. 2 SGB VIII). Bei sich überschneidenden Bedarfen "
            "entscheidet ein Mensch, nicht die Regel."
        )
    elif is_minor and has_mental:
        carrier, basis = town.youth_office, "§ 35a SGB VIII; § 10 Abs. 4 S. 1 SGB VIII"
        reason = (
            f"Minderjährige Person mit seelischer Behinderung: Eingliederungshilfe leistet die "
            f"Jugendhilfe, zuständig ist das Jugendamt für {town.name}."
        )
    elif (
        benefit in settings.school_benefits
        and facts.school_finished is not None
        and facts.school_finished <= on
    ):
        carrier, basis = None, "AG-SGB IX NRW § 1 Abs. 1 und Abs. 2 S. 1"
        reason = (
            f"{label} setzt eine laufende Schulausbildung voraus, die Schulausbildung endete aber "
            f"am {_de(facts.school_finished)}; bitte Angaben prüfen."
        )
    else:
        if benefit in settings.school_benefits:
            before_end_of_school = True
            why_school = f"{label} setzt eine laufende Schulausbildung voraus"
        elif facts.school_finished is not None:
            before_end_of_school = facts.school_finished > on
            why_school = f"die Schulausbildung endet am {_de(facts.school_finished)}"
            if not before_end_of_school:
                why_school = f"die Schulausbildung endete am {_de(facts.school_finished)}"
        else:
            before_end_of_school = age < settings.assume_in_school_below_age
            why_school = (
                f"ohne Datum zum Ende der Schulausbildung gilt eine Person unter "
                f"{settings.assume_in_school_below_age} Jahren als noch nicht mit der Schule fertig"
                if before_end_of_school
                else f"die Person ist {age} Jahre alt und ein Ende der Schulausbildung ist nicht "
                f"angegeben"
            )
        suffix = "; § 10 Abs. 4 S. 2 SGB VIII" if is_minor else ""
        if before_end_of_school and benefit in settings.lwl_during_school:
            number = SCHOOL_EXCEPTION_NUMBER.get(benefit)
            norm = "AG-SGB IX NRW § 1 Abs. 2 S. 2" + (f" Nr. {number}" if number else "")
            carrier, basis = "lwl", norm + suffix
            reason = (
                f"Vor dem Ende der Schulausbildung ({why_school}), aber {label} bleibt nach {norm} "
                "beim LWL."
            )
        elif before_end_of_school:
            carrier, basis = "kreis-unna", "AG-SGB IX NRW § 1 Abs. 2 S. 1" + suffix
            reason = (
                f"Vor dem Ende der Schulausbildung ({why_school}) ist der Kreis Unna Träger der "
                f"Eingliederungshilfe für {label}."
            )
        else:
            carrier, basis = "lwl", "AG-SGB IX NRW § 1 Abs. 1" + suffix
            reason = f"Nach dem Ende der Schulausbildung ({why_school}) ist der LWL Träger."

    parties: list[str] = [carrier] if carrier else []
    involve: list[str] = []
    if is_minor and carrier is not None and agreement.party(carrier).kind != "youth_office":
        parties.append(town.youth_office)
        involve.append("§ 117 Abs. 6 SGB IX [U] (Jugendamt)")
    elif is_minor and carrier is None:
        parties.append(town.youth_office)
    if not is_minor and has_mental:
        parties.append("spdi")
        involve.append("§ 121 Abs. 3 SGB IX (Gesundheitsamt/SPDI)")
    if benefit in settings.work_benefits:
        parties.append("jobcenter-kreis-unna")
        involve.append("§ 22 Abs. 4 SGB IX (Jobcenter)")
    if involve:
        basis = f"{basis}; Beteiligung: {', '.join(involve)}"
    return RoutingResult(
        carrier=carrier,
        parties=tuple(dict.fromkeys(parties)),
        legal_basis=basis,
        reason=reason,
        town=town.slug,
        is_minor=is_minor,
    )
