"""Notices name the case manager to contact, with a Reply-To to her address (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from notifications.transport import RecordingTransport
from tests.workflows.delivery.test_dispatch import NOW, _enqueue
from tests.workflows.notify_support import (
    notify_engine_fixture,  # noqa: F401
    open_case,
    smtp_config,
)
from workflows.delivery.config import PartyAddress, load_config
from workflows.delivery.dispatch import dispatch

CONTACT = PartyAddress(
    email="fallmanagement@lwl.example", name="LWL Fallmanagement",
    contact_name="Frau Beispiel", phone="0251 591-01",
)  # fmt: skip


def test_the_contact_line_names_who_to_call_and_write():
    assert CONTACT.contact_line() == "Frau Beispiel, Tel. 0251 591-01, fallmanagement@lwl.example"
    assert PartyAddress(email="a@b.example").contact_line() == "a@b.example"


def test_a_notice_to_the_person_names_the_case_manager_and_replies_go_to_her(notify_engine):
    case_id = open_case(notify_engine, municipality="unna")
    _enqueue(notify_engine, case_id, "consent_requested")
    config = smtp_config()
    config = replace(config, parties={**config.parties, "lwl": CONTACT})
    transport = RecordingTransport()
    dispatch(
        notify_engine, now=NOW, config=config, transport=transport,
        retry_base=timedelta(minutes=1),
    )  # fmt: skip
    (message,) = transport.messages
    assert str(message["Reply-To"]) == "Frau Beispiel <fallmanagement@lwl.example>"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Frau Beispiel, Tel. 0251 591-01, fallmanagement@lwl.example" in " ".join(text.split())


def test_gpv_toml_takes_the_contact_and_letterhead_fields(tmp_path):
    file = tmp_path / "gpv.toml"
    file.write_text(
        '[parties.lwl]\nemail = "fm@lwl.example"\ncontact_name = "Frau Beispiel"\n'
        'phone = "0251 591-01"\nstreet = "Freiherr-vom-Stein-Platz 1"\npostcode = "48133"\n'
        'town = "Münster"\n',
        encoding="utf-8",
    )
    party = load_config(file).parties["lwl"]
    assert (party.contact_name, party.phone, party.postcode, party.town) == (
        "Frau Beispiel", "0251 591-01", "48133", "Münster",
    )  # fmt: skip


def test_an_unknown_key_in_a_party_table_is_named(tmp_path):
    from states.errors import ConfigError

    file = tmp_path / "gpv.toml"
    file.write_text('[parties.lwl]\nemail = "fm@lwl.example"\nfax = "1"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="fax"):
        load_config(file)
