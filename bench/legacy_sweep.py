"""The sweep as it was before the scale fixes (gpv commit be14de4), kept for the benchmark's
before/after comparison only. Not used by gpv.

Differences to ``workflows.sweep``: every run also builds the full list of missed, still
outstanding deadlines (``overdue_list``, O(backlog)); notices go in with one
``INSERT … RETURNING`` per recipient (``workflows.store.outbox.enqueue``) and full ``CaseRow`` rows
are loaded for them. Chunks of 500 deadlines per transaction, as now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from states.agreement import Agreement, load_agreement
from states.deadlines import berlin_date, is_overdue
from states.decision import DeadlineStatus
from workflows.store import audit
from workflows.store.db import read_session, write_session
from workflows.store.models import CaseRow, DeadlineRow
from workflows.store.sweep_rule import (
    MISS_TRIGGER,
    SWEEP_ACTOR,
    DeadlineFacts,
    plan_escalation,
    plan_reminder,
)
from workflows.sweep import _RETURNING, overdue_query, reminder_query

BATCH = 500


def _batches(ids: Sequence[int], size: int = BATCH) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _cases(session: Session, case_ids: Iterable[str]) -> dict[str, CaseRow]:
    wanted = sorted(set(case_ids))
    rows = session.scalars(select(CaseRow).where(col(CaseRow.id).in_(wanted)))
    return {c.id: c for c in rows}


def _escalate(
    engine: Engine, ids: Sequence[int], now: datetime, agreement: Agreement, today: date
) -> int:
    from workflows.store.outbox import enqueue

    won = 0
    for batch in _batches(ids):
        with write_session(engine) as session:
            rows = session.execute(
                update(DeadlineRow)
                .where(
                    col(DeadlineRow.id).in_(batch),
                    col(DeadlineRow.status) == DeadlineStatus.OPEN.value,
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
    from workflows.store.outbox import enqueue

    won = 0
    for batch in _batches(ids):
        with write_session(engine) as session:
            rows = session.execute(
                update(DeadlineRow)
                .where(
                    col(DeadlineRow.id).in_(batch),
                    col(DeadlineRow.status) == DeadlineStatus.OPEN.value,
                    col(DeadlineRow.reminder_sent_at).is_(None),
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
            col(DeadlineRow.status) == DeadlineStatus.MISSED.value,
            col(DeadlineRow.closed_at).is_(None),
        )
        .order_by(col(DeadlineRow.due), col(DeadlineRow.id))
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
