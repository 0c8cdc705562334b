"""Responsibility routing: which carrier decides, and who else takes part (domain.md § 4).

The rules, in the order they are applied (:data:`RULES`, one function each):

1. Benefits outside the Eingliederungshilfe (``_outside_eingliederungshilfe``): Hilfe zur Pflege
   (§§ 61 ff. SGB XII) goes to the Kreis as local social-assistance carrier, help for special
   social difficulties (§§ 67 ff. SGB XII) to the LWL [V2]; for minors youth welfare comes first
   (§ 10 Abs. 4 S. 1 SGB VIII), so those are left to a human.
2. A minor with a mental disability (seelische Behinderung; addiction counts as one, § 3 EinglHV)
   and no other → the youth office of the town (§ 35a, § 10 Abs. 4 S. 1 SGB VIII;
   ``_minor_mental_only``). Together with a physical, sensory (körperlich, § 1 EinglHV) or
   intellectual disability the needs overlap and a human decides (``_minor_overlap``).
3. Before the end of school education (AG-SGB IX NRW § 1 Abs. 2 S. 1): the Kreis Unna, except for
   the benefits of § 1 Abs. 2 S. 2 Nr. 1–4, which stay with the LWL (``_school_or_adult``). A
   school benefit after the school education ended is left to a human
   (``_school_finished_mismatch``).
4. Otherwise the LWL (AG-SGB IX NRW § 1 Abs. 1; ``_school_or_adult``).

Then ``_involved_parties`` adds who else takes part (youth office, SPDI, Jobcenter).

Whatever the rules cannot settle comes back undecided (``carrier=None``) with the reason; nothing
is guessed. Benefit kinds and disability types are the glossary ids of domain.md § 9
(``states.glossary``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from states.agreement import JOB_CENTRE, KREIS_UNNA, LWL, SPDI, Agreement, RoutingSettings, Town
from states.errors import InputError
from states.glossary import (
    BENEFIT_KINDS,
    BENEFIT_LABELS,
    DISABILITY_LABELS,
    DISABILITY_TYPES,
    SCHOOL_EXCEPTION_NUMBER,
)

ADULT_AGE = 18

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


@dataclass(frozen=True)
class _Situation:
    """The facts as the rules read them, computed once per routing."""

    facts: PersonFacts
    on: date
    benefit: str
    town: Town
    settings: RoutingSettings
    age: int

    @property
    def is_minor(self) -> bool:
        return self.age < ADULT_AGE

    @property
    def label(self) -> str:
        return BENEFIT_LABELS[self.benefit]

    @property
    def has_mental(self) -> bool:
        return bool(self.facts.disabilities & _MENTAL)

    @property
    def has_other(self) -> bool:
        return bool(self.facts.disabilities & _OTHER_THAN_MENTAL)


@dataclass(frozen=True)
class _Ruling:
    """What one rule decided: the carrier (None: a human decides), the legal basis and why."""

    carrier: str | None
    basis: str
    reason: str


Rule = Callable[[_Situation], _Ruling | None]


def _outside_eingliederungshilfe(s: _Situation) -> _Ruling | None:
    """Rule 1: Hilfe zur Pflege and help for special social difficulties (SGB XII)."""
    if s.benefit == "care_assistance":
        if s.is_minor:
            return _Ruling(
                None,
                "§ 10 Abs. 4 S. 1 SGB VIII; §§ 61 ff. SGB XII",
                "Hilfe zur Pflege für eine minderjährige Person: Leistungen der Jugendhilfe gehen "
                "denen des SGB XII vor (§ 10 Abs. 4 S. 1 SGB VIII); bitte von Hand klären.",
            )
        return _Ruling(
            KREIS_UNNA,
            "§§ 61 ff. SGB XII; AG-SGB XII NRW (örtlicher Träger)",
            "Hilfe zur Pflege außerhalb der Eingliederungshilfe trägt der Kreis Unna als "
            "örtlicher Träger der Sozialhilfe; ob § 103 Abs. 2 SGB IX die Pflege in die "
            "Eingliederungshilfe einbezieht, ist im Einzelfall zu prüfen.",
        )
    if s.benefit == "special_social_difficulties_help":
        if s.is_minor:
            return _Ruling(
                None,
                "§ 10 Abs. 4 S. 1 SGB VIII; §§ 67 ff. SGB XII",
                "Hilfe nach §§ 67 ff. SGB XII für eine minderjährige Person: Leistungen der "
                "Jugendhilfe gehen vor (§ 10 Abs. 4 S. 1 SGB VIII); bitte von Hand klären.",
            )
        return _Ruling(
            LWL,
            "§§ 67 ff. SGB XII; AG-SGB XII NRW (überörtlicher Träger)",
            "Wohnbezogene Hilfe zur Überwindung besonderer sozialer Schwierigkeiten trägt in "
            "NRW der LWL als überörtlicher Träger der Sozialhilfe.",
        )
    return None


def _minor_overlap(s: _Situation) -> _Ruling | None:
    """Rule 2, second half: a minor with a mental and another disability is left to a human."""
    if not (s.is_minor and s.has_mental and s.has_other):
        return None
    kinds = ", ".join(DISABILITY_LABELS[d] for d in DISABILITY_TYPES if d in s.facts.disabilities)
    return _Ruling(
        None,
        "§ 10 Abs. 4 S. 1 und S. 2 SGB VIII",
        f"Minderjährige Person mit mehreren Behinderungsarten ({kinds}): seelische Behinderung "
        "gehört zur Jugendhilfe (§ 10 Abs. 4 S. 1 SGB VIII), körperliche oder geistige zur "
        "Eingliederungshilfe (§ 10 Abs. 4 S. 2 SGB VIII). Bei sich überschneidenden Bedarfen "
        "entscheidet ein Mensch, nicht die Regel.",
    )


def _minor_mental_only(s: _Situation) -> _Ruling | None:
    """Rule 2: a minor with only a mental disability → the youth office of the town."""
    if not (s.is_minor and s.has_mental and not s.has_other):
        return None
    return _Ruling(
        s.town.youth_office,
        "§ 35a SGB VIII; § 10 Abs. 4 S. 1 SGB VIII",
        f"Minderjährige Person mit seelischer Behinderung: Eingliederungshilfe leistet die "
        f"Jugendhilfe, zuständig ist das Jugendamt für {s.town.name}.",
    )


def _school_finished_mismatch(s: _Situation) -> _Ruling | None:
    """A school benefit for someone whose school education already ended: the facts are checked
    by a human."""
    finished = s.facts.school_finished
    if s.benefit not in s.settings.school_benefits or finished is None or finished > s.on:
        return None
    return _Ruling(
        None,
        "AG-SGB IX NRW § 1 Abs. 1 und Abs. 2 S. 1",
        f"{s.label} setzt eine laufende Schulausbildung voraus, die Schulausbildung endete aber "
        f"am {_de(finished)}; bitte Angaben prüfen.",
    )


def _school_status(s: _Situation) -> tuple[bool, str]:
    """Whether the person is before the end of school education, and the words saying why."""
    finished = s.facts.school_finished
    if s.benefit in s.settings.school_benefits:
        return True, f"{s.label} setzt eine laufende Schulausbildung voraus"
    if finished is not None:
        if finished > s.on:
            return True, f"die Schulausbildung endet am {_de(finished)}"
        return False, f"die Schulausbildung endete am {_de(finished)}"
    below = s.settings.assume_in_school_below_age
    if s.age < below:
        return True, (
            f"ohne Datum zum Ende der Schulausbildung gilt eine Person unter {below} Jahren als "
            "noch nicht mit der Schule fertig"
        )
    return False, (
        f"die Person ist {s.age} Jahre alt und ein Ende der Schulausbildung ist nicht angegeben"
    )


def _school_or_adult(s: _Situation) -> _Ruling:
    """Rules 3 and 4: before the end of school the Kreis Unna, except the benefits that stay with
    the LWL; afterwards the LWL."""
    before_end_of_school, why_school = _school_status(s)
    suffix = "; § 10 Abs. 4 S. 2 SGB VIII" if s.is_minor else ""
    if before_end_of_school and s.benefit in s.settings.lwl_during_school:
        number = SCHOOL_EXCEPTION_NUMBER.get(s.benefit)
        norm = "AG-SGB IX NRW § 1 Abs. 2 S. 2" + (f" Nr. {number}" if number else "")
        return _Ruling(
            LWL,
            norm + suffix,
            f"Vor dem Ende der Schulausbildung ({why_school}), aber {s.label} bleibt nach {norm} "
            "beim LWL.",
        )
    if before_end_of_school:
        return _Ruling(
            KREIS_UNNA,
            "AG-SGB IX NRW § 1 Abs. 2 S. 1" + suffix,
            f"Vor dem Ende der Schulausbildung ({why_school}) ist der Kreis Unna Träger der "
            f"Eingliederungshilfe für {s.label}.",
        )
    return _Ruling(
        LWL,
        "AG-SGB IX NRW § 1 Abs. 1" + suffix,
        f"Nach dem Ende der Schulausbildung ({why_school}) ist der LWL Träger.",
    )


#: The rules in the order they are applied; the first that decides wins (the last always does).
RULES: tuple[Rule, ...] = (
    _outside_eingliederungshilfe,
    _minor_overlap,
    _minor_mental_only,
    _school_finished_mismatch,
    _school_or_adult,
)


def _involved_parties(s: _Situation, ruling: _Ruling, agreement: Agreement) -> RoutingResult:
    """The carrier first, then who else takes part: the youth office for a minor, the SPDI for an
    adult with a mental disability, the Jobcenter for work benefits (with the legal basis)."""
    parties: list[str] = [ruling.carrier] if ruling.carrier else []
    involve: list[str] = []
    carrier = ruling.carrier
    if s.is_minor and (carrier is None or agreement.party(carrier).kind != "youth_office"):
        parties.append(s.town.youth_office)
        if carrier is not None:
            involve.append("§ 117 Abs. 6 SGB IX [U] (Jugendamt)")
    if not s.is_minor and s.has_mental:
        parties.append(SPDI)
        involve.append("§ 121 Abs. 3 SGB IX (Gesundheitsamt/SPDI)")
    if s.benefit in s.settings.work_benefits:
        parties.append(JOB_CENTRE)
        involve.append("§ 22 Abs. 4 SGB IX (Jobcenter)")
    basis = ruling.basis
    if involve:
        basis = f"{basis}; Beteiligung: {', '.join(involve)}"
    return RoutingResult(
        carrier=ruling.carrier,
        parties=tuple(dict.fromkeys(parties)),
        legal_basis=basis,
        reason=ruling.reason,
        town=s.town.slug,
        is_minor=s.is_minor,
    )


def _check_facts(facts: PersonFacts, on: date) -> None:
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


def route(facts: PersonFacts, on: date, agreement: Agreement) -> RoutingResult:
    """Decide carrier and parties for ``facts`` as of the day ``on`` (Europe/Berlin): the first of
    :data:`RULES` that decides names the carrier, then the other parties are added."""
    _check_facts(facts, on)
    situation = _Situation(
        facts=facts,
        on=on,
        benefit=parse_benefit(facts.benefit),
        town=agreement.town(facts.municipality),
        settings=agreement.routing,
        age=age_on(facts.birth_date, on),
    )
    for rule in RULES:
        ruling = rule(situation)
        if ruling is not None:
            return _involved_parties(situation, ruling, agreement)
    raise AssertionError("the last rule always decides")  # pragma: no cover
