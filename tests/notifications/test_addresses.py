"""The one e-mail address rule: ASCII before the @, an internationalised domain IDNA-encoded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.addresses import InvalidAddressError, check_address, is_valid_address


@pytest.mark.parametrize(
    ("entered", "stored"),
    [
        ("fm@lwl.example", "fm@lwl.example"),
        ("o'brien+gpv@kreis-unna.example", "o'brien+gpv@kreis-unna.example"),
        ("vorname.nachname@sub.kreis-unna.de", "vorname.nachname@sub.kreis-unna.de"),
        ("anna@müller.example", "anna@xn--mller-kva.example"),
        ("anna@MÜLLER.example", "anna@xn--mller-kva.example"),
        ("info@straße.de", "info@xn--strae-oqa.de"),  # IDNA 2008: ß stays ß, not "strasse"
        ("anna@xn--mller-kva.example", "anna@xn--mller-kva.example"),
    ],
)
def test_an_address_is_accepted_in_its_ascii_form(entered: str, stored: str):
    assert check_address(entered) == stored
    assert check_address(stored) == stored  # what is stored passes again unchanged


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("jürgen@example.org", "vor dem @ sind Umlaute"),
        ("straße@example.org", "vor dem @ sind Umlaute"),
        ("kein-at", "genau ein @"),
        ("a@b@c.de", "genau ein @"),
        ("a b@c.de", "vor dem @"),
        (".anna@example.org", "ohne Punkt am Anfang"),
        ("anna..b@example.org", "vor dem @"),
        ('"anna"@example.org', "vor dem @"),
        ("a@b.de\r\nBcc: x@evil.example", "genau ein @"),
        ("a@b.de\r\nBcc: x", "Domain"),
        ("anna@localhost", "Domain"),
        ("anna@[127.0.0.1]", "Domain"),
        ("anna@-kreis.de", "Domain"),
        ("anna@mü..de", "internationaler Name"),
        ("x" * 65 + "@example.org", "64 Zeichen"),
        ("a@" + ".".join(["b" * 60] * 5) + ".de", "254 Zeichen"),
    ],
)
def test_an_unusable_address_is_refused_with_a_german_reason(address: str, problem: str):
    with pytest.raises(InvalidAddressError, match="E-Mail-Adresse") as caught:
        check_address(address)
    assert problem in caught.value.message
    assert caught.value.exit_code == 2
    assert not is_valid_address(address)


def test_what_is_not_text_is_refused():
    assert not is_valid_address(None)
    with pytest.raises(InvalidAddressError):
        check_address(42)


@given(st.text(max_size=80))
def test_whatever_is_entered_is_refused_or_becomes_plain_ascii_that_passes_again(text: str):
    try:
        address = check_address(text)
    except InvalidAddressError:
        return
    assert address.isascii() and address.isprintable()
    assert not any(c.isspace() or c in '"<>(),;:[]\\' for c in address)
    assert check_address(address) == address
