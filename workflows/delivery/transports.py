"""Which transport carries a message: the configured one for e-mail, a file folder for letters.

Both are built from the delivery configuration (:mod:`workflows.delivery.config`) and the data
folder; the dispatcher and the engine alert ask here instead of constructing transports themselves.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from notifications.transport import (
    FileTransport,
    Handover,
    PermanentDeliveryError,
    SmtpTransport,
    TemporaryDeliveryError,
    Transport,
    _atomic_write,
    file_name_for,
)
from workflows.delivery.config import Config, TransportKind
from workflows.settings import data_dir

#: What the dispatcher tells the letter transport about a letter (:func:`mark_letter`). A letter is
#: written to a file, never sent, so these headers never leave gpv; they name the case by its
#: reference, the carrier by its party id and whether the person is a minor, nothing else.
CASE_HEADER = "X-Gpv-Case"
CARRIER_HEADER = "X-Gpv-Carrier"
ABOUT_CHILD_HEADER = "X-Gpv-About-Child"


def make_transport(config: Config) -> Transport:
    """The configured transport (file: maildir under ``<data>/mail``)."""
    if config.transport is TransportKind.SMTP:
        s = config.smtp
        return SmtpTransport(
            s.host,
            s.port,
            starttls=s.starttls,
            tls=s.tls,
            user=s.user,
            password=s.password,
            timeout=s.timeout,
        )
    return FileTransport(data_dir() / "mail")


def mark_letter(message: EmailMessage, *, case_ref: str, carrier: str, about_child: bool) -> None:
    """Give a letter what its PDF needs beyond the notice: the case, the sender, the addressees."""
    for header, value in (
        (CASE_HEADER, case_ref),
        (CARRIER_HEADER, carrier),
        (ABOUT_CHILD_HEADER, "ja" if about_child else "nein"),
    ):
        del message[header]
        message[header] = value


class LetterTransport(FileTransport):
    """Letters to persons without an e-mail address, under ``root/new``: the plain text
    (``….txt``, :func:`notifications.transport.letter_text`) and the letter for posting as PDF
    (``….pdf``, :mod:`workflows.delivery.letter_pdf`), both named after the Message-ID, so a
    re-send overwrites them."""

    def __init__(self, root: Path, *, config: Config, agreement: Any) -> None:
        super().__init__(root, letters=True)
        self.config = config
        self.agreement = agreement

    def send(self, message: EmailMessage, *, on_handover: Handover | None = None) -> None:
        pdf = self._pdf(message)
        try:
            path = _atomic_write(self.root, file_name_for(message, ".pdf"), pdf)
        except OSError as exc:
            raise TemporaryDeliveryError(f"Datei konnte nicht geschrieben werden: {exc}") from None
        super().send(message, on_handover=on_handover)
        self.written.append(path)

    def _pdf(self, message: EmailMessage) -> bytes:
        from workflows.delivery.letter_pdf import Letter, letterhead_for, render_pdf

        case_ref, carrier = message[CASE_HEADER], message[CARRIER_HEADER]
        if not case_ref or not carrier:
            raise PermanentDeliveryError(
                f"Brief ohne {CASE_HEADER}/{CARRIER_HEADER}: nur der Dispatcher schreibt Briefe "
                "(workflows.delivery.dispatch)."
            )
        body = message.get_body(preferencelist=("plain",))
        letter = Letter(
            letterhead=letterhead_for(carrier, self.agreement, self.config.address_of(carrier)),
            case_ref=str(case_ref),
            about_child=message[ABOUT_CHILD_HEADER] == "ja",
            date=parsedate_to_datetime(str(message["Date"])),
            subject=str(message["Subject"]),
            text=body.get_content() if body is not None else "",
        )
        try:
            return render_pdf(letter)
        except Exception as exc:  # a typesetting problem: retrying will not help
            raise PermanentDeliveryError(f"PDF-Brief: {type(exc).__name__}: {exc}") from None


def letters_transport(config: Config | None = None, agreement: Any = None) -> FileTransport:
    """Letters to persons without an e-mail address: files under ``<data>/letters``
    (:class:`LetterTransport`); ``config`` and ``agreement`` default to the loaded ones."""
    if agreement is None:
        from states.agreement import load_agreement

        agreement = load_agreement()
    if config is None:
        from workflows.delivery.config import load_config

        config = load_config(agreement=agreement)
    return LetterTransport(data_dir() / "letters", config=config, agreement=agreement)
