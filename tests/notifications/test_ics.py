"""Calendar invitations parse back with icalendar: REQUEST, SEQUENCE, CANCEL, Berlin time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from notifications.ics import Method, conference_ics
from notifications.policy import resolve
from notifications.rendering import render
from states.agreement import load_agreement
from tests.notifications.samples import CASE, CONTEXTS, ISSUED_AT

AGREEMENT = load_agreement()


def _ics(event: str, **kw: object) -> Calendar:
    ctx = {**CONTEXTS[event], **kw}
    recipient = resolve(event, CASE, ctx, AGREEMENT)[1]
    msg = render(
        recipient, event, CASE, ctx, AGREEMENT, message_id="<outbox-1@gpv.x>",
        sender="gpv@lwl.example", recipient_address="fm@lwl.example", issued_at=ISSUED_AT,
    )  # fmt: skip
    (attachment,) = msg.attachments
    assert attachment.content_type == "text/calendar"
    return Calendar.from_ical(attachment.data)


def test_an_invitation_is_a_request_in_berlin_time_with_a_two_hour_default():
    cal = _ics("conference_invitation")
    assert cal["method"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == datetime(2026, 4, 16, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert str(start.tzinfo) == "Europe/Berlin"
    assert event.decoded("dtend") - start == timedelta(hours=2)
    assert str(event["uid"]) == "conference-C-2026-000017-1@gpv"
    assert int(event["sequence"]) == 0
    # The reference only, not the procedure: calendars are often shared (legal-review m9).
    assert str(event["summary"]) == "Termin C-2026-000017"
    assert "Kreishaus Unna" in str(event["location"])
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence():
    first = _ics("conference_invitation").walk("VEVENT")[0]
    moved = _ics("conference_rescheduled").walk("VEVENT")[0]
    assert moved["uid"] == first["uid"]
    assert int(moved["sequence"]) > int(first["sequence"])
    assert moved.decoded("dtstart") == datetime(
        2026, 4, 23, 9, 30, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_a_cancellation_is_method_cancel_with_status_cancelled():
    cal = _ics("conference_cancelled")
    assert cal["method"] == "CANCEL"
    event = cal.walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) == 2


def test_winter_time_is_written_as_berlin_local_time():
    data = conference_ics(
        method=Method.REQUEST, uid="u@gpv", sequence=0,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), location="Unna",
        case_ref="C-2026-000001", dtstamp=ISSUED_AT, duration=timedelta(minutes=90),
    )  # fmt: skip
    assert b"DTSTART;TZID=Europe/Berlin:20261201T100000" in data
    assert b"DTEND;TZID=Europe/Berlin:20261201T113000" in data


def test_the_invitation_lists_only_the_recipient_as_attendee():
    event = _ics("conference_invitation").walk("VEVENT")[0]
    assert str(event["attendee"]) == "mailto:fm@lwl.example"
    assert str(event["organizer"]) == "mailto:gpv@lwl.example"
