"""Responsibility routing: the decision table of domain.md § 4.4 and its edges.

The legal-review findings on routing (C3, C7, M8, rulings 2 and 3) have their own tests in
``test_routing_legal_review.py``."""

from __future__ import annotations

from datetime import date

import pytest

from states.agreement import load_agreement
from states.errors import InputError
from states.glossary import BENEFIT_KINDS, DISABILITY_TYPES
from states.routing import (
    PersonFacts,
    RoutingResult,
    parse_benefit,
    parse_disabilities,
    route,
)

ON = date(2026, 11, 29)
ADULT = date(1990, 6, 1)  # 36
PUPIL = date(2014, 5, 1)  # 12
TODDLER = date(2023, 2, 1)  # 3


@pytest.fixture(scope="module")
def agreement():
    return load_agreement()


def decide(
    agreement,
    birth,
    benefit,
    disabilities="intellectual",
    town="Unna",
    school: date | str | None = None,
    on=ON,
    start=None,
):
    """Route; ``school`` is the school status (``"in_school"`` …) or the school-end date."""
    facts = PersonFacts(
        birth_date=birth,
        municipality=town,
        disabilities=parse_disabilities(disabilities),
        benefit=benefit,
        school_finished=school if isinstance(school, date) else None,
        school=school if isinstance(school, str) else None,
        benefit_start=start,
    )
    return route(facts, on, agreement)


AT_SCHOOL = "in_school"


# --- the decision table, row by row ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "birth", "benefit", "disabilities", "school", "carrier", "basis", "parties"),
    [
        (
            "adult, schooling finished, housing",
            ADULT,
            "supported_living",
            "physical",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl",),
        ),
        (
            "adult, special housing form",
            ADULT,
            "special_housing_form",
            "intellectual",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl",),
        ),
        (
            "adult, work",
            ADULT,
            "sheltered_workshop",
            "intellectual",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl", "jobcenter-kreis-unna"),
        ),
        (
            "adult, mental: SPDI takes part",
            ADULT,
            "assistance_services",
            "mental",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl", "spdi"),
        ),
        (
            "adult, addiction: SPDI takes part",
            ADULT,
            "supported_living",
            "addiction",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl", "spdi"),
        ),
        (
            "school-age, day and night",
            PUPIL,
            "residential_24h",
            "intellectual",
            AT_SCHOOL,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 1",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "school-age, foster family",
            PUPIL,
            "foster_family",
            "physical",
            AT_SCHOOL,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 2",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "school-age, therapeutic day centre",
            PUPIL,
            "therapeutic_day_centre",
            "intellectual",
            AT_SCHOOL,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 3",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "pre-school, day-care centre",
            TODDLER,
            "daycare_centre",
            "physical",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 3",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "pre-school, child-minding",
            TODDLER,
            "childminding",
            "intellectual",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 3",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "early intervention",
            TODDLER,
            "early_intervention",
            "physical",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 4",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "school-age, school assistant",
            PUPIL,
            "school_assistant",
            "intellectual",
            AT_SCHOOL,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "school-age, education",
            PUPIL,
            "education_participation",
            "sensory",
            AT_SCHOOL,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "school-age, home assistance",
            PUPIL,
            "assistance_services",
            "physical",
            AT_SCHOOL,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "school-age, personal budget",
            PUPIL,
            "personal_budget",
            "intellectual",
            AT_SCHOOL,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "minor, mental (§ 35a)",
            PUPIL,
            "school_assistant",
            "mental",
            AT_SCHOOL,
            "jugendamt-unna",
            "§ 35a SGB VIII",
            ("jugendamt-unna",),
        ),
        (
            "minor, addiction counts as mental",
            PUPIL,
            "assistance_services",
            "addiction",
            AT_SCHOOL,
            "jugendamt-unna",
            "§ 10 Abs. 4 S. 1 SGB VIII",
            ("jugendamt-unna",),
        ),
        (
            "minor, mental, residential: still the youth office",
            PUPIL,
            "residential_24h",
            "mental",
            AT_SCHOOL,
            "jugendamt-unna",
            "§ 35a SGB VIII",
            ("jugendamt-unna",),
        ),
        (
            "year 13 pupil aged 19: Kreis until school ends",
            date(2007, 6, 1),
            "assistance_services",
            "physical",
            date(2027, 6, 30),
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna",),
        ),
        (
            "school finished at 16",
            date(2010, 1, 1),
            "supported_living",
            "physical",
            date(2026, 7, 1),
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "adult work participation, mental",
            ADULT,
            "work_participation",
            "mental",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 1",
            ("lwl", "spdi", "jobcenter-kreis-unna"),
        ),
    ],
)
def test_the_decision_table_routes_each_row_to_its_carrier(
    agreement, row, birth, benefit, disabilities, school, carrier, basis, parties
):
    result = decide(agreement, birth, benefit, disabilities, school=school)
    assert result.carrier == carrier, row
    assert basis in result.legal_basis, row
    assert result.parties == parties, row
    assert result.decided
    assert result.reason.endswith(".")


@pytest.mark.parametrize(
    ("town", "youth_office", "slug"),
    [
        ("Bergkamen", "jugendamt-bergkamen", "bergkamen"),
        ("Bönen", "jugendamt-kreis-unna", "boenen"),
        ("Boenen", "jugendamt-kreis-unna", "boenen"),
        ("Fröndenberg/Ruhr", "jugendamt-kreis-unna", "froendenberg"),
        ("Froendenberg", "jugendamt-kreis-unna", "froendenberg"),
        ("Holzwickede", "jugendamt-kreis-unna", "holzwickede"),
        ("Kamen", "jugendamt-kamen", "kamen"),
        ("Lünen", "jugendamt-luenen", "luenen"),
        ("Luenen", "jugendamt-luenen", "luenen"),
        ("Schwerte", "jugendamt-schwerte", "schwerte"),
        ("Selm", "jugendamt-selm", "selm"),
        ("Unna", "jugendamt-unna", "unna"),
        ("Werne", "jugendamt-werne", "werne"),
    ],
)
def test_a_minor_with_a_mental_disability_goes_to_the_youth_office_of_the_town(
    agreement, town, youth_office, slug
):
    result = decide(agreement, PUPIL, "school_assistant", "mental", town=town, school=AT_SCHOOL)
    assert result.carrier == youth_office
    assert result.town == slug
    assert result.is_minor
    assert "§ 35a SGB VIII" in result.legal_basis


@pytest.mark.parametrize("town", ["Bönen", "Kamen", "Werne"])
def test_the_youth_office_of_the_town_takes_part_when_the_kreis_or_lwl_decides_for_a_minor(
    agreement, town
):
    result = decide(agreement, PUPIL, "school_assistant", "physical", town=town, school=AT_SCHOOL)
    assert result.parties[1] == agreement.town(town).youth_office
    assert "§ 117 Abs. 6 SGB IX" in result.legal_basis


# --- undecided: the rules hand the case to a human ------------------------------------------------


@pytest.mark.parametrize(
    ("why", "birth", "benefit", "disabilities", "school", "reason_part"),
    [
        (
            "school benefit after the end of school",
            date(2008, 1, 1),
            "school_assistant",
            "physical",
            date(2026, 7, 1),
            "endete",
        ),
        (
            "school benefit for a person who attends no school",
            PUPIL,
            "education_participation",
            "physical",
            "none",
            "keine Schule",
        ),
        (
            "a person who attends no school, benefit not with the LWL either way",
            date(2020, 6, 1),
            "assistance_services",
            "physical",
            "none",
            "entscheidet ein Mensch",
        ),
    ],
)
def test_a_case_the_rules_cannot_settle_is_undecided_with_the_reason(
    agreement, why, birth, benefit, disabilities, school, reason_part
):
    result = decide(agreement, birth, benefit, disabilities, school=school)
    assert result.carrier is None, why
    assert not result.decided
    assert reason_part in result.reason, why
    assert result.legal_basis


def test_an_undecided_minor_still_names_the_youth_office_as_a_party(agreement):
    result = decide(agreement, PUPIL, "assistance_services", "physical", "Bönen", school="none")
    assert result.carrier is None
    assert result.parties == ("jugendamt-kreis-unna",)


# --- age and time ---------------------------------------------------------------------------------


def test_a_person_is_a_minor_until_the_day_before_the_eighteenth_birthday(agreement):
    birth, done = date(2008, 11, 30), "finished"
    before = decide(
        agreement, birth, "supported_living", "mental", school=done, on=date(2026, 11, 29)
    )
    after = decide(
        agreement, birth, "supported_living", "mental", school=done, on=date(2026, 11, 30)
    )
    assert (before.is_minor, before.carrier) == (True, "jugendamt-unna")
    assert (after.is_minor, after.carrier) == (False, "lwl")
    assert after.parties == ("lwl", "spdi")


def test_someone_born_on_29_february_comes_of_age_on_1_march_in_a_common_year(agreement):
    birth, done = date(2008, 2, 29), "finished"
    assert decide(
        agreement, birth, "supported_living", "mental", school=done, on=date(2026, 2, 28)
    ).is_minor
    assert not decide(
        agreement, birth, "supported_living", "mental", school=done, on=date(2026, 3, 1)
    ).is_minor


def test_the_handover_to_the_lwl_follows_the_end_of_school_not_the_age(agreement):
    birth, school = date(2007, 6, 1), date(2027, 6, 30)
    during = decide(
        agreement, birth, "assistance_services", "physical", school=school, on=date(2027, 6, 29)
    )
    on_the_day = decide(
        agreement, birth, "assistance_services", "physical", school=school, on=date(2027, 6, 30)
    )
    assert (during.carrier, on_the_day.carrier) == ("kreis-unna", "lwl")


def test_a_birth_date_after_the_reference_day_is_bad_input(agreement):
    with pytest.raises(InputError, match="Geburtsdatum"):
        decide(agreement, date(2027, 1, 1), "supported_living")


def test_a_child_born_on_the_reference_day_is_routed(agreement):
    assert decide(agreement, ON, "early_intervention", "physical").carrier == "lwl"


def test_an_unknown_town_is_bad_input(agreement):
    with pytest.raises(InputError, match="Dortmund"):
        decide(agreement, ADULT, "supported_living", town="Dortmund")


def test_the_result_is_a_routing_result_with_the_documented_fields(agreement):
    result = decide(agreement, ADULT, "supported_living")
    assert isinstance(result, RoutingResult)
    assert result.town == "unna"
    assert result.is_minor is False


# --- parsing --------------------------------------------------------------------------------------


def test_the_disability_types_and_benefit_kinds_are_the_glossary_ids(agreement):
    assert DISABILITY_TYPES == ("physical", "intellectual", "mental", "sensory", "addiction")
    for kind in (
        "supported_living",
        "residential_24h",
        "school_assistant",
        "early_intervention",
        "daycare_centre",
        "foster_family",
        "therapeutic_day_centre",
        "sheltered_workshop",
    ):
        assert kind in BENEFIT_KINDS
    settings = agreement.routing
    assert settings.lwl_during_school | settings.school_benefits | settings.work_benefits <= set(
        BENEFIT_KINDS
    )


def test_several_disabilities_parse_from_a_comma_separated_list():
    assert parse_disabilities("mental, Physical") == frozenset({"mental", "physical"})


@pytest.mark.parametrize("text", ["", " , ", "seelisch", "mental,blind"])
def test_an_unknown_or_missing_disability_is_refused_listing_the_valid_ones(text):
    with pytest.raises(InputError) as info:
        parse_disabilities(text)
    assert "physical, intellectual, mental, sensory, addiction" in info.value.message


def test_a_benefit_parses_case_and_dash_insensitively():
    assert parse_benefit("School-Assistant") == "school_assistant"


def test_an_unknown_benefit_is_refused_listing_the_valid_ones():
    with pytest.raises(InputError) as info:
        parse_benefit("taxi")
    assert "taxi" in info.value.message
    assert "school_assistant" in info.value.message
