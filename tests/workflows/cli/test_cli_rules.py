"""``gpv deadline`` and ``gpv route`` as a user runs them: a real process, stdout, exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_GPV = Path(sys.executable).with_name("gpv")


def gpv(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = (
        [str(_GPV), *args]
        if _GPV.exists()
        else [sys.executable, "-c", "from workflows.cli import main; main()", *args]
    )
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1]


def assert_bad_input(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout
    message = done.stderr.strip()
    assert message, "a message on stderr"
    for fragment in fragments:
        assert fragment in message


# --- gpv deadline ---------------------------------------------------------------------------------


def test_deadline_prints_the_due_date_of_example_a_as_its_last_line():
    done = gpv("deadline", "--from", "2025-12-11", "--period", "2w")
    assert done.returncode == 0, done.stderr
    assert last_line(done) == "2025-12-29"
    assert "2025-12-25: Erster Weihnachtstag" in done.stdout


def test_deadline_with_a_named_rule_uses_the_rules_period_and_shift():
    assert last_line(gpv("deadline", "--from", "2024-03-15", "--rule", "review")) == "2026-03-13"
    assert last_line(gpv("deadline", "--from", "2025-12-11", "--rule", "decision")) == "2026-01-02"


def test_deadline_json_has_the_documented_keys():
    done = gpv("deadline", "--from", "2025-12-11", "--period", "2w", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"from", "period", "nominal_end", "due", "skipped"} <= set(data)
    assert "rule" not in data
    assert data["from"] == "2025-12-11"
    assert data["period"] == "2w"
    assert data["nominal_end"] == "2025-12-25"
    assert data["due"] == "2025-12-29"
    assert data["skipped"][0] == {"date": "2025-12-25", "reason": "Erster Weihnachtstag"}
    assert len(data["skipped"]) == 4


def test_deadline_json_with_a_rule_adds_rule_and_norm():
    data = json.loads(
        gpv("deadline", "--from", "2025-12-11", "--rule", "jurisdiction", "--json").stdout
    )
    assert data["rule"] == "jurisdiction"
    assert data["norm"] == "§ 14 Abs. 1 S. 1 SGB IX"
    assert data["due"] == "2025-12-29"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--from", "2025-02-30", "--period", "2w"), ("2025-02-30", "--from")),
        (("--from", "11.12.2025", "--period", "2w"), ("11.12.2025",)),
        (("--from", "2025-12-11", "--period", "2x"), ("2x",)),
        (("--from", "2025-12-11", "--period", "0d"), ("0d",)),
        (("--from", "2025-12-11"), ("--period", "--rule")),
        (("--from", "2025-12-11", "--period", "2w", "--rule", "decision"), ("--period", "--rule")),
        (("--from", "2025-12-11", "--rule", "appeal"), ("appeal",)),
    ],
)
def test_deadline_bad_input_exits_2_with_one_line_and_no_traceback(args, fragments):
    assert_bad_input(gpv("deadline", *args), *fragments)


def test_a_broken_agreement_file_is_reported_in_one_line_naming_the_file(tmp_path):
    broken = tmp_path / "kaputt.toml"
    broken.write_text("[agreement]\nname = 'x'\n", encoding="utf-8")
    done = gpv(
        "deadline", "--from", "2025-12-11", "--period", "2w", env={"GPV_AGREEMENT": str(broken)}
    )
    assert_bad_input(done, str(broken))
    assert len(done.stderr.strip().splitlines()) == 1


# --- gpv route ------------------------------------------------------------------------------------


def test_route_prints_the_youth_office_for_the_issue_example():
    done = gpv(
        "route",
        "--birth-date",
        "2012-03-04",
        "--municipality",
        "Bönen",
        "--disability",
        "mental",
        "--benefit",
        "school_assistant",
        "--school",
        "in-school",
        "--on",
        "2026-11-29",
    )
    assert done.returncode == 0, done.stderr
    assert last_line(done) == "jugendamt-kreis-unna"


@pytest.mark.parametrize(
    ("args", "carrier"),
    [
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Boenen",
                "--disability",
                "physical",
                "--benefit",
                "school_assistant",
                "--school-finished",
                "2030-07-01",
            ),
            "kreis-unna",
        ),
        (
            (
                "--birth-date",
                "1990-01-01",
                "--municipality",
                "Fröndenberg/Ruhr",
                "--disability",
                "mental,addiction",
                "--benefit",
                "supported_living",
            ),
            "lwl",
        ),
        (
            (
                "--birth-date",
                "2020-01-01",
                "--municipality",
                "Froendenberg",
                "--disability",
                "intellectual",
                "--benefit",
                "daycare_centre",
                "--school",
                "none",
            ),
            "lwl",
        ),
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Luenen",
                "--disability",
                "mental",
                "--benefit",
                "school_assistant",
                "--school",
                "in_school",
            ),
            "jugendamt-luenen",
        ),
    ],
)
def test_route_prints_the_carrier_id_as_its_last_line(args, carrier):
    done = gpv("route", *args, "--on", "2026-11-29")
    assert done.returncode == 0, done.stderr
    assert last_line(done) == carrier


def test_route_json_has_the_documented_keys():
    done = gpv(
        "route",
        "--birth-date",
        "1990-01-01",
        "--municipality",
        "Kamen",
        "--disability",
        "mental",
        "--benefit",
        "sheltered_workshop",
        "--on",
        "2026-11-29",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {"carrier", "parties", "legal_basis", "reason"} <= set(data)
    assert data["carrier"] == "lwl"
    assert data["parties"] == ["lwl", "spdi", "jobcenter-kreis-unna"]
    assert "AG-SGB IX NRW § 1 Abs. 1" in data["legal_basis"]


def test_route_undecided_prints_the_reason_last_and_exits_3():
    args = (
        "route",
        "--birth-date",
        "2012-03-04",
        "--municipality",
        "Unna",
        "--disability",
        "intellectual",
        "--benefit",
        "school_assistant",
        "--school",
        "none",
        "--on",
        "2026-11-29",
    )
    done = gpv(*args)
    assert done.returncode == 3
    assert last_line(done).startswith("unentschieden: ")
    assert "Traceback" not in done.stderr
    as_json = gpv(*args, "--json")
    assert as_json.returncode == 3
    data = json.loads(as_json.stdout)
    assert data["carrier"] is None
    assert data["reason"]


def test_route_without_on_uses_today_and_still_answers():
    done = gpv(
        "route",
        "--birth-date",
        "1980-01-01",
        "--municipality",
        "Selm",
        "--disability",
        "physical",
        "--benefit",
        "supported_living",
    )
    assert done.returncode == 0, done.stderr
    assert last_line(done) == "lwl"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            (
                "--birth-date",
                "2025-02-30",
                "--municipality",
                "Unna",
                "--disability",
                "mental",
                "--benefit",
                "supported_living",
            ),
            ("2025-02-30", "--birth-date"),
        ),
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Dortmund",
                "--disability",
                "mental",
                "--benefit",
                "supported_living",
            ),
            ("Dortmund", "Bönen"),
        ),
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Unna",
                "--disability",
                "traurig",  # German words like "seelisch" are accepted since issue 12
                "--benefit",
                "supported_living",
            ),
            ("traurig", "mental"),
        ),
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Unna",
                "--disability",
                "mental",
                "--benefit",
                "taxi",
            ),
            ("taxi", "school_assistant"),
        ),
        (
            (
                "--birth-date",
                "2030-01-01",
                "--municipality",
                "Unna",
                "--disability",
                "mental",
                "--benefit",
                "supported_living",
                "--on",
                "2026-11-29",
            ),
            ("Geburtsdatum",),
        ),
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Unna",
                "--disability",
                "mental",
                "--benefit",
                "supported_living",
                "--on",
                "2026-13-01",
            ),
            ("--on",),
        ),
        (
            (
                "--birth-date",
                "2012-03-04",
                "--municipality",
                "Unna",
                "--disability",
                "mental",
                "--benefit",
                "supported_living",
                "--school-finished",
                "2026-02-29",
            ),
            ("--school-finished",),
        ),
    ],
)
def test_route_bad_input_exits_2_with_a_message_and_no_traceback(args, fragments):
    assert_bad_input(gpv("route", *args), *fragments)


def test_a_missing_required_option_is_a_usage_error_with_exit_2():
    done = gpv("route", "--birth-date", "2012-03-04")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
