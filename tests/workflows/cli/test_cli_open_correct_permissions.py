"""``gpv case open`` and ``gpv case correct`` as the real executable once users are set up:
anyone but the carrier's case manager is refused with exit 3 and the rule, the store unchanged."""

from __future__ import annotations

import json

import pytest

from tests.workflows.cli.test_cli_users import OPEN, PASSWORD, Gpv


@pytest.fixture(name="gpv")
def gpv_fixture(tmp_path) -> Gpv:
    return Gpv(tmp_path / "data")


def _users(gpv: Gpv) -> None:
    for name, party, role in (
        ("fm.mueller", "lwl", "fallmanagement"),
        ("dr.spdi", "spdi", "mitglied"),
    ):
        done = gpv("user", "add", name, "--party", party, "--role", role, "--password-stdin",
                   stdin=PASSWORD + "\n")  # fmt: skip
        assert done.returncode == 0, done.stderr


def test_a_member_cannot_open_or_correct_a_case_and_nothing_is_written(gpv):
    opened = gpv(*OPEN, "--json")  # by the embedded user, before anyone is set up
    assert opened.returncode == 0, opened.stderr
    case_id = json.loads(opened.stdout)["id"]
    _users(gpv)
    before = gpv.fingerprint()
    refused = gpv(*OPEN, "--by", "dr.spdi")
    assert refused.returncode == 3, refused.stderr
    assert "„Fall anlegen“" in refused.stderr and "§ 35 Abs. 1 S. 2 SGB I" in refused.stderr
    refused = gpv("case", "correct", case_id, "--field", "received_on", "--value", "2026-02-27",
                  "--reason", "Eingangsstempel", "--by", "dr.spdi")  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert "„Eintrag berichtigen“" in refused.stderr
    assert gpv.fingerprint() == before
    done = gpv("case", "correct", case_id, "--field", "received_on", "--value", "2026-02-27",
               "--reason", "Eingangsstempel", "--by", "fm.mueller", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["received_on"] == "2026-02-27"
