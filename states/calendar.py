"""The legal period calculus: § 26 SGB X with §§ 187–193 BGB, NRW public holidays.

How an end is found (domain.md § 3.2):

1. The event day is not counted (§ 187 Abs. 1 BGB); the period starts at 0:00 of the next day, even
   on a weekend or holiday. Only the END is ever moved.
2. Day periods end N days after the event day; week periods on the same-named weekday; month and
   year periods on the same-numbered day, clipped to the last day of a shorter month (§ 188 Abs. 2
   and 3 BGB: 31 Jan + 1 month → 28/29 Feb; 29 Feb 2028 + 1 year → 28 Feb 2029).
3. An end on a Saturday, Sunday or statutory holiday at the place of the act (NRW) moves to the next
   working day (§ 26 Abs. 3 S. 1 SGB X, § 193 BGB): ``shift="forward"``. Internal target dates
   (e.g. the review of the Gesamtplan, domain.md § 3.3 I) move to the last working day before:
   ``shift="backward"``.

Holidays come from the ``holidays`` package (country DE, the region of the agreement, German names),
built once per region and year. Days that merely feel like holidays (24 and 31 December,
Reformationstag, Buß- und Bettag, Heilige Drei Könige) are working days in NRW.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from states.decision import SkippedDay
from states.errors import InputError

Unit = Literal["d", "w", "m", "y"]
Shift = Literal["forward", "backward"]

#: The holiday region when a caller names none (NRW, the region of the packaged agreement); callers
#: that hold an agreement pass its ``holiday_region``.
DEFAULT_REGION = "NW"

#: A forward due date lies at most this many days after the nominal end in NRW: the longest chain of
#: non-working days is four (Karfreitag–Ostermontag; 25/26 Dec on Thu/Fri plus the weekend).
#: Checked for 2024–2032 by the tests.
MAX_FORWARD_SHIFT_DAYS = 4

#: Legal dates are calendar dates in this zone (architecture.md, Time).
BERLIN = ZoneInfo("Europe/Berlin")
#: Plausible years of every date gpv is given (birth dates, receipts, steps, conference times):
#: outside them a date is a typo, and periods or time zones applied to it could leave the calendar
#: (issue 13, item 5).
PLAUSIBLE_YEARS = (1900, 2199)
#: German weekday names, Monday first (``date.weekday()`` indexes them).
WEEKDAY_NAMES = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_PERIOD_RE = re.compile(r"^\s*(\d{1,5})\s*([dwmyDWMY])\s*$")
# Anything longer is certainly a typo and would overflow the calendar.
_MAX_AMOUNT = {"d": 36600, "w": 5300, "m": 1200, "y": 100}


@dataclass(frozen=True)
class Period:
    """A legal period: ``amount`` days, weeks, months or years. ``str(Period(2, "w")) == "2w"``."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in _MAX_AMOUNT:
            raise InputError(
                f"Unbekannte Einheit {self.unit!r} für eine Frist; erlaubt sind d, w, m, y."
            )
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise InputError(f"Eine Frist braucht eine ganze Zahl ≥ 1, nicht {self.amount!r}.")
        if self.amount > _MAX_AMOUNT[self.unit]:
            raise InputError(
                f"Die Frist {self.amount}{self.unit} ist unplausibel lang "
                f"(höchstens {_MAX_AMOUNT[self.unit]}{self.unit})."
            )

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_period(text: str) -> Period:
    """Parse ``Nd``, ``Nw``, ``Nm`` or ``Ny`` (N ≥ 1), e.g. ``"2w"``; raise InputError otherwise."""
    match = _PERIOD_RE.match(text or "")
    if not match:
        raise InputError(
            f"Ungültige Frist {text!r}: erwartet wird eine Zahl ≥ 1 mit Einheit d (Tage), "
            "w (Wochen), m (Monate) oder y (Jahre), z. B. 2w oder 3m."
        )
    amount = int(match.group(1))
    if amount < 1:
        raise InputError(f"Ungültige Frist {text!r}: die Zahl muss mindestens 1 sein.")
    return Period(amount, match.group(2).lower())  # type: ignore[arg-type]


@dataclass(frozen=True)
class PeriodEnd:
    """The end of a period: the nominal end (§ 188 BGB) and the due date after the shift.

    ``skipped`` lists, in the order they were passed, the days the end moved over and why
    (weekday name for weekends, the holiday's German name otherwise). The period ends at 24:00
    Europe/Berlin of ``due``.
    """

    start: date
    period: Period
    nominal_end: date
    due: date
    skipped: tuple[SkippedDay, ...] = ()


@lru_cache(maxsize=256)
def _holidays_of(region: str, year: int) -> dict[date, str]:
    # Imported lazily: building the package's registry costs some milliseconds at import.
    import holidays

    try:
        calendar = holidays.country_holidays("DE", subdiv=region, years=year, language="de")
    except NotImplementedError as exc:
        raise InputError(f"Unbekannte Feiertagsregion {region!r} (erwartet z. B. NW).") from exc
    return dict(calendar.items())


def holiday_name(d: date, *, region: str = DEFAULT_REGION) -> str | None:
    """The German name of the statutory holiday on ``d`` in the region (default NRW), or None."""
    return _holidays_of(region, d.year).get(d)


def is_working_day(d: date, *, region: str = DEFAULT_REGION) -> bool:
    """True unless ``d`` is a Saturday, Sunday or statutory holiday in the region (default NRW)."""
    return d.weekday() < 5 and holiday_name(d, region=region) is None


def _skip_reason(d: date, region: str) -> str:
    name = _holidays_of(region, d.year).get(d)
    return name if name is not None else WEEKDAY_NAMES[d.weekday()]


def working_days_before(d: date, n: int, *, region: str = DEFAULT_REGION) -> date:
    """The day ``n`` working days before ``d`` (``n == 0`` → ``d`` itself, working day or not)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    current = d
    remaining = n
    while remaining:
        current -= timedelta(days=1)
        if is_working_day(current, region=region):
            remaining -= 1
    return current


def nominal_end(start: date, period: Period) -> date:
    """§ 187 Abs. 1, § 188 Abs. 2 and 3 BGB: the end before any weekend/holiday shift."""
    try:
        if period.unit == "d":
            return start + timedelta(days=period.amount)
        if period.unit == "w":
            return start + timedelta(weeks=period.amount)
        if period.unit == "m":
            return start + relativedelta(months=period.amount)  # clips to the month's end
        return start + relativedelta(years=period.amount)  # 29 Feb + 1y → 28 Feb
    except (OverflowError, ValueError) as exc:
        raise InputError(
            f"Das Fristende von {period} ab {start.isoformat()} liegt außerhalb des Kalenders."
        ) from exc


def compute_period(
    start: date,
    period: Period,
    shift: Shift = "forward",
    *,
    region: str = DEFAULT_REGION,
) -> PeriodEnd:
    """Compute the end of ``period`` after the event day ``start`` (§ 26 SGB X, §§ 187–193 BGB).

    ``shift="forward"`` moves an end on a non-working day to the next working day (§ 26 Abs. 3 S. 1
    SGB X); ``"backward"`` to the last working day before it (internal target dates). ``region`` is
    the holiday region (default NRW; callers with an agreement pass its ``holiday_region``).
    """
    end = nominal_end(start, period)
    try:
        due, skipped = to_working_day(end, shift, region=region)
    except OverflowError as exc:
        raise InputError(
            f"Das Fristende von {period} ab {start.isoformat()} liegt außerhalb des Kalenders."
        ) from exc
    return PeriodEnd(start=start, period=period, nominal_end=end, due=due, skipped=skipped)


def to_working_day(
    day: date, shift: Shift = "forward", *, region: str = DEFAULT_REGION
) -> tuple[date, tuple[SkippedDay, ...]]:
    """``day`` if it is a working day, else the next (``"forward"``, § 26 Abs. 3 S. 1 SGB X) or
    the last before it (``"backward"``, internal targets), with the days passed over and why."""
    if shift not in ("forward", "backward"):
        raise ValueError(f"shift must be 'forward' or 'backward', got {shift!r}")
    step = timedelta(days=1 if shift == "forward" else -1)
    skipped: list[SkippedDay] = []
    while not is_working_day(day, region=region):
        skipped.append(SkippedDay(day, _skip_reason(day, region)))
        day += step
    return day, tuple(skipped)
