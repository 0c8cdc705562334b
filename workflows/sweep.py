"""The deadline sweep: reminders when their day has come, escalations when a deadline is missed.

Pure, then persist. For a given ``now`` (its Europe/Berlin date is the legal "today"):

1. Read (one read transaction, two indexed range scans): the ids of open deadlines past their due
   day (:func:`overdue_query`, index ``ix_deadlines_due``) and of open, not yet reminded deadlines
   whose reminder day has come and whose due day has not passed (:func:`reminder_query`, index
   ``ix_deadlines_reminder``).
2. Decide (pure, :func:`plan_escalation` / :func:`plan_reminder`): the notification events, from
   the agreement's rules (``overdue_event``, ``reminder_event``); the context holds rule, norm, due
   date, title, responsible party and days overdue, never health data.
3. Persist in batches, each one transaction: a conditional ``UPDATE … WHERE status = 'open'``
   (escalation) or ``… AND reminder_sent_at IS NULL`` (reminder) ``RETURNING`` the rows this sweep
   won, then the outbox rows for exactly those (source key ``deadline:<id>:escalation`` /
   ``deadline:<id>:reminder``) and, for a missed deadline, an audit entry (``miss_deadline``, by
   ``system:sweep``). A second sweep, sequential or in parallel, wins no row, and the outbox's
   unique ``dedup_key`` refuses a second notice even if it did: never two reminders or escalations.

Missed sweeps need no replay: the next sweep finds everything that is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Select, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from states.agreement import Agreement, load_agreement
from states.deadlines import berlin_date, is_overdue
from states.decision import DeadlineStatus, NotificationEvent, Process
from workflows import audit
from workflows.db import read_session, write_session
from workflows.models import Case, DeadlineRecord

BATCH = 500
SWEEP_ACTOR = "system:sweep"
MISS_TRIGGER = "miss_deadline"


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


def overdue_query(today: date) -> Select[int | None, date]:
    """Id and due day of open deadlines due before ``today`` (covered by ix_deadlines_due)."""
    return select(col(DeadlineRecord.id), col(DeadlineRecord.due)).where(
        col(DeadlineRecord.status) == DeadlineStatus.OPEN.value,
        col(DeadlineRecord.closed_at).is_(None),
        col(DeadlineRecord.due) < today,
    )


def reminder_query(today: date) -> Select[int | None]:
    """Ids of open, unreminded deadlines whose reminder day has come (covered by
    ix_deadlines_reminder). Deadlines also past due are escalated first in the same sweep, so
    the reminder's conditional update (``status = 'open'``) skips them."""
    return select(col(DeadlineRecord.id)).where(
        col(DeadlineRecord.status) == DeadlineStatus.OPEN.value,
        col(DeadlineRecord.reminder_sent_at).is_(None),
        col(DeadlineRecord.remind_on) <= today,
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


_RETURNING = (
    col(DeadlineRecord.id),
    col(DeadlineRecord.case_id),
    col(DeadlineRecord.rule),
    col(DeadlineRecord.norm),
    col(DeadlineRecord.process),
    col(DeadlineRecord.due),
    col(DeadlineRecord.responsible_party),
)


def _batches(ids: Sequence[int], size: int = BATCH) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _cases(session: Session, case_ids: Iterable[str]) -> dict[str, Case]:
    wanted = sorted(set(case_ids))
    rows = session.scalars(select(Case).where(col(Case.id).in_(wanted)))
    return {c.id: c for c in rows}


def _escalate(
    engine: Engine, ids: Sequence[int], now: datetime, agreement: Agreement, today: date
) -> int:
    from workflows.outbox import enqueue

    won = 0
    for batch in _batches(ids):
        with write_session(engine) as session:
            rows = session.execute(
                update(DeadlineRecord)
                .where(
                    col(DeadlineRecord.id).in_(batch),
                    col(DeadlineRecord.status) == DeadlineStatus.OPEN.value,
                )
                .values(status=DeadlineStatus.MISSED.value, escalated_at=now)
                .returning(*_RETURNING)
                .execution_options(synchronize_session=False)
            ).all()
            facts = sorted((DeadlineFacts(*row) for row in rows), key=lambda d: d.id)
            cases = _cases(session, (d.case_id for d in facts))
            for d in facts:
                enqueue(
                    session,
                    case=cases[d.case_id],
                    events=[plan_escalation(agreement, d, today)],
                    source_key=f"deadline:{d.id}:escalation",
                    at=now,
                    agreement=cast(Any, agreement),  # the Agreement satisfies AgreementLike
                )
            audit.append_many(
                session,
                [
                    audit.NewEntry(
                        case_id=d.case_id,
                        trigger=MISS_TRIGGER,
                        process=d.process,
                        from_state=DeadlineStatus.OPEN.value,
                        to_state=DeadlineStatus.MISSED.value,
                        at=now,
                        by=SWEEP_ACTOR,
                        params={"rule": d.rule, "norm": d.norm, "due": d.due.isoformat()},
                    )
                    for d in facts
                ],
                recorded_at=datetime.now(UTC),
            )
            won += len(facts)
    return won


def _remind(
    engine: Engine, ids: Sequence[int], now: datetime, agreement: Agreement, today: date
) -> int:
    from workflows.outbox import enqueue

    won = 0
    for batch in _batches(ids):
        with write_session(engine) as session:
            rows = session.execute(
                update(DeadlineRecord)
                .where(
                    col(DeadlineRecord.id).in_(batch),
                    col(DeadlineRecord.status) == DeadlineStatus.OPEN.value,
                    col(DeadlineRecord.reminder_sent_at).is_(None),
                )
                .values(reminder_sent_at=now)
                .returning(*_RETURNING)
                .execution_options(synchronize_session=False)
            ).all()
            facts = sorted((DeadlineFacts(*row) for row in rows), key=lambda d: d.id)
            cases = _cases(session, (d.case_id for d in facts))
            for d in facts:
                event = plan_reminder(agreement, d, today)
                if event is not None:
                    enqueue(
                        session,
                        case=cases[d.case_id],
                        events=[event],
                        source_key=f"deadline:{d.id}:reminder",
                        at=now,
                        agreement=cast(Any, agreement),  # the Agreement satisfies AgreementLike
                    )
            won += len(facts)
    return won


def overdue_list(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Every missed deadline whose step is still outstanding, longest overdue first."""
    today = berlin_date(now)
    rows = session.execute(
        select(*_RETURNING)
        .where(
            col(DeadlineRecord.status) == DeadlineStatus.MISSED.value,
            col(DeadlineRecord.closed_at).is_(None),
        )
        .order_by(col(DeadlineRecord.due), col(DeadlineRecord.id))
    ).all()
    return [
        {
            "case_id": d.case_id,
            "rule": d.rule,
            "norm": d.norm,
            "due": d.due.isoformat(),
            "days_overdue": (today - d.due).days,
            "responsible_party": d.responsible_party,
        }
        for d in (DeadlineFacts(*row) for row in rows)
    ]


def run_sweep(engine: Engine, now: datetime, agreement: Agreement | None = None) -> dict[str, Any]:
    """Sweep once for ``now`` (timezone-aware). Returns ``reminders`` and ``escalations`` (how many
    this run wrote) and ``overdue`` (every missed deadline still outstanding: case_id, rule, norm,
    due, days_overdue, responsible_party)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("run_sweep: now must be timezone-aware")
    agreement = agreement or load_agreement()
    today = berlin_date(now)
    with read_session(engine) as session:
        overdue_rows = session.execute(overdue_query(today)).all()
        reminder_ids = sorted(int(i) for i in session.scalars(reminder_query(today)) if i)
    # Pure: the rules decide what is overdue (a period ends at 24:00 Berlin time of its due day).
    overdue_ids = sorted(int(row.id) for row in overdue_rows if row.id and is_overdue(row.due, now))
    escalations = _escalate(engine, overdue_ids, now, agreement, today)
    reminders = _remind(engine, reminder_ids, now, agreement, today)
    with read_session(engine) as session:
        overdue = overdue_list(session, now)
    return {"reminders": reminders, "escalations": escalations, "overdue": overdue}
