"""A case taken from opening through statement, conference, housing support, decision and review
with the command line alone, on SQLite and on PostgreSQL (``GPV_DATABASE_URL``).

The person: born 17.05.1990, lives in Unna, mental disability, applies for supported living; the
application arrives at the LWL on Mon 02.03.2026.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GPV = str(Path(sys.executable).with_name("gpv"))

SPDI = ["--by", "dr.spdi"]
KREIS = ["--by", "kreis.wohnen"]
CONFERENCE = ["--set", "date=2026-03-27T10:00", "--set", "location=Kreishaus Unna"]
# The Gesamtplan names its review date (§ 121 Abs. 4 Nr. 1 SGB IX); the Bescheid its outcome.
PLAN_2028 = ["--set", "review=2028-03-31"]
PLAN_2030 = ["--set", "review=2030-01-31"]
APPROVAL_2030 = ["--set", "outcome=approval", "--set", "approved_until=2030-02-28"]
APPROVAL_2028 = ["--set", "outcome=approval", "--set", "approved_until=2028-04-30"]
IN_2028 = ["--now", "2028-03-03T08:00"]
STEPS: list[tuple[str, list[str], dict[str, str]]] = [
    ("accept_jurisdiction", ["--at", "2026-03-04"], {"case": "assessment"}),
    ("request_statement", ["--at", "2026-03-05"], {"statement": "requested"}),
    ("accept_statement_request", ["--at", "2026-03-09", *SPDI], {"statement": "accepted"}),
    ("deliver_statement", ["--at", "2026-03-17", *SPDI], {"statement": "delivered"}),
    ("request_consent", ["--at", "2026-03-18"], {"conference": "consent_pending"}),
    ("give_consent", ["--at", "2026-03-19"], {"conference": "consented"}),
    ("schedule_conference", ["--at", "2026-03-20", *CONFERENCE], {"conference": "scheduled"}),
    ("hold_conference", ["--at", "2026-03-27T13:00"], {"conference": "held"}),
    ("request_housing_support", ["--at", "2026-03-27T14:00"], {"housing": "requested"}),
    ("acknowledge_housing_support", ["--at", "2026-03-30", *KREIS], {"housing": "acknowledged"}),
    ("provide_housing_support", ["--at", "2026-04-02", *KREIS], {"housing": "provided"}),
    ("close_housing_support", ["--at", "2026-04-08"], {"housing": "closed"}),
    ("determine_benefits", ["--at", "2026-04-09"], {"case": "determined"}),
    ("draw_up_plan", ["--at", "2026-04-09T14:00", *PLAN_2028], {"case": "planned"}),
    ("issue_decision", ["--at", "2026-04-10", *APPROVAL_2028], {"case": "decided"}),
    # Two years on: the clock of the replay (a step after now is refused, issue 12).
    ("start_review", ["--at", "2028-02-21", *IN_2028], {"case": "assessment"}),
    ("determine_benefits", ["--at", "2028-03-01", *IN_2028], {"case": "determined"}),
    ("draw_up_plan", ["--at", "2028-03-01T14:00", *PLAN_2030, *IN_2028], {"case": "planned"}),
    ("issue_decision", ["--at", "2028-03-02", *APPROVAL_2030, *IN_2028], {"case": "decided"}),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request, tmp_path) -> dict[str, str]:
    env = {**os.environ, "GPV_DATA_DIR": str(tmp_path), "GPV_USER": "fm.unna"}
    env.pop("GPV_DATABASE_URL", None)
    if request.param == "postgres":
        env["GPV_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return env


def gpv(env: dict[str, str], *args: str) -> dict | list:
    done = subprocess.run(
        [GPV, *args, "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (args, done.stderr)
    return json.loads(done.stdout)


def test_a_case_goes_from_opening_through_every_stage_to_decision_and_review(env):
    case = gpv(
        env,
        "case", "open", "--received", "2026-03-02", "--birth-date", "1990-05-17",
        "--municipality", "Unna", "--disability", "mental", "--benefit", "supported_living",
        "--contact-email", "person@example.org", "--at", "2026-03-02T09:15",
    )  # fmt: skip
    case_id = case["id"]
    assert case_id == "C-2026-000001"
    assert (case["carrier"], case["status"]) == ("lwl", "received")

    for trigger, options, expected in STEPS:
        case = gpv(env, "fire", case_id, trigger, *options)
        for process, state in expected.items():
            assert case["processes"][process] == state, (trigger, case["processes"])

    assert case["status"] == "decided"
    assert case["version"] == 1 + len(STEPS)
    assert [h["trigger"] for h in case["history"]] == ["open_case"] + [s[0] for s in STEPS]
    deadlines = [(d["rule"], d["due"], d["status"]) for d in case["deadlines"]]
    assert deadlines[:3] == [
        ("jurisdiction", "2026-03-16", "met"),
        ("decision", "2026-03-23", "superseded"),  # a Gutachten was requested (§ 14 Abs. 2 S. 3)
        ("statement", "2026-03-19", "met"),
    ]
    # 2 weeks after Tue 17.03.2026 (§ 14 Abs. 2 S. 3), replaced when the conference was set on
    # 20.03. by 2 months from receipt (§ 15 Abs. 4 S. 2, § 120 Abs. 1): Sat 02.05. → Mon 04.05.;
    # the Bescheid of 10.04.2026 met it (legal-review C1, C2).
    assert ("decision", "2026-03-31", "superseded") in deadlines
    assert ("decision", "2026-05-04", "met") in deadlines
    # The plan named Tue 31.03.2028 as its review date (§ 121 Abs. 4 Nr. 1); reviewed early, the
    # next plan names Thu 31.01.2030, before two years are up.
    reviews = [d for d in deadlines if d[0] == "review"]
    assert [(r[1], r[2]) for r in reviews] == [("2028-03-31", "met"), ("2030-01-31", "open")]

    tasks = gpv(env, "tasks", "--now", "2028-03-03T08:00")
    assert [(t["rule"], t["party"], t["overdue"]) for t in tasks] == [
        ("review", "lwl", False),
        ("approval_end", "lwl", False),
    ]
    assert (
        gpv(env, "case", "list", "--status", "decided", "--now", "2028-03-03")[0]["id"] == case_id
    )
    sweep = gpv(env, "sweep", "--now", "2028-03-03T08:00")
    assert (sweep["reminders"], sweep["escalations"], sweep["overdue"]) == (0, 0, [])
    verify = gpv(env, "audit", "verify")
    assert {k: verify[k] for k in ("ok", "checked", "first_broken_id", "problem")} == {
        "ok": True,
        "checked": 1 + len(STEPS),
        "first_broken_id": None,
        "problem": None,
    }
    assert (verify["cases_checked"], verify["warnings"]) == (1, [])  # anchored, case consistent
