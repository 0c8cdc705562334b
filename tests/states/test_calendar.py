"""The legal period calculus: § 26 SGB X with §§ 187–193 BGB and the NRW holidays."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta

import pytest
from dateutil.easter import easter
from hypothesis import given
from hypothesis import strategies as st

from states.calendar import (
    MAX_FORWARD_SHIFT_DAYS,
    Period,
    compute_period,
    holiday_name,
    is_working_day,
    parse_period,
    working_days_before,
)
from states.decision import SkippedDay
from states.errors import InputError

W2 = Period(2, "w")
W3 = Period(3, "w")


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- domain.md § 3.3: the worked examples ---------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "start", "period", "nominal", "due"),
    [
        ("A", "2025-12-11", "2w", "2025-12-25", "2025-12-29"),
        ("B", "2025-12-11", "3w", "2026-01-01", "2026-01-02"),
        ("C", "2026-04-23", "3w", "2026-05-14", "2026-05-15"),
        ("D", "2026-03-23", "2w", "2026-04-06", "2026-04-07"),
        ("D'", "2026-04-07", "2w", "2026-04-21", "2026-04-21"),
        ("E", "2026-04-13", "6w", "2026-05-25", "2026-05-26"),
        ("F", "2025-12-31", "2m", "2026-02-28", "2026-03-02"),
        ("G", "2026-04-01", "2m", "2026-06-01", "2026-06-01"),
        # H: published example, Friday 14.5. + 2 months ends Wednesday 14.7. (2021)
        ("H", "2021-05-14", "2m", "2021-07-14", "2021-07-14"),
        ("I (option a, forward)", "2024-03-15", "2y", "2026-03-15", "2026-03-16"),
    ],
)
def test_worked_examples_of_the_domain_brief_give_the_documented_end(
    case, start, period, nominal, due
):
    end = compute_period(d(start), parse_period(period))
    assert (end.nominal_end, end.due) == (d(nominal), d(due)), case


def test_the_review_of_example_i_moves_back_to_the_last_working_day_before():
    end = compute_period(d("2024-03-15"), Period(2, "y"), "backward")
    assert end.nominal_end == d("2026-03-15")
    assert end.due == d("2026-03-13")
    assert end.skipped == (
        SkippedDay(d("2026-03-15"), "Sonntag"),
        SkippedDay(d("2026-03-14"), "Samstag"),
    )


def test_example_a_explains_every_skipped_day_with_its_reason():
    end = compute_period(d("2025-12-11"), W2)
    assert end.skipped == (
        SkippedDay(d("2025-12-25"), "Erster Weihnachtstag"),
        SkippedDay(d("2025-12-26"), "Zweiter Weihnachtstag"),
        SkippedDay(d("2025-12-27"), "Samstag"),
        SkippedDay(d("2025-12-28"), "Sonntag"),
    )


def test_an_end_on_a_working_day_skips_nothing():
    end = compute_period(d("2026-04-07"), W2)
    assert end.due == end.nominal_end
    assert end.skipped == ()


# --- Easter-dependent holidays, 2024–2032 ---------------------------------------------------------

EASTER_HOLIDAYS = {
    2024: ("2024-03-29", "2024-04-01", "2024-05-09", "2024-05-20", "2024-05-30"),
    2025: ("2025-04-18", "2025-04-21", "2025-05-29", "2025-06-09", "2025-06-19"),
    2026: ("2026-04-03", "2026-04-06", "2026-05-14", "2026-05-25", "2026-06-04"),
    2027: ("2027-03-26", "2027-03-29", "2027-05-06", "2027-05-17", "2027-05-27"),
    2028: ("2028-04-14", "2028-04-17", "2028-05-25", "2028-06-05", "2028-06-15"),
    2029: ("2029-03-30", "2029-04-02", "2029-05-10", "2029-05-21", "2029-05-31"),
    2030: ("2030-04-19", "2030-04-22", "2030-05-30", "2030-06-10", "2030-06-20"),
    2031: ("2031-04-11", "2031-04-14", "2031-05-22", "2031-06-02", "2031-06-12"),
    2032: ("2032-03-26", "2032-03-29", "2032-05-06", "2032-05-17", "2032-05-27"),
}
EASTER_NAMES = ("Karfreitag", "Ostermontag", "Christi Himmelfahrt", "Pfingstmontag", "Fronleichnam")


@pytest.mark.parametrize("year", sorted(EASTER_HOLIDAYS))
def test_easter_dependent_holidays_are_nrw_holidays_with_their_german_names(year):
    for text, name in zip(EASTER_HOLIDAYS[year], EASTER_NAMES, strict=True):
        assert holiday_name(d(text)) == name
        assert not is_working_day(d(text))


@pytest.mark.parametrize("year", sorted(EASTER_HOLIDAYS))
def test_the_easter_table_agrees_with_the_offsets_of_the_statute(year):
    sunday = easter(year)
    offsets = (-2, 1, 39, 50, 60)
    assert tuple((sunday + timedelta(days=o)).isoformat() for o in offsets) == EASTER_HOLIDAYS[year]


@pytest.mark.parametrize(
    ("start", "period", "due", "skipped_names"),
    [
        # Karfreitag to Ostermontag: four days in a row (2027)
        ("2027-03-12", "2w", "2027-03-30", ["Karfreitag", "Samstag", "Sonntag", "Ostermontag"]),
        ("2031-03-28", "2w", "2031-04-15", ["Karfreitag", "Samstag", "Sonntag", "Ostermontag"]),
        ("2024-03-18", "2w", "2024-04-02", ["Ostermontag"]),
        ("2024-03-01", "1m", "2024-04-02", ["Ostermontag"]),
        ("2029-04-26", "2w", "2029-05-11", ["Christi Himmelfahrt"]),
        ("2032-04-29", "1w", "2032-05-07", ["Christi Himmelfahrt"]),
        ("2028-05-22", "2w", "2028-06-06", ["Pfingstmontag"]),
        # the event day may itself be a holiday (Himmelfahrt 2030); only the end moves
        ("2030-05-30", "3w", "2030-06-21", ["Fronleichnam"]),
        ("2026-05-21", "2w", "2026-06-05", ["Fronleichnam"]),
        ("2025-06-05", "2w", "2025-06-20", ["Fronleichnam"]),
    ],
)
def test_an_end_on_an_easter_dependent_holiday_moves_to_the_next_working_day(
    start, period, due, skipped_names
):
    end = compute_period(d(start), parse_period(period))
    assert end.due == d(due)
    assert [s.reason for s in end.skipped] == skipped_names


# --- Christmas and New Year -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "period", "due", "skipped_names"),
    [
        # 2026: 25 Fri, 26 Sat, 27 Sun
        (
            "2026-12-11",
            "2w",
            "2026-12-28",
            ["Erster Weihnachtstag", "Zweiter Weihnachtstag", "Sonntag"],
        ),
        # 2027: 25 Sat, 26 Sun; holiday name wins over the weekday name
        ("2027-12-18", "1w", "2027-12-27", ["Erster Weihnachtstag", "Zweiter Weihnachtstag"]),
        # New Year 2028 on a Saturday
        ("2027-12-31", "1d", "2028-01-03", ["Neujahr", "Sonntag"]),
        # 2029: 25 Tue, 26 Wed
        ("2029-12-11", "2w", "2029-12-27", ["Erster Weihnachtstag", "Zweiter Weihnachtstag"]),
        # 2031: 25 Thu, 26 Fri, weekend: four days
        (
            "2031-12-11",
            "2w",
            "2031-12-29",
            ["Erster Weihnachtstag", "Zweiter Weihnachtstag", "Samstag", "Sonntag"],
        ),
        # a day period across the year end lands on Neujahr 2026
        ("2025-12-22", "10d", "2026-01-02", ["Neujahr"]),
        ("2031-12-18", "2w", "2032-01-02", ["Neujahr"]),
    ],
)
def test_christmas_and_new_year_chains_move_the_end_past_every_free_day(
    start, period, due, skipped_names
):
    end = compute_period(d(start), parse_period(period))
    assert end.due == d(due)
    assert [s.reason for s in end.skipped] == skipped_names


@pytest.mark.parametrize(
    ("start", "period", "due", "name"),
    [
        ("2027-10-18", "2w", "2027-11-02", "Allerheiligen"),
        ("2029-09-19", "2w", "2029-10-04", "Tag der Deutschen Einheit"),
        ("2031-04-17", "2w", "2031-05-02", "Erster Mai"),
    ],
)
def test_fixed_holidays_move_the_end(start, period, due, name):
    end = compute_period(d(start), parse_period(period))
    assert end.due == d(due)
    assert end.skipped[0].reason == name


# --- days that look like holidays but are working days in NRW -------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        "2025-12-24",  # Heiligabend
        "2025-12-31",  # Silvester
        "2030-12-24",
        "2030-12-31",
        "2025-10-31",  # Reformationstag (not in NRW)
        "2029-10-31",
        "2025-11-19",  # Buß- und Bettag
        "2026-11-18",
        "2032-11-17",
        "2026-01-06",  # Heilige Drei Könige
        "2028-01-06",
        "2025-08-15",  # Mariä Himmelfahrt (Saarland, parts of Bavaria only)
        "2026-02-16",  # Rosenmontag: carnival is no statutory holiday
    ],
)
def test_days_that_look_like_holidays_are_working_days_in_nrw(day):
    assert holiday_name(d(day)) is None
    assert is_working_day(d(day))


def test_an_end_on_christmas_eve_or_new_years_eve_does_not_move():
    assert compute_period(d("2025-12-10"), W2).due == d("2025-12-24")
    assert compute_period(d("2025-12-17"), W2).due == d("2025-12-31")


def test_an_end_on_reformation_day_does_not_move_in_nrw():
    assert compute_period(d("2025-10-17"), W2).due == d("2025-10-31")


def test_the_one_off_reformation_day_2017_was_a_holiday_in_nrw():
    assert holiday_name(d("2017-10-31")) == "Reformationstag"


# --- month ends and leap years (§ 188 Abs. 2 and 3 BGB) -------------------------------------------


@pytest.mark.parametrize(
    ("start", "period", "nominal", "due"),
    [
        ("2025-01-31", "1m", "2025-02-28", "2025-02-28"),
        ("2028-01-31", "1m", "2028-02-29", "2028-02-29"),
        ("2026-01-31", "1m", "2026-02-28", "2026-03-02"),
        ("2025-11-30", "3m", "2026-02-28", "2026-03-02"),
        ("2026-08-31", "1m", "2026-09-30", "2026-09-30"),
        # same-numbered day, not month end: 28 Feb + 1 month is 28 March
        ("2026-02-28", "1m", "2026-03-28", "2026-03-30"),
        ("2028-02-29", "1y", "2029-02-28", "2029-02-28"),
        ("2024-02-29", "4y", "2028-02-29", "2028-02-29"),
        ("2028-02-29", "2y", "2030-02-28", "2030-02-28"),
        ("2024-02-29", "1m", "2024-03-29", "2024-04-02"),  # Karfreitag 2024, weekend, Ostermontag
        ("2027-12-31", "2m", "2028-02-29", "2028-02-29"),
    ],
)
def test_month_and_year_periods_clip_to_the_end_of_a_shorter_month(start, period, nominal, due):
    end = compute_period(d(start), parse_period(period))
    assert (end.nominal_end, end.due) == (d(nominal), d(due))


def test_the_event_day_is_not_counted_for_day_periods():
    assert compute_period(d("2026-06-01"), Period(1, "d")).nominal_end == d("2026-06-02")


def test_week_periods_end_on_the_same_named_weekday():
    start = d("2026-03-03")  # Tuesday
    for weeks in range(1, 9):
        assert compute_period(start, Period(weeks, "w")).nominal_end.weekday() == start.weekday()


# --- backward shift and working days before -------------------------------------------------------


def test_a_backward_shift_passes_easter_back_to_maundy_thursday():
    end = compute_period(d("2026-03-23"), W2, "backward")
    assert end.due == d("2026-04-02")
    assert [s.reason for s in end.skipped] == ["Ostermontag", "Sonntag", "Samstag", "Karfreitag"]


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ("2025-12-29", 0, "2025-12-29"),
        ("2025-12-28", 0, "2025-12-28"),  # n = 0 returns the day itself, even a Sunday
        ("2025-12-29", 3, "2025-12-22"),
        ("2026-04-07", 1, "2026-04-02"),
        ("2026-01-05", 2, "2025-12-31"),
        ("2026-03-13", 5, "2026-03-06"),
    ],
)
def test_working_days_before_counts_only_nrw_working_days(day, n, expected):
    assert working_days_before(d(day), n) == d(expected)


def test_working_days_before_rejects_a_negative_count():
    with pytest.raises(ValueError):
        working_days_before(d("2026-01-05"), -1)


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2w", Period(2, "w")),
        ("10d", Period(10, "d")),
        ("3M", Period(3, "m")),
        (" 2y ", Period(2, "y")),
    ],
)
def test_periods_parse_from_their_short_form(text, expected):
    assert parse_period(text) == expected


def test_a_period_prints_in_its_short_form():
    assert str(Period(2, "w")) == "2w"
    assert str(parse_period("6w")) == "6w"


@pytest.mark.parametrize(
    "text", ["", "w", "2", "0w", "-1w", "2x", "2 weeks", "1.5m", "w2", "99999y"]
)
def test_a_malformed_period_is_refused_with_a_german_message(text):
    with pytest.raises(InputError) as info:
        parse_period(text)
    assert "Frist" in info.value.message


def test_a_period_beyond_the_calendar_is_bad_input_not_a_crash():
    with pytest.raises(InputError):
        compute_period(date(9999, 12, 1), Period(3, "m"))


# --- properties -----------------------------------------------------------------------------------

PERIODS = st.builds(
    Period,
    amount=st.integers(min_value=1, max_value=60),
    unit=st.sampled_from(["d", "w", "m"]),
) | st.builds(Period, amount=st.integers(min_value=1, max_value=3), unit=st.just("y"))
STARTS = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))


@given(start=STARTS, period=PERIODS)
def test_a_forward_due_date_is_a_working_day_at_most_four_days_after_the_nominal_end(start, period):
    end = compute_period(start, period)
    assert is_working_day(end.due)
    assert end.nominal_end <= end.due <= end.nominal_end + timedelta(days=MAX_FORWARD_SHIFT_DAYS)
    assert end.nominal_end > start
    assert len(end.skipped) == (end.due - end.nominal_end).days


@given(start=STARTS, period=PERIODS)
def test_a_backward_due_date_is_a_working_day_at_most_four_days_before_the_nominal_end(
    start, period
):
    end = compute_period(start, period, "backward")
    assert is_working_day(end.due)
    assert end.nominal_end - timedelta(days=MAX_FORWARD_SHIFT_DAYS) <= end.due <= end.nominal_end


@given(start=STARTS, months=st.integers(min_value=1, max_value=36))
def test_a_month_period_ends_on_the_same_numbered_day_or_the_last_day_of_the_month(start, months):
    end = compute_period(start, Period(months, "m")).nominal_end
    last = stdlib_calendar.monthrange(end.year, end.month)[1]
    assert end.day == min(start.day, last)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)),
    n=st.integers(min_value=1, max_value=30),
)
def test_working_days_before_lands_on_a_working_day_with_exactly_n_working_days_between(day, n):
    earlier = working_days_before(day, n)
    assert is_working_day(earlier)
    between = [earlier + timedelta(days=i) for i in range((day - earlier).days)]
    assert sum(is_working_day(x) for x in between) == n


def test_no_nominal_end_in_2024_to_2032_moves_more_than_four_days_and_four_happens():
    shifts = []
    day = date(2024, 1, 1)
    while day <= date(2032, 12, 31):
        end = compute_period(day - timedelta(days=1), Period(1, "d"))
        shifts.append((end.due - end.nominal_end).days)
        day += timedelta(days=1)
    assert max(shifts) == MAX_FORWARD_SHIFT_DAYS
