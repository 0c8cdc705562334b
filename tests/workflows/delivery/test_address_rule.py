"""One e-mail address rule at every door (issue 13, item 6): the same address is accepted (in the
same ASCII form) or refused alike at case open and update, in gpv.toml and its environment
override, and at dispatch against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import update

from notifications.transport import PermanentDeliveryError, SmtpTransport
from states.errors import ConfigError, InputError
from tests.notifications.smtp_server import SmtpServer, smtp_server_fixture  # noqa: F401
from tests.workflows.delivery.test_dispatch import _enqueue
from tests.workflows.notify_support import (
    notify_engine_fixture,  # noqa: F401
    open_case,
    smtp_config,
)
from workflows.delivery.config import load_config
from workflows.delivery.dispatch import dispatch, store_case
from workflows.orchestration.undeliverable import failure_kind
from workflows.store.models import CaseRow
from workflows.store.outbox import outbox_rows

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)

ACCEPTED = [
    ("betreuerin@example.org", "betreuerin@example.org"),
    ("anna@müller.example", "anna@xn--mller-kva.example"),
    ("info@straße.example", "info@xn--strae-oqa.example"),
]
REFUSED = ["jürgen@example.org", "anna@mü..example", "anna@localhost"]


def _config_file(tmp_path, address: str):
    path = tmp_path / "gpv.toml"
    path.write_text(f'[parties.spdi]\nemail = "{address}"\n', encoding="utf-8")
    return path


def _dispatch(engine, server: SmtpServer, **parties: str):
    config = smtp_config(server.host, server.port, **parties)
    return dispatch(engine, now=NOW, config=config, retry_base=timedelta(minutes=1))


@pytest.mark.parametrize(("entered", "stored"), ACCEPTED)
def test_an_accepted_address_is_stored_configured_and_sent_in_the_same_ascii_form(
    notify_engine, smtp_server, tmp_path, entered: str, stored: str
):
    from workflows import service

    case_id = open_case(notify_engine, email=entered)
    assert store_case(notify_engine, case_id).contact_email == stored
    service.update_contact(notify_engine, case_id, f" {entered} ", at=NOW, by="fm")
    assert store_case(notify_engine, case_id).contact_email == stored

    config = load_config(_config_file(tmp_path, entered), environ={"GPV_SMTP_FROM": entered})
    assert config.parties["spdi"].email == stored and config.smtp.from_address == stored

    _enqueue(notify_engine, case_id, "consent_requested")  # to the person
    _enqueue(notify_engine, case_id, "statement_requested")  # to the SPDI
    assert _dispatch(notify_engine, smtp_server, spdi=stored)["sent"] == 2
    assert [rcpt for _, rcpt in smtp_server.handler.envelopes] == [[stored], [stored]]
    assert str(smtp_server.handler.messages[0]["To"]) == stored


@pytest.mark.parametrize("address", REFUSED)
def test_a_refused_address_is_refused_at_entry_in_the_config_and_at_dispatch(
    notify_engine, smtp_server, tmp_path, address: str
):
    from workflows import service

    with pytest.raises(InputError, match="E-Mail-Adresse"):
        open_case(notify_engine, email=address)
    case_id = open_case(notify_engine, email=None)
    with pytest.raises(InputError, match="E-Mail-Adresse"):
        service.update_contact(notify_engine, case_id, address, at=NOW, by="fm")
    with pytest.raises(ConfigError, match=r"parties\.spdi\.email.*E-Mail-Adresse"):
        load_config(_config_file(tmp_path, address), environ={})
    with pytest.raises(ConfigError, match=r"GPV_SMTP_FROM.*E-Mail-Adresse"):
        load_config(
            _config_file(tmp_path, "spdi@kreis-unna.example"), environ={"GPV_SMTP_FROM": address}
        )

    # An address stored before the rule (written behind its back) fails at dispatch, permanently,
    # and never reaches the server; the carrier's supervisor is told.
    with notify_engine.begin() as conn:
        conn.execute(update(CaseRow).where(CaseRow.id == case_id).values(contact_email=address))
    (row_id,) = _enqueue(notify_engine, case_id, "consent_requested")
    assert _dispatch(notify_engine, smtp_server)["failed"] == 1
    row = next(r for r in outbox_rows(notify_engine) if r["id"] == row_id)
    assert row["status"] == "failed" and failure_kind(row["last_error"]) == "Adresse ungültig"
    assert [rcpt for _, rcpt in smtp_server.handler.envelopes] == [["lwl-leitung@partner.example"]]


@pytest.mark.parametrize("address", REFUSED)
def test_the_smtp_transport_refuses_what_the_rule_refuses_before_talking_to_the_server(
    smtp_server, address: str
):
    message = EmailMessage()
    message["From"] = "gpv@lwl.example"
    message["To"] = address
    message["Message-ID"] = "<outbox-1@gpv.lwl.example>"
    message.set_content("Text")
    transport = SmtpTransport(smtp_server.host, smtp_server.port, timeout=5)
    with transport, pytest.raises(PermanentDeliveryError):  # unusable, or not even an address
        transport.send(message)
    assert smtp_server.handler.data_commands == 0
