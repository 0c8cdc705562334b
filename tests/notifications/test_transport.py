"""Transports: SMTP against a real aiosmtpd server on loopback, the maildir file transport."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from notifications.message import Mailbox, build_email
from notifications.rendering import RenderedMessage
from notifications.transport import (
    FileTransport,
    PermanentDeliveryError,
    RecordingTransport,
    SmtpTransport,
    TemporaryDeliveryError,
)
from tests.notifications.samples import ISSUED_AT
from tests.notifications.smtp_server import SmtpServer, free_port, smtp_server_fixture  # noqa: F401


def _mail(n: int = 1, subject: str = "Frist 16.03.2026 – C-2026-000017"):
    rendered = RenderedMessage(subject=subject, text="Zeile\n.\n..Punkt", html="<p>x</p>")
    return build_email(
        rendered, message_id=f"<outbox-{n}@gpv.lwl.example>",
        sender=Mailbox("gpv@lwl.example", "gpv"), to=Mailbox("spdi@kreis-unna.example", "SPDI"),
        date=ISSUED_AT,
    )  # fmt: skip


def test_smtp_delivers_with_the_stable_message_id_and_dot_stuffing(smtp_server: SmtpServer):
    with SmtpTransport(smtp_server.host, smtp_server.port, timeout=5) as transport:
        transport.send(_mail(1))
        transport.send(_mail(2))
    assert smtp_server.handler.message_ids == [
        "<outbox-1@gpv.lwl.example>",
        "<outbox-2@gpv.lwl.example>",
    ]
    body = smtp_server.handler.messages[0].get_body(("plain",)).get_content()
    assert body.replace("\r\n", "\n") == "Zeile\n.\n..Punkt\n"


def test_the_handover_hook_runs_before_the_server_takes_the_message(smtp_server: SmtpServer):
    seen: list[int] = []
    with SmtpTransport(smtp_server.host, smtp_server.port, timeout=5) as transport:
        transport.send(_mail(1), on_handover=lambda: seen.append(smtp_server.handler.count))
    assert seen == [0]
    assert smtp_server.handler.count == 1


def test_a_failing_handover_hook_delivers_nothing(smtp_server: SmtpServer):
    def hook() -> None:
        raise RuntimeError("database is locked")

    with SmtpTransport(smtp_server.host, smtp_server.port, timeout=5) as transport:
        with pytest.raises(TemporaryDeliveryError, match="Übergabe"):
            transport.send(_mail(1), on_handover=hook)
        transport.send(_mail(2))  # reconnects
    assert smtp_server.handler.message_ids == ["<outbox-2@gpv.lwl.example>"]


def test_a_4xx_answer_is_a_temporary_failure(smtp_server: SmtpServer):
    smtp_server.handler.script = ["451 4.3.0 Bitte später"]
    with SmtpTransport(smtp_server.host, smtp_server.port, timeout=5) as transport:
        with pytest.raises(TemporaryDeliveryError, match="451"):
            transport.send(_mail(1))
        transport.send(_mail(1))
    assert smtp_server.handler.message_ids == ["<outbox-1@gpv.lwl.example>"]


def test_a_5xx_answer_is_a_permanent_failure(smtp_server: SmtpServer):
    smtp_server.handler.script = ["550 5.1.1 Postfach unbekannt"]
    transport = SmtpTransport(smtp_server.host, smtp_server.port, timeout=5)
    with pytest.raises(PermanentDeliveryError, match="550"):
        transport.send(_mail(1))
    assert smtp_server.handler.message_ids == []


def test_a_refused_connection_is_a_temporary_failure():
    transport = SmtpTransport("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(TemporaryDeliveryError):
        transport.send(_mail(1))


def test_the_file_transport_overwrites_a_resent_message_instead_of_duplicating(tmp_path):
    transport = FileTransport(tmp_path / "mail")
    transport.send(_mail(7))
    transport.send(_mail(7))
    files = list((tmp_path / "mail" / "new").iterdir())
    assert [f.name for f in files] == ["outbox-7@gpv.lwl.example.eml"]
    assert list((tmp_path / "mail" / "tmp").iterdir()) == []
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<outbox-7@gpv.lwl.example>"


def test_a_letter_is_plain_text_for_posting(tmp_path):
    transport = FileTransport(tmp_path / "letters", letters=True)
    transport.send(_mail(8))
    (letter,) = (tmp_path / "letters" / "new").iterdir()
    text = letter.read_text(encoding="utf-8")
    assert letter.name == "outbox-8@gpv.lwl.example.txt"
    assert text.startswith("BRIEF ZUR POST")
    assert "Frist 16.03.2026 – C-2026-000017" in text


def test_the_recording_transport_replays_scripted_failures():
    transport = RecordingTransport([TemporaryDeliveryError("451")])
    with pytest.raises(TemporaryDeliveryError):
        transport.send(_mail(1))
    transport.send(_mail(1))
    assert transport.message_ids == ["<outbox-1@gpv.lwl.example>"]
