"""Responsibility routing: the decision table of domain.md § 4.4 and its edges."""

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


def decide(agreement, birth, benefit, disabilities="intellectual", town="Unna", school=None, on=ON):
    facts = PersonFacts(
        birth_date=birth,
        municipality=town,
        disabilities=parse_disabilities(disabilities),
        benefit=benefit,
        school_finished=school,
    )
    return route(facts, on, agreement)


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
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 1",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "school-age, foster family",
            PUPIL,
            "foster_family",
            "physical",
            None,
            "lwl",
            "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 2",
            ("lwl", "jugendamt-unna"),
        ),
        (
            "school-age, therapeutic day centre",
            PUPIL,
            "therapeutic_day_centre",
            "intellectual",
            None,
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
            None,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "school-age, education",
            PUPIL,
            "education_participation",
            "sensory",
            None,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "school-age, home assistance",
            PUPIL,
            "assistance_services",
            "physical",
            None,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "school-age, personal budget",
            PUPIL,
            "personal_budget",
            "intellectual",
            None,
            "kreis-unna",
            "AG-SGB IX NRW § 1 Abs. 2 S. 1",
            ("kreis-unna", "jugendamt-unna"),
        ),
        (
            "minor, mental (§ 35a)",
            PUPIL,
            "school_assistant",
            "mental",
            None,
            "jugendamt-unna",
            "§ 35a SGB VIII",
            ("jugendamt-unna",),
        ),
        (
            "minor, addiction counts as mental",
            PUPIL,
            "assistance_services",
            "addiction",
            None,
            "jugendamt-unna",
            "§ 10 Abs. 4 S. 1 SGB VIII",
            ("jugendamt-unna",),
        ),
        (
            "minor, mental, residential: still the youth office",
            PUPIL,
            "residential_24h",
            "mental",
            None,
            "jugendamt-unna",
            "§ 35a SGB VIII",
            ("jugendamt-unna",),
        ),
        (
            "§§ 67 ff. SGB XII, adult",
            ADULT,
            "special_social_difficulties_help",
            "mental",
            None,
            "lwl",
            "§§ 67 ff. SGB XII",
            ("lwl", "spdi"),
        ),
        (
            "Hilfe zur Pflege outside EGH, adult",
            ADULT,
            "care_assistance",
            "physical",
            None,
            "kreis-unna",
            "§§ 61 ff. SGB XII",
            ("kreis-unna",),
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
    result = decide(agreement, PUPIL, "school_assistant", "mental", town=town)
    assert result.carrier == youth_office
    assert result.town == slug
    assert result.is_minor
    assert "§ 35a SGB VIII" in result.legal_basis


@pytest.mark.parametrize("town", ["Bönen", "Kamen", "Werne"])
def test_the_youth_office_of_the_town_takes_part_when_the_kreis_or_lwl_decides_for_a_minor(
    agreement, town
):
    result = decide(agreement, PUPIL, "school_assistant", "physical", town=town)
    assert result.parties[1] == agreement.town(town).youth_office
    assert "§ 117 Abs. 6 SGB IX" in result.legal_basis


# --- undecided: the rules hand the case to a human ------------------------------------------------


@pytest.mark.parametrize(
    ("why", "birth", "benefit", "disabilities", "school", "reason_part"),
    [
        (
            "mental and intellectual",
            PUPIL,
            "school_assistant",
            "mental,intellectual",
            None,
            "überschneidenden",
        ),
        (
            "mental and physical",
            PUPIL,
            "residential_24h",
            "physical, mental",
            None,
            "überschneidenden",
        ),
        (
            "mental and sensory (a physical disability, § 1 EinglHV)",
            PUPIL,
            "assistance_services",
            "mental,sensory",
            None,
            "überschneidenden",
        ),
        (
            "school benefit after the end of school",
            date(2008, 1, 1),
            "school_assistant",
            "physical",
            date(2026, 7, 1),
            "endete",
        ),
        (
            "§§ 67 ff. for a minor",
            PUPIL,
            "special_social_difficulties_help",
            "physical",
            None,
            "§ 10 Abs. 4 S. 1 SGB VIII",
        ),
        (
            "Hilfe zur Pflege for a minor",
            PUPIL,
            "care_assistance",
            "physical",
            None,
            "§ 10 Abs. 4 S. 1 SGB VIII",
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
    result = decide(agreement, PUPIL, "school_assistant", "mental,intellectual", town="Bönen")
    assert result.parties == ("jugendamt-kreis-unna",)


# --- age and time ---------------------------------------------------------------------------------


def test_a_person_is_a_minor_until_the_day_before_the_eighteenth_birthday(agreement):
    birth = date(2008, 11, 30)
    before = decide(agreement, birth, "supported_living", "mental", on=date(2026, 11, 29))
    after = decide(agreement, birth, "supported_living", "mental", on=date(2026, 11, 30))
    assert (before.is_minor, before.carrier) == (True, "jugendamt-unna")
    assert (after.is_minor, after.carrier) == (False, "lwl")
    assert after.parties == ("lwl", "spdi")


def test_someone_born_on_29_february_comes_of_age_on_1_march_in_a_common_year(agreement):
    birth = date(2008, 2, 29)
    assert decide(agreement, birth, "supported_living", "mental", on=date(2026, 2, 28)).is_minor
    assert not decide(agreement, birth, "supported_living", "mental", on=date(2026, 3, 1)).is_minor


def test_without_a_school_end_date_a_minor_counts_as_still_at_school(agreement):
    result = decide(agreement, date(2009, 6, 1), "supported_living", "physical")
    assert result.carrier == "kreis-unna"
    assert "18 Jahren" in result.reason


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
