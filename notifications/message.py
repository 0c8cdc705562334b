"""Building the e-mail: stable Message-ID, safe headers, text + HTML + calendar file.

Header injection is impossible by two independent guards: display names and subjects are reduced to
one line (every CR, LF and run of whitespace becomes one space) before they reach a header, and
addresses must pass the project's one address rule (:mod:`notifications.addresses`: ASCII
``local@domain``, an internationalised domain IDNA-encoded, no whitespace or control characters).
Under them, ``email.policy.SMTP`` itself refuses any header value with CR or LF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from notifications.addresses import InvalidAddressError, check_address, is_valid_address

__all__ = [
    "Attachment",
    "InvalidAddressError",
    "Mailbox",
    "RenderedMessage",
    "build_email",
    "check_address",
    "is_valid_address",
    "message_id_domain",
    "message_id_for",
    "one_line",
]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes
    params: Mapping[str, str]  # e.g. {"method": "REQUEST"}


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered notice (:func:`notifications.rendering.render`): what :func:`build_email`
    turns into an e-mail and a letter prints."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Mailbox:
    address: str
    name: str = ""


def one_line(text: str) -> str:
    """``text`` as one header-safe line: CR, LF, tabs and runs of spaces become one space."""
    return " ".join(str(text).split())


def message_id_for(outbox_id: int, domain: str) -> str:
    """The stable Message-ID of an outbox row: ``<outbox-{id}@gpv.{domain}>``.

    Derived from the row id only, so every retry and every re-send after a crash carries the same
    id and the receiving side can recognise a duplicate.
    """
    return f"<outbox-{int(outbox_id)}@gpv.{message_id_domain(domain)}>"


def message_id_domain(domain: str) -> str:
    """``domain`` made safe for the right-hand side of a Message-ID (one line, lower case, no
    leading or trailing dot); InvalidAddressError for anything but letters, digits, dots and
    dashes."""
    domain = one_line(domain).strip(".").lower() or "invalid"
    if not re.fullmatch(r"[a-z0-9.-]+", domain):
        raise InvalidAddressError(f"Ungültige Domain {domain!r} für die Message-ID.")
    return domain


def _mailbox(box: Mailbox) -> Address:
    local, _, domain = check_address(box.address).partition("@")
    return Address(display_name=one_line(box.name), username=local, domain=domain)


def build_email(
    rendered: RenderedMessage,
    *,
    message_id: str,
    sender: Mailbox,
    to: Mailbox,
    date: datetime,
    reply_to: Mailbox | None = None,
) -> EmailMessage:
    """One ``EmailMessage`` (policy SMTP: CRLF, header values checked)."""
    if date.tzinfo is None:
        raise ValueError("build_email: date must be timezone-aware")
    msg = EmailMessage(policy=policy.SMTP)
    msg["Message-ID"] = one_line(message_id)
    msg["Date"] = format_datetime(date)
    msg["From"] = _mailbox(sender)
    msg["To"] = _mailbox(to)
    if reply_to is not None:
        msg["Reply-To"] = _mailbox(reply_to)
    msg["Subject"] = one_line(rendered.subject)
    # RFC 3834: tell auto-responders not to answer an automatic notice.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    for attachment in rendered.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    return msg
