"""Options and parsing shared by the command groups: dates, times, users, --set, --json."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated

import typer

from states.calendar import BERLIN, PLAUSIBLE_YEARS
from states.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEARS = PLAUSIBLE_YEARS
#: The largest row id an id argument accepts (``gpv outbox retry ID``): SQLite's INTEGER range.
MAX_ID = 2**63 - 1
#: The largest --limit any listing accepts: more rows than any store holds, far inside SQLite's
#: integer range.
MAX_LIMIT = 1_000_000

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON ausgeben.")]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Wer handelt (Standard: $GPV_USER oder der Anmeldename)."),
]


# The person's facts, asked for by `gpv route` and `gpv case open` alike (one wording).
BirthDateOpt = Annotated[str, typer.Option("--birth-date", help="Geburtsdatum, JJJJ-MM-TT.")]
MunicipalityOpt = Annotated[
    str,
    typer.Option("--municipality", help="Stadt/Gemeinde im Kreis Unna (Umlaute optional: Boenen)."),
]
ParentsMunicipalityOpt = Annotated[
    str | None,
    typer.Option(
        "--parents-municipality",
        metavar="STADT",
        help="Gewöhnlicher Aufenthalt der Eltern, wenn er vom Wohnort des Kindes abweicht: "
        "bestimmt das zuständige Jugendamt (§ 86 Abs. 1 S. 1 SGB VIII).",
    ),
]
DisabilityOpt = Annotated[
    str,
    typer.Option(
        "--disability",
        help="Behinderungsart(en), durch Komma getrennt: physical, intellectual, mental, "
        "sensory, addiction.",
    ),
]
BenefitOpt = Annotated[
    str, typer.Option("--benefit", help="Leistungsart (Glossar-ID, z. B. supported_living).")
]
SchoolFinishedOpt = Annotated[
    str | None,
    typer.Option(
        "--school-finished",
        help="Ende der Schulausbildung (geplant oder gewesen), JJJJ-MM-TT.",
    ),
]
SchoolOpt = Annotated[
    str | None,
    typer.Option(
        "--school",
        help="Schulausbildung an einer allgemeinen Schule oder Förderschule: in-school (läuft), "
        "finished (beendet) oder none (besucht keine Schule). Pflicht im Alter von 5 bis 25 "
        "Jahren (AG-SGB IX NRW § 1 Abs. 2 S. 1: das Ende der Schulausbildung entscheidet).",
    ),
]
BenefitStartOpt = Annotated[
    str | None,
    typer.Option(
        "--benefit-start",
        help="Geplanter Beginn der Leistung, JJJJ-MM-TT (Standard: der Antragseingang).",
    ),
]


def check_arguments(args: Sequence[str]) -> None:
    """Every argument is text. Bytes that are not UTF-8 reach Python as lone surrogates, which no
    database, hash or terminal accepts; InputError naming the argument instead of a failure deep
    in the store."""
    for position, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                f"Das {position}. Argument {arg!r} ist kein gültiger UTF-8-Text (Umlaute aus "
                "einem Terminal mit anderem Zeichensatz?); bitte das Terminal auf UTF-8 stellen "
                "(z. B. LANG=de_DE.UTF-8) und den Befehl erneut eingeben."
            ) from None


def parse_date(text: str, option: str) -> date:
    """An ISO date (JJJJ-MM-TT) that exists; InputError naming the option otherwise."""
    value = (text or "").strip()
    if _ISO_DATE.match(value):
        try:
            return _plausible(date.fromisoformat(value), text, option)
        except ValueError:
            pass
    raise InputError(
        f"Ungültiges Datum {text!r} für {option}: erwartet wird ein Tag, den es gibt, "
        "im Format JJJJ-MM-TT (z. B. 2026-03-02)."
    )


def _plausible(day: date, text: str, option: str) -> date:
    low, high = YEARS
    if not low <= day.year <= high:
        raise InputError(
            f"Das Datum {text!r} für {option} liegt außerhalb der Jahre {low}–{high}; bitte das "
            "Jahr prüfen."
        )
    return day


def parse_when(text: str | None, option: str) -> datetime:
    """``None`` → now; a date → 12:00 Europe/Berlin that day; a naive time → Europe/Berlin."""
    if text is None or not text.strip():
        return datetime.now(UTC)
    value = text.strip()
    if _ISO_DATE.match(value):
        return datetime.combine(parse_date(value, option), time(12, 0), BERLIN)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"Ungültiger Zeitpunkt {text!r} für {option}: erwartet wird z. B. 2026-03-20, "
            "2026-03-20T08:00 (Ortszeit Europe/Berlin) oder 2026-03-20T08:00+01:00."
        ) from None
    _plausible(when.date(), text, option)
    return when.replace(tzinfo=BERLIN) if when.tzinfo is None else when


def default_user(by: str | None) -> str:
    if by is not None and by.strip():
        return by.strip()
    env = os.environ.get("GPV_USER", "").strip()
    if env:
        return env
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unbekannt"


def parse_settings(items: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"--set {item!r}: erwartet wird Schlüssel=Wert, "
                'z. B. --set location="Kreishaus Unna".'
            )
        params[key.strip()] = value
    return params


def engine() -> Engine:
    """The application database, migrated to the current schema."""
    from workflows.store.db import ready_engine

    return ready_engine()
