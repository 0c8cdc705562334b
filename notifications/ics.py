"""Calendar invitations (RFC 5545/5546) for the Gesamtplankonferenz.

One stable UID per conference; SEQUENCE rises with each reschedule (and the cancellation), so
calendar programs update or drop the entry they already hold instead of adding a second one. Times
are local Europe/Berlin with a compact VTIMEZONE (the EU summer-time rules as RRULEs). The summary
and description name only the pseudonymous case reference ("Termin C-2026-000017"): never a name,
never health data, and not the procedure either, which in a shared calendar would reveal an
Eingliederungshilfe case (legal-review m9).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from notifications.events import Method
from states.calendar import BERLIN

__all__ = ["DEFAULT_DURATION", "PRODID", "Method", "conference_ics"]

DEFAULT_DURATION = timedelta(hours=2)
PRODID = "-//gpv//Gesamtplanverfahren LWL - Kreis Unna//DE"


def _berlin_timezone() -> Timezone:
    tz = Timezone()
    tz.add("tzid", "Europe/Berlin")
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("tzoffsetfrom", timedelta(hours=1))
    summer.add("tzoffsetto", timedelta(hours=2))
    summer.add("dtstart", datetime(1970, 3, 29, 2, 0, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("tzoffsetfrom", timedelta(hours=2))
    winter.add("tzoffsetto", timedelta(hours=1))
    winter.add("dtstart", datetime(1970, 10, 25, 3, 0, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def conference_ics(
    *,
    method: Method,
    uid: str,
    sequence: int,
    start: datetime,
    location: str,
    case_ref: str,
    dtstamp: datetime,
    duration: timedelta = DEFAULT_DURATION,
    organizer: str | None = None,
    attendee: str | None = None,
) -> bytes:
    """The ICS file for one conference as bytes (CRLF lines, UTF-8).

    ``start`` must be timezone-aware; it is written as Europe/Berlin local time with TZID.
    ``dtstamp`` is when the notice was created (UTC), so the same row renders the same bytes.
    ``organizer``/``attendee`` are e-mail addresses; only the recipient is listed as attendee, so no
    invitation discloses the other participants' addresses.
    """
    if start.tzinfo is None or dtstamp.tzinfo is None:
        raise ValueError("conference_ics: start and dtstamp must be timezone-aware")
    local = start.astimezone(BERLIN)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method.value)
    cal.add_component(_berlin_timezone())
    event = Event()
    event.add("uid", uid)
    event.add("sequence", int(sequence))
    event.add("dtstamp", dtstamp.astimezone(UTC))
    event.add("dtstart", local)
    event.add("dtend", (local + duration).astimezone(BERLIN))
    # No procedure name in a calendar that others may see (legal-review m9): the reference only.
    event.add("summary", f"Termin {case_ref}")
    event.add("location", location)
    event.add("description", f"Aktenzeichen {case_ref}. Einzelheiten stehen in der Einladung.")
    event.add("status", "CANCELLED" if method is Method.CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if organizer:
        org = vCalAddress(f"mailto:{organizer}")
        event.add("organizer", org)
    if attendee:
        att = vCalAddress(f"mailto:{attendee}")
        att.params["role"] = "REQ-PARTICIPANT"
        att.params["partstat"] = "NEEDS-ACTION"
        att.params["rsvp"] = "TRUE"
        event.add("attendee", att)
    cal.add_component(event)
    return cal.to_ical()
