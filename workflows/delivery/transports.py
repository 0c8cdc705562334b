"""Which transport carries a message: the configured one for e-mail, a file folder for letters.

Both are built from the delivery configuration (:mod:`workflows.delivery.config`) and the data
folder; the dispatcher and the engine alert ask here instead of constructing transports themselves.
"""

from __future__ import annotations

from notifications.transport import FileTransport, SmtpTransport, Transport
from workflows.delivery.config import Config, TransportKind
from workflows.settings import data_dir


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


def letters_transport() -> FileTransport:
    """Letters to persons without an e-mail address: one file each under ``<data>/letters``."""
    return FileTransport(data_dir() / "letters", letters=True)
