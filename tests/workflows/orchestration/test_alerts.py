"""The engine alert by e-mail: a real SMTP server on loopback (aiosmtpd), the file transport, the
stable Message-ID, header safety and data minimisation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from notifications.transport import (
    PermanentDeliveryError,
    RecordingTransport,
    TemporaryDeliveryError,
)
from states.agreement import load_agreement
from tests.notifications.smtp_server import SmtpServer, smtp_server_fixture  # noqa: F401
from tests.workflows.notify_support import smtp_config
from workflows.delivery.config import Config, load_config
from workflows.orchestration.alerts import AlertNotSentError, send_engine_alert, supervisor_parties

# Saturday before Easter 2026, 23:30 UTC = Easter Sunday 01:30 in Berlin (summer time, CEST)
NOW = datetime(2026, 4, 4, 23, 30, tzinfo=UTC)
RUN_ID = "prefect.flow-run.0f9b8d3c-1c2e-4a5b-9d7e-3f2a1b0c9d8e"
FAILED = "prefect.flow-run.Failed"
AGREEMENT = load_agreement()
SUPERVISORS = supervisor_parties(AGREEMENT)
CASE_REF = re.compile(r"C-\d{4}-\d{6}")


def _send(transport, config: Config | None = None, **overrides):
    kwargs = {
        "reason": "Fristenprüfung ausgefallen",
        "run_name": "sweep-deadlines-quiet-otter",
        "run_id": RUN_ID,
        "event": FAILED,
        "now": NOW,
        "config": config or smtp_config(),
        "transport": transport,
        "agreement": AGREEMENT,
        "dashboard": "http://127.0.0.1:4200",
    }
    kwargs.update(overrides)
    return send_engine_alert(**kwargs)


def _smtp(server: SmtpServer) -> Config:
    return smtp_config(server.host, server.port)


def _to(message) -> str:
    return message["To"].addresses[0].addr_spec


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_the_agreement_names_the_two_supervisors():
    assert SUPERVISORS == ["lwl-leitung", "kreis-unna-leitung"]


def test_an_alert_reaches_every_supervisor_address_once_with_a_stable_message_id(smtp_server):
    sent = send_engine_alert(
        reason="Fristenprüfung ausgefallen", run_name="sweep-deadlines-quiet-otter",
        run_id=RUN_ID, event=FAILED, now=NOW, config=_smtp(smtp_server), agreement=AGREEMENT,
        dashboard="http://127.0.0.1:4200",
    )  # fmt: skip
    assert sent == SUPERVISORS
    messages = smtp_server.handler.messages
    assert sorted(_to(m) for m in messages) == sorted(f"{p}@partner.example" for p in SUPERVISORS)
    assert smtp_server.handler.duplicates() == {}
    ids = {str(m["Message-ID"]) for m in messages}
    assert len(ids) == len(SUPERVISORS)
    for message_id in ids:
        assert re.fullmatch(r"<engine-alert-[0-9a-f]{16}@gpv\.lwl\.example>", message_id)
    for message in messages:
        assert str(message["Subject"]) == "gpv: Fristenprüfung gestört – bitte prüfen"
        assert str(message["Auto-Submitted"]) == "auto-generated"


def test_a_second_send_of_the_same_alert_carries_the_same_message_ids(smtp_server):
    _send(None, config=_smtp(smtp_server))
    first = list(smtp_server.handler.message_ids)
    _send(None, config=_smtp(smtp_server), now=NOW.replace(minute=31))
    assert smtp_server.handler.message_ids == first + first


def test_another_event_of_the_same_run_is_another_message():
    failed, late = RecordingTransport(), RecordingTransport()
    _send(failed)
    _send(late, event="prefect.flow-run.Late")
    assert set(failed.message_ids).isdisjoint(late.message_ids)


def test_two_manual_alerts_without_a_run_id_do_not_share_a_message_id():
    one, two = RecordingTransport(), RecordingTransport()
    _send(one, run_id="", event="")
    _send(two, run_id="", event="", now=NOW.replace(minute=45))
    assert set(one.message_ids).isdisjoint(two.message_ids)


def test_the_alert_says_what_happened_what_it_means_and_what_to_do():
    transport = RecordingTransport()
    _send(transport)
    text, html = _text(transport.messages[0]), _html(transport.messages[0])
    for body in (text, html):
        assert "sweep-deadlines-quiet-otter" in body
        assert "Failed" in body and "fehlgeschlagen" in body
        assert "Sonntag, 5. April 2026, 01:30 Uhr" in body  # Europe/Berlin, summer time
        assert "Fristenprüfung ausgefallen" in body
        assert "Erinnerungen" in body and "Eskalationen" in body
        assert "Fristen laufen trotzdem weiter" in body and "§ 14 SGB IX" in body
        assert "http://127.0.0.1:4200/runs/flow-run/0f9b8d3c-1c2e-4a5b-9d7e-3f2a1b0c9d8e" in body
        assert "gpv sweep" in body
    assert "LWL – Teamleitung Fallmanagement" in text


def test_the_file_transport_default_writes_the_alert_under_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    for var in ("GPV_CONFIG", "GPV_TRANSPORT", "PREFECT_UI_URL", "PREFECT_API_URL"):
        monkeypatch.delenv(var, raising=False)
    sent = send_engine_alert(
        reason="Fristenprüfung ausgefallen", run_name="sweep-deadlines-quiet-otter",
        run_id=RUN_ID, event=FAILED, now=NOW,
    )  # fmt: skip
    assert sent == SUPERVISORS
    files = sorted((tmp_path / "mail" / "new").glob("engine-alert-*.eml"))
    assert len(files) == len(SUPERVISORS)
    recipients = set()
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        recipients.add(_to(message))
        assert "http://127.0.0.1:4200" in _text(message)  # the configured server address
    assert recipients == {f"{p}@gpv.invalid" for p in SUPERVISORS}
    # A retry overwrites the same files instead of adding new ones.
    send_engine_alert(
        reason="Fristenprüfung ausgefallen", run_name="sweep-deadlines-quiet-otter",
        run_id=RUN_ID, event=FAILED, now=NOW,
    )  # fmt: skip
    assert sorted((tmp_path / "mail" / "new").glob("*.eml")) == files


def test_a_newline_in_the_reason_or_run_name_cannot_add_a_header(smtp_server):
    _send(
        None,
        config=_smtp(smtp_server),
        reason="kaputt\r\nBcc: spion@evil.example\r\n\r\nneuer Text",
        run_name="sweep\nX-Injected: ja",
    )
    assert len(smtp_server.handler.messages) == len(SUPERVISORS)
    for message in smtp_server.handler.messages:
        assert message["Bcc"] is None and message["X-Injected"] is None
        assert _to(message) != "spion@evil.example" and len(message["To"].addresses) == 1
        text = _text(message)
        assert "Grund: kaputt Bcc: spion@evil.example neuer Text" in text
        assert "Der Lauf sweep X-Injected: ja ist fehlgeschlagen." in text


def test_a_long_reason_is_cut_to_one_bounded_line():
    transport = RecordingTransport()
    _send(transport, reason="Fehler " * 200)
    line = next(ln for ln in _text(transport.messages[0]).splitlines() if ln.startswith("Grund:"))
    assert line.endswith("…") and len(line) <= len("Grund: ") + 300


def test_html_escapes_the_reason():
    transport = RecordingTransport()
    _send(transport, reason="<script>alert(1)</script> & Co")
    html = _html(transport.messages[0])
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


def test_the_alert_carries_no_case_data():
    transport = RecordingTransport()
    _send(transport)
    for message in transport.messages:
        whole = bytes(message).decode("utf-8", "replace") + _text(message) + _html(message)
        assert not CASE_REF.search(whole)
        assert "Aktenzeichen" not in whole
        for word in ("Diagnose", "Geburtsdatum", "Behinderung", "Stellungnahme:"):
            assert word not in whole


def test_a_refused_supervisor_does_not_keep_the_other_uninformed():
    transport = RecordingTransport(failures=[PermanentDeliveryError("SMTP 550: unknown")])
    with pytest.raises(AlertNotSentError, match="lwl-leitung: SMTP 550") as caught:
        _send(transport)
    assert "Erreicht: kreis-unna-leitung" in caught.value.message
    assert [_to(m) for m in transport.messages] == ["kreis-unna-leitung@partner.example"]


def test_a_temporary_failure_is_raised_as_temporary_so_the_task_retries():
    transport = RecordingTransport(failures=[TemporaryDeliveryError("SMTP 451: later")])
    with pytest.raises(TemporaryDeliveryError, match="451"):
        _send(transport)


def test_without_a_configured_address_on_smtp_the_error_names_the_key_to_set(tmp_path: Path):
    path = tmp_path / "gpv.toml"
    path.write_text(
        '[transport]\nkind = "smtp"\n[smtp]\nhost = "127.0.0.1"\nfrom = "gpv@lwl.example"\n'
        '[parties.lwl-leitung]\nemail = "leitung@lwl.example"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={}, agreement=AGREEMENT)
    transport = RecordingTransport()
    with pytest.raises(AlertNotSentError, match=r"\[parties\.kreis-unna-leitung\] email"):
        _send(transport, config=config)
    assert [_to(m) for m in transport.messages] == ["leitung@lwl.example"]


def test_the_golden_files_variables_are_the_ones_the_alert_builds():
    from tests.notifications.test_rendering import ENGINE_ALERT
    from workflows.orchestration.alerts import alert_variables

    built = alert_variables(
        reason="Fristenprüfung ausgefallen", run_name="sweep-deadlines-quiet-otter", run_id=RUN_ID,
        event=FAILED, now=NOW, dashboard="http://127.0.0.1:4200/",
        message_id=ENGINE_ALERT["message_id"], recipient_name="LWL – Teamleitung Fallmanagement",
    )  # fmt: skip
    assert built == ENGINE_ALERT


# ------------------------------------------- alerts that reached nobody, on the dashboard (13/6)

LOST_ALERT = {
    "id": 2, "event": "delivery_failed", "recipient_party": "lwl-leitung", "attempts": 1,
    "last_error": "Keine E-Mail-Adresse für die Partei 'lwl-leitung': bitte in gpv.toml …",
    "about_id": 1, "about_event": "statement_requested",
}  # fmt: skip


@pytest.mark.parametrize(
    ("last_error", "kind"),
    [
        (LOST_ALERT["last_error"], "keine Adresse in gpv.toml"),
        ("InvalidAddressError: Die E-Mail-Adresse 'j@x' ist nicht verwendbar", "Adresse ungültig"),
        ("nach 5 Versuchen: 451", "Versuche erschöpft (Server nicht erreichbar oder 4xx)"),
        ("Empfänger abgelehnt: a@b.de: 550 unknown", "Empfänger vom Mailserver abgelehnt"),
        ("SMTP 554: rejected", "vom Mailserver abgelehnt (5xx)"),
        ("UndefinedError: 'x' is undefined", "interner Fehler"),
        ("etwas ganz anderes mit a@b.de", "sonstiger Fehler"),
        (None, "sonstiger Fehler"),
    ],
)  # fmt: skip
def test_the_dashboard_shows_the_kind_of_failure_never_its_text(last_error, kind):
    from workflows.orchestration.undeliverable import failure_kind

    assert failure_kind(last_error) == kind


def test_the_undeliverable_table_names_ids_event_party_attempts_and_kind_only():
    from workflows.orchestration.undeliverable import undeliverable_rows

    (row,) = undeliverable_rows([{**LOST_ALERT, "last_error": "Empfänger abgelehnt: p@x.de: 550"}])
    assert row == {
        "Outbox-ID": 2, "Ereignis": "Nachricht nicht zustellbar",
        "Empfänger (Partei)": "lwl-leitung", "Versuche": 1,
        "Fehlerart": "Empfänger vom Mailserver abgelehnt",
        "betrifft Outbox-ID": 1, "betrifft Ereignis": "statement_requested",
    }  # fmt: skip
    assert "@" not in str(row)


def test_the_dispatch_flow_ends_failed_with_the_table_while_an_alert_reached_nobody(
    app_engine, smtp_server, monkeypatch: pytest.MonkeyPatch
):
    """The SPDI's notice fails (no address on SMTP), and so does the alert to lwl-leitung: the run
    ends Failed with a German message and publishes ``undeliverable-alerts``; once the addresses
    are set and the rows retried, the run completes and the table says all clear."""
    import asyncio
    import os

    from prefect.artifacts import Artifact

    from tests.workflows.notify_support import open_case
    from workflows import service
    from workflows.orchestration.flows import dispatch_notifications
    from workflows.orchestration.undeliverable import NONE_YET, STATE_NAME, UNDELIVERABLE_KEY
    from workflows.store.outbox import retry_failed

    monkeypatch.delenv("GPV_CONFIG", raising=False)
    for var, value in (("GPV_TRANSPORT", "smtp"), ("GPV_SMTP_HOST", smtp_server.host),
                       ("GPV_SMTP_PORT", str(smtp_server.port)),
                       ("GPV_SMTP_FROM", "gpv@lwl.example")):  # fmt: skip
        monkeypatch.setenv(var, value)
    case_id = open_case(app_engine)
    at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    for trigger in ("accept_jurisdiction", "request_statement"):
        service.fire(app_engine, case_id, trigger, {}, at=at, by="fm")

    state = asyncio.run(dispatch_notifications.fn("2026-03-03T11:00:00+00:00"))
    assert state.is_failed() and state.name == STATE_NAME
    assert "Meldung(en) an die Leitung" in state.message and "gpv outbox retry" in state.message
    artifact = Artifact.get(UNDELIVERABLE_KEY, _sync=True)
    assert "lwl-leitung" in str(artifact.data) and "keine Adresse in gpv.toml" in str(artifact.data)
    assert "@" not in str(artifact.data) and case_id not in str(artifact.data)

    data = Path(os.environ["GPV_DATA_DIR"])
    (data / "gpv.toml").write_text(
        '[parties.spdi]\nemail = "spdi@kreis-unna.example"\n'
        '[parties.lwl-leitung]\nemail = "leitung@lwl.example"\n',
        encoding="utf-8",
    )
    assert len(retry_failed(app_engine)) == 2
    result = asyncio.run(dispatch_notifications.fn("2026-03-03T11:05:00+00:00"))
    assert result == {"sent": 2, "retrying": 0, "failed": 0}
    cleared = Artifact.get(UNDELIVERABLE_KEY, _sync=True)
    assert cleared.description.startswith(NONE_YET)
