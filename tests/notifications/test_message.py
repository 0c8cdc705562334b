"""Building the e-mail: stable Message-ID and no way to inject a header."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from notifications.message import (
    InvalidAddressError,
    Mailbox,
    build_email,
    check_address,
    message_id_for,
)
from notifications.rendering import RenderedMessage
from tests.notifications.samples import ISSUED_AT

SENDER = Mailbox("gpv@lwl.example", "gpv")


def _build(subject: str = "Betreff", name: str = "Name", to: str = "fm@lwl.example") -> bytes:
    rendered = RenderedMessage(subject=subject, text="Text", html="<p>Text</p>")
    msg = build_email(
        rendered, message_id=message_id_for(7, "lwl.example"), sender=SENDER,
        to=Mailbox(to, name), date=ISSUED_AT,
    )  # fmt: skip
    return bytes(msg)


def _headers(raw: bytes) -> dict[str, list[str]]:
    parsed = message_from_bytes(raw, policy=policy.default)
    out: dict[str, list[str]] = {}
    for key, value in parsed.items():
        out.setdefault(key.lower(), []).append(str(value))
    return out


def test_the_message_id_is_derived_from_the_outbox_id_only():
    assert message_id_for(7, "lwl.example") == "<outbox-7@gpv.lwl.example>"
    assert _headers(_build())["message-id"] == ["<outbox-7@gpv.lwl.example>"]


@pytest.mark.parametrize(
    "evil", ["Hallo\nBcc: x@evil.example", "Hallo\r\nBcc: x@evil.example", "a\rBcc: y@evil.example"]
)
def test_a_newline_in_the_subject_cannot_add_a_header(evil: str):
    headers = _headers(_build(subject=evil))
    assert "bcc" not in headers
    assert len(headers["subject"]) == 1
    assert "\n" not in headers["subject"][0] and "\r" not in headers["subject"][0]


@pytest.mark.parametrize("evil", ["Amt\r\nBcc: x@evil.example", "Amt\nX-Evil: 1"])
def test_a_newline_in_a_display_name_cannot_add_a_header(evil: str):
    headers = _headers(_build(name=evil))
    assert "bcc" not in headers and "x-evil" not in headers
    assert len(headers["to"]) == 1


@pytest.mark.parametrize(
    "address",
    ["a@b.de\r\nBcc: x@evil.example", "a@b.de\nBcc:x@y.de", "a b@c.de", "kein-at", "a@b", ""],
)
def test_a_malformed_or_smuggling_address_is_refused(address: str):
    with pytest.raises(InvalidAddressError):
        check_address(address)
    with pytest.raises(InvalidAddressError):
        _build(to=address)


def test_the_mail_carries_text_html_and_the_calendar_file():
    from notifications.rendering import Attachment

    ics = Attachment(
        "einladung.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n", {"method": "REQUEST"}
    )
    rendered = RenderedMessage(subject="S", text="T", html="<p>H</p>", attachments=(ics,))
    msg = build_email(
        rendered, message_id="<outbox-1@gpv.x>", sender=SENDER, to=SENDER, date=ISSUED_AT
    )
    types = [part.get_content_type() for part in msg.walk()]
    assert types == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    calendar = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    assert msg["Auto-Submitted"] == "auto-generated"
