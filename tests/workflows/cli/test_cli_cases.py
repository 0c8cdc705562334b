"""The case manager's command line, run as the real ``gpv`` executable in a fresh data folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from workflows import service
from workflows.store.db import dispose_engines, get_engine, migrate

GPV = str(Path(sys.executable).with_name("gpv"))
BERLIN = ZoneInfo("Europe/Berlin")

OPEN_ADULT = [
    "case",
    "open",
    "--received",
    "2026-03-02",
    "--birth-date",
    "1990-05-17",
    "--municipality",
    "Unna",
    "--disability",
    "mental",
    "--benefit",
    "supported_living",
]


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "GPV_DATA_DIR": str(data_dir), "GPV_USER": "fm.mueller"}
        self.env.pop("GPV_DATABASE_URL", None)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [GPV, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def json(self, *args: str):
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def fingerprint(self) -> dict[str, str]:
        """Hashes of the database file and any WAL/SHM file next to it."""
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.data_dir.glob("gpv.db*"))
        }


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def prepared_case(cli: Cli) -> str:
    """A case in assessment (opened and accepted in process, quickly)."""
    engine = get_engine(f"sqlite:///{cli.data_dir / 'gpv.db'}")
    try:
        migrate(engine)
        case_id = service.open_case(
            engine,
            received=date(2026, 3, 2),
            birth_date=date(1990, 5, 17),
            municipality="Unna",
            disabilities="mental",
            benefit="supported_living",
            at=datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN),
            by="fm",
        )["id"]
        service.fire(
            engine,
            case_id,
            "accept_jurisdiction",
            {},
            at=datetime(2026, 3, 3, 9, 0, tzinfo=BERLIN),
            by="fm",
        )
    finally:
        dispose_engines()
    return case_id


def test_case_open_routes_the_case_and_prints_its_id_as_the_last_line(cli):
    done = cli(*OPEN_ADULT, "--person-ref", "AZ 17/2026", "--contact-email", "p@example.org")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "C-2026-000001"
    case = cli.json("case", "show", "C-2026-000001")
    assert (case["carrier"], case["municipality"], case["status"]) == ("lwl", "unna", "received")
    assert [d["rule"] for d in case["deadlines"]] == ["jurisdiction", "decision"]


def test_case_show_json_has_exactly_the_keys_of_the_contract(cli):
    case = cli.json(*OPEN_ADULT)
    assert list(case) == [
        "id",
        "status",
        "carrier",
        "municipality",
        "received_on",
        "forwarded_from",
        "forwarded_to",
        "processes",
        "routing",
        "involvement",
        "deadlines",
        "history",
        "version",
    ]
    assert case == cli.json("case", "show", case["id"])
    # Who may hear of the case (legal-review M2-M5): nobody beyond the carrier without consent
    assert case["involvement"] == {
        "proposed": ["spdi"],
        "consented": [],
        "statement_by": [],
        "objection_notice_given_on": None,
        "objection": False,
        "parent": False,
    }
    # Routing is advice beside the receiving carrier (legal-review C5)
    assert set(case["routing"]) == {"carrier", "legal_basis", "reason", "review_flags"}
    assert case["routing"]["carrier"] == case["carrier"] == "lwl"
    assert case["received_on"] == "2026-03-02"
    assert case["processes"] == {
        "case": "received",
        "statement": None,
        "conference": None,
        "housing": None,
    }
    assert case["deadlines"][0] == {
        "rule": "jurisdiction",
        "norm": "§ 14 Abs. 1 S. 1 SGB IX",
        "due": "2026-03-16",
        "latest": "2026-03-16",
        "status": "open",
        "variant": "standard",
        "variant_reason": "",
    }
    # The decision deadline says which reading of the law applies and why (issue 9).
    assert case["deadlines"][1]["variant"] == "standard"
    assert case["deadlines"][1]["variant_reason"] == "kein Gutachten angefordert"
    assert set(case["history"][0]) == {"trigger", "from", "to", "at", "by"}
    assert case["history"][0]["by"] == "fm.mueller"  # --by defaults to $GPV_USER


def test_a_date_only_at_means_noon_in_berlin_and_by_is_recorded(cli):
    case_id = prepared_case(cli)
    case = cli.json("fire", case_id, "request_statement", "--at", "2026-03-20", "--by", "fm.b")
    assert case["history"][-1] == {
        "trigger": "request_statement",
        "from": None,
        "to": "requested",
        "at": "2026-03-20T12:00:00+01:00",
        "by": "fm.b",
    }
    summer = cli.json("fire", case_id, "accept_statement_request", "--at", "2026-04-01T08:30")
    assert summer["history"][-1]["at"] == "2026-04-01T08:30:00+02:00"


def test_fire_prints_the_new_status_line(cli):
    case_id = prepared_case(cli)
    done = cli("fire", case_id, "request_housing_support", "--at", "2026-03-05")
    assert done.returncode == 0, done.stderr
    # People read German (issue 12); --json keeps the ids.
    assert done.stdout.strip().splitlines()[-1].startswith(f"{case_id}: Bedarfsermittlung (")
    assert "Unterstützung der Wohnungssuche: angefragt" in done.stdout


def test_fire_passes_set_parameters_to_the_rules(cli):
    case_id = prepared_case(cli)
    cli.json("fire", case_id, "request_consent", "--at", "2026-03-05")
    cli.json("fire", case_id, "give_consent", "--at", "2026-03-06")
    case = cli.json(
        "fire",
        case_id,
        "schedule_conference",
        "--at",
        "2026-03-09",
        "--set",
        "date=2026-04-15T10:00",
        "--set",
        "location=Kreishaus Unna, Raum 1=B",
    )
    assert case["processes"]["conference"] == "scheduled"


def test_case_list_and_tasks_show_open_work_with_overdue_flags(cli):
    case_id = prepared_case(cli)
    cli.json("fire", case_id, "request_statement", "--at", "2026-03-04")  # due Wed 18.03.2026
    listed = cli.json("case", "list", "--now", "2026-03-19T08:00")
    assert [(c["id"], c["status"], c["overdue"]) for c in listed] == [(case_id, "assessment", True)]
    assert cli.json("case", "list", "--status", "received", "--now", "2026-03-19") == []
    assert cli.json("case", "list", "--municipality", "Unna", "--overdue", "--now", "2026-03-19")
    tasks = cli.json("tasks", "--party", "spdi", "--now", "2026-03-19T08:00")
    assert tasks == [
        {
            "party": "spdi",
            "process": "statement",
            "case_id": case_id,
            "rule": "statement",
            "expected": "Fachärztliche Stellungnahme abgeben",
            "norm": "Kooperationsvereinbarung LWL – Kreis Unna, in Anlehnung an § 17 Abs. 2 SGB IX",
            "due": "2026-03-18",
            "overdue": True,
        }
    ]
    cli.json("fire", case_id, "request_housing_support", "--at", "2026-03-05")
    everything = cli.json("tasks", "--now", "2026-03-10")
    # The LWL's § 14 Abs. 2 S. 2 deadline is superseded while the Gutachten is awaited (S. 3).
    assert {t["party"] for t in everything} == {"kreis-unna-wohnen", "spdi"}
    assert not any(t["overdue"] for t in everything)
    first = cli.json("tasks", "--limit", "1", "--now", "2026-03-10")
    assert first == everything[:1] and len(everything) > 1


def test_case_update_records_the_contact_address_in_the_history(cli):
    case_id = prepared_case(cli)
    case = cli.json(
        "case", "update", case_id, "--contact-email", "betreuer@example.org", "--at", "2026-03-05"
    )
    assert case["history"][-1]["trigger"] == "update_contact"
    assert case["version"] == 3


def test_sweep_and_audit_verify_answer_in_json(cli):
    prepared_case(cli)
    assert cli.json("sweep", "--now", "2026-03-24T08:00")["escalations"] == 1  # decision 23.03.
    result = cli.json("audit", "verify")
    assert result["ok"] is True and result["checked"] == 3


def test_sweep_lists_at_most_limit_overdue_deadlines_longest_overdue_first_and_counts_all(cli):
    prepared_case(cli)  # in assessment: its decision (due Mon 23.03.2026) is missed on 24.03.
    assert cli(*OPEN_ADULT).returncode == 0  # received: jurisdiction (16.03.) and decision
    result = cli.json("sweep", "--now", "2026-03-24T08:00", "--limit", "1")
    assert (result["reminders"], result["escalations"], result["overdue_total"]) == (0, 3, 3)
    assert [(o["rule"], o["due"], o["days_overdue"]) for o in result["overdue"]] == [
        ("jurisdiction", "2026-03-16", 8)
    ]
    done = cli("sweep", "--now", "2026-03-25T08:00", "--limit", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[2] for line in lines[:-1]] == ["jurisdiction", "decision"]
    assert lines[-1] == (
        "Erinnerungen: 0, Eskalationen: 0, überfällig insgesamt: 3 (die 2 ältesten aufgelistet)"
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["fire", "C-2026-000999", "close"], 2, "gibt es nicht"),
        (["fire", "{case}", "approve_everything"], 2, "Unbekannter Auslöser"),
        (["fire", "{case}", "issue_decision", "--set", "outcome=refusal"], 3, "nicht möglich"),
        (["fire", "{case}", "issue_decision"], 2, "outcome"),
        (["fire", "{case}", "accept_jurisdiction"], 3, "nicht möglich"),
        (["fire", "{case}", "schedule_conference", "--set", "date=2026-04-15T10:00",
          "--set", "location=Kreishaus"], 3, ""),
        (["fire", "{case}", "decline_statement_request"], 2, "reason"),
        (["fire", "{case}", "request_statement", "--set", "nokey"], 2, "Schlüssel=Wert"),
        (["fire", "{case}", "request_statement", "--at", "2026-02-30"], 2, "2026-02-30"),
        (["fire", "{case}", "request_statement", "--at", "gestern"], 2, "gestern"),
        (["case", "show", "C-2026-000999"], 2, "gibt es nicht"),
        (["case", "update", "{case}", "--contact-email", "kein-at-zeichen"], 2, "E-Mail"),
        (["case", "list", "--status", "approved"], 2, "Status"),
        (["tasks", "--party", "nobody"], 2, "Partei"),
        ([*OPEN_ADULT[:7], "Dortmund", *OPEN_ADULT[8:]], 2, "Dortmund"),
        (["case", "open", "--received", "2026-03-02", "--birth-date", "1949-08-01",
          "--municipality", "Bönen", "--disability", "physical", "--benefit",
          "care_assistance"], 3, "§ 6 Abs. 1 SGB IX"),
        (["case", "open", "--received", "2026-03-02", "--birth-date", "2012-03-04",
          "--municipality", "Bönen", "--disability", "physical", "--benefit",
          "school_assistant"], 2, "--school"),
        (["case", "open", "--received", "2026-03-02"], 2, ""),
    ],
)  # fmt: skip
def test_a_refused_or_failed_command_leaves_the_database_byte_for_byte_unchanged(
    cli, args, code, says
):
    case_id = prepared_case(cli)
    before = cli.fingerprint()
    assert "gpv.db" in before
    done = cli(*[a.replace("{case}", case_id) for a in args])
    assert done.returncode == code, (done.stdout, done.stderr)
    assert says in done.stderr
    assert done.stderr.strip(), "the reason goes to stderr"
    assert cli.fingerprint() == before


def test_a_data_folder_that_cannot_be_created_is_bad_input_named_with_its_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {**os.environ, "GPV_DATA_DIR": str(blocker / "data")}
    env.pop("GPV_DATABASE_URL", None)
    done = subprocess.run([GPV, "case", "list"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "GPV_DATA_DIR" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sweep", "--limit", "10000000000000000000000"], "--limit"),
        (["tasks", "--limit", "0"], "--limit"),
        (["case", "open", *OPEN_ADULT[4:], "--received", "0001-01-01"], "1900–2199"),
        (["tasks", "--now", "9999-12-31T23:00-14:00"], "1900–2199"),
    ],
)
def test_out_of_range_limits_and_dates_are_bad_input_before_anything_is_written(cli, args, says):
    """Issue 13 (4, 5): a huge --limit used to write the escalations and then exit 1; a date in
    year 1 opened case C-0001-000001. Both are refused with exit 2 and change nothing."""
    case_id = prepared_case(cli)
    before = cli.fingerprint()
    done = cli(*[a.replace("{case}", case_id) for a in args])
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert cli.fingerprint() == before


@pytest.mark.postgres
def test_an_internal_error_names_no_input_value_on_screen_or_in_its_log(
    postgres_url, tmp_path, monkeypatch, capsys
):
    """Issue 13 (1): PostgreSQL refuses a NUL byte in a text field. The error used to print
    SQLAlchemy's message with every bound parameter (birth date, disability, e-mail). Now the
    engine hides parameters, the screen shows the class only, and the log names code locations."""
    from workflows.cli import main
    from workflows.store.db import dispose_engines

    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GPV_DATABASE_URL", postgres_url)
    monkeypatch.delenv("GPV_DEBUG", raising=False)
    secret = "GEHEIM-F20.0"
    args = [*OPEN_ADULT, "--person-ref", f"AZ\x00{secret}", "--contact-email", "geheim@example.org"]
    try:
        with pytest.raises(SystemExit) as exited:
            main(args)
    finally:
        dispose_engines()
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "Interner Fehler" in err
    values = (secret, "1990-05-17", "mental", "geheim@example.org")
    assert not [v for v in values if v in err], err
    log = (tmp_path / "logs" / "internal-errors.log").read_text(encoding="utf-8")
    assert not [v for v in values if v in log], log
