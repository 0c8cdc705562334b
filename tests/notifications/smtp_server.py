"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, for the tests.

``script`` holds replies to give instead of ``250`` to the next DATA commands (e.g.
``"451 4.3.0 try later"``); an empty string means accept.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.message_ids: list[str] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TO) as received
        self.script: list[str] = []
        self.data_commands = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_commands += 1
            if self.script:
                reply = self.script.pop(0)
                if reply:
                    return reply
            msg = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(msg)  # type: ignore[arg-type]
            self.message_ids.append(str(msg["Message-ID"]))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.message_ids)

    def duplicates(self) -> dict[str, int]:
        with self.lock:
            return {k: v for k, v in Counter(self.message_ids).items() if v > 1}


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[SmtpServer]:
    """A running aiosmtpd server on a free loopback port."""
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
