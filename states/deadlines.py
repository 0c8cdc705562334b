"""Deadlines from the agreement's named rules, and when they are overdue.

A deadline is data (house style 6): :func:`open_deadline` turns a rule and its anchor date into a
:class:`states.decision.DeadlineSpec` the store keeps as a row; the sweep asks :func:`is_overdue`
with ``now`` as a parameter. A period ends at 24:00 Europe/Berlin of its due day (architecture.md,
Time), so it is overdue from 00:00 Berlin time of the next day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from states.agreement import Agreement
from states.calendar import BERLIN, compute_period, working_days_before
from states.decision import DeadlineSpec
from states.errors import InputError


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
    after_statement: bool = False,
) -> DeadlineSpec:
    """Compute the deadline of rule ``rule_id`` anchored at the event day ``anchor_date``.

    With ``after_statement`` the rule's restart after a delivered statement is used (period, norm
    and anchor event ``after_statement_*``, § 14 Abs. 2 S. 3 SGB IX); a rule without one raises
    InputError. The due date follows the rule's shift (§ 26 Abs. 3 S. 1 SGB X for "forward").
    ``remind_on`` is ``reminder_lead_working_days`` NRW working days before the due date, never on
    or before the anchor day (then the day after it), and None when the rule has no reminder event
    or no day is left between anchor and due date.
    """
    rule = agreement.rule(rule_id)
    agreement.party(responsible_party)  # unknown party → InputError
    if after_statement:
        if (
            rule.after_statement_period is None
            or rule.after_statement_norm is None
            or rule.after_statement_anchor_event is None
        ):
            raise InputError(
                f"Die Fristregel {rule_id!r} ({rule.norm}) läuft nach Eingang einer Stellungnahme "
                "nicht neu an."
            )
        period, norm, anchor_event = (
            rule.after_statement_period,
            rule.after_statement_norm,
            rule.after_statement_anchor_event,
        )
    else:
        period, norm, anchor_event = rule.period, rule.norm, rule.anchor_event

    region = agreement.holiday_region
    end = compute_period(anchor_date, period, rule.shift, region=region)

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
    )
