"""The command line of the notifications: gpv outbox, gpv dispatch, gpv config show."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.notifications.smtp_server import smtp_server_fixture  # noqa: F401
from tests.workflows.notify_support import notify_engine_fixture, open_case  # noqa: F401
from workflows.cli import main

AT = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_dispatch_sends_to_the_file_transport_and_outbox_lists_it(notify_engine, tmp_path, capsys):
    from workflows import service

    case_id = open_case(notify_engine)
    for trigger in ("accept_jurisdiction", "request_statement"):
        service.fire(notify_engine, case_id, trigger, {}, at=AT, by="fm")
    code, out, _ = _run(capsys, "outbox", "--status", "pending", "--json")
    assert code == 0
    pending = json.loads(out)
    # The SPDI's task, and the person's notice of the right to object (§ 76 Abs. 2 Nr. 1 SGB X)
    assert [r["event"] for r in pending] == ["statement_requested", "objection_notice"]

    code, out, _ = _run(capsys, "dispatch", "--now", "2026-03-03T11:00", "--json")
    assert code == 0 and json.loads(out) == {"sent": 2, "retrying": 0, "failed": 0}
    mails = sorted(p.name for p in (tmp_path / "mail" / "new").iterdir())
    assert f"outbox-{pending[0]['id']}@gpv.gpv.invalid.eml" in mails

    code, out, _ = _run(capsys, "outbox")
    assert "statement_requested" in out and "gesendet" in out and "E-Mail" in out


def test_outbox_refuses_an_unknown_status(notify_engine, capsys):
    code, _, err = _run(capsys, "outbox", "--status", "lost")
    assert code == 2 and "Unbekannter Status" in err and "Traceback" not in err


def test_config_show_masks_secrets_and_names_default_addresses(
    notify_engine, tmp_path, capsys, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "gpv.toml").write_text('[smtp]\npassword = "geheim"\n', encoding="utf-8")
    code, out, _ = _run(capsys, "config", "show", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["smtp"]["password"] == "********"
    assert "geheim" not in out
    assert shown["parties"]["spdi"]["email"] == "spdi@gpv.invalid"
    code, out, _ = _run(capsys, "config", "show")
    assert "Standardadresse, nur für den Dateiversand" in out


def test_an_invalid_config_file_is_one_line_on_stderr_with_exit_2(notify_engine, tmp_path, capsys):
    (tmp_path / "gpv.toml").write_text("[smtp]\nport = 0\n", encoding="utf-8")
    code, _, err = _run(capsys, "config", "show")
    assert code == 2
    assert "gpv.toml" in err and "smtp.port" in err and len(err.strip().splitlines()) == 1


def test_an_undeliverable_supervisor_alert_fails_dispatch_until_retried(
    notify_engine, smtp_server, tmp_path, capsys, monkeypatch: pytest.MonkeyPatch
):
    """Issue 13 (6): the SPDI's notice fails (no address on SMTP) and queues an alert to the
    LWL's supervisor, who has no address either: nobody knows a deadline may be lost, so gpv
    dispatch exits 1 and says what to do. With the addresses added, gpv outbox retry puts both
    back and the next dispatch sends them (same Message-IDs) and exits 0."""
    from workflows import service

    monkeypatch.setenv("GPV_TRANSPORT", "smtp")
    monkeypatch.setenv("GPV_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("GPV_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("GPV_SMTP_FROM", "gpv@lwl.example")
    case_id = open_case(notify_engine)
    for trigger in ("accept_jurisdiction", "request_statement"):
        service.fire(notify_engine, case_id, trigger, {}, at=AT, by="fm")
    code, out, err = _run(capsys, "dispatch", "--now", "2026-03-03T11:00", "--json")
    # the person's notice of the right to object goes out; the SPDI's and the alert fail
    assert code == 1 and json.loads(out) == {"sent": 1, "retrying": 0, "failed": 2}
    assert "gpv outbox retry" in err and "Traceback" not in err

    (tmp_path / "gpv.toml").write_text(
        '[parties.spdi]\nemail = "spdi@kreis-unna.example"\n'
        '[parties.lwl-leitung]\nemail = "leitung@lwl.example"\n',
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "outbox", "retry", "--json")
    assert code == 0 and len(json.loads(out)["reset"]) == 2
    code, out, _ = _run(capsys, "dispatch", "--now", "2026-03-03T11:05", "--json")
    assert code == 0 and json.loads(out) == {"sent": 2, "retrying": 0, "failed": 0}
    assert len(smtp_server.handler.message_ids) == 3  # with the person's notice


def _smtp_env(monkeypatch: pytest.MonkeyPatch, host: str = "127.0.0.1", port: int = 25) -> None:
    monkeypatch.setenv("GPV_TRANSPORT", "smtp")
    monkeypatch.setenv("GPV_SMTP_HOST", host)
    monkeypatch.setenv("GPV_SMTP_PORT", str(port))
    monkeypatch.setenv("GPV_SMTP_FROM", "gpv@lwl.example")


def test_config_check_passes_on_the_embedded_file_transport(notify_engine, capsys):
    code, out, err = _run(capsys, "config", "check")
    assert code == 0 and err == ""
    assert "Alle Parteien sind erreichbar." in out
    assert "lwl-leitung@gpv.invalid" in out and "Standardadresse" in out


def test_config_check_names_every_party_without_an_address_and_the_key_with_exit_2(
    notify_engine, tmp_path, capsys, monkeypatch: pytest.MonkeyPatch
):
    _smtp_env(monkeypatch)
    (tmp_path / "gpv.toml").write_text(
        '[parties.lwl]\nemail = "fm@lwl.example"\n', encoding="utf-8"
    )
    code, out, err = _run(capsys, "config", "check", "--json")
    assert code == 2 and "Traceback" not in err
    reach = {p["party"]: p for p in json.loads(out)["parties"]}
    assert reach["lwl"]["reachable"] and not reach["lwl-leitung"]["reachable"]
    assert reach["lwl-leitung"]["receives_alerts"]
    assert "lwl-leitung" in err and "[parties.<id>] email" in err
    assert str(tmp_path / "gpv.toml") in err and "lwl, " not in err


def test_gpv_run_refuses_to_start_while_a_supervisor_cannot_be_reached(
    notify_engine, capsys, monkeypatch: pytest.MonkeyPatch
):
    _smtp_env(monkeypatch)
    code, _, err = _run(capsys, "run")
    assert code == 2 and "Traceback" not in err
    assert "lwl-leitung" in err and "kreis-unna-leitung" in err and "gpv config check" in err


def test_gpv_dispatch_warns_about_parties_without_an_address_and_still_sends(
    notify_engine, smtp_server, tmp_path, capsys, monkeypatch: pytest.MonkeyPatch
):
    _smtp_env(monkeypatch, smtp_server.host, smtp_server.port)
    (tmp_path / "gpv.toml").write_text(
        '[parties.lwl-leitung]\nemail = "leitung@lwl.example"\n', encoding="utf-8"
    )
    code, out, err = _run(capsys, "dispatch", "--now", "2026-03-03T11:00", "--json")
    assert code == 0 and json.loads(out) == {"sent": 0, "retrying": 0, "failed": 0}
    assert err.startswith("Warnung: Ohne E-Mail-Adresse") and "spdi" in err


def test_case_open_refuses_an_umlaut_before_the_at_with_exit_2(notify_engine, capsys):
    code, _, err = _run(
        capsys, "case", "open", "--received", "2026-03-02", "--birth-date", "1990-05-05",
        "--municipality", "Kamen", "--disability", "mental", "--benefit", "supported_living",
        "--contact-email", "jürgen@example.org", "--at", "2026-03-02T09:00",
    )  # fmt: skip
    assert code == 2 and "vor dem @ sind Umlaute" in err and "Traceback" not in err
