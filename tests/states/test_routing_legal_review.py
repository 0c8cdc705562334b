"""Routing after the legal review (legal-review.md C3, C7, M8, rulings 2 and 3; issue 9).

Scenarios S3, S4 and S5 of legal-review.md § 0.2 are reproduced with the corrected outcome.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from states.agreement import DEFAULT_PATH, load_agreement
from states.errors import ConfigError, InputError
from states.routing import PersonFacts, RoutingResult, route

RECEIVED = date(2026, 3, 2)
AGE_17 = date(2008, 11, 20)  # 17 on 2026-03-02 (S4)


@pytest.fixture(scope="module")
def agreement():
    return load_agreement()


def routed(
    agreement,
    birth: date,
    benefit: str,
    disabilities: str = "intellectual",
    *,
    town: str = "Unna",
    school: str | None = None,
    school_finished: date | None = None,
    start: date | None = None,
    on: date = RECEIVED,
) -> RoutingResult:
    facts = PersonFacts(
        birth_date=birth,
        municipality=town,
        disabilities=frozenset(disabilities.split(",")),
        benefit=benefit,
        school_finished=school_finished,
        school=school,
        benefit_start=start,
    )
    return route(facts, on, agreement)


# --- C7, ruling 3: the end of schooling decides, not the age ------------------------------------


def test_s4_without_a_school_status_a_17_year_olds_workshop_application_is_bad_input_naming_school(
    agreement,
):
    """legal-review § 0.2 S4 and ruling 3: "Make school status mandatory for ages of roughly 5–25";
    AG-SGB IX NRW § 1 Abs. 2 S. 1 ("bis zur Beendigung der Schulausbildung") [V recht.nrw.de]."""
    with pytest.raises(InputError) as info:
        routed(agreement, AGE_17, "sheltered_workshop")
    assert "--school" in info.value.message
    assert "AG-SGB IX NRW § 1 Abs. 2" in info.value.message
    assert "17 Jahren" in info.value.message


@pytest.mark.parametrize(
    ("birth", "required"),
    [
        (date(2021, 3, 3), False),  # 4 years old on 2026-03-02
        (date(2021, 3, 2), True),  # 5th birthday on the day of receipt
        (date(2000, 3, 2), False),  # 26th birthday on the day of receipt
        (date(2000, 3, 3), True),  # still 25
    ],
)
def test_the_school_status_is_required_from_5_to_25_on_the_day_of_receipt(
    agreement, birth, required
):
    """legal-review ruling 3 ("roughly 5–25"); the bounds are data: agreement.toml
    [routing] school_status_from_age / school_status_to_age."""
    if required:
        with pytest.raises(InputError, match="--school"):
            routed(agreement, birth, "assistance_services", "physical")
    else:
        assert routed(agreement, birth, "assistance_services", "physical").decided


def test_a_19_year_old_still_at_a_foerderschule_stays_with_the_kreis(agreement):
    """legal-review C7: "The age default also routes a 19-year-old still at a Förderschule (Sek II)
    to the LWL, although the Kreis is carrier until schooling ends" (AG-SGB IX NRW § 1 Abs. 2 S. 1,
    "längstens bis zur Beendigung der Sekundarstufe II")."""
    result = routed(agreement, date(2006, 9, 14), "assistance_services", school="in_school")
    assert result.carrier == "kreis-unna"
    assert "AG-SGB IX NRW § 1 Abs. 2 S. 1" in result.legal_basis
    assert not result.is_minor


def test_routing_asks_whether_the_benefit_starts_before_the_end_of_school(agreement):
    """legal-review C7: "route by the planned start of the benefit"; AG-SGB IX NRW § 1 Abs. 2 S. 1
    and Abs. 1 (a benefit that starts after schooling belongs to the LWL)."""
    end = date(2026, 7, 15)

    def carrier(start: date) -> str | None:
        return routed(
            agreement,
            AGE_17,
            "assistance_services",
            school="in_school",
            school_finished=end,
            start=start,
        ).carrier

    assert carrier(date(2026, 4, 1)) == "kreis-unna"
    assert carrier(date(2026, 7, 14)) == "kreis-unna"
    assert carrier(date(2026, 7, 15)) == "lwl"  # school has ended on the day the benefit starts
    assert carrier(date(2026, 8, 1)) == "lwl"


def test_the_benefit_start_defaults_to_the_day_of_receipt(agreement):
    """legal-review C7; AG-SGB IX NRW § 1 Abs. 2 S. 1: without a planned start, the benefit is
    taken to start when the application is received."""
    before = routed(agreement, AGE_17, "assistance_services", school_finished=date(2026, 3, 3))
    after = routed(agreement, AGE_17, "assistance_services", school_finished=date(2026, 3, 2))
    assert (before.carrier, after.carrier) == ("kreis-unna", "lwl")


def test_a_school_end_date_alone_says_whether_the_person_is_at_school(agreement):
    """AG-SGB IX NRW § 1 Abs. 2 S. 1: an end of schooling after the receipt means the schooling
    is running; one on or before it means it has ended."""
    running = routed(agreement, AGE_17, "assistance_services", school_finished=date(2027, 6, 30))
    ended = routed(agreement, AGE_17, "assistance_services", school_finished=date(2025, 7, 1))
    assert (running.carrier, ended.carrier) == ("kreis-unna", "lwl")


@pytest.mark.parametrize(
    ("school", "school_finished", "fragment"),
    [
        ("finished", date(2026, 7, 15), "--school finished passt nicht"),
        ("none", date(2025, 7, 1), "--school none"),
        ("in_school", date(2025, 7, 1), "--school in-school passt nicht"),
        ("dropout", None, "in-school, finished, none"),
    ],
)
def test_a_school_status_that_contradicts_the_school_end_date_is_bad_input(
    agreement, school, school_finished, fragment
):
    """AG-SGB IX NRW § 1 Abs. 2 S. 1: the status and the date must tell the same story, or the
    carrier would be chosen from a guess."""
    with pytest.raises(InputError) as info:
        routed(
            agreement,
            AGE_17,
            "assistance_services",
            school=school,
            school_finished=school_finished,
        )
    assert fragment in info.value.message


def test_a_benefit_start_before_the_month_of_receipt_is_bad_input(agreement):
    """§ 108 Abs. 1 S. 2 SGB IX: benefits "frühestens ab dem Ersten des Monats der
    Antragstellung"."""
    with pytest.raises(InputError, match=re.escape("§ 108 Abs. 1 S. 2 SGB IX")):
        routed(
            agreement, AGE_17, "assistance_services", school="in_school", start=date(2026, 2, 27)
        )
    first = routed(
        agreement, AGE_17, "assistance_services", school="in_school", start=date(2026, 3, 1)
    )
    assert first.carrier == "kreis-unna"


def test_a_person_who_attends_no_school_gets_the_lwl_where_it_is_the_carrier_either_way(agreement):
    """AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 3: Kindertageseinrichtung stays with the LWL before the end
    of schooling, and § 1 Abs. 1 gives it the LWL afterwards."""
    result = routed(agreement, date(2020, 9, 1), "daycare_centre", "physical", school="none")
    assert result.carrier == "lwl"
    assert "AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 3" in result.legal_basis


# --- C7: the sheltered workshop -----------------------------------------------------------------


def test_s4_the_work_area_does_not_start_before_school_ends_and_routing_says_so(agreement):
    """legal-review § 0.2 S4 and C7: "Only the work area (Arbeitsbereich) is EGH"; it follows the
    school and the entry/training area (§§ 57, 58 SGB IX), so its carrier is the LWL (AG-SGB IX NRW
    § 1 Abs. 1; § 63 Abs. 2 SGB IX)."""
    result = routed(agreement, AGE_17, "sheltered_workshop", school="in-school")
    assert result.carrier == "lwl"
    assert "kreis-unna" not in result.parties
    assert "beginnt nicht vor dem Ende der Schulausbildung" in result.reason
    assert "§ 63 Abs. 2 SGB IX" in result.legal_basis
    (flag,) = result.review_flags
    assert "02.03.2026" in flag
    assert "workshop_entry_training" in flag
    assert "§ 63 Abs. 1 Nr. 1 SGB IX" in flag


def test_the_work_area_after_the_end_of_school_goes_to_the_lwl_without_a_flag(agreement):
    """AG-SGB IX NRW § 1 Abs. 1; § 63 Abs. 2 SGB IX: after schooling, the work area is the LWL's."""
    result = routed(
        agreement,
        AGE_17,
        "sheltered_workshop",
        school="in_school",
        school_finished=date(2026, 7, 15),
        start=date(2026, 9, 1),
    )
    assert result.carrier == "lwl"
    assert result.review_flags == ()


def test_s4_entry_procedure_and_vocational_training_go_to_the_agentur_fuer_arbeit(agreement):
    """legal-review § 0.2 S4 and C7: "the entry procedure and vocational training area … are the
    Bundesagentur für Arbeit's (§ 63 Abs. 1 Nr. 1)"; the Bundesagentur is a rehabilitation carrier
    (§ 6 Abs. 1 Nr. 2 SGB IX)."""
    result = routed(agreement, AGE_17, "workshop_entry_training", school="in_school")
    assert result.carrier == "agentur-fuer-arbeit-hamm"
    assert agreement.party(result.carrier).kind == "employment_agency"
    assert "§ 63 Abs. 1 Nr. 1 SGB IX" in result.legal_basis
    assert "§ 6 Abs. 1 Nr. 2 SGB IX" in result.legal_basis
    assert result.parties == ("agentur-fuer-arbeit-hamm",)  # no youth office: no Gesamtplan
    assert any("§ 63 Abs. 1 Nr. 2 bis 4 SGB IX" in flag for flag in result.review_flags)


# --- ruling 2: mental and another disability in a minor -----------------------------------------


def test_s3_a_minor_with_mental_and_intellectual_disability_goes_to_the_egh_carrier_flagged(
    agreement,
):
    """legal-review § 0.2 S3 and ruling 2: "Default to the EGH carrier … and flag for review of
    purely mental, non-overlapping needs"; § 10 Abs. 4 S. 2 SGB VIII; BVerwG 22.10.2009 –
    5 C 19.08."""
    result = routed(
        agreement,
        date(2014, 5, 1),
        "school_assistant",
        "mental,intellectual",
        town="Bönen",
        school="in_school",
    )
    assert result.decided
    assert result.carrier == "kreis-unna"
    assert "§ 10 Abs. 4 S. 2 SGB VIII" in result.legal_basis
    assert result.parties == ("kreis-unna", "jugendamt-kreis-unna")
    (flag,) = result.review_flags
    assert "§ 10 Abs. 4 S. 2 SGB VIII" in flag
    assert "§ 35a" in flag


@pytest.mark.parametrize(
    ("benefit", "disabilities", "carrier"),
    [
        ("residential_24h", "physical,mental", "lwl"),  # AG-SGB IX NRW § 1 Abs. 2 S. 2 Nr. 1
        ("assistance_services", "mental,sensory", "kreis-unna"),  # sensory is physical, § 1 EinglHV
        ("school_assistant", "addiction,intellectual", "kreis-unna"),  # addiction is mental, § 3
    ],
)
def test_a_minor_with_overlapping_needs_is_no_longer_undecided(
    agreement, benefit, disabilities, carrier
):
    """legal-review ruling 2: § 10 Abs. 4 S. 2 SGB VIII gives the default (EGH first); the carrier
    follows AG-SGB IX NRW § 1."""
    result = routed(agreement, date(2014, 5, 1), benefit, disabilities, school="in_school")
    assert result.carrier == carrier
    assert len(result.review_flags) == 1


# --- M8: § 41 SGB VIII for young adults ---------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "disabilities", "flagged"),
    [
        (date(2008, 3, 2), "mental", True),  # 18th birthday on the day of receipt
        (date(2005, 3, 3), "addiction", True),  # 20, addiction counts as mental (§ 3 EinglHV)
        (date(2005, 3, 2), "mental", False),  # 21st birthday: § 41 Abs. 1 S. 2 "in der Regel"
        (date(2007, 1, 1), "physical", False),  # 19, no mental disability
    ],
)
def test_a_young_adult_with_a_mental_disability_is_flagged_for_a_section_41_check(
    agreement, birth, disabilities, flagged
):
    """legal-review M8: "A careful carrier flags 18–20-year-olds with a mental disability"; § 41
    Abs. 1 S. 2 SGB VIII (in der Regel bis zur Vollendung des 21. Lebensjahres), § 10 Abs. 4 S. 1
    SGB VIII."""
    result = routed(agreement, birth, "supported_living", disabilities, school="finished")
    assert result.carrier == "lwl"
    flags = [f for f in result.review_flags if "§ 41" in f]
    assert bool(flags) is flagged
    if flagged:
        assert "§ 10 Abs. 4 S. 1 SGB VIII" in flags[0]


# --- C3: not every application is a Gesamtplanverfahren -----------------------------------------


def test_s5_hilfe_zur_pflege_is_no_sgb_ix_case_and_says_where_it_belongs(agreement):
    """legal-review § 0.2 S5 and C3: "Sozialhilfe is not a Rehabilitationsträger" (§ 6 Abs. 1
    SGB IX); the seed: "Für die Leistungen der Hilfe zur Pflege wird auf die entsprechend bestehende
    eigene Kooperationsvereinbarung Bezug genommen"."""
    result = routed(agreement, date(1949, 8, 1), "care_assistance", "physical")  # 76 years old
    assert result.outcome == "not_sgb_ix"
    assert result.carrier is None
    assert result.parties == ()
    assert result.belongs_to == "kreis-unna-sozialamt"
    assert agreement.party(result.belongs_to).kind == "social_assistance"
    assert "§ 6 Abs. 1 SGB IX" in result.legal_basis
    assert "§§ 61 ff. SGB XII" in result.legal_basis
    assert "eigenen Kooperationsvereinbarung" in result.reason
    assert "§ 14 SGB IX" in result.reason


def test_s5_help_for_special_social_difficulties_is_no_sgb_ix_case_and_goes_to_its_carrier(
    agreement,
):
    """legal-review § 0.2 S5 and C3: §§ 67 ff. SGB XII have their own planning (§ 69 SGB XII
    ordinance); in NRW the LWL carries housing-related help (domain.md § 4.3 [V2])."""
    result = routed(agreement, date(1981, 1, 9), "special_social_difficulties_help", "mental")
    assert result.outcome == "not_sgb_ix"
    assert result.belongs_to == "lwl"
    assert "§§ 67 ff. SGB XII" in result.legal_basis
    assert "§ 69 SGB XII" in result.reason
    assert result.review_flags == ()


def test_an_application_outside_the_sgb_ix_needs_no_school_status(agreement):
    """C3: outside the SGB IX, AG-SGB IX NRW § 1 Abs. 2 does not decide where an application
    belongs, so a 22-year-old's application is answered without --school."""
    result = routed(agreement, date(2003, 6, 1), "special_social_difficulties_help", "physical")
    assert result.outcome == "not_sgb_ix"


def test_for_a_minor_the_refusal_names_the_priority_of_youth_welfare(agreement):
    """§ 10 Abs. 4 S. 1 SGB VIII: youth-welfare benefits come before those of the SGB XII."""
    result = routed(agreement, date(2014, 5, 1), "care_assistance", "physical")
    assert result.outcome == "not_sgb_ix"
    assert "§ 10 Abs. 4 S. 1 SGB VIII" in result.reason


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "vereinbarung.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_which_benefits_are_outside_the_sgb_ix_and_where_they_belong_is_agreement_data(tmp_path):
    """C3 and the project rule that unverified facts are data: [routing.not_sgb_ix] in
    agreement.toml names the party (domain.md § 4.3 marks the HzP unit [U])."""
    path = _variant(tmp_path, 'party = "kreis-unna-sozialamt"', 'party = "kreis-unna"')
    other = load_agreement(path)
    result = routed(other, date(1949, 8, 1), "care_assistance", "physical")
    assert result.belongs_to == "kreis-unna"


def test_a_not_sgb_ix_entry_naming_an_unknown_party_is_refused(tmp_path):
    """The agreement is checked when it loads (states/agreement.py)."""
    path = _variant(tmp_path, 'party = "kreis-unna-sozialamt"', 'party = "sozialamt"')
    with pytest.raises(ConfigError) as info:
        load_agreement(path)
    assert "routing.not_sgb_ix.care_assistance.party" in info.value.message


def test_the_old_age_default_is_refused_by_the_loader_with_the_reason(tmp_path):
    """legal-review ruling 3: "Not defensible as a silent default"; the key
    assume_in_school_below_age must not come back (AG-SGB IX NRW § 1 Abs. 2 S. 1)."""
    path = _variant(
        tmp_path,
        "school_status_from_age = 5\n",
        "school_status_from_age = 5\nassume_in_school_below_age = 18\n",
    )
    with pytest.raises(ConfigError) as info:
        load_agreement(path)
    message = info.value.message
    assert "routing.assume_in_school_below_age" in message
    assert "AG-SGB IX NRW § 1 Abs. 2 S. 1" in message
    assert "--school" in message


def test_the_agentur_fuer_arbeit_hamm_is_a_party_of_the_agreement(agreement):
    """legal-review C7: "add the Agentur für Arbeit Hamm as party and forwarding target";
    § 6 Abs. 1 Nr. 2 SGB IX."""
    party = agreement.party("agentur-fuer-arbeit-hamm")
    assert party.name == "Agentur für Arbeit Hamm"
    assert party.kind == "employment_agency"
