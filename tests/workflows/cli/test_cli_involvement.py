"""``gpv case consent`` and ``gpv case objection`` (issue 10): the consent register and the
objection of § 76 Abs. 2 Nr. 1 SGB X from the command line, audited, with the exit codes of the
contract (2 bad input, 3 refused) and nothing written on a refusal."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.workflows.notify_support import notify_engine_fixture, open_case  # noqa: F401
from workflows.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _show(capsys, case_id: str) -> dict:
    code, out, _ = _run(capsys, "case", "show", case_id, "--json")
    assert code == 0
    return json.loads(out)


def test_a_consent_is_recorded_audited_and_revocable(notify_engine, capsys):
    case_id = open_case(notify_engine)
    code, out, _ = _run(
        capsys, "case", "consent", case_id, "--party", "jobcenter-kreis-unna",
        "--status", "erteilt", "--at", "2026-03-03", "--by", "fm", "--json",
    )  # fmt: skip
    assert code == 0
    case = json.loads(out)
    assert case["involvement"]["consented"] == ["jobcenter-kreis-unna"]
    entry = case["history"][-1]
    assert entry["trigger"] == "record_consent" and entry["by"] == "fm"
    with notify_engine.connect() as conn:
        params = conn.execute(text("SELECT params FROM audit_entries ORDER BY id DESC")).first()[0]
        register = conn.execute(text("SELECT scope, status, norm FROM consents")).all()
    assert (json.loads(params) if isinstance(params, str) else params) == {
        "party": "jobcenter-kreis-unna", "status": "given", "norm": "§ 22 Abs. 4 SGB IX",
    }  # fmt: skip
    assert register == [("involvement:jobcenter-kreis-unna", "given", "§ 22 Abs. 4 SGB IX")]
    code, out, _ = _run(
        capsys, "case", "consent", case_id, "--party", "jobcenter-kreis-unna",
        "--status", "widerrufen", "--at", "2026-03-04", "--by", "fm",
    )  # fmt: skip
    assert code == 0 and "Zustimmung erteilt für: –" in out
    assert _show(capsys, case_id)["involvement"]["consented"] == []


def test_a_consent_that_cannot_be_given_is_refused_and_writes_nothing(notify_engine, capsys):
    case_id = open_case(notify_engine)
    before = _show(capsys, case_id)
    cases = [
        (["--party", "lwl", "--status", "erteilt"], 2, "braucht keine Zustimmung"),
        (["--party", "lwl-leitung", "--status", "erteilt"], 2, "hängt nicht von einer Zustimmung"),
        (["--party", "niemand", "--status", "erteilt"], 2, "Unbekannte Partei"),
        (["--party", "spdi", "--status", "vielleicht"], 2, "erteilt, ja, refused"),
        (["--party", "spdi", "--status", "widerrufen"], 3, "keine Zustimmung erteilt"),
    ]
    for args, exit_code, message in cases:
        code, _, err = _run(capsys, "case", "consent", case_id, *args, "--by", "fm")
        assert (code, message in err, "Traceback" in err) == (exit_code, True, False), err
    assert _show(capsys, case_id) == before


def test_the_objection_is_recorded_and_withdrawn(notify_engine, capsys):
    case_id = open_case(notify_engine)
    code, out, _ = _run(
        capsys, "case", "objection", case_id, "widerspruch", "--at", "2026-03-05", "--by", "fm",
        "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["involvement"]["objection"] is True
    code, _, err = _run(capsys, "case", "objection", case_id, "widerspruch", "--by", "fm")
    assert code == 3 and "liegt bereits vor" in err and "§ 76 Abs. 2 Nr. 1 SGB X" in err
    code, out, _ = _run(
        capsys, "case", "objection", case_id, "zuruecknahme", "--at", "2026-03-06", "--by", "fm",
        "--json",
    )  # fmt: skip
    case = json.loads(out)
    assert case["involvement"]["objection"] is False
    assert [e["trigger"] for e in case["history"][-2:]] == ["record_objection"] * 2


def test_a_parents_benefits_wait_for_the_conference_or_the_parents_no(notify_engine, capsys):
    """§ 119 Abs. 4 SGB IX: recorded with gpv case parent, then determine_benefits is refused
    (exit 3, cited) until the parent refused the conference."""
    case_id = open_case(notify_engine)
    code, out, _ = _run(capsys, "case", "parent", case_id, "ja", "--at", "2026-03-03", "--json")
    assert code == 0 and json.loads(out)["involvement"]["parent"] is True
    code, _, err = _run(capsys, "case", "parent", case_id, "vielleicht")
    assert code == 2 and "ja oder nein" in err
    fire = ("fire", case_id)
    assert _run(capsys, *fire, "accept_jurisdiction", "--at", "2026-03-04")[0] == 0
    code, _, err = _run(capsys, *fire, "determine_benefits", "--at", "2026-03-05")
    assert code == 3 and "(§ 119 Abs. 4 SGB IX)" in err
    assert _run(capsys, *fire, "request_consent", "--at", "2026-03-05")[0] == 0
    assert _run(capsys, *fire, "refuse_consent", "--at", "2026-03-06")[0] == 0
    assert _run(capsys, *fire, "determine_benefits", "--at", "2026-03-09")[0] == 0
