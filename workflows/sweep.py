"""The deadline sweep: reminders when their day has come, escalations when a deadline is missed.

Pure, then persist. The rule itself (which deadline is due for what, the columns it sets, the
audit entry, the notices) is stated once in :mod:`workflows.store.sweep_rule`, which the seed
replays too; this module executes it. For a given ``now`` (its Europe/Berlin date is the legal
"today"):

1. Read (one read transaction, two indexed range scans): the ids of open deadlines past their due
   day (:func:`overdue_query`, index ``ix_deadlines_due``) and of open, not yet reminded deadlines
   whose reminder day has come and whose due day has not passed (:func:`reminder_query`, index
   ``ix_deadlines_reminder``). Both find only what is due now, so a sweep costs in proportion to
   what is due, not to the table or to the backlog of deadlines missed earlier.
2. Decide (pure, ``sweep_rule.plan_escalation`` / ``plan_reminder``): the notification events, from
   the agreement's rules (``overdue_event``, ``reminder_event``); the context holds rule, norm, due
   date, title, responsible party and days overdue, never health data.
3. Persist in chunks of at most :data:`CHUNK` deadlines, each one short transaction (so a case
   manager's ``fire`` never waits long for the write lock): a conditional
   ``UPDATE … WHERE status = 'open'`` (escalation) or ``… AND reminder_sent_at IS NULL``
   (reminder) ``RETURNING`` the rows this sweep won; the notification columns of their cases
   (:class:`~notifications.policy.CaseView`, no health data); the outbox rows for exactly those
   deadlines in one executemany (``workflows.store.outbox.enqueue_many``, source key
   ``deadline:<id>:escalation`` / ``deadline:<id>:reminder``) and, for missed deadlines, their
   audit entries (``miss_deadline``, by ``system:sweep``) in one more. A second sweep, sequential
   or in parallel, wins no row, and the outbox's unique ``dedup_key`` refuses a second notice
   even if it did: never two reminders or escalations.

Missed sweeps need no replay: the next sweep finds everything that is due.

What is *currently* overdue (missed, step still outstanding) is not part of the sweep: that list
grows with the backlog. :func:`overdue_report` reads it separately, bounded (the ``limit`` most
overdue, by ``ix_deadlines_due``) with the total count, for ``gpv sweep`` and the supervisors'
``overdue-deadlines`` artifact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from states.agreement import Agreement, load_agreement
from states.deadlines import berlin_date, is_overdue
from states.decision import NotificationEvent
from workflows.store import audit
from workflows.store.cases import case_views, where
from workflows.store.db import read_session, write_session
from workflows.store.models import DeadlineRow
from workflows.store.rows import MISSED_OUTSTANDING
from workflows.store.sweep_rule import (
    ESCALATION_CLAIM,
    MISS_TRIGGER,
    REMINDER_CLAIM,
    SWEEP_ACTOR,
    DeadlineFacts,
    escalation_values,
    miss_entry,
    past_due,
    plan_escalation,
    plan_reminder,
    reminder_due,
    reminder_values,
)

__all__ = [
    "CHUNK",
    "MISS_TRIGGER",
    "OVERDUE_LIMIT",
    "SWEEP_ACTOR",
    "DeadlineFacts",
    "outstanding_count_query",
    "outstanding_query",
    "overdue_query",
    "overdue_report",
    "plan_escalation",
    "plan_reminder",
    "reminder_query",
    "run_sweep",
]

#: Deadlines per write transaction of the sweep (each chunk commits on its own).
CHUNK = 500
#: How many overdue deadlines ``overdue_report`` lists by default (the total is always counted).
OVERDUE_LIMIT = 500


def overdue_query(today: date) -> Select[int | None, date]:
    """Id and due day of open deadlines due before ``today`` (``sweep_rule.past_due``; covered by
    ix_deadlines_due)."""
    return select(col(DeadlineRow.id), col(DeadlineRow.due)).where(*where(past_due(today)))


def reminder_query(today: date) -> Select[int | None]:
    """Ids of open, unreminded deadlines whose reminder day has come (``sweep_rule.reminder_due``;
    covered by ix_deadlines_reminder). Deadlines also past due are escalated first in the same
    sweep, so the reminder's conditional update (``status = 'open'``) skips them."""
    return select(col(DeadlineRow.id)).where(*where(reminder_due(today)))


_RETURNING = (
    col(DeadlineRow.id),
    col(DeadlineRow.case_id),
    col(DeadlineRow.rule),
    col(DeadlineRow.norm),
    col(DeadlineRow.process),
    col(DeadlineRow.due),
    col(DeadlineRow.responsible_party),
)


def _chunks(ids: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    if size < 1:
        raise ValueError("sweep: chunk must be >= 1")
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _won(session: Session, stmt: Any) -> list[DeadlineFacts]:
    rows = session.execute(
        stmt.returning(*_RETURNING).execution_options(synchronize_session=False)
    ).all()
    return sorted((DeadlineFacts(*row) for row in rows), key=lambda d: d.id)


def _claim_and_notify(
    engine: Engine,
    ids: Sequence[int],
    *,
    claim: Callable[[Sequence[int]], Any],
    plan: Callable[[DeadlineFacts], NotificationEvent | None],
    kind: str,
    now: datetime,
    agreement: Agreement,
    chunk: int,
    record: Callable[[Session, list[DeadlineFacts]], None] | None = None,
) -> int:
    """The one shape of both sweep steps, ``chunk`` deadlines per transaction: the conditional
    UPDATE ``claim(part)`` wins each deadline at most once; only the rows it won get their notice
    (dedup key ``deadline:<id>:<kind>``) and, via ``record``, whatever else belongs in the same
    transaction. Returns how many deadlines this run won."""
    from workflows.store.outbox import Notices, enqueue_many

    won = 0
    for part in _chunks(ids, chunk):
        with write_session(engine) as session:
            facts = _won(session, claim(part))
            planned = [(d, plan(d)) for d in facts]
            views = case_views(session, (d.case_id for d, event in planned if event is not None))
            enqueue_many(
                session,
                (
                    Notices(views[d.case_id], [event], f"deadline:{d.id}:{kind}")
                    for d, event in planned
                    if event is not None
                ),
                at=now,
                agreement=cast(Any, agreement),  # the Agreement satisfies AgreementLike
            )
            if record is not None:
                record(session, facts)
            won += len(facts)
    return won


def _escalate(
    engine: Engine, ids: Sequence[int], now: datetime, agreement: Agreement, today: date, chunk: int
) -> int:
    def claim(part: Sequence[int]) -> Any:
        return (
            update(DeadlineRow)
            .where(col(DeadlineRow.id).in_(part), *where(ESCALATION_CLAIM))
            .values(**escalation_values(now))
        )

    def record(session: Session, facts: list[DeadlineFacts]) -> None:
        audit.append_many(
            session,
            [
                miss_entry(
                    case_id=d.case_id,
                    process=d.process,
                    rule=d.rule,
                    norm=d.norm,
                    due=d.due,
                    at=now,
                )
                for d in facts
            ],
            recorded_at=datetime.now(UTC),
        )

    return _claim_and_notify(
        engine,
        ids,
        claim=claim,
        plan=lambda d: plan_escalation(agreement, d, today),
        kind="escalation",
        now=now,
        agreement=agreement,
        chunk=chunk,
        record=record,
    )


def _remind(
    engine: Engine, ids: Sequence[int], now: datetime, agreement: Agreement, today: date, chunk: int
) -> int:
    def claim(part: Sequence[int]) -> Any:
        return (
            update(DeadlineRow)
            .where(col(DeadlineRow.id).in_(part), *where(REMINDER_CLAIM))
            .values(**reminder_values(now))
        )

    return _claim_and_notify(
        engine,
        ids,
        claim=claim,
        plan=lambda d: plan_reminder(agreement, d, today),
        kind="reminder",
        now=now,
        agreement=agreement,
        chunk=chunk,
    )


def run_sweep(
    engine: Engine,
    now: datetime,
    agreement: Agreement | None = None,
    *,
    chunk: int = CHUNK,
) -> dict[str, int]:
    """Sweep once for ``now`` (timezone-aware): write the reminders and escalations that are due,
    at most ``chunk`` deadlines per transaction. Returns ``reminders`` and ``escalations`` (how
    many this run wrote). The list of what is overdue is :func:`overdue_report`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("run_sweep: now must be timezone-aware")
    agreement = agreement or load_agreement()
    today = berlin_date(now)
    with read_session(engine) as session:
        overdue_rows = session.execute(overdue_query(today)).all()
        reminder_ids = sorted(int(i) for i in session.scalars(reminder_query(today)) if i)
    # Pure: the rules decide what is overdue (a period ends at 24:00 Berlin time of its due day).
    overdue_ids = sorted(int(row.id) for row in overdue_rows if row.id and is_overdue(row.due, now))
    escalations = _escalate(engine, overdue_ids, now, agreement, today, chunk)
    reminders = _remind(engine, reminder_ids, now, agreement, today, chunk)
    return {"reminders": reminders, "escalations": escalations}


# ------------------------------------------------------------------------- what is overdue now


def outstanding_query() -> Any:
    """Missed deadlines whose step is still outstanding, longest overdue first (``due``, ``id``):
    a range of ix_deadlines_due (status, closed_at, due), read in index order.

    ``closed_at`` (NULL for every row here) leads the ORDER BY on purpose: PostgreSQL does not
    treat ``closed_at IS NULL`` as fixing the column, so with ``ORDER BY due, id`` alone it reads
    and sorts the whole backlog; ordered like the index it scans the index and stops after
    ``LIMIT`` rows (an incremental sort on ``id`` within a due day). SQLite reads the index in
    order either way."""
    return (
        select(*_RETURNING)
        .where(*where(MISSED_OUTSTANDING))
        .order_by(col(DeadlineRow.closed_at), col(DeadlineRow.due), col(DeadlineRow.id))
    )


def outstanding_count_query() -> Any:
    """How many missed deadlines are still outstanding: one range count on ix_deadlines_due."""
    return select(func.count()).select_from(DeadlineRow).where(*where(MISSED_OUTSTANDING))


def overdue_report(engine: Engine, now: datetime, limit: int | None = None) -> dict[str, Any]:
    """What is overdue at ``now``, bounded: ``overdue`` lists the ``limit`` (default
    :data:`OVERDUE_LIMIT`) longest overdue of the missed deadlines whose step is still outstanding
    (case_id, rule, norm, due, days_overdue, responsible_party), ``overdue_total`` counts all of
    them. Two indexed reads in one read transaction: the list costs O(limit), the count one range
    count on ix_deadlines_due."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("overdue_report: now must be timezone-aware")
    limit = OVERDUE_LIMIT if limit is None else limit
    if limit < 0:
        raise ValueError("overdue_report: limit must be >= 0")
    today = berlin_date(now)
    with read_session(engine) as session:
        total = session.execute(outstanding_count_query()).scalar_one()
        rows = session.execute(outstanding_query().limit(limit)).all() if limit else []
    return {
        "overdue": [
            {
                "case_id": d.case_id,
                "rule": d.rule,
                "norm": d.norm,
                "due": d.due.isoformat(),
                "days_overdue": (today - d.due).days,
                "responsible_party": d.responsible_party,
            }
            for d in (DeadlineFacts(*row) for row in rows)
        ],
        "overdue_total": int(total),
    }
