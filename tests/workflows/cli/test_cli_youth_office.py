"""``gpv route`` and ``gpv case open`` for a youth office's case (legal-review C4, m8; S6).

Run as the real ``gpv`` executable: the parents' habitual residence decides the youth office
(§ 86 Abs. 1 S. 1 SGB VIII), and a statement request to an expert who delivers the help is refused
with exit code 3 (§ 35a Abs. 1a S. 4 SGB VIII).
"""

from __future__ import annotations

import pytest

from tests.workflows.cli.test_cli_cases import Cli

#: legal-review S6: a child born 2014-05-17 in Werne with a mental disability.
S6 = (
    "--birth-date", "2014-05-17", "--municipality", "Werne", "--disability", "mental",
    "--benefit", "school_assistant", "--school", "in-school",
)  # fmt: skip


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def test_route_names_the_youth_office_of_the_parents_residence_and_says_why(cli):
    done = cli("route", *S6, "--parents-municipality", "Unna", "--on", "2026-03-02")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "jugendamt-unna"
    assert "gewöhnlichen Aufenthalt der Eltern (§ 86 Abs. 1 S. 1 SGB VIII)" in done.stdout


def test_route_without_the_parents_town_names_the_youth_office_of_the_childs_town(cli):
    done = cli("route", *S6, "--on", "2026-03-02")
    assert done.stdout.splitlines()[-1] == "jugendamt-werne"


def test_an_unknown_parents_town_is_bad_input(cli):
    done = cli("route", *S6, "--parents-municipality", "Dortmund", "--on", "2026-03-02")
    assert done.returncode == 2
    assert "Dortmund" in done.stderr


def open_s6(cli: Cli, *extra: str) -> dict:
    return cli.json(
        "case", "open", "--received", "2026-03-02", "--at", "2026-03-02T10:00", *S6, *extra
    )


def test_case_open_with_the_parents_town_opens_the_case_at_their_youth_office(cli):
    case = open_s6(cli, "--parents-municipality", "Unna")
    assert case["carrier"] == "jugendamt-unna"
    assert case["municipality"] == "werne"
    assert "§ 86 Abs. 1 S. 1 SGB VIII" in case["routing"]["legal_basis"]
    rules = {d["rule"] for d in case["deadlines"]}
    assert {"jurisdiction", "decision"} <= rules  # § 14 SGB IX runs (§ 6 Abs. 1 Nr. 6 SGB IX)


def test_a_statement_request_to_an_expert_who_delivers_the_help_exits_3(cli):
    case_id = open_s6(cli)["id"]
    cli.json("fire", case_id, "accept_jurisdiction", "--at", "2026-03-09")
    done = cli(
        "fire", case_id, "request_statement", "--set", "expert=kjp-dienst-leistungserbringer",
        "--at", "2026-03-16",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "§ 35a Abs. 1a S. 4 SGB VIII" in done.stderr
    case = cli.json("fire", case_id, "request_statement", "--at", "2026-03-16")
    (statement,) = [d for d in case["deadlines"] if d["rule"] == "statement"]
    assert statement["due"] == "2026-03-30"  # the only eligible expert of the agreement
