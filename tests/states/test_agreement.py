"""The agreement file: loaded, validated, and refused with file, key and problem when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from states.agreement import (
    DEFAULT_PATH,
    REQUIRED_RULES,
    Party,
    deemed_approval_applies,
    load_agreement,
)
from states.calendar import Period
from states.decision import Process
from states.errors import ConfigError, InputError

TEXT = DEFAULT_PATH.read_text(encoding="utf-8")


@pytest.fixture
def agreement():
    return load_agreement()


def variant(tmp_path: Path, old: str, new: str) -> Path:
    """The packaged file with one exact passage replaced, written to tmp_path."""
    assert TEXT.count(old) == 1, f"passage not unique in agreement.toml: {old!r}"
    path = tmp_path / "vereinbarung.toml"
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_agreement(path)
    return info.value.message


# --- the packaged file ----------------------------------------------------------------------------


def test_the_packaged_agreement_loads_with_every_required_rule(agreement):
    assert set(REQUIRED_RULES) <= set(agreement.rules)
    assert agreement.holiday_region == "NW"
    assert len(agreement.towns) == 10


def test_the_rules_carry_period_norm_anchor_and_process_from_the_file(agreement):
    jurisdiction = agreement.rule("jurisdiction")
    assert jurisdiction.period == Period(2, "w")
    assert jurisdiction.norm == "§ 14 Abs. 1 S. 1 SGB IX"
    assert jurisdiction.anchor_event == "application_received"
    assert jurisdiction.process is Process.CASE
    assert jurisdiction.shift == "forward"
    decision = agreement.rule("decision")
    assert decision.period == Period(3, "w")
    after_statement = decision.variant("after_statement")
    assert after_statement.period == Period(2, "w")
    assert after_statement.norm == "§ 14 Abs. 2 S. 3 SGB IX"
    assert after_statement.anchor_event == "statement_delivered"
    assert decision.variant("other_carriers").period == Period(6, "w")
    assert decision.variant("conference").period == Period(2, "m")
    assert decision.variant("conference").anchor_event == "application_received"
    assert agreement.rule("statement").process is Process.STATEMENT
    assert agreement.rule("statement").responsible == "spdi"
    assert agreement.rule("review").period == Period(2, "y")
    assert agreement.rule("review").shift == "backward"
    assert agreement.rule("housing_ack").responsible == "housing"


def test_loading_the_default_twice_returns_the_cached_agreement():
    assert load_agreement() is load_agreement()


@pytest.mark.parametrize(
    ("name", "slug", "youth_office"),
    [
        ("Bergkamen", "bergkamen", "jugendamt-bergkamen"),
        ("Bönen", "boenen", "jugendamt-kreis-unna"),
        ("Boenen", "boenen", "jugendamt-kreis-unna"),
        ("boenen", "boenen", "jugendamt-kreis-unna"),
        ("BÖNEN", "boenen", "jugendamt-kreis-unna"),
        ("Fröndenberg/Ruhr", "froendenberg", "jugendamt-kreis-unna"),
        ("Froendenberg", "froendenberg", "jugendamt-kreis-unna"),
        ("fröndenberg", "froendenberg", "jugendamt-kreis-unna"),
        ("Froendenberg/Ruhr", "froendenberg", "jugendamt-kreis-unna"),
        ("Holzwickede", "holzwickede", "jugendamt-kreis-unna"),
        ("Kamen", "kamen", "jugendamt-kamen"),
        ("Lünen", "luenen", "jugendamt-luenen"),
        ("Luenen", "luenen", "jugendamt-luenen"),
        ("Schwerte", "schwerte", "jugendamt-schwerte"),
        (" selm ", "selm", "jugendamt-selm"),
        ("Unna", "unna", "jugendamt-unna"),
        ("Werne", "werne", "jugendamt-werne"),
        ("Lu\u0308nen", "luenen", "jugendamt-luenen"),  # decomposed umlaut (macOS input)
    ],
)
def test_towns_are_found_with_or_without_umlauts_and_case(agreement, name, slug, youth_office):
    town = agreement.town(name)
    assert (town.slug, town.youth_office) == (slug, youth_office)


def test_an_unknown_town_is_refused_listing_the_ten_towns(agreement):
    with pytest.raises(InputError) as info:
        agreement.town("Dortmund")
    message = info.value.message
    assert "Dortmund" in message
    for name in (
        "Bergkamen",
        "Bönen",
        "Fröndenberg/Ruhr",
        "Holzwickede",
        "Kamen",
        "Lünen",
        "Schwerte",
        "Selm",
        "Unna",
        "Werne",
    ):
        assert name in message


def test_parties_supervisors_and_the_housing_contact_are_looked_up(agreement):
    assert agreement.party("lwl").kind == "egh_carrier"
    assert agreement.supervisor_of("lwl") == "lwl-leitung"
    assert agreement.supervisor_of("spdi") == "kreis-unna-leitung"
    assert agreement.supervisor_of("lwl-leitung") == "lwl-leitung"
    assert agreement.housing_party() == "kreis-unna-wohnen"
    assert agreement.party("jugendamt-luenen").unverified is True


@pytest.mark.parametrize(
    ("role", "party"),
    [
        ("carrier", "kreis-unna"),
        ("health_service", "spdi"),
        ("spdi", "spdi"),
        ("housing_contact", "kreis-unna-wohnen"),
        ("housing", "kreis-unna-wohnen"),
        ("jobcenter-kreis-unna", "jobcenter-kreis-unna"),
    ],
)
def test_a_role_names_the_carrier_the_one_party_of_a_kind_or_a_party(agreement, role, party):
    assert agreement.party_for(role, "kreis-unna") == party


def test_every_rule_names_the_same_party_as_before_the_roles_were_data(agreement):
    responsible = {
        rid: agreement.party_for(r.responsible, "lwl") for rid, r in agreement.rules.items()
    }
    assert responsible == {
        "jurisdiction": "lwl",
        "decision": "lwl",
        "statement": "spdi",
        "review": "lwl",
        "approval_end": "lwl",
        "housing_ack": "kreis-unna-wohnen",
        "hilfeplan_review": "lwl",
    }


def test_a_role_that_names_no_single_party_is_a_configuration_error(agreement):
    with pytest.raises(ConfigError, match="erlaubt sind"):
        agreement.party_for("doctor", "lwl")
    with pytest.raises(ConfigError, match="gefunden: 8"):
        agreement.party_for("youth_office", "lwl")


def test_a_rule_may_name_its_responsible_party_by_id(tmp_path):
    path = variant(tmp_path, 'responsible = "spdi"', 'responsible = "jobcenter-kreis-unna"')
    assert load_agreement(path).rule("statement").responsible == "jobcenter-kreis-unna"


def test_an_unknown_party_or_rule_is_bad_input(agreement):
    with pytest.raises(InputError, match="nobody"):
        agreement.party("nobody")
    with pytest.raises(InputError, match="jurisdiction"):
        agreement.rule("nope")


# --- § 18 Abs. 7 SGB IX ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "applies"),
    [
        ("egh_carrier", False),
        ("youth_office", False),
        ("health_service", True),
        ("job_centre", True),
    ],
)
def test_deemed_approval_never_applies_to_egh_carriers_or_youth_offices(kind, applies):
    assert deemed_approval_applies(Party(id="x", name="X", kind=kind)) is applies


def test_every_carrier_of_the_agreement_is_exempt_from_deemed_approval(agreement):
    for party in agreement.parties.values():
        if party.kind in ("egh_carrier", "youth_office"):
            assert not deemed_approval_applies(party), party.id


def test_a_deemed_approval_key_in_a_rule_is_refused_citing_section_18_7(tmp_path):
    path = variant(
        tmp_path,
        'reminder_event = "decision_reminder"\n',
        'reminder_event = "decision_reminder"\ndeemed_approval = true\n',
    )
    message = refused(path)
    assert str(path) in message
    assert "deadlines.decision.deemed_approval" in message
    assert "§ 18 Abs. 7 SGB IX" in message


def test_a_deemed_approval_key_anywhere_is_refused(tmp_path):
    path = variant(
        tmp_path,
        'kind = "egh_carrier"\nsupervisor = "lwl-leitung"\n',
        'kind = "egh_carrier"\nsupervisor = "lwl-leitung"\ngenehmigungsfiktion = false\n',
    )
    assert "§ 18 Abs. 7 SGB IX" in refused(path)


# --- broken files name file, key and problem ------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            'period = "2w"\nanchor_event = "statement_requested"',
            'period = "2x"\nanchor_event = "statement_requested"',
            "deadlines.statement.period",
            "Ungültige Frist",
        ),
        (
            '[towns.boenen]\nname = "Bönen"\nyouth_office = "jugendamt-kreis-unna"',
            '[towns.boenen]\nname = "Bönen"\nyouth_office = "jugendamt-boenen"',
            "towns.boenen.youth_office",
            "nicht definiert",
        ),
        (
            '[towns.kamen]\nname = "Kamen"\nyouth_office = "jugendamt-kamen"',
            '[towns.kamen]\nname = "Kamen"\nyouth_office = "spdi"',
            "towns.kamen.youth_office",
            "kein Jugendamt",
        ),
        (
            'kind = "job_centre"\nsupervisor = "jobcenter-kreis-unna"',
            'kind = "job_centre"\nsupervisor = "jobcenter-leitung"',
            "parties.jobcenter-kreis-unna.supervisor",
            "nicht definiert",
        ),
        ("[parties.lwl-leitung]", "[parties.LWL_Leitung]", "parties.LWL_Leitung", "Slugs"),
        ('kind = "housing_contact"', 'kind = "youth_office"', "parties", "housing_contact"),
        (
            'kind = "supervisor"\n\n[parties.kreis-unna-leitung]',
            'kind = "housing_contact"\n\n[parties.kreis-unna-leitung]',
            "parties",
            "gefunden: 2",
        ),
        (
            'name = "Kreis Unna – Teamleitung Arbeit und Soziales"\nkind = "supervisor"',
            'name = "Kreis Unna – Teamleitung Arbeit und Soziales"\nkind = "boss"',
            "parties.kreis-unna-leitung.kind",
            "erlaubt sind",
        ),
        ("[deadlines.review]", "[deadlines.review_old]", "deadlines.review", "fehlt"),
        (
            "reminder_lead_working_days = 2",
            "reminder_lead_workdays = 2",
            "deadlines.statement.reminder_lead_workdays",
            "Unbekannter Schlüssel",
        ),
        (
            'reminder_lead_working_days = 40\nreminder_event = "review_due"',
            'reminder_lead_working_days = -1\nreminder_event = "review_due"',
            "deadlines.review.reminder_lead_working_days",
            "ganze Zahl",
        ),
        (
            'shift = "backward"\n# LWL-Praxis: Erinnerung rund zwei Monate vorher (D12)',
            'shift = "sideways"\n# LWL-Praxis: Erinnerung rund zwei Monate vorher (D12)',
            "deadlines.review.shift",
            "erlaubt sind",
        ),
        (
            'process = "housing"',
            'process = "flat"',
            "deadlines.housing_ack.process",
            "erlaubt sind",
        ),
        (
            'responsible = "spdi"',
            'responsible = "doctor"',
            "deadlines.statement.responsible",
            "erlaubt sind",
        ),
        (
            'responsible = "spdi"',
            'responsible = "youth_office"',
            "deadlines.statement.responsible",
            "Genau eine Partei der Art 'youth_office' ist nötig, gefunden: 8",
        ),
        (
            'norm = "§ 14 Abs. 2 S. 3 SGB IX"\n',
            "",
            "deadlines.decision.variants.after_statement.norm",
            "Der Wert fehlt",
        ),
        (
            "gesamtplankonferenz_two_months = true",
            'gesamtplankonferenz_two_months = "ja"',
            "decision_deadline.gesamtplankonferenz_two_months",
            "",
        ),
        (
            'school_benefits = ["school_assistant", "education_participation"]',
            'school_benefits = ["school_assistant", "homework_help"]',
            "routing.school_benefits",
            "homework_help",
        ),
        (
            "school_status_to_age = 25",
            'school_status_to_age = "25"',
            "routing.school_status_to_age",
            "ganze Zahl",
        ),
        (
            "school_status_to_age = 25",
            "school_status_to_age = 4",
            "routing.school_status_to_age",
            "Erwartet wird ein Alter ab 5",
        ),
        (
            'post_school_benefits = ["sheltered_workshop", "work_participation"]',
            'post_school_benefits = ["sheltered_workshop", "school_assistant"]',
            "routing.post_school_benefits",
            "steht auch in school_benefits",
        ),
        ('holiday_region = "NW"', 'holiday_region = "XX"', "agreement.holiday_region", "XX"),
        ('name = "Werne"\n', 'name = "Unna"\n', "towns.werne", "nicht eindeutig"),
        (
            'anchor_event = "application_received"\nprocess = "case"\nresponsible = "carrier"\n'
            'reminder_lead_working_days = 3\nreminder_event = "jurisdiction_reminder"',
            'anchor_event = "Antrag eingegangen"\nprocess = "case"\nresponsible = "carrier"\n'
            'reminder_lead_working_days = 3\nreminder_event = "jurisdiction_reminder"',
            "deadlines.jurisdiction.anchor_event",
            "snake_case",
        ),
    ],
)
def test_a_broken_agreement_is_refused_naming_file_key_and_problem(
    tmp_path, old, new, key, problem
):
    path = variant(tmp_path, old, new)
    message = refused(path)
    assert str(path) in message
    assert f": {key}: " in message
    assert problem in message
    assert "\n" not in message


def test_a_file_that_is_not_toml_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "kaputt.toml"
    path.write_text("[agreement\nname = 1\n", encoding="utf-8")
    message = refused(path)
    assert str(path) in message and "TOML" in message


def test_a_missing_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "fehlt.toml"
    assert str(path) in refused(path)


def test_a_missing_table_is_refused_naming_it(tmp_path):
    start = TEXT.index("[routing]")
    end = TEXT.index("# ----", start)
    path = tmp_path / "ohne-routing.toml"
    path.write_text(TEXT[:start] + TEXT[end:], encoding="utf-8")
    assert ": routing: " in refused(path)


def test_the_environment_variable_selects_another_agreement_file(tmp_path, monkeypatch):
    path = variant(tmp_path, 'period = "3w"', 'period = "21d"')
    monkeypatch.setenv("GPV_AGREEMENT", str(path))
    assert load_agreement().rule("decision").period == Period(21, "d")
    assert load_agreement().source == path.resolve()
