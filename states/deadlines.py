"""Deadlines from the agreement's named rules, and when they are overdue.

A deadline is data (house style 6): :func:`open_deadline` turns a rule and its anchor date into a
:class:`states.decision.DeadlineSpec` the store keeps as a row; the sweep asks :func:`is_overdue`
with ``now`` as a parameter. A period ends at 24:00 Europe/Berlin of its due day (architecture.md,
Time), so it is overdue from 00:00 Berlin time of the next day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from states.agreement import STANDARD, Agreement
from states.calendar import BERLIN, compute_period, to_working_day, working_days_before
from states.decision import DeadlineSpec


def berlin_date(now: datetime) -> date:
    """The calendar date in Europe/Berlin at the instant ``now`` (which must be timezone-aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (UTC or Europe/Berlin), not naive")
    return now.astimezone(BERLIN).date()


def is_overdue(due: date, now: datetime) -> bool:
    """True from 00:00 Europe/Berlin of the day after ``due`` (the period ends at 24:00 of it)."""
    return berlin_date(now) > due


def open_deadline(
    agreement: Agreement,
    rule_id: str,
    anchor_date: date,
    *,
    responsible_party: str,
    variant: str = STANDARD,
    variant_reason: str = "",
    until: date | None = None,
) -> DeadlineSpec:
    """Compute the deadline of rule ``rule_id`` anchored at the event day ``anchor_date``.

    ``variant`` names the rule's reading (period, norm and anchor event; ``standard`` is the rule's
    own, others are listed under the rule's ``variants``, e.g. ``decision``'s ``after_statement``
    for § 14 Abs. 2 S. 3 SGB IX); ``variant_reason`` is the recorded fact that chose it. The due
    date follows the rule's shift (§ 26 Abs. 3 S. 1 SGB X for "forward").
    ``remind_on`` is ``reminder_lead_working_days`` NRW working days before the due date, never on
    or before the anchor day (then the day after it), and None when the rule has no reminder event
    or no day is left between anchor and due date.
    ``until`` is a date set by a step (the Gesamtplan's review date, § 121 Abs. 4 Nr. 1 SGB IX; the
    end of an approval period): the deadline falls due then, moved by the rule's shift, unless the
    rule's own period ends first. ``nominal_end`` keeps the period's end (the legal latest date).
    """
    rule = agreement.rule(rule_id)
    agreement.party(responsible_party)  # unknown party → InputError
    reading = rule.variant(variant)
    period, norm, anchor_event = reading.period, reading.norm, reading.anchor_event

    region = agreement.holiday_region
    end = compute_period(anchor_date, period, rule.shift, region=region)
    if until is not None and until < end.nominal_end:
        due, skipped = to_working_day(until, rule.shift, region=region)
        end = replace(end, due=due, skipped=skipped)

    remind_on: date | None = None
    if rule.reminder_event is not None:
        remind_on = working_days_before(end.due, rule.reminder_lead_working_days, region=region)
        if remind_on <= anchor_date:
            remind_on = anchor_date + timedelta(days=1)
        if remind_on > end.due:
            remind_on = None

    return DeadlineSpec(
        rule=rule.id,
        norm=norm,
        process=rule.process,
        anchor_event=anchor_event,
        anchor_date=anchor_date,
        nominal_end=end.nominal_end,
        due=end.due,
        remind_on=remind_on,
        responsible_party=responsible_party,
        skipped=end.skipped,
        variant=reading.name,
        variant_reason=variant_reason,
    )
