"""The one rule for e-mail addresses, used at every door: case open and update, the delivery
configuration, building the message and the SMTP transport.

The rule: ``local@domain`` where

* the local part (before the ``@``) is an ASCII dot-atom (RFC 5322: letters a–z, digits and
  ``! # $ % & ' * + / = ? ^ _ ` { | } ~ -``, dots only between characters), at most 64 characters.
  Umlauts there would need SMTPUTF8 (RFC 6531) on every server on the way, and many public-sector
  mail servers do not offer it: such an address is refused at entry rather than failing weeks
  later at dispatch;
* the domain is a host name of at least two labels. Umlauts are allowed there: the domain is
  IDNA-encoded (IDNA 2008 with the UTS 46 mapping, as DENIC registers ``.de`` domains, so
  ``straße.de`` stays ``xn--strae-oqa.de`` and does not turn into ``strasse.de``) and the ASCII form
  is what is stored and sent, so no server needs to understand Unicode;
* the whole address is at most 254 characters; no whitespace, quotes, brackets, comments or
  control characters anywhere (which also makes header injection impossible).

:func:`check_address` returns that canonical ASCII form; it is idempotent, so a stored address
passes again unchanged at dispatch.
"""

from __future__ import annotations

import re

import idna

from states.errors import InputError

MAX_ADDRESS = 254
MAX_LOCAL = 64

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_EXAMPLE = "erwartet wird z. B. name@beispiel.de"


class InvalidAddressError(InputError):
    """An e-mail address that is malformed, cannot be delivered without SMTPUTF8, or could smuggle
    a header; the message says which part is wrong."""


def _refuse(value: object, problem: str) -> InvalidAddressError:
    return InvalidAddressError(f"Die E-Mail-Adresse {value!r} ist nicht verwendbar: {problem}")


def _ascii_domain(domain: str, value: str) -> str:
    """The domain in ASCII: IDNA-encoded when it has non-ASCII letters, else as written."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise _refuse(
            value, f"die Domain nach dem @ ist kein gültiger internationaler Name; {_EXAMPLE}."
        ) from None


def check_address(value: object) -> str:
    """The address in its canonical form (ASCII; an internationalised domain IDNA-encoded), or
    :class:`InvalidAddressError` with a German sentence naming the problem. Does not strip:
    callers decide whether surrounding blanks are a typo to forgive (entry) or an error."""
    if not isinstance(value, str) or value.count("@") != 1:
        raise _refuse(value, f"es braucht genau ein @; {_EXAMPLE}.")
    local, _, domain = value.partition("@")
    if not local.isascii():
        raise _refuse(
            value,
            "vor dem @ sind Umlaute, ß und andere Sonderzeichen nicht möglich (viele Mailserver "
            "nehmen sie nicht an); in der Domain nach dem @ sind sie erlaubt.",
        )
    if len(local) > MAX_LOCAL or not _LOCAL_RE.fullmatch(local):
        raise _refuse(
            value,
            "vor dem @ sind nur Buchstaben, Ziffern und Zeichen wie . _ - + möglich, ohne "
            f"Leerzeichen, ohne Punkt am Anfang oder Ende und höchstens {MAX_LOCAL} Zeichen; "
            f"{_EXAMPLE}.",
        )
    ascii_domain = _ascii_domain(domain, value)
    if not _DOMAIN_RE.fullmatch(ascii_domain):
        raise _refuse(value, f"die Domain nach dem @ ist kein gültiger Name; {_EXAMPLE}.")
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_ADDRESS:
        raise _refuse(value, f"sie ist länger als {MAX_ADDRESS} Zeichen.")
    return address


def is_valid_address(value: object) -> bool:
    """Whether :func:`check_address` accepts ``value`` (a guard: yes or no, no reason)."""
    try:
        check_address(value)
    except InvalidAddressError:
        return False
    return True
