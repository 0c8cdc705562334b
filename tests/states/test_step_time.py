"""A step dated after now is refused unless on purpose; what records an event never (issue 12)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from states.calendar import BERLIN
from states.errors import InputError
from states.step_time import RECORDS_WHAT_HAPPENED, check_step_time
from states.triggers import TRIGGERS
from tests.workflows.conftest import berlin

NOW = berlin("2026-03-20T09:00")


def test_every_trigger_that_records_an_event_is_a_trigger_of_the_vocabulary():
    assert set(TRIGGERS) >= RECORDS_WHAT_HAPPENED
    assert {"hold_conference", "deliver_statement", "issue_decision"} <= RECORDS_WHAT_HAPPENED


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_a_step_dated_now_or_earlier_passes(trigger):
    check_step_time(trigger, NOW, NOW, allow_future=False)
    check_step_time(trigger, NOW - timedelta(days=30), NOW, allow_future=False)


def test_a_step_dated_after_now_is_refused_with_the_way_to_allow_it():
    with pytest.raises(InputError) as refused:
        check_step_time("schedule_conference", NOW + timedelta(days=1), NOW, allow_future=False)
    assert "--allow-future" in refused.value.message
    assert "21.03.2026 09:00 Uhr" in refused.value.message
    assert refused.value.exit_code == 2


def test_allow_future_lets_the_carriers_own_step_through():
    check_step_time("schedule_conference", NOW + timedelta(days=7), NOW, allow_future=True)


@pytest.mark.parametrize("trigger", sorted(RECORDS_WHAT_HAPPENED))
def test_a_step_that_records_what_happened_is_refused_in_the_future_regardless(trigger):
    with pytest.raises(InputError) as refused:
        check_step_time(trigger, NOW + timedelta(minutes=5), NOW, allow_future=True)
    assert "noch nicht geschehen" in refused.value.message
    assert "--allow-future" not in refused.value.message


def test_the_message_names_the_time_in_berlin_whatever_zone_was_given():
    utc_now = NOW.astimezone(BERLIN).astimezone(tz=None)
    with pytest.raises(InputError) as refused:
        check_step_time(
            "hold_conference", utc_now + timedelta(hours=2), utc_now, allow_future=False
        )
    assert "11:00 Uhr" in refused.value.message
