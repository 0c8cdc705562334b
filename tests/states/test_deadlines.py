"""Deadlines from named rules: due dates, reminders, re-anchoring, and when they are overdue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from states.agreement import load_agreement
from states.calendar import BERLIN, Period, is_working_day
from states.deadlines import berlin_date, is_overdue, open_deadline
from states.decision import DeadlineSpec, Process, SkippedDay
from states.errors import InputError


@pytest.fixture
def agreement():
    return load_agreement()


def with_rule(agreement, rule_id, **changes):
    rules = dict(agreement.rules)
    rules[rule_id] = replace(rules[rule_id], **changes)
    return replace(agreement, rules=rules)


def test_the_jurisdiction_deadline_of_example_a_is_due_after_christmas(agreement):
    spec = open_deadline(agreement, "jurisdiction", date(2025, 12, 11), responsible_party="lwl")
    assert spec == DeadlineSpec(
        rule="jurisdiction",
        norm="§ 14 Abs. 1 S. 1 SGB IX",
        process=Process.CASE,
        anchor_event="application_received",
        anchor_date=date(2025, 12, 11),
        nominal_end=date(2025, 12, 25),
        due=date(2025, 12, 29),
        remind_on=date(2025, 12, 22),  # 3 working days before, Christmas skipped
        responsible_party="lwl",
        skipped=(
            SkippedDay(date(2025, 12, 25), "Erster Weihnachtstag"),
            SkippedDay(date(2025, 12, 26), "Zweiter Weihnachtstag"),
            SkippedDay(date(2025, 12, 27), "Samstag"),
            SkippedDay(date(2025, 12, 28), "Sonntag"),
        ),
    )


def test_the_decision_deadline_of_example_b_is_due_the_day_after_new_year(agreement):
    spec = open_deadline(agreement, "decision", date(2025, 12, 11), responsible_party="lwl")
    assert (spec.nominal_end, spec.due, spec.norm) == (
        date(2026, 1, 1),
        date(2026, 1, 2),
        "§ 14 Abs. 2 S. 2 SGB IX",
    )


def test_the_decision_deadline_restarts_two_weeks_after_the_statement_arrives(agreement):
    spec = open_deadline(
        agreement,
        "decision",
        date(2026, 4, 7),
        responsible_party="kreis-unna",
        variant="after_statement",
    )
    assert spec.norm == "§ 14 Abs. 2 S. 3 SGB IX"
    assert spec.anchor_event == "statement_delivered"
    assert spec.due == date(2026, 4, 21)
    assert spec.responsible_party == "kreis-unna"


def test_the_statement_deadline_of_example_d_passes_easter_monday(agreement):
    spec = open_deadline(agreement, "statement", date(2026, 3, 23), responsible_party="spdi")
    assert spec.process is Process.STATEMENT
    assert spec.due == date(2026, 4, 7)
    assert spec.remind_on == date(
        2026, 4, 1
    )  # 2 working days before: Karfreitag/Ostermontag skipped


def test_the_review_is_due_on_the_last_working_day_before_the_two_years(agreement):
    spec = open_deadline(agreement, "review", date(2024, 3, 15), responsible_party="lwl")
    assert spec.nominal_end == date(2026, 3, 15)
    assert spec.due == date(2026, 3, 13)
    assert spec.norm == "§ 121 Abs. 2 S. 2 SGB IX"
    # about two months ahead: 40 NRW working days before the due date
    assert spec.remind_on == date(2026, 1, 16)


def test_the_housing_acknowledgement_belongs_to_the_housing_process(agreement):
    spec = open_deadline(
        agreement, "housing_ack", date(2026, 5, 11), responsible_party=agreement.housing_party()
    )
    assert spec.process is Process.HOUSING
    assert spec.due == date(2026, 5, 26)  # nominal Pfingstmontag 25.05.2026


def test_a_reminder_is_never_on_or_before_the_anchor_day(agreement):
    short = with_rule(agreement, "statement", period=Period(2, "d"), reminder_lead_working_days=5)
    spec = open_deadline(short, "statement", date(2026, 3, 2), responsible_party="spdi")
    assert spec.due == date(2026, 3, 4)
    assert spec.remind_on == date(2026, 3, 3)


def test_a_rule_without_a_reminder_event_has_no_reminder_date(agreement):
    silent = with_rule(agreement, "housing_ack", reminder_event=None)
    spec = open_deadline(silent, "housing_ack", date(2026, 5, 11), responsible_party="lwl")
    assert spec.remind_on is None


def test_no_reminder_when_a_backward_due_date_leaves_no_day_after_the_anchor(agreement):
    tiny = with_rule(agreement, "review", period=Period(1, "d"))
    spec = open_deadline(tiny, "review", date(2026, 3, 13), responsible_party="lwl")  # Friday
    assert spec.due == date(2026, 3, 13)
    assert spec.remind_on is None


def test_a_rule_without_a_restart_cannot_be_opened_after_a_statement(agreement):
    with pytest.raises(InputError, match=r"jurisdiction.*after_statement"):
        open_deadline(
            agreement,
            "jurisdiction",
            date(2026, 1, 5),
            responsible_party="lwl",
            variant="after_statement",
        )


def test_an_unknown_rule_or_party_is_bad_input(agreement):
    with pytest.raises(InputError):
        open_deadline(agreement, "appeal", date(2026, 1, 5), responsible_party="lwl")
    with pytest.raises(InputError):
        open_deadline(agreement, "jurisdiction", date(2026, 1, 5), responsible_party="amt")


def test_deadlines_use_the_agreements_holiday_region(agreement):
    # 31.10.2025 is Reformationstag in Lower Saxony but a working day in NRW
    lower_saxony = replace(agreement, holiday_region="NI")
    nrw = open_deadline(agreement, "jurisdiction", date(2025, 10, 17), responsible_party="lwl")
    ni = open_deadline(lower_saxony, "jurisdiction", date(2025, 10, 17), responsible_party="lwl")
    assert nrw.due == date(2025, 10, 31)
    assert ni.due == date(2025, 11, 3)


@given(
    anchor=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 10, 31)),
    rule_id=st.sampled_from(["jurisdiction", "decision", "statement", "housing_ack"]),
)
def test_a_reminder_lies_between_the_anchor_and_the_due_date_on_a_working_day(anchor, rule_id):
    spec = open_deadline(load_agreement(), rule_id, anchor, responsible_party="lwl")
    assert spec.remind_on is not None
    assert anchor < spec.remind_on <= spec.due
    assert is_working_day(spec.due)


# --- overdue: a period ends at 24:00 Europe/Berlin of its due day --------------------------------


@pytest.mark.parametrize(
    ("due", "now", "overdue"),
    [
        # winter (CET, UTC+1)
        (date(2025, 12, 29), datetime(2025, 12, 29, 22, 59, 59, tzinfo=UTC), False),
        (date(2025, 12, 29), datetime(2025, 12, 29, 23, 0, 0, tzinfo=UTC), True),
        # summer (CEST, UTC+2)
        (date(2026, 5, 15), datetime(2026, 5, 15, 21, 59, 59, tzinfo=UTC), False),
        (date(2026, 5, 15), datetime(2026, 5, 15, 22, 0, 0, tzinfo=UTC), True),
        (date(2026, 5, 15), datetime(2026, 5, 16, 0, 0, 0, tzinfo=BERLIN), True),
        (date(2026, 5, 15), datetime(2026, 5, 15, 23, 59, 59, tzinfo=BERLIN), False),
        (date(2026, 5, 15), datetime(2026, 5, 1, 12, 0, tzinfo=UTC), False),
    ],
)
def test_a_deadline_is_overdue_from_midnight_berlin_after_its_due_day(due, now, overdue):
    assert is_overdue(due, now) is overdue


def test_the_berlin_date_follows_daylight_saving_time():
    # last Sunday of March 2026: clocks go forward at 02:00 CET
    assert berlin_date(datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) == date(2026, 3, 29)
    assert berlin_date(datetime(2026, 10, 24, 22, 30, tzinfo=UTC)) == date(2026, 10, 25)
    assert berlin_date(datetime(2026, 10, 24, 21, 30, tzinfo=UTC)) == date(2026, 10, 24)


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError):
        is_overdue(date(2026, 1, 1), datetime(2026, 1, 2, 12, 0))


def test_overdue_flips_exactly_once_over_the_day_boundary():
    due = date(2026, 3, 13)
    start = datetime(2026, 3, 13, 0, 0, tzinfo=BERLIN)
    flips = [is_overdue(due, start + timedelta(minutes=30 * i)) for i in range(96)]
    assert flips == [False] * 48 + [True] * 48
