"""Delivery configuration: one TOML file plus environment overrides.

The file is ``$GPV_CONFIG`` or ``gpv.toml`` in the data folder (absent → defaults). Keys::

    [transport]
    kind = "file"            # or "smtp"; default "file" (maildir under <data>/mail)

    [smtp]
    host = "mail.example.org"
    port = 587
    starttls = true          # or tls = true (implicit TLS, usually port 465)
    user = "gpv"
    password = "…"
    from = "gpv@example.org"
    from_name = "gpv Gesamtplanverfahren"
    timeout = 30

    [parties.lwl]            # party ids must exist in the agreement
    email = "fallmanagement@lwl.example"
    name = "LWL Fallmanagement"

Environment overrides: GPV_TRANSPORT, GPV_SMTP_HOST, GPV_SMTP_PORT, GPV_SMTP_STARTTLS, GPV_SMTP_TLS,
GPV_SMTP_USER, GPV_SMTP_PASSWORD, GPV_SMTP_FROM. Every problem is a :class:`ConfigError` naming the
file (or variable), the key and the problem. Party addresses come from here, never from code; a
party without one gets ``<party-id>@gpv.invalid`` on the file transport only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from notifications.addresses import InvalidAddressError, check_address
from states.errors import ConfigError

CONFIG_ENV = "GPV_CONFIG"
TRANSPORT_ENV = "GPV_TRANSPORT"
CONFIG_FILE = "gpv.toml"
DEFAULT_DOMAIN = "gpv.invalid"
MASK = "********"


class TransportKind(StrEnum):
    FILE = "file"
    SMTP = "smtp"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    tls: bool = False
    user: str | None = None
    password: str | None = None
    from_address: str = f"gpv@{DEFAULT_DOMAIN}"
    from_name: str = "gpv Gesamtplanverfahren"
    timeout: float = 30.0


@dataclass(frozen=True)
class PartyAddress:
    """A party's address in ``gpv.toml`` (``[parties.<id>]``): ``email`` and ``name``; for a
    carrier also the case manager people contact (``contact_name``, ``phone``; issue 12) and the
    postal address of its letterhead (``street``, ``postcode``, ``town``)."""

    email: str
    name: str | None = None
    is_default: bool = False
    contact_name: str | None = None
    phone: str | None = None
    street: str | None = None
    postcode: str | None = None
    town: str | None = None

    def contact_line(self) -> str:
        """Whom to contact, as notices print it: „Frau Beispiel, Tel. 0251 591-01,
        fallmanagement@lwl.example“ (what is configured, the e-mail address always)."""
        phone = f"Tel. {self.phone}" if self.phone else None
        return ", ".join(part for part in (self.contact_name, phone, self.email) if part)


@dataclass(frozen=True)
class Config:
    transport: TransportKind = TransportKind.FILE
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    parties: Mapping[str, PartyAddress] = field(default_factory=dict)
    source: Path | None = None
    overrides: tuple[str, ...] = ()

    @property
    def domain(self) -> str:
        """The sender's domain; Message-IDs are ``<outbox-N@gpv.{domain}>``."""
        return self.smtp.from_address.rpartition("@")[2].lower()

    def address_of(self, party: str) -> PartyAddress | None:
        """The party's configured address; on the file transport a default one; else None."""
        found = self.parties.get(party)
        if found is not None:
            return found
        if self.transport is TransportKind.FILE:
            return PartyAddress(email=f"{party}@{DEFAULT_DOMAIN}", is_default=True)
        return None


def config_path(path: Path | None = None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    from workflows.settings import data_dir

    return data_dir() / CONFIG_FILE


class _Check:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: Schlüssel {key!r}: {problem}")

    def only(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{prefix}{key}",
                    f"unbekannter Schlüssel; erlaubt sind: {', '.join(sorted(allowed))}.",
                )

    def string(self, table: Mapping[str, Any], key: str, prefix: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{prefix}{key}", "erwartet wird ein nicht leerer Text.")
        if "\n" in value or "\r" in value:
            raise self.fail(f"{prefix}{key}", "Zeilenumbrüche sind nicht erlaubt.")
        return value.strip()

    def email(self, table: Mapping[str, Any], key: str, prefix: str) -> str | None:
        """The address in its canonical form (:func:`notifications.addresses.check_address`)."""
        value = self.string(table, key, prefix)
        if value is None:
            return None
        try:
            return check_address(value)
        except InvalidAddressError as exc:
            raise self.fail(f"{prefix}{key}", exc.message) from None

    def boolean(self, table: Mapping[str, Any], key: str, prefix: str) -> bool | None:
        value = table.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(f"{prefix}{key}", "erwartet wird true oder false.")

    def integer(
        self, table: Mapping[str, Any], key: str, prefix: str, lo: int, hi: int
    ) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(f"{prefix}{key}", f"erwartet wird eine ganze Zahl von {lo} bis {hi}.")
        return value

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "erwartet wird eine Tabelle ([...]).")
        return value


# ------------------------------------------------------------------------ environment overrides


def _env_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "ja", "on"}:
        return True
    if lowered in {"0", "false", "no", "nein", "off", ""}:
        return False
    raise ConfigError(f"Umgebungsvariable {name}: {value!r} ist kein Wahrheitswert (true/false).")


def _env_port(name: str, value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= 65535:
        raise ConfigError(f"Umgebungsvariable {name}: {value!r} ist kein Port (1–65535).")
    return int(value)


def _env_address(name: str, value: str) -> str:
    try:
        return check_address(value.strip())
    except InvalidAddressError as exc:
        raise ConfigError(f"Umgebungsvariable {name}: {exc.message}") from None


def _env_text(name: str, value: str) -> str | None:
    if "\n" in value or "\r" in value:
        raise ConfigError(f"Umgebungsvariable {name}: Zeilenumbrüche sind nicht erlaubt.")
    return value.strip() or None


def _env_kind(name: str, value: str) -> str:
    return value.strip().lower()


#: Environment variable → setting it overrides (``kind`` is ``[transport] kind``, the others are
#: keys of :class:`SmtpSettings`) and how its text is read. In this order they are listed as
#: overrides by ``gpv config show``.
ENVIRONMENT: tuple[tuple[str, str, Callable[[str, str], Any]], ...] = (
    ("GPV_SMTP_HOST", "host", _env_text),
    ("GPV_SMTP_PORT", "port", _env_port),
    ("GPV_SMTP_STARTTLS", "starttls", _env_bool),
    ("GPV_SMTP_TLS", "tls", _env_bool),
    ("GPV_SMTP_USER", "user", _env_text),
    ("GPV_SMTP_PASSWORD", "password", _env_text),
    ("GPV_SMTP_FROM", "from_address", _env_address),
    (TRANSPORT_ENV, "kind", _env_kind),
)


def _apply_environment(env: Mapping[str, str], values: dict[str, Any]) -> list[str]:
    """Override ``values`` from the environment; returns the variables that were set."""
    overrides: list[str] = []
    for var, key, parse in ENVIRONMENT:
        raw = env.get(var)
        if raw is not None:
            overrides.append(var)
            values[key] = parse(var, raw)
    return overrides


# ------------------------------------------------------------------------------ the file's parts


def _read(file: Path, *, named: bool) -> tuple[dict[str, Any], Path | None]:
    """The file's tables and the file itself; no file is fine unless it was ``named``."""
    from states.agreement import read_toml_file

    if not file.exists() and not named:
        return {}, None
    fix = (
        f"bitte {CONFIG_ENV} auf eine lesbare TOML-Datei setzen (oder leeren: dann gilt "
        f"{CONFIG_FILE} im Datenordner)."
    )
    return read_toml_file(file, "Die Konfigurationsdatei", fix), file


def _file_kind(ck: _Check, data: Mapping[str, Any]) -> str:
    transport = ck.table(data, "transport")
    ck.only(transport, {"kind"}, "transport.")
    return ck.string(transport, "kind", "transport.") or TransportKind.FILE.value


def _file_smtp(ck: _Check, data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[smtp]`` keys as :class:`SmtpSettings` fields; None where the file has no value."""
    smtp = ck.table(data, "smtp")
    ck.only(
        smtp,
        {"host", "port", "starttls", "tls", "user", "password", "from", "from_name", "timeout"},
        "smtp.",
    )
    return {
        "host": ck.string(smtp, "host", "smtp."),
        "port": ck.integer(smtp, "port", "smtp.", 1, 65535),
        "starttls": ck.boolean(smtp, "starttls", "smtp."),
        "tls": ck.boolean(smtp, "tls", "smtp."),
        "user": ck.string(smtp, "user", "smtp."),
        "password": ck.string(smtp, "password", "smtp."),
        "from_address": ck.email(smtp, "from", "smtp."),
        "from_name": ck.string(smtp, "from_name", "smtp."),
        "timeout": ck.integer(smtp, "timeout", "smtp.", 1, 600),
    }


def _transport_kind(raw: str, file: Path, *, from_environment: bool) -> TransportKind:
    try:
        return TransportKind(raw)
    except ValueError:
        where = (
            f"Umgebungsvariable: {TRANSPORT_ENV}" if from_environment else f"{file}: transport.kind"
        )
        raise ConfigError(
            f"{where}: {raw!r} ist unbekannt; erlaubt sind 'file' und 'smtp'."
        ) from None


def _check_smtp(ck: _Check, kind: TransportKind, smtp: Mapping[str, Any]) -> None:
    """The keys that only make sense together (after the environment overrides)."""
    if smtp["starttls"] and smtp["tls"]:
        raise ck.fail("smtp.starttls", "starttls und tls schließen sich aus; bitte eines wählen.")
    if kind is TransportKind.SMTP and not smtp["host"]:
        raise ck.fail("smtp.host", "für transport.kind = 'smtp' ist ein Host nötig.")
    if kind is TransportKind.SMTP and not smtp["from_address"]:
        raise ck.fail("smtp.from", "für transport.kind = 'smtp' ist eine Absenderadresse nötig.")


def _party(ck: _Check, party_id: str, entry: Any, agreement: Any) -> PartyAddress:
    prefix = f"parties.{party_id}."
    if party_id not in agreement.parties:
        raise ck.fail(
            f"parties.{party_id}",
            "diese Partei steht nicht in der Kooperationsvereinbarung; bekannt sind: "
            f"{', '.join(sorted(agreement.parties))}.",
        )
    if not isinstance(entry, dict):
        raise ck.fail(f"parties.{party_id}", "erwartet wird eine Tabelle mit email und name.")
    ck.only(entry, {"email", "name", *_CONTACT_KEYS}, prefix)
    email = ck.email(entry, "email", prefix)
    if email is None:
        raise ck.fail(f"{prefix}email", "fehlt.")
    text = {key: ck.string(entry, key, prefix) for key in ("name", *_CONTACT_KEYS)}
    return PartyAddress(
        email=email, name=text["name"], contact_name=text["contact_name"], phone=text["phone"],
        street=text["street"], postcode=text["postcode"], town=text["town"],
    )  # fmt: skip


#: The optional contact and letterhead keys of ``[parties.<id>]`` (all text).
_CONTACT_KEYS = ("contact_name", "phone", "street", "postcode", "town")


def _file_parties(ck: _Check, data: Mapping[str, Any], agreement: Any) -> dict[str, PartyAddress]:
    """The ``[parties.<id>]`` addresses; every id must be a party of the agreement."""
    parties = ck.table(data, "parties")
    if parties and agreement is None:
        from states.agreement import load_agreement

        agreement = load_agreement()
    return {party_id: _party(ck, party_id, entry, agreement) for party_id, entry in parties.items()}


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    agreement: Any = None,
) -> Config:
    """Read, validate and merge the configuration (file, then environment)."""
    env = os.environ if environ is None else environ
    file = config_path(path)
    data, source = _read(file, named=path is not None or bool(env.get(CONFIG_ENV)))
    ck = _Check(str(file))
    ck.only(data, {"transport", "smtp", "parties"}, "")
    values = {"kind": _file_kind(ck, data), **_file_smtp(ck, data)}
    overrides = _apply_environment(env, values)
    kind = _transport_kind(values.pop("kind"), file, from_environment=TRANSPORT_ENV in overrides)
    _check_smtp(ck, kind, values)
    settings = SmtpSettings(**{k: v for k, v in values.items() if v is not None})
    return Config(
        transport=kind,
        smtp=settings,
        parties=_file_parties(ck, data, agreement),
        source=source,
        overrides=tuple(overrides),
    )


def show(config: Config, *, agreement: Any = None) -> dict[str, Any]:
    """The effective configuration as plain values, secrets masked, defaults marked."""
    if agreement is None:
        from states.agreement import load_agreement

        agreement = load_agreement()
    parties: dict[str, Any] = {}
    for party_id in sorted(agreement.parties):
        address = config.address_of(party_id)
        if address is None:
            parties[party_id] = {"email": None, "note": "keine Adresse: Versand scheitert (smtp)"}
        elif address.is_default:
            parties[party_id] = {
                "email": address.email,
                "note": "Standardadresse, nur für den Dateiversand",
            }
        else:
            parties[party_id] = {"email": address.email, "name": address.name}
    smtp = config.smtp
    return {
        "source": str(config.source) if config.source else None,
        "overrides": list(config.overrides),
        "transport": {"kind": config.transport.value},
        "smtp": {
            "host": smtp.host,
            "port": smtp.port,
            "starttls": smtp.starttls,
            "tls": smtp.tls,
            "user": smtp.user,
            "password": MASK if smtp.password else None,
            "from": smtp.from_address,
            "from_name": smtp.from_name,
            "timeout": smtp.timeout,
        },
        "parties": parties,
    }
