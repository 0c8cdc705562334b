"""The command line as the trial found it (issue 12): the data folder found like git finds its
repository, read commands that never create a store, German values and labels, ``gpv fire``'s
help, its missing-parameter message, future dates and the way it went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GPV = str(Path(sys.executable).with_name("gpv"))
OPEN = [
    "case", "open", "--received", "2026-03-02", "--at", "2026-03-02T10:00",
    "--birth-date", "1990-05-17", "--municipality", "Unna",
]  # fmt: skip


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GPV_", "PREFECT_"))}
    clean.update({"GPV_USER": "fm.mueller", **env})
    done = subprocess.run(
        [GPV, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize(
    "command",
    [("case", "list"), ("case", "show", "C-2026-000001"), ("tasks",), ("audit", "verify")],
)
def test_a_read_command_without_a_data_folder_exits_2_and_creates_nothing(tmp_path, command):
    done = run(tmp_path, *command)
    assert done.returncode == 2
    assert "Kein gpv-Datenordner gefunden" in done.stderr
    assert "gpv case open legt ihn an, oder GPV_DATA_DIR setzen" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_case_open_creates_the_folder_and_a_subfolder_finds_it_like_git(tmp_path):
    opened = run(
        tmp_path, *OPEN, "--disability", "seelisch", "--benefit", "ambulant betreutes Wohnen"
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / ".gpv" / "gpv.db").is_file()
    deep = tmp_path / "akten" / "2026"
    deep.mkdir(parents=True)
    listed = run(deep, "case", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [c["id"] for c in json.loads(listed.stdout)] == ["C-2026-000001"]
    assert not (deep / ".gpv").exists()


def test_gpv_data_dir_comes_before_the_folder_found_by_walking_up(tmp_path):
    assert (
        run(tmp_path, *OPEN, "--disability", "mental", "--benefit", "supported_living").returncode
        == 0
    )
    other = tmp_path / "other"
    listed = run(tmp_path, "case", "list", "--json", GPV_DATA_DIR=str(other))
    assert json.loads(listed.stdout) == []


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    done = run(
        tmp_path,
        *OPEN,
        "--disability",
        "seelisch,körperlich",
        "--benefit",
        "Ambulant betreutes Wohnen",
    )
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_german_values_are_accepted_and_json_keeps_the_ids(folder):
    shown = json.loads(run(folder, "case", "show", "C-2026-000001", "--json").stdout)
    assert shown["status"] == "received"
    assert shown["routing"]["carrier"] == "lwl"


def test_statuses_rules_and_parties_are_shown_in_german(folder):
    shown = run(folder, "case", "show", "C-2026-000001").stdout
    assert "Status: Antrag eingegangen" in shown
    assert "Träger: LWL-Inklusionsamt Soziale Teilhabe" in shown
    assert "offen" in shown and " open " not in shown
    listed = run(folder, "case", "list", "--status", "Antrag eingegangen").stdout
    assert "C-2026-000001  Antrag eingegangen" in listed


def test_fire_help_lists_every_trigger_with_its_german_label_and_parameters(folder):
    from states.triggers import TRIGGER_SPECS

    text = run(folder, "fire", "--help").stdout
    for name, spec in TRIGGER_SPECS.items():
        assert name in text and spec.label in text
    assert "--set review=" in text and "JJJJ-MM-TT" in text


def test_a_missing_parameter_is_named_with_the_set_form_and_its_format(folder):
    done = run(folder, "fire", "C-2026-000001", "schedule_conference", "--at", "2026-03-03")
    assert done.returncode == 2
    assert "--set date=… (JJJJ-MM-TTTHH:MM" in done.stderr
    assert "--set location=…" in done.stderr


def test_fire_says_which_way_it_went_and_refuses_a_future_date(folder):
    future = run(folder, "fire", "C-2026-000001", "accept_jurisdiction", "--at", "2099-01-01")
    assert future.returncode == 2
    assert "--allow-future" in future.stderr
    done = run(folder, "fire", "C-2026-000001", "accept_jurisdiction", "--at", "2026-03-03")
    assert done.returncode == 0, done.stderr
    assert "gpv fire: ohne Server, direkt in der Datenbank" in done.stderr


def test_a_recorded_server_that_does_not_answer_is_an_error_not_a_fallback(folder):
    from workflows.orchestration.server import free_port, write_record

    write_record(folder / ".gpv" / "prefect", f"http://127.0.0.1:{free_port()}/api", os.getpid())
    done = run(folder, "fire", "C-2026-000001", "accept_jurisdiction", "--at", "2026-03-03")
    assert done.returncode == 1
    assert "antwortet aber nicht" in done.stderr
    assert json.loads(run(folder, "case", "show", "C-2026-000001", "--json").stdout)["version"] == 1


def test_the_record_of_a_stopped_gpv_run_is_removed_with_a_note(folder):
    from workflows.orchestration.server import write_record

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    record = write_record(folder / ".gpv" / "prefect", "http://127.0.0.1:9/api", int(gone.stdout))
    done = run(folder, "fire", "C-2026-000001", "accept_jurisdiction", "--at", "2026-03-03")
    assert done.returncode == 0, done.stderr
    assert "eines beendeten gpv run" in done.stderr
    assert not record.exists()


def test_a_configured_server_that_does_not_answer_is_an_error(folder):
    from workflows.orchestration.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    done = run(folder, "fire", "C-2026-000001", "accept_jurisdiction", GPV_PREFECT_URL=url)
    assert done.returncode == 1
    assert f"GPV_PREFECT_URL={url}" in done.stderr


def test_a_receipt_is_corrected_from_the_command_line(folder):
    done = run(
        folder, "case", "correct", "C-2026-000001", "--field", "received_on",
        "--value", "2026-02-27", "--reason", "Stempel falsch übertragen",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Eingang: 2026-02-27" in done.stdout
    assert "Berichtigung" in done.stdout
