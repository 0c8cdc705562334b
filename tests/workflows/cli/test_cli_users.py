"""``gpv user`` and ``--by`` as the real ``gpv`` executable in a fresh data folder (issue 12)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GPV = str(Path(sys.executable).with_name("gpv"))
PASSWORD = "korrekt-pferd-batterie-heftklammer"
OPEN = [
    "case", "open", "--received", "2026-03-02", "--birth-date", "1990-05-17",
    "--municipality", "Unna", "--disability", "mental", "--benefit", "supported_living",
    "--school", "none", "--received-by", "lwl",
]  # fmt: skip


class Gpv:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "GPV_DATA_DIR": str(data_dir), "GPV_USER": "fm"}
        for name in ("GPV_DATABASE_URL", "GPV_PREFECT_URL", "PREFECT_API_URL"):
            self.env.pop(name, None)

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [GPV, *args], env=self.env, capture_output=True, text=True, timeout=120, input=stdin
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def fingerprint(self) -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.data_dir.glob("gpv.db*"))
        }


@pytest.fixture
def gpv(tmp_path) -> Gpv:
    return Gpv(tmp_path / "data")


def _case(gpv: Gpv) -> str:
    done = gpv(*OPEN, "--json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["id"])


def test_without_users_the_tour_works_and_stderr_says_who_acts(gpv):
    case_id = _case(gpv)
    done = gpv("fire", case_id, "accept_jurisdiction", "--at", "2026-03-04")
    assert done.returncode == 0, done.stderr
    assert "Keine Benutzer eingerichtet: fm handelt als Fallmanagement" in done.stderr
    listed = gpv("user", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_user_add_list_and_disable_with_german_roles_and_a_password_from_stdin(gpv):
    done = gpv(
        "user", "add", "fm.mueller", "--party", "lwl", "--role", "fallmanagement",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "fm.mueller (Fallmanagement, lwl)" in done.stdout
    assert gpv("user", "add", "dr.spdi", "--party", "spdi", "--role", "mitglied").returncode == 0
    assert (
        gpv("user", "add", "leitung", "--party", "lwl-leitung", "--role", "aufsicht").returncode
        == 0
    )
    assert gpv("user", "disable", "dr.spdi").returncode == 0
    listed = json.loads(gpv("user", "list", "--json").stdout)
    assert listed == [
        {"name": "dr.spdi", "party": "spdi", "role": "member", "enabled": False},
        {"name": "fm.mueller", "party": "lwl", "role": "case_manager", "enabled": True},
        {"name": "leitung", "party": "lwl-leitung", "role": "supervisor", "enabled": True},
    ]
    assert "deaktiviert" in gpv("user", "list").stdout
    stored = b"".join(p.read_bytes() for p in gpv.data_dir.glob("gpv.db*"))
    assert PASSWORD.encode() not in stored


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--party", "nirgendwo", "--role", "member"], "Unbekannte Partei"),
        (["--party", "spdi", "--role", "case-manager"], "führt kein Gesamtplanverfahren"),
        (["--party", "lwl", "--role", "chef"], "Unbekannte Rolle"),
    ],
)
def test_bad_user_input_exits_2_with_the_cause(gpv, args, message):
    done = gpv("user", "add", "x", *args)
    assert done.returncode == 2 and message in done.stderr


def test_an_empty_password_stdin_exits_2(gpv):
    done = gpv(
        "user", "add", "x", "--party", "lwl", "--role", "member", "--password-stdin", stdin=""
    )
    assert done.returncode == 2 and "--password-stdin" in done.stderr


def test_s7_refused_steps_exit_3_with_the_rule_and_write_nothing(gpv):
    case_id = _case(gpv)
    for name, party, role in [
        ("fm.mueller", "lwl", "case-manager"),
        ("spdi", "spdi", "member"),
        ("jobcenter", "jobcenter-kreis-unna", "member"),
    ]:
        assert gpv("user", "add", name, "--party", party, "--role", role).returncode == 0
    before = gpv.fingerprint()
    attempts = [
        ("accept_jurisdiction", "spdi", "§ 120 Abs. 2 SGB IX", []),
        ("determine_benefits", "jobcenter", "§ 120 Abs. 2 SGB IX", []),
        ("issue_decision", "irgendwer", "§ 35 Abs. 1 S. 2 SGB I", ["--set", "outcome=approval"]),
    ]
    for trigger, by, norm, settings in attempts:
        done = gpv("fire", case_id, trigger, "--at", "2026-03-04", "--by", by, *settings)
        assert done.returncode == 3, (trigger, done.stderr)
        assert norm in done.stderr and "--by" in done.stderr
    assert gpv.fingerprint() == before
    done = gpv("fire", case_id, "accept_jurisdiction", "--at", "2026-03-04", "--by", "fm.mueller")
    assert done.returncode == 0, done.stderr
    # GPV_USER=fm is no user now: the command line no longer acts without a name
    done = gpv("fire", case_id, "request_statement", "--at", "2026-03-05")
    assert done.returncode == 3 and "„fm“ ist kein Benutzer von gpv" in done.stderr
