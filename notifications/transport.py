"""Transports: where a built message goes. One interface, three implementations.

- :class:`SmtpTransport`: plain ``smtplib``, one connection reused across sends (reconnects after
  any error); SMTP 4xx and network trouble are :class:`TemporaryDeliveryError`, 5xx is
  :class:`PermanentDeliveryError`.
- :class:`FileTransport`: a maildir-style folder (``tmp/`` → ``new/`` by atomic rename), one file
  per Message-ID, so a re-send replaces the file instead of adding a second one. The embedded
  default: ``gpv run`` works without a mail server and shows where every message went. With
  ``letters=True`` it writes plain-text letters for posting (the person has no e-mail address).
- :class:`RecordingTransport`: the test double, shipped here so every test uses the same one.
"""

from __future__ import annotations

import contextlib
import copy as _copy
import io
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

from notifications.addresses import InvalidAddressError, check_address
from states.errors import GpvError


class DeliveryError(GpvError):
    """A message was not delivered."""


class TemporaryDeliveryError(DeliveryError):
    """Try again later: SMTP 4xx, connection refused, timeout."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help: SMTP 5xx, an invalid address."""


Handover = Callable[[], None]


class _HandoverFailed(Exception):
    """The caller's hand-over hook raised; the message was not delivered."""


class Transport(Protocol):
    def send(self, message: EmailMessage, *, on_handover: Handover | None = None) -> None:
        """Deliver or raise :class:`TemporaryDeliveryError` / :class:`PermanentDeliveryError`.

        Returns only once the receiving side has accepted the message. ``on_handover``, if the
        transport supports it, is called at the last moment before the message becomes
        irrevocable (see :meth:`SmtpTransport.send`); transports whose delivery is idempotent
        (the file transport overwrites by Message-ID) may ignore it.
        """

    def close(self) -> None: ...


def _from_code(code: int, text: str) -> DeliveryError:
    if 400 <= code < 500:
        return TemporaryDeliveryError(f"SMTP {code}: {text}")
    return PermanentDeliveryError(f"SMTP {code}: {text}")


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


_LEADING_DOT = re.compile(rb"(?m)^\.")
CRLF = b"\r\n"


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """Envelope sender and recipients of ``message``, each through the one address rule
    (:func:`notifications.addresses.check_address`); an address it refuses, or no recipient, is a
    :class:`PermanentDeliveryError` (retrying will not help). Every transport applies it, so the
    file transport refuses exactly what SMTP would."""
    sender = getaddresses([str(message.get("From", ""))])[0][1]
    recipients = [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])]) if a]
    if not recipients:
        raise PermanentDeliveryError("Die Nachricht hat keinen Empfänger.")
    try:
        # An empty sender is the null reverse-path (RFC 5321 § 4.5.5), legitimate as it is.
        return check_address(sender) if sender else "", [check_address(r) for r in recipients]
    except InvalidAddressError as exc:
        raise PermanentDeliveryError(exc.message) from None


def _wire(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """Envelope sender, recipients and the message bytes (CRLF, without Bcc headers)."""
    sender, recipients = envelope(message)
    copy = _copy.copy(message)
    del copy["Bcc"]
    del copy["Resent-Bcc"]
    with io.BytesIO() as buffer:
        BytesGenerator(buffer, policy=message.policy).flatten(copy, linesep="\r\n")
        return sender, recipients, buffer.getvalue()


def _envelope(conn: smtplib.SMTP, sender: str, recipients: list[str]) -> None:
    """MAIL FROM and RCPT TO; any refusal resets the session and raises smtplib's error."""
    code, reply = conn.mail(sender)
    if code != 250:
        conn.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for rcpt in recipients:
        code, reply = conn.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, reply)
    if refused:
        conn.rset()
        raise smtplib.SMTPRecipientsRefused(refused)


def _submit(conn: smtplib.SMTP, message: EmailMessage, on_handover: Handover | None) -> None:
    """MAIL, RCPT, DATA by hand (as ``smtplib.SMTP.send_message`` does), so that the hand-over
    hook runs between the message text and the terminating ``.``."""
    sender, recipients, data = _wire(message)
    _envelope(conn, sender, recipients)
    code, reply = conn.docmd("data")
    if code != 354:
        conn.rset()
        raise smtplib.SMTPDataError(code, reply)
    body = _LEADING_DOT.sub(b"..", data)
    if not body.endswith(CRLF):
        body += CRLF
    conn.send(body)
    if on_handover is not None:
        try:
            on_handover()
        except Exception as exc:
            raise _HandoverFailed() from exc
    conn.send(b"." + CRLF)
    code, reply = conn.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


class SmtpTransport:
    """SMTP submission with ``smtplib``; not thread-safe (one per dispatcher)."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        starttls: bool = False,
        tls: bool = False,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if starttls and tls:
            raise ValueError("SmtpTransport: choose starttls or tls, not both")
        self.host, self.port = host, port
        self.starttls, self.tls = starttls, tls
        self.user, self.password = user, password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        # Built only for TLS: loading the system's CA store costs ~30 ms per connection.
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        conn: smtplib.SMTP
        if self.tls:
            conn = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=self._context(),
                local_hostname=self.local_hostname,
            )
        else:
            conn = smtplib.SMTP(
                self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
            )
        try:
            # The hand-over splits DATA into two writes (text, then "."): without NODELAY, Nagle's
            # algorithm and the server's delayed ACK stall every message by ~40 ms.
            if conn.sock is not None:
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo()
            if self.starttls:
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.user:
                conn.login(self.user, self.password or "")
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        return conn

    def send(self, message: EmailMessage, *, on_handover: Handover | None = None) -> None:
        """Submit one message. ``on_handover`` runs after the whole message text reached the
        server and *before* the final ``.`` that makes the server take it: a crash before that
        point delivers nothing (the server drops an unfinished DATA), so the caller can record the
        hand-over first and lose at most the instant between its commit and the ``.``. If the hook
        raises, the DATA is aborted (connection dropped) and nothing is delivered.
        """
        try:
            if self._conn is None:
                self._conn = self._connect()
            _submit(self._conn, message, on_handover)
        except _HandoverFailed as exc:
            self._drop()
            raise TemporaryDeliveryError(f"Übergabe nicht vermerkt: {exc.__cause__!r}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            codes = [code for code, _ in exc.recipients.values()]
            temporary = any(400 <= c < 500 for c in codes)
            detail = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
            cls = TemporaryDeliveryError if temporary else PermanentDeliveryError
            raise cls(f"Empfänger abgelehnt: {detail}") from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data error, auth, connect
            self._drop()
            raise _from_code(exc.smtp_code, _text(exc.smtp_error)) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._drop()
            raise PermanentDeliveryError(f"SMTP-Server unterstützt das nicht: {exc}") from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.quit()
            with contextlib.suppress(Exception):
                conn.close()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@-]+")


def file_name_for(message: EmailMessage, suffix: str) -> str:
    """A file name derived from the Message-ID (so a re-send overwrites, never duplicates)."""
    message_id = str(message.get("Message-ID") or "")
    stem = _SAFE_NAME.sub("_", message_id.strip("<> ")) or "ohne-message-id"
    return f"{stem}{suffix}"


def _atomic_write(folder: Path, name: str, data: bytes) -> Path:
    tmp_dir = folder / "tmp"
    new_dir = folder / "new"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    new_dir.mkdir(parents=True, exist_ok=True)
    (folder / "cur").mkdir(exist_ok=True)
    tmp = tmp_dir / f"{name}.{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    target = new_dir / name
    os.replace(tmp, target)
    return target


class FileTransport:
    """Writes each message into ``root`` as a maildir (``tmp/``, ``new/``, ``cur/``).

    ``letters=True`` writes a plain-text letter for posting instead of the raw e-mail (no calendar
    file: a letter cannot carry one).
    """

    def __init__(self, root: Path, *, letters: bool = False) -> None:
        self.root = Path(root)
        self.letters = letters
        self.written: list[Path] = []

    def send(self, message: EmailMessage, *, on_handover: Handover | None = None) -> None:
        # Idempotent by file name (the Message-ID): the hook is not needed, the caller marks the
        # row after this returns, and a re-send after a crash overwrites the same file.
        envelope(message)
        try:
            if self.letters:
                path = _atomic_write(
                    self.root, file_name_for(message, ".txt"), letter_text(message).encode("utf-8")
                )
            else:
                path = _atomic_write(self.root, file_name_for(message, ".eml"), bytes(message))
        except OSError as exc:
            raise TemporaryDeliveryError(f"Datei konnte nicht geschrieben werden: {exc}") from None
        self.written.append(path)

    def close(self) -> None:
        return None


def letter_text(message: EmailMessage) -> str:
    """The letter for posting: who it is for, the subject, the plain-text body."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return (
        f"BRIEF ZUR POST\n"
        f"An: {message['To']}\n"
        f"Betreff: {message['Subject']}\n"
        f"Datum: {message['Date']}\n"
        f"Kennung: {message['Message-ID']}\n"
        f"{'-' * 72}\n\n{text}"
    )


class RecordingTransport:
    """Test double: records every message; ``failures`` are raised on the first sends, in order."""

    def __init__(self, failures: Iterable[DeliveryError] = ()) -> None:
        self.messages: list[EmailMessage] = []
        self._failures = list(failures)
        self.closed = False

    def send(self, message: EmailMessage, *, on_handover: Handover | None = None) -> None:
        if self._failures:
            raise self._failures.pop(0)
        envelope(message)  # refuses what the real transports refuse
        if on_handover is not None:
            on_handover()
        self.messages.append(message)

    def close(self) -> None:
        self.closed = True

    @property
    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]
