"""The deadline sweep's rule, as plain values: which deadline is due for what, and what that writes.

Pure, like :mod:`workflows.store.rows` (no database, no session). ``workflows.sweep`` runs it as
indexed, set-based SQL derived from these conditions (``workflows.store.cases.where``) at one
moment; the seed replays it with :func:`swept_until` as if the sweep had run every minute.

- :func:`reminder_due`: open, not yet reminded deadlines whose reminder day has come;
  :func:`past_due`: open deadlines past their due day (``states.deadlines.is_overdue``). A
  deadline past due is escalated first, in the same sweep, and gets no reminder.
- :data:`ESCALATION_CLAIM` / :data:`REMINDER_CLAIM` and :func:`escalation_values` /
  :func:`reminder_values`: the conditional UPDATE that wins a deadline at most once.
- :func:`miss_entry`: the ``miss_deadline`` audit entry; :func:`plan_escalation` /
  :func:`plan_reminder`: the notices, from the agreement's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal

from states.agreement import Agreement
from states.calendar import BERLIN
from states.deadlines import berlin_date
from states.decision import NotificationEvent, Process
from workflows.store.rows import MISSED, OPEN, Condition, NewEntry, Values, matches

SWEEP_ACTOR = "system:sweep"
MISS_TRIGGER = "miss_deadline"


@lru_cache(maxsize=4096)
def reminder_due(today: date) -> tuple[Condition, ...]:
    """Open, not yet reminded deadlines whose reminder day has come (ix_deadlines_reminder).
    Deadlines also past due are escalated first in the same sweep, so they get no reminder."""
    return (
        Condition("status", "=", OPEN),
        Condition("reminder_sent_at", "is null"),
        Condition("remind_on", "<=", today),
    )


@lru_cache(maxsize=4096)
def past_due(today: date) -> tuple[Condition, ...]:
    """Open deadlines past their due day (ix_deadlines_due): ``states.deadlines.is_overdue``, a
    period ends at 24:00 Berlin time of its due day."""
    return (
        Condition("status", "=", OPEN),
        Condition("closed_at", "is null"),
        Condition("due", "<", today),
    )


#: What the sweep's conditional UPDATEs re-check, so each deadline is won at most once.
ESCALATION_CLAIM: tuple[Condition, ...] = (Condition("status", "=", OPEN),)
REMINDER_CLAIM: tuple[Condition, ...] = (
    Condition("status", "=", OPEN),
    Condition("reminder_sent_at", "is null"),
)


def reminder_values(now: datetime) -> Values:
    return {"reminder_sent_at": now}


def escalation_values(now: datetime) -> Values:
    return {"status": MISSED, "escalated_at": now}


def start_of(day: date) -> datetime:
    """00:00 Europe/Berlin of ``day``: the first sweep that sees the day as "today"."""
    return datetime.combine(day, time(0, 0), BERLIN)


@dataclass(frozen=True)
class DeadlineFacts:
    """The plain values of a deadline row the sweep decides on."""

    id: int
    case_id: str
    rule: str
    norm: str
    process: str
    due: date
    responsible_party: str


def miss_entry(
    *, case_id: str, process: str, rule: str, norm: str, due: date, at: datetime
) -> NewEntry:
    """The audit entry of a deadline the sweep marks missed at ``at``."""
    return NewEntry(
        case_id=case_id,
        trigger=MISS_TRIGGER,
        process=process,
        from_state=OPEN,
        to_state=MISSED,
        at=at,
        by=SWEEP_ACTOR,
        params={"rule": rule, "norm": norm, "due": due.isoformat()},
    )


def _context(agreement: Agreement, d: DeadlineFacts, today: date) -> dict[str, Any]:
    rule = agreement.rules.get(d.rule)
    return {
        "rule": d.rule,
        "norm": d.norm,
        "due": d.due.isoformat(),
        "title": rule.title if rule else d.rule,
        "responsible_party": d.responsible_party,
        "days_overdue": max((today - d.due).days, 0),
    }


def plan_escalation(agreement: Agreement, d: DeadlineFacts, today: date) -> NotificationEvent:
    """The escalation notice of a missed deadline (the rule's ``overdue_event``)."""
    rule = agreement.rules.get(d.rule)
    event = rule.overdue_event if rule else "deadline_missed"
    return NotificationEvent(event, Process(d.process), _context(agreement, d, today))


def plan_reminder(agreement: Agreement, d: DeadlineFacts, today: date) -> NotificationEvent | None:
    """The reminder notice (the rule's ``reminder_event``), or None for a rule without one."""
    rule = agreement.rules.get(d.rule)
    if rule is None or rule.reminder_event is None:
        return None
    return NotificationEvent(rule.reminder_event, Process(d.process), _context(agreement, d, today))


@dataclass(frozen=True)
class SweepStep:
    """One deadline a sweep took at ``at`` (its Berlin date ``today``): its reminder or its
    escalation, and the column values that sets."""

    kind: Literal["reminder", "escalation"]
    row: Values
    at: datetime
    today: date

    @property
    def values(self) -> Values:
        return reminder_values(self.at) if self.kind == "reminder" else escalation_values(self.at)


def _reminder_step(row: Values, until: datetime) -> SweepStep | None:
    day = row["remind_on"]
    if day is None or (at := start_of(day)) > until:
        return None
    # The first sweep of its reminder day finds it, unless it escalates it first (already overdue).
    if not matches(row, reminder_due(day)) or matches(row, past_due(day)):
        return None
    return SweepStep("reminder", row, at, day)


def _escalation_step(row: Values, overdue: Sequence[Condition]) -> SweepStep | None:
    if not matches(row, overdue):
        return None
    day = row["due"] + timedelta(days=1)  # the first day is_overdue holds
    return SweepStep("escalation", row, start_of(day), day)


def swept_until(rows: Sequence[Values], until: datetime) -> tuple[list[SweepStep], list[SweepStep]]:
    """What a sweep running every minute up to ``until`` did to these deadline rows, given as
    they were after the last such replay: (reminders in row order, escalations in time order).
    The rows are not changed; apply each step's :attr:`SweepStep.values`."""
    reminders, escalations = [], []
    overdue = past_due(berlin_date(until))
    for row in rows:
        if row["status"] != OPEN:  # fast path: the only rows either rule can take
            continue
        if (reminder := _reminder_step(row, until)) is not None:
            reminders.append(reminder)
        if (escalation := _escalation_step(row, overdue)) is not None:
            escalations.append(escalation)
    escalations.sort(key=lambda step: step.at)
    return reminders, escalations
