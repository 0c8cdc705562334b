"""Responsibility routing: which carrier decides, and who else takes part (domain.md § 4).

The rules, in the order they are applied (:data:`RULES`, one function each; the first that
decides wins):

1. Benefits that are no SGB IX benefits (``_not_sgb_ix``; legal-review C3): Hilfe zur Pflege
   (§§ 61 ff. SGB XII) and help for special social difficulties (§§ 67 ff. SGB XII). The
   Sozialhilfe is no rehabilitation carrier (§ 6 Abs. 1 SGB IX), so there is no Gesamtplanverfahren
   and no § 14 SGB IX; the result says where the application belongs (``outcome="not_sgb_ix"``).
   Which benefits, and where they belong, is agreement data (``[routing.not_sgb_ix]``).
2. Entry procedure and vocational training area of a sheltered workshop (Eingangsverfahren,
   Berufsbildungsbereich, § 57 SGB IX) → the Bundesagentur für Arbeit, a rehabilitation carrier
   (§ 63 Abs. 1 Nr. 1, § 6 Abs. 1 Nr. 2 SGB IX; ``_workshop_entry_training``), whatever the school.
3. A minor with only a mental disability (seelische Behinderung; addiction counts as one,
   § 3 EinglHV) → the youth office (§ 35a, § 10 Abs. 4 S. 1 SGB VIII; ``_minor_mental_only``) of
   the parents' habitual residence when given (``parents_municipality``, § 86 Abs. 1 S. 1
   SGB VIII; legal-review m8), else of the child's town. With a physical, sensory (körperlich,
   § 1 EinglHV) or intellectual disability as well, the Eingliederungshilfe comes first (§ 10
   Abs. 4 S. 2 SGB VIII; legal-review ruling 2): the later rules decide, and the result is flagged
   for review.
4. A school benefit whose start does not fall in a running school education: a human checks the
   facts (``_school_benefit_without_school``).
5. Benefits that begin only after school (the work area of a sheltered workshop, § 58 SGB IX) →
   the LWL (AG-SGB IX NRW § 1 Abs. 1; ``_post_school_benefit``).
6. A person who attends no school (``--school none``): whether they are before the end of a school
   education (not yet at school) is left to a human, unless the carrier is the LWL either way
   (``_no_school``).
7. If the benefit **starts** before the end of school education (AG-SGB IX NRW § 1 Abs. 2 S. 1): the
   Kreis Unna, except for the benefits of § 1 Abs. 2 S. 2 Nr. 1–4, which stay with the LWL;
   otherwise the LWL (§ 1 Abs. 1; ``_school_or_adult``). Not the age: a 19-year-old still at a
   Förderschule stays with the Kreis (legal-review C7, ruling 3).

The school status (``in_school``, ``finished``, ``none``) is required input for the ages of
``[routing] school_status_from_age``–``school_status_to_age`` on the day of receipt; a school-end
date alone also says it. The benefit's planned start defaults to the day of receipt.

Then ``_involved_parties`` adds who else takes part (youth office, SPDI, Jobcenter), and
:data:`FLAGS` add the review notes (``review_flags``, German sentences): overlapping needs of a
minor (§ 10 Abs. 4 S. 2 SGB VIII), a young adult with a mental disability (§ 41 SGB VIII), a work
area that cannot start before school ends, other carriers of the entry procedure.

Whatever the rules cannot settle comes back undecided (``carrier=None``) with the reason; nothing
is guessed. Benefit kinds, disability types and school statuses are the glossary ids of domain.md
§ 9 (``states.glossary``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Literal

from states.agreement import (
    EMPLOYMENT_AGENCY,
    JOB_CENTRE,
    KREIS_UNNA,
    LWL,
    SPDI,
    Agreement,
    RoutingSettings,
    Town,
)
from states.errors import InputError
from states.glossary import (
    BENEFIT_KINDS,
    BENEFIT_LABELS,
    DISABILITY_LABELS,
    DISABILITY_TYPES,
    SCHOOL_EXCEPTION_NUMBER,
    SCHOOL_STATUSES,
)

ADULT_AGE = 18
#: § 41 Abs. 1 S. 2 SGB VIII: Hilfe für junge Volljährige "in der Regel nur bis zur Vollendung des
#: 21. Lebensjahres"; a young adult (§ 7 Abs. 1 Nr. 3 SGB VIII) from 18 is checked until then.
YOUNG_ADULT_CHECK_BELOW_AGE = 21

IN_SCHOOL, FINISHED, NO_SCHOOL = SCHOOL_STATUSES
ENTRY_TRAINING = "workshop_entry_training"
PERSONAL_BUDGET = "personal_budget"

_MENTAL = frozenset({"mental", "addiction"})
_OTHER_THAN_MENTAL = frozenset({"physical", "intellectual", "sensory"})
_EGH_CARRIERS = frozenset({LWL, KREIS_UNNA})

#: Statute notes on benefits outside the SGB IX, added to the refusal (legal-review C3, M2).
_NOT_SGB_IX_NOTES: dict[str, str] = {
    "care_assistance": (
        "Erhält die Person bereits Eingliederungshilfe, kann die Pflege nach § 103 Abs. 2 SGB IX "
        "dazugehören; der Träger der Hilfe zur Pflege wird im Gesamtplanverfahren beteiligt "
        "(§ 117 Abs. 3 S. 2 SGB IX)."
    ),
}

Outcome = Literal["carrier", "undecided", "not_sgb_ix"]


@dataclass(frozen=True)
class PersonFacts:
    """What routing needs to know: no diagnoses, only the disability types.

    ``school``: ``in_school``, ``finished`` or ``none`` (:data:`SCHOOL_STATUSES`); ``None`` when
    not given. ``school_finished``: the day school education ends or ended. ``benefit_start``: the
    planned start of the benefit; ``None`` means the day of receipt.
    """

    birth_date: date
    municipality: str
    disabilities: frozenset[str]
    benefit: str
    school_finished: date | None = None
    school: str | None = None
    benefit_start: date | None = None
    #: The town of the parents' habitual residence, when it differs from the child's: it decides
    #: the youth office (§ 86 Abs. 1 S. 1 SGB VIII). Not health data.
    parents_municipality: str | None = None


@dataclass(frozen=True)
class RoutingResult:
    """The carrier (None when undecided or not an SGB IX benefit) and the parties to involve,
    carrier first.

    ``review_flags``: German sentences a human should check (the carrier stands nonetheless).
    ``belongs_to``: for a benefit outside the SGB IX, the party where the application belongs
    (``outcome == "not_sgb_ix"``); then there are no parties and no carrier.
    """

    carrier: str | None
    parties: tuple[str, ...]
    legal_basis: str
    reason: str
    town: str
    is_minor: bool
    review_flags: tuple[str, ...] = ()
    belongs_to: str | None = None

    @property
    def decided(self) -> bool:
        return self.carrier is not None

    @property
    def outcome(self) -> Outcome:
        """``carrier`` (decided), ``undecided`` (a human decides) or ``not_sgb_ix``."""
        if self.belongs_to is not None:
            return "not_sgb_ix"
        return "carrier" if self.carrier is not None else "undecided"


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


def _one_of(text: str, allowed: Collection[str], unknown: str, choices: str) -> str:
    """``text`` as an id (case, dashes and spaces ignored) if it is one of ``allowed``; otherwise
    InputError "<unknown> 'text'; möglich sind: <choices>."."""
    item = _normalise(text or "")
    if item not in allowed:
        raise InputError(f"{unknown} {text!r}; möglich sind: {choices}.")
    return item


def parse_benefit(text: str) -> str:
    """Parse one benefit kind id (``"school_assistant"``)."""
    return _one_of(text, BENEFIT_LABELS, "Unbekannte Leistungsart", ", ".join(BENEFIT_KINDS))


def _school_choices(separator: str = ", ") -> str:
    return separator.join(s.replace("_", "-") for s in SCHOOL_STATUSES)


def parse_school(text: str) -> str:
    """Parse a school status: ``in-school`` or ``in_school``, ``finished``, ``none``."""
    return _one_of(text, SCHOOL_STATUSES, "Unbekannter Schulstatus (--school)", _school_choices())


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``; born on 29 Feb, one is a year older from 1 March in common years
    (§ 187 Abs. 2 S. 2, § 188 Abs. 2 and 3 BGB)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _de(d: date) -> str:
    return d.strftime("%d.%m.%Y")


@dataclass(frozen=True)
class _Schooling:
    """Whether the benefit starts before the end of school education (None: unknown), and why."""

    before_end: bool | None
    why: str


@dataclass(frozen=True)
class _Situation:
    """The facts as the rules read them, computed once per routing."""

    facts: PersonFacts
    on: date
    benefit: str
    town: Town
    agreement: Agreement
    age: int
    school: str | None
    start: date
    #: The town whose youth office is responsible (§ 86 Abs. 1 S. 1 SGB VIII: the parents').
    youth_town: Town | None = None

    @property
    def youth_office(self) -> str:
        return (self.youth_town or self.town).youth_office

    @property
    def youth_office_why(self) -> str:
        """How routing chose the youth office (German, for the reason)."""
        if self.youth_town is None:
            return f"das Jugendamt für {self.town.name} (Wohnort des Kindes)"
        name = self.agreement.party(self.youth_town.youth_office).name
        return (
            "das Jugendamt nach dem gewöhnlichen Aufenthalt der Eltern (§ 86 Abs. 1 S. 1 SGB "
            f"VIII): {name} ({self.youth_town.name})"
        )

    @property
    def settings(self) -> RoutingSettings:
        return self.agreement.routing

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

    @property
    def schooling(self) -> _Schooling:
        return _schooling(self)


def _schooling(s: _Situation) -> _Schooling:
    """AG-SGB IX NRW § 1 Abs. 2 S. 1: does the benefit start before the end of school education?
    Asked of the school status and the planned start, never of the age alone."""
    end, start = s.facts.school_finished, s.start
    if s.school == IN_SCHOOL:
        if end is not None and end <= start:
            return _Schooling(
                False,
                f"die Schulausbildung endet am {_de(end)}, die Leistung beginnt am {_de(start)}",
            )
        until = f" bis {_de(end)}" if end is not None else ""
        return _Schooling(
            True, f"die Schulausbildung läuft{until}, die Leistung beginnt am {_de(start)}"
        )
    if s.school == FINISHED:
        return _Schooling(False, "die Schulausbildung endete" + (f" am {_de(end)}" if end else ""))
    if s.school == NO_SCHOOL:
        return _Schooling(None, "die Person besucht keine Schule")
    low, _high = s.settings.school_status_ages
    if s.age < low:  # the school status is asked from ``low`` on (agreement data)
        return _Schooling(True, f"die Person ist {s.age} Jahre alt, noch vor der Schulzeit")
    return _Schooling(
        False,
        f"die Person ist {s.age} Jahre alt; die Schulausbildung endet längstens mit der "
        "Sekundarstufe II",
    )


@dataclass(frozen=True)
class _Ruling:
    """What one rule decided: the carrier (None: a human decides), the legal basis and why;
    ``belongs_to`` for a benefit outside the SGB IX."""

    carrier: str | None
    basis: str
    reason: str
    belongs_to: str | None = None


Rule = Callable[[_Situation], _Ruling | None]
Flag = Callable[[_Situation, _Ruling], str | None]


def _not_sgb_ix(s: _Situation) -> _Ruling | None:
    """Rule 1: Hilfe zur Pflege and §§ 67 ff. SGB XII are no SGB IX cases (legal-review C3)."""
    target = s.settings.not_sgb_ix.get(s.benefit)
    if target is None:
        return None
    party = s.agreement.party(target.party)
    reason = (
        f"{s.label} ist keine Leistung nach dem SGB IX: Die Sozialhilfe ist kein "
        "Rehabilitationsträger (§ 6 Abs. 1 SGB IX), ein Gesamtplanverfahren (§§ 117 ff. SGB IX) "
        "mit den Fristen nach § 14 SGB IX findet nicht statt. Der Antrag gehört zur Stelle "
        f"„{party.name}“ ({target.norm}), {target.procedure}; ein hier gestellter Antrag ist "
        "unverzüglich dorthin weiterzuleiten (§ 16 Abs. 2 S. 1 SGB I)."
    )
    if s.benefit in _NOT_SGB_IX_NOTES:
        reason += " " + _NOT_SGB_IX_NOTES[s.benefit]
    if s.is_minor:
        reason += (
            " Für Minderjährige gehen Leistungen der Jugendhilfe denen des SGB XII vor "
            "(§ 10 Abs. 4 S. 1 SGB VIII)."
        )
    return _Ruling(None, f"§ 6 Abs. 1 SGB IX; {target.norm}", reason, belongs_to=party.id)


def _workshop_entry_training(s: _Situation) -> _Ruling | None:
    """Rule 2: entry procedure and vocational training area → the Bundesagentur für Arbeit."""
    if s.benefit != ENTRY_TRAINING:
        return None
    agency = s.agreement.party(EMPLOYMENT_AGENCY)
    return _Ruling(
        agency.id,
        "§ 63 Abs. 1 Nr. 1 SGB IX; § 6 Abs. 1 Nr. 2 SGB IX",
        f"{s.label} (§ 57 SGB IX) erbringt die Bundesagentur für Arbeit als "
        f"Rehabilitationsträger, unabhängig vom Ende der Schulausbildung; zuständig ist die "
        f"{agency.name}.",
    )


def _minor_mental_only(s: _Situation) -> _Ruling | None:
    """Rule 3: a minor with only a mental disability → the youth office of the town."""
    if not (s.is_minor and s.has_mental and not s.has_other):
        return None
    section_86 = "; § 86 Abs. 1 S. 1 SGB VIII" if s.youth_town is not None else ""
    return _Ruling(
        s.youth_office,
        "§ 35a SGB VIII; § 10 Abs. 4 S. 1 SGB VIII" + section_86,
        f"Minderjährige Person mit seelischer Behinderung: Eingliederungshilfe leistet die "
        f"Jugendhilfe, zuständig ist {s.youth_office_why}.",
    )


def _school_benefit_without_school(s: _Situation) -> _Ruling | None:
    """Rule 4: a school benefit that does not start in a running school education: the facts are
    checked by a human."""
    if s.benefit not in s.settings.school_benefits:
        return None
    schooling = s.schooling
    if schooling.before_end:
        return None
    return _Ruling(
        None,
        "AG-SGB IX NRW § 1 Abs. 1 und Abs. 2 S. 1",
        f"{s.label} setzt eine laufende Schulausbildung voraus, aber {schooling.why}; bitte "
        "Angaben prüfen.",
    )


def _post_school_benefit(s: _Situation) -> _Ruling | None:
    """Rule 5: a benefit that begins only after school → the LWL, whatever the school status."""
    if s.benefit not in s.settings.post_school_benefits:
        return None
    schooling = s.schooling
    if schooling.before_end:
        why = (
            f"Die Leistung {s.label} beginnt nicht vor dem Ende der Schulausbildung "
            f"({schooling.why}); sie schließt an die Schule und an Eingangsverfahren und "
            "Berufsbildungsbereich an (§§ 57, 58 SGB IX), Träger ist dann"
        )
    else:
        why = f"Nach dem Ende der Schulausbildung ({schooling.why}) ist für {s.label}"
    return _Ruling(LWL, "AG-SGB IX NRW § 1 Abs. 1; § 63 Abs. 2 SGB IX", f"{why} der LWL.")


def _no_school(s: _Situation) -> _Ruling | None:
    """Rule 6: a person who attends no school: a human decides, unless the LWL is the carrier
    either way (the benefits of AG-SGB IX NRW § 1 Abs. 2 S. 2)."""
    if s.schooling.before_end is not None or s.benefit in s.settings.lwl_during_school:
        return None
    return _Ruling(
        None,
        "AG-SGB IX NRW § 1 Abs. 1 und Abs. 2 S. 1",
        "Die Person besucht keine Schule: Ob sie vor dem Ende einer Schulausbildung steht (etwa "
        "noch nicht eingeschult; dann der Kreis Unna, AG-SGB IX NRW § 1 Abs. 2 S. 1) oder nicht "
        "(dann der LWL, § 1 Abs. 1), entscheidet ein Mensch.",
    )


def _school_or_adult(s: _Situation) -> _Ruling:
    """Rule 7: if the benefit starts before the end of school the Kreis Unna, except the benefits
    that stay with the LWL; afterwards the LWL."""
    schooling = s.schooling
    suffix = "; § 10 Abs. 4 S. 2 SGB VIII" if s.is_minor else ""
    if schooling.before_end is not False and s.benefit in s.settings.lwl_during_school:
        number = SCHOOL_EXCEPTION_NUMBER.get(s.benefit)
        norm = "AG-SGB IX NRW § 1 Abs. 2 S. 2" + (f" Nr. {number}" if number else "")
        return _Ruling(
            LWL,
            norm + suffix,
            f"{s.label} bleibt nach {norm} auch vor dem Ende der Schulausbildung beim LWL "
            f"({schooling.why}).",
        )
    if schooling.before_end:
        return _Ruling(
            KREIS_UNNA,
            "AG-SGB IX NRW § 1 Abs. 2 S. 1" + suffix,
            f"Die Leistung beginnt vor dem Ende der Schulausbildung ({schooling.why}): Der Kreis "
            f"Unna ist Träger der Eingliederungshilfe für {s.label}.",
        )
    return _Ruling(
        LWL,
        "AG-SGB IX NRW § 1 Abs. 1" + suffix,
        f"Nach dem Ende der Schulausbildung ({schooling.why}) ist der LWL Träger.",
    )


#: The rules in the order they are applied; the first that decides wins (the last always does).
RULES: tuple[Rule, ...] = (
    _not_sgb_ix,
    _workshop_entry_training,
    _minor_mental_only,
    _school_benefit_without_school,
    _post_school_benefit,
    _no_school,
    _school_or_adult,
)


def _flag_overlapping_needs(s: _Situation, ruling: _Ruling) -> str | None:
    """Ruling 2: a minor with a mental and another disability goes to the Eingliederungshilfe
    (§ 10 Abs. 4 S. 2 SGB VIII), and a human checks for purely mental, non-overlapping needs."""
    if not (s.is_minor and s.has_mental and s.has_other):
        return None
    if ruling.carrier is not None and ruling.carrier not in _EGH_CARRIERS:
        return None
    kinds = ", ".join(DISABILITY_LABELS[d] for d in DISABILITY_TYPES if d in s.facts.disabilities)
    return (
        f"Minderjährige Person mit mehreren Behinderungsarten ({kinds}): Bei sich "
        "überschneidenden Bedarfen geht die Eingliederungshilfe vor (§ 10 Abs. 4 S. 2 SGB VIII; "
        "BVerwG, 22.10.2009 – 5 C 19.08). Bitte prüfen, ob rein seelisch bedingte Bedarfe ohne "
        "Überschneidung bestehen; für sie ist das Jugendamt zuständig (§ 35a, § 10 Abs. 4 S. 1 "
        "SGB VIII)."
    )


def _flag_young_adult(s: _Situation, ruling: _Ruling) -> str | None:
    """M8: a young adult (18 to 20) with a mental disability: check § 41 SGB VIII first."""
    if not (ADULT_AGE <= s.age < YOUNG_ADULT_CHECK_BELOW_AGE and s.has_mental):
        return None
    return (
        f"Junge volljährige Person ({s.age} Jahre) mit seelischer Behinderung: Bitte Hilfe für "
        "junge Volljährige prüfen (§ 41 i. V. m. § 35a SGB VIII); Leistungen der Jugendhilfe "
        "gehen vor (§ 10 Abs. 4 S. 1 SGB VIII)."
    )


def _flag_work_before_school_end(s: _Situation, ruling: _Ruling) -> str | None:
    """C7: a post-school benefit with a start before the end of school education."""
    if s.benefit not in s.settings.post_school_benefits or not s.schooling.before_end:
        return None
    return (
        f"Der angegebene Leistungsbeginn ({_de(s.start)}) liegt vor dem Ende der "
        f"Schulausbildung; die Leistung {s.label} kann erst danach beginnen. Ist das "
        "Eingangsverfahren oder der Berufsbildungsbereich gemeint, ist die Agentur für Arbeit "
        f"zuständig (§ 63 Abs. 1 Nr. 1 SGB IX; Leistungsart {ENTRY_TRAINING})."
    )


def _flag_other_entry_carriers(s: _Situation, ruling: _Ruling) -> str | None:
    """§ 63 Abs. 1: the Bundesagentur only if no other carrier of Nr. 2 to 4 is responsible."""
    if s.benefit != ENTRY_TRAINING:
        return None
    return (
        "Die Bundesagentur für Arbeit ist nur zuständig, soweit nicht die Unfallversicherung, "
        "die Rentenversicherung oder die Kriegsopferfürsorge Träger ist (§ 63 Abs. 1 Nr. 2 bis 4 "
        "SGB IX); bitte prüfen."
    )


def _flag_personal_budget(s: _Situation, ruling: _Ruling) -> str | None:
    """m7: the Persönliches Budget is a form of delivering benefits, not a benefit of its own."""
    if s.benefit != PERSONAL_BUDGET:
        return None
    return (
        "Persönliches Budget ist eine Form der Leistung (§ 29 Abs. 1 S. 1 SGB IX), keine eigene "
        "Leistungsart: Zuständig ist der Träger der Leistungen, die als Budget erbracht werden "
        "sollen (§ 29 Abs. 3 SGB IX) [U: § 29 nicht gegengelesen]. Bitte die budgetierten "
        "Leistungen und die Zuständigkeit nach ihnen prüfen."
    )


#: Review notes added to an SGB IX result, in this order.
FLAGS: tuple[Flag, ...] = (
    _flag_overlapping_needs,
    _flag_young_adult,
    _flag_work_before_school_end,
    _flag_other_entry_carriers,
    _flag_personal_budget,
)


def _involved(s: _Situation, carrier: str | None) -> list[tuple[str, str | None]]:
    """Who else takes part, with the norm (None: no norm to cite, the carrier is undecided). The
    youth office and the SPDI take part in the Gesamtplanverfahren of an EGH carrier only."""
    involved: list[tuple[str, str | None]] = []
    gesamtplan = carrier is None or carrier in _EGH_CARRIERS
    if gesamtplan and s.is_minor:
        involved.append((s.youth_office, carrier and "§ 117 Abs. 6 SGB IX [U] (Jugendamt)"))
    if gesamtplan and not s.is_minor and s.has_mental:
        involved.append((SPDI, "§ 121 Abs. 3 SGB IX (Gesundheitsamt/SPDI)"))
    if s.benefit in s.settings.work_benefits:
        involved.append((JOB_CENTRE, "§ 22 Abs. 4 SGB IX (Jobcenter)"))
    return involved


def _involved_parties(s: _Situation, ruling: _Ruling) -> RoutingResult:
    """The carrier first, then who else takes part: the youth office for a minor, the SPDI for an
    adult with a mental disability, the Jobcenter for work benefits (with the legal basis); and
    the review flags."""
    involved = _involved(s, ruling.carrier)
    parties = [ruling.carrier] if ruling.carrier else []
    parties += [party for party, _ in involved]
    involve = [norm for _, norm in involved if norm]
    basis = ruling.basis
    if involve:
        basis = f"{basis}; Beteiligung: {', '.join(involve)}"
    flags = (flag(s, ruling) for flag in FLAGS)
    return RoutingResult(
        carrier=ruling.carrier,
        parties=tuple(dict.fromkeys(parties)),
        legal_basis=basis,
        reason=ruling.reason,
        town=s.town.slug,
        is_minor=s.is_minor,
        review_flags=tuple(f for f in flags if f),
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


def _check_start(start: date | None, on: date) -> date:
    """The planned start of the benefit; the day of receipt when not given. Not before the first
    day of the month of receipt (§ 108 Abs. 1 S. 2 SGB IX: benefits "frühestens ab dem Ersten des
    Monats der Antragstellung")."""
    if start is None:
        return on
    if start < on.replace(day=1):
        raise InputError(
            f"Der Leistungsbeginn {start.isoformat()} (--benefit-start) liegt vor dem Monat des "
            f"Antragseingangs {on.isoformat()}; Leistungen der Eingliederungshilfe werden "
            "frühestens ab dem Ersten des Monats der Antragstellung erbracht (§ 108 Abs. 1 S. 2 "
            "SGB IX)."
        )
    return start


def _school_status(
    facts: PersonFacts, on: date, age: int, settings: RoutingSettings, *, required: bool
) -> str | None:
    """The school status as given, or as a school-end date says it; required for the ages of
    ``school_status_ages`` (AG-SGB IX NRW § 1 Abs. 2 S. 1: the end of schooling decides)."""
    status = None if facts.school is None else parse_school(facts.school)
    end = facts.school_finished
    if end is not None:
        status = _status_with_end(status, end, on)
    low, high = settings.school_status_ages
    if status is None and required and low <= age <= high:
        raise InputError(
            f"Der Schulstatus fehlt (--school {_school_choices('|')}): Für eine Person von {age} "
            "Jahren hängt die Zuständigkeit davon ab, ob die Leistung vor dem Ende der "
            "Schulausbildung beginnt (AG-SGB IX NRW § 1 Abs. 2 S. 1), nicht vom Alter; "
            f"Pflichtangabe im Alter von {low} bis {high} Jahren."
        )
    return status


def _status_with_end(status: str | None, end: date, on: date) -> str:
    """The school status that a school-end date says (received on ``on``), checked against the
    status given."""
    said = IN_SCHOOL if end > on else FINISHED
    if status is None or status == said:
        return said
    if status == NO_SCHOOL:
        raise InputError("--school none passt nicht zu einem Ende der Schulausbildung.")
    raise InputError(
        f"--school {status.replace('_', '-')} passt nicht zum Ende der Schulausbildung "
        f"({end.isoformat()}) bei Antragseingang am {on.isoformat()}: Ein Ende nach dem Eingang "
        "heißt in-school, eines davor finished."
    )


def route(facts: PersonFacts, on: date, agreement: Agreement) -> RoutingResult:
    """Decide carrier and parties for ``facts`` received on the day ``on`` (Europe/Berlin): the
    first of :data:`RULES` that decides names the carrier (or where a benefit outside the SGB IX
    belongs), then the other parties and the review flags are added.

    InputError when the facts are inconsistent or the school status is missing where it is
    required (ages ``[routing] school_status_from_age``–``school_status_to_age`` on ``on``)."""
    _check_facts(facts, on)
    age = age_on(facts.birth_date, on)
    benefit = parse_benefit(facts.benefit)
    # Outside the SGB IX neither the school nor the start decides where an application belongs.
    in_sgb_ix = benefit not in agreement.routing.not_sgb_ix
    situation = _Situation(
        facts=facts,
        on=on,
        benefit=benefit,
        town=agreement.town(facts.municipality),
        agreement=agreement,
        age=age,
        school=_school_status(facts, on, age, agreement.routing, required=in_sgb_ix),
        start=_check_start(facts.benefit_start, on) if in_sgb_ix else on,
        youth_town=agreement.town(facts.parents_municipality)
        if facts.parents_municipality
        else None,
    )
    for rule in RULES:
        ruling = rule(situation)
        if ruling is None:
            continue
        if ruling.belongs_to is not None:
            return RoutingResult(
                carrier=None,
                parties=(),
                legal_basis=ruling.basis,
                reason=ruling.reason,
                town=situation.town.slug,
                is_minor=situation.is_minor,
                belongs_to=ruling.belongs_to,
            )
        return _involved_parties(situation, ruling)
    raise AssertionError("the last rule always decides")  # pragma: no cover
