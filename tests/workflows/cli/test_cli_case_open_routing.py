"""``gpv case open`` after the legal review of routing (legal-review.md C3, C7, M8, rulings 2, 3).

Scenarios S3, S4 and S5 of legal-review.md § 0.2, run as the real ``gpv`` executable with the
corrected outcomes: the school status is required input, a mixed minor's case is opened at the EGH
carrier with a review note, and Hilfe zur Pflege and §§ 67 ff. SGB XII open no case at all.
"""

from __future__ import annotations

import json

import pytest

from tests.workflows.cli.test_cli_cases import Cli


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def case_open(*facts: str, received: str = "2026-03-02") -> tuple[str, ...]:
    return ("case", "open", "--received", received, "--at", f"{received}T10:00", *facts)


#: legal-review S4: a 17-year-old applies for the sheltered workshop.
S4 = (
    "--birth-date",
    "2008-11-20",
    "--municipality",
    "Unna",
    "--disability",
    "intellectual",
    "--benefit",
    "sheltered_workshop",
)


def no_cases(cli: Cli) -> bool:
    return cli.json("case", "list") == []


def test_s4_case_open_without_school_status_exits_2_naming_the_school_option(cli):
    """legal-review § 0.2 S4 and ruling 3 ("Make school status mandatory for ages of roughly
    5–25"); AG-SGB IX NRW § 1 Abs. 2 S. 1."""
    done = cli(*case_open(*S4))
    assert done.returncode == 2
    assert "--school" in done.stderr
    assert "AG-SGB IX NRW § 1 Abs. 2" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert no_cases(cli)


def test_s4_with_school_in_progress_the_work_area_goes_to_the_lwl_with_an_explanation(cli):
    """legal-review § 0.2 S4 and C7: the work area is EGH after school (AG-SGB IX NRW § 1 Abs. 1,
    § 63 Abs. 2 SGB IX); it does not start before school ends, and the entry procedure is the
    Agentur für Arbeit's (§ 63 Abs. 1 Nr. 1 SGB IX)."""
    done = cli(*case_open(*S4, "--school", "in-school"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "C-2026-000001"
    assert "Träger: LWL-Inklusionsamt Soziale Teilhabe" in done.stdout
    assert "beginnt nicht vor dem Ende der Schulausbildung" in done.stdout
    notes = [line for line in done.stdout.splitlines() if line.startswith("Prüfhinweis: ")]
    assert len(notes) == 1
    assert "§ 63 Abs. 1 Nr. 1 SGB IX" in notes[0]


def test_s4_entry_procedure_is_refused_with_exit_3_and_the_agentur_fuer_arbeit_named(cli):
    """legal-review C7 ("add the Agentur für Arbeit Hamm as party and forwarding target"): the
    Bundesagentur is the carrier (§ 63 Abs. 1 Nr. 1, § 6 Abs. 1 Nr. 2 SGB IX); gpv runs only the EGH
    carrier's Gesamtplanverfahren (§ 117 Abs. 1 SGB IX), so the application is forwarded
    (§ 14 Abs. 1 S. 2 SGB IX)."""
    facts = [*S4[:-1], "workshop_entry_training", "--school", "in_school"]
    done = cli(*case_open(*facts))
    assert done.returncode == 3
    assert "Agentur für Arbeit Hamm" in done.stderr
    assert "§ 14 Abs. 1 S. 1 und 2 SGB IX" in done.stderr
    assert no_cases(cli)


def test_s3_a_mixed_minor_in_boenen_gets_a_case_at_the_kreis_with_the_review_note(cli):
    """legal-review § 0.2 S3 and ruling 2: "Default to the EGH carrier … and flag for review";
    "Open the case and track § 14 anyway"; § 10 Abs. 4 S. 2 SGB VIII."""
    facts = (
        "--birth-date",
        "2012-03-04",
        "--municipality",
        "Bönen",
        "--disability",
        "mental,intellectual",
        "--benefit",
        "school_assistant",
        "--school",
        "in-school",
    )
    case = cli.json(*case_open(*facts))
    assert case["carrier"] == "kreis-unna"
    assert [d["rule"] for d in case["deadlines"]][:2] == ["jurisdiction", "decision"]
    assert case["deadlines"][0]["norm"] == "§ 14 Abs. 1 S. 1 SGB IX"
    (flag,) = case["routing"]["review_flags"]
    assert "§ 10 Abs. 4 S. 2 SGB VIII" in flag
    human = cli(*case_open(*facts, received="2026-03-03"))
    assert human.returncode == 0, human.stderr
    assert "Prüfhinweis: Minderjährige Person mit mehreren Behinderungsarten" in human.stdout


def test_a_young_adult_with_a_mental_disability_is_opened_with_the_section_41_note(cli):
    """legal-review M8: flag 18–20-year-olds with a mental disability (§ 41 i. V. m. § 35a
    SGB VIII; § 10 Abs. 4 S. 1 SGB VIII)."""
    case = cli.json(
        *case_open(
            "--birth-date",
            "2006-07-01",
            "--municipality",
            "Kamen",
            "--disability",
            "mental",
            "--benefit",
            "supported_living",
            "--school",
            "finished",
        )
    )
    assert case["carrier"] == "lwl"
    assert any("§ 41" in flag for flag in case["routing"]["review_flags"])


@pytest.mark.parametrize(
    ("birth_date", "benefit", "where", "norm"),
    [
        ("1949-08-01", "care_assistance", "Kreis Unna – Sozialamt", "§§ 61 ff. SGB XII"),
        ("1981-01-09", "special_social_difficulties_help", "LWL", "§§ 67 ff. SGB XII"),
    ],
)
def test_s5_case_open_refuses_a_benefit_outside_the_sgb_ix_with_exit_3_and_opens_nothing(
    cli, birth_date, benefit, where, norm
):
    """legal-review § 0.2 S5 and C3: no gpv case for these benefits, no § 14 deadline;
    "Sozialhilfe is not a Rehabilitationsträger" (§ 6 Abs. 1 SGB IX); the seed's own cooperation
    agreement for Hilfe zur Pflege."""
    done = cli(
        *case_open(
            "--birth-date",
            birth_date,
            "--municipality",
            "Unna",
            "--disability",
            "physical",
            "--benefit",
            benefit,
        )
    )
    assert done.returncode == 3
    message = done.stderr
    assert "Der Fall wird nicht angelegt" in message
    assert "§ 6 Abs. 1 SGB IX" in message
    assert norm in message
    assert where in message
    assert len(message.strip().splitlines()) == 1
    assert no_cases(cli)
    # no case number was used up: the next case is the first of the year
    opened = cli.json(
        *case_open(
            "--birth-date",
            "1990-05-17",
            "--municipality",
            "Unna",
            "--disability",
            "physical",
            "--benefit",
            "supported_living",
        )
    )
    assert opened["id"] == "C-2026-000001"


@pytest.mark.parametrize("spelling", ["in-school", "in_school", "In-School"])
def test_case_open_accepts_the_school_status_with_dash_or_underscore(cli, spelling):
    """AG-SGB IX NRW § 1 Abs. 2 S. 1: a pupil of 14 at school gets the Kreis Unna."""
    done = cli(
        *case_open(
            "--birth-date",
            "2012-03-04",
            "--municipality",
            "Holzwickede",
            "--disability",
            "physical",
            "--benefit",
            "assistance_services",
            "--school",
            spelling,
            "--json",
        )
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["carrier"] == "kreis-unna"


def test_case_open_routes_by_the_benefit_start(cli):
    """legal-review C7 ("route by the planned start of the benefit"); AG-SGB IX NRW § 1 Abs. 1 and
    Abs. 2 S. 1: school ends on 2026-07-15, support starting on 2026-08-01 is the LWL's."""
    case = cli.json(
        *case_open(
            "--birth-date",
            "2008-11-20",
            "--municipality",
            "Werne",
            "--disability",
            "physical",
            "--benefit",
            "assistance_services",
            "--school",
            "in-school",
            "--school-finished",
            "2026-07-15",
            "--benefit-start",
            "2026-08-01",
        )
    )
    assert case["carrier"] == "lwl"
    assert "AG-SGB IX NRW § 1 Abs. 1" in case["routing"]["legal_basis"]


def test_an_unknown_school_status_is_bad_input_listing_the_choices(cli):
    """The school status is one of in-school, finished, none (AG-SGB IX NRW § 1 Abs. 2 S. 1)."""
    done = cli(*case_open(*S4, "--school", "abgebrochen"))
    assert done.returncode == 2
    assert "in-school, finished, none" in done.stderr
    assert no_cases(cli)


def test_route_says_where_a_benefit_outside_the_sgb_ix_belongs_and_exits_3(cli):
    """legal-review C3: Hilfe zur Pflege is no SGB IX benefit (§ 6 Abs. 1 SGB IX); the answer is
    where the application belongs (agreement.toml [routing.not_sgb_ix])."""
    args = (
        "route",
        "--birth-date",
        "1949-08-01",
        "--municipality",
        "Kamen",
        "--disability",
        "physical",
        "--benefit",
        "care_assistance",
        "--on",
        "2026-03-02",
    )
    done = cli(*args)
    assert done.returncode == 3
    assert done.stdout.splitlines()[-1] == "kein SGB IX: kreis-unna-sozialamt"
    data = json.loads(cli(*args, "--json").stdout)
    assert (data["outcome"], data["belongs_to"], data["carrier"]) == (
        "not_sgb_ix",
        "kreis-unna-sozialamt",
        None,
    )
