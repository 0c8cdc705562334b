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


def disability_ids(text: str | None) -> str | None:
    """``--disability seelisch,körperlich`` → ``mental,physical``: German names beside the ids
    (:mod:`states.glossary`); an unknown word passes unchanged, so routing names the choices."""
    from states.glossary import DISABILITY_LABELS, glossary_id

    if text is None:
        return None
    parts = [part for part in text.split(",") if part.strip()]
    return ",".join(glossary_id(part, DISABILITY_LABELS) or part for part in parts) or text


def benefit_id(text: str | None) -> str | None:
    """``--benefit "ambulant betreutes Wohnen"`` → ``supported_living`` (unknown: unchanged)."""
    from states.glossary import BENEFIT_LABELS, glossary_id

    return None if text is None else glossary_id(text, BENEFIT_LABELS) or text


def school_id(text: str | None) -> str | None:
    """``--school in-schule`` → ``in_school`` (also the German labels; unknown: unchanged)."""
    from states.glossary import SCHOOL_STATUS_ALIASES, SCHOOL_STATUS_LABELS, glossary_id

    if text is None:
        return None
    return glossary_id(text, SCHOOL_STATUS_LABELS, SCHOOL_STATUS_ALIASES) or text


DisabilityOpt = Annotated[
    str,
    typer.Option(
        "--disability",
        callback=disability_ids,
        help="Behinderungsart(en), durch Komma getrennt: physical (körperlich), intellectual "
        "(geistig), mental (seelisch), sensory (Sinnesbehinderung), addiction (Sucht).",
    ),
]
BenefitOpt = Annotated[
    str,
    typer.Option(
        "--benefit",
        callback=benefit_id,
        help="Leistungsart: Glossar-ID oder deutscher Name, z. B. supported_living oder "
        '"ambulant betreutes Wohnen" (gpv rules zeigt alle).',
    ),
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
        callback=school_id,
        help="Schulausbildung an einer allgemeinen Schule oder Förderschule: in-school/in-schule "
        "(läuft), finished/beendet oder none/keine (besucht keine Schule). Pflicht im Alter von "
        "5 bis 25 "
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
    """``None`` → now; a date → 12:00 Europe/Berlin that day (today: now, while 12:00 is still
    ahead, so a step dated today is never "after now", :mod:`states.step_time`); a naive time →
    Europe/Berlin."""
    if text is None or not text.strip():
        return datetime.now(UTC)
    value = text.strip()
    if _ISO_DATE.match(value):
        noon = datetime.combine(parse_date(value, option), time(12, 0), BERLIN)
        return min(noon, datetime.now(UTC)) if noon.date() == datetime.now(BERLIN).date() else noon
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


def engine(*, create: bool = False) -> Engine:
    """The application database, migrated to the current schema.

    Only a command that starts a store (``case open``; ``run`` and ``dev seed`` open theirs
    directly) passes ``create``; every other command needs a data folder that is there already
    (:func:`workflows.settings.existing_data_dir`, exit 2 with the way to make one), so a typo in
    the working directory never leaves an empty store behind."""
    from workflows.settings import existing_data_dir
    from workflows.store.db import ready_engine

    if not create:
        existing_data_dir()
    return ready_engine()
