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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from notifications.message import is_valid_address
from states.errors import ConfigError

CONFIG_ENV = "GPV_CONFIG"
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
    email: str
    name: str | None = None
    is_default: bool = False


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
        value = self.string(table, key, prefix)
        if value is not None and not is_valid_address(value):
            raise self.fail(f"{prefix}{key}", f"{value!r} ist keine gültige E-Mail-Adresse.")
        return value

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


def _env_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "ja", "on"}:
        return True
    if lowered in {"0", "false", "no", "nein", "off", ""}:
        return False
    raise ConfigError(f"Umgebungsvariable {name}: {value!r} ist kein Wahrheitswert (true/false).")


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    agreement: Any = None,
) -> Config:
    """Read, validate and merge the configuration (file, then environment)."""
    env = os.environ if environ is None else environ
    file = config_path(path)
    data: dict[str, Any] = {}
    source: Path | None = None
    if file.exists():
        source = file
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: Die Datei ist kein gültiges TOML ({exc}).") from None
    elif path is not None or env.get(CONFIG_ENV):
        raise ConfigError(f"{file}: Die Konfigurationsdatei existiert nicht.")
    ck = _Check(str(file))
    ck.only(data, {"transport", "smtp", "parties"}, "")

    transport_t = ck.table(data, "transport")
    ck.only(transport_t, {"kind"}, "transport.")
    kind_raw = ck.string(transport_t, "kind", "transport.") or TransportKind.FILE.value
    smtp_t = ck.table(data, "smtp")
    ck.only(
        smtp_t,
        {"host", "port", "starttls", "tls", "user", "password", "from", "from_name", "timeout"},
        "smtp.",
    )
    smtp: dict[str, Any] = {
        "host": ck.string(smtp_t, "host", "smtp."),
        "port": ck.integer(smtp_t, "port", "smtp.", 1, 65535),
        "starttls": ck.boolean(smtp_t, "starttls", "smtp."),
        "tls": ck.boolean(smtp_t, "tls", "smtp."),
        "user": ck.string(smtp_t, "user", "smtp."),
        "password": ck.string(smtp_t, "password", "smtp."),
        "from_address": ck.email(smtp_t, "from", "smtp."),
        "from_name": ck.string(smtp_t, "from_name", "smtp."),
        "timeout": ck.integer(smtp_t, "timeout", "smtp.", 1, 600),
    }

    overrides: list[str] = []
    for var, key in (
        ("GPV_SMTP_HOST", "host"),
        ("GPV_SMTP_PORT", "port"),
        ("GPV_SMTP_STARTTLS", "starttls"),
        ("GPV_SMTP_TLS", "tls"),
        ("GPV_SMTP_USER", "user"),
        ("GPV_SMTP_PASSWORD", "password"),
        ("GPV_SMTP_FROM", "from_address"),
    ):
        raw = env.get(var)
        if raw is None:
            continue
        overrides.append(var)
        if key == "port":
            if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
                raise ConfigError(f"Umgebungsvariable {var}: {raw!r} ist kein Port (1–65535).")
            smtp[key] = int(raw)
        elif key in {"starttls", "tls"}:
            smtp[key] = _env_bool(var, raw)
        elif key == "from_address":
            if not is_valid_address(raw.strip()):
                raise ConfigError(f"Umgebungsvariable {var}: {raw!r} ist keine E-Mail-Adresse.")
            smtp[key] = raw.strip()
        else:
            if "\n" in raw or "\r" in raw:
                raise ConfigError(f"Umgebungsvariable {var}: Zeilenumbrüche sind nicht erlaubt.")
            smtp[key] = raw.strip() or None
    if env.get("GPV_TRANSPORT") is not None:
        overrides.append("GPV_TRANSPORT")
        kind_raw = env["GPV_TRANSPORT"].strip().lower()
    try:
        kind = TransportKind(kind_raw)
    except ValueError:
        where = "GPV_TRANSPORT" if "GPV_TRANSPORT" in overrides else "transport.kind"
        raise ConfigError(
            f"{file if where == 'transport.kind' else 'Umgebungsvariable'}: {where}: "
            f"{kind_raw!r} ist unbekannt; erlaubt sind 'file' und 'smtp'."
        ) from None
    if smtp["starttls"] and smtp["tls"]:
        raise ck.fail("smtp.starttls", "starttls und tls schließen sich aus; bitte eines wählen.")
    if kind is TransportKind.SMTP and not smtp["host"]:
        raise ck.fail("smtp.host", "für transport.kind = 'smtp' ist ein Host nötig.")
    if kind is TransportKind.SMTP and not smtp["from_address"]:
        raise ck.fail("smtp.from", "für transport.kind = 'smtp' ist eine Absenderadresse nötig.")
    settings = SmtpSettings(**{k: v for k, v in smtp.items() if v is not None})

    parties_t = ck.table(data, "parties")
    if parties_t and agreement is None:
        from states.agreement import load_agreement

        agreement = load_agreement()
    parties: dict[str, PartyAddress] = {}
    for party_id, entry in parties_t.items():
        prefix = f"parties.{party_id}."
        if party_id not in agreement.parties:
            raise ck.fail(
                f"parties.{party_id}",
                "diese Partei steht nicht in der Kooperationsvereinbarung; bekannt sind: "
                f"{', '.join(sorted(agreement.parties))}.",
            )
        if not isinstance(entry, dict):
            raise ck.fail(f"parties.{party_id}", "erwartet wird eine Tabelle mit email und name.")
        ck.only(entry, {"email", "name"}, prefix)
        email = ck.email(entry, "email", prefix)
        if email is None:
            raise ck.fail(f"{prefix}email", "fehlt.")
        parties[party_id] = PartyAddress(email=email, name=ck.string(entry, "name", prefix))
    return Config(
        transport=kind,
        smtp=settings,
        parties=parties,
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
