"""The case store: load a case as plain values, persist one decision of the rules atomically.

Every function takes the session explicitly and never commits: the caller
(:mod:`workflows.service`, a Prefect task) owns the transaction, so one decision of the rules is
one transaction — process states, the audit entry, deadlines opened/closed/re-anchored, consent,
facts and outbox rows — and if anything fails nothing is written.

Concurrency is optimistic: :func:`load_snapshot` returns the case's ``version``;
:func:`persist_decision` raises the version with
``UPDATE cases SET version = version + 1 … WHERE id = :id AND version = :v`` as its first statement
and raises :class:`states.errors.ConflictError` when no row matched, i.e. someone else changed the
case after it was loaded. That UPDATE also locks the case row (PostgreSQL) until commit; on SQLite
the write transaction holds the database lock from BEGIN IMMEDIATE.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlmodel import Session, col

from states.decision import (
    AuditEntry,
    CaseFacts,
    CaseSnapshot,
    DeadlineClosure,
    DeadlineSpec,
    DeadlineStatus,
    Decision,
    OpenDeadline,
    Process,
    ProcessInstance,
)
from states.errors import ConflictError, NotFoundError
from workflows.store import audit
from workflows.store.models import (
    AuditRow,
    CaseRow,
    ConsentRow,
    DeadlineRow,
    ProcessRow,
)

BERLIN = ZoneInfo("Europe/Berlin")
CASE_ID_RE = re.compile(r"^C-(\d{4})-(\d{6})$")
CONFLICT_MESSAGE = (
    "Der Fall {case_id} wurde gleichzeitig geändert (erwartet Version {expected}); "
    "nichts wurde gespeichert, bitte erneut versuchen."
)

#: Decision.facts_update keys the store knows, and the case column each one sets.
FACT_COLUMNS: Mapping[str, str] = {
    "received_on": "received_on",
    "carrier": "carrier",
    "municipality": "municipality",
    "parties": "parties",
    "is_minor": "is_minor",
    "decided_on": "decided_on",
    "data_transfer_objection": "data_transfer_objection",
    "objection_notice_given_on": "objection_notice_given_on",
}
_DATE_FACTS = {"received_on", "decided_on", "objection_notice_given_on"}


@dataclass(frozen=True)
class LoadedCase:
    """A case as the rules see it, with the version it was read at."""

    snapshot: CaseSnapshot
    version: int


def format_case_id(year: int, number: int) -> str:
    return f"C-{year:04d}-{number:06d}"


def allocate_case_ids(session: Session, year: int, count: int = 1) -> list[str]:
    """Hand out ``count`` consecutive case ids for the year of receipt, safely under concurrency.

    One upsert on ``case_sequences`` (row lock on PostgreSQL, the write lock on SQLite) raises the
    year's counter by ``count``; the bulk seed asks for thousands at once.
    """
    if count < 1:
        return []
    row = session.execute(
        text(
            "INSERT INTO case_sequences (year, last_no) VALUES (:year, :count) "
            "ON CONFLICT (year) DO UPDATE SET last_no = case_sequences.last_no + :count "
            "RETURNING last_no"
        ),
        {"year": year, "count": count},
    ).one()
    last = int(row[0])
    if last > 999_999:
        raise OverflowError(f"case numbers for {year} exhausted")
    return [format_case_id(year, n) for n in range(last - count + 1, last + 1)]


def get_case(session: Session, case_id: str) -> CaseRow:
    """The case row, or :class:`NotFoundError` (exit code 2) naming the id."""
    case = session.get(CaseRow, case_id) if CASE_ID_RE.match(case_id or "") else None
    if case is None:
        raise NotFoundError(
            f"Einen Fall {case_id!r} gibt es nicht (Aktenzeichen wie C-2026-000017)."
        )
    return case


def _latest_instances(session: Session, case_id: str) -> dict[str, ProcessRow]:
    rows = session.scalars(
        select(ProcessRow)
        .where(col(ProcessRow.case_id) == case_id)
        .order_by(col(ProcessRow.process), col(ProcessRow.instance_no))
    ).all()
    latest: dict[str, ProcessRow] = {}
    for row in rows:
        latest[row.process] = row  # ordered by instance_no: the last one wins
    return latest


def _outstanding_deadlines(session: Session, case_id: str) -> list[DeadlineRow]:
    """Open deadlines, and missed ones whose step is still outstanding (``closed_at`` NULL)."""
    return list(
        session.scalars(
            select(DeadlineRow)
            .where(
                col(DeadlineRow.case_id) == case_id,
                col(DeadlineRow.status).in_(["open", "missed"]),
                col(DeadlineRow.closed_at).is_(None),
            )
            .order_by(col(DeadlineRow.id))
        ).all()
    )


def case_facts(case: CaseRow) -> CaseFacts:
    return CaseFacts(
        case_id=case.id,
        received_on=case.received_on,
        carrier=case.carrier,
        municipality=case.municipality,
        parties=tuple(case.parties or ()),
        is_minor=bool(case.is_minor),
        has_contact_email=bool(case.contact_email),
    )


def load_snapshot(session: Session, case_id: str) -> LoadedCase:
    """The case as plain values for ``states.advance``.

    ``deadlines`` holds the open deadlines and the missed ones whose step is still outstanding, so
    the rules can close them when the step is finally done.
    """
    case = get_case(session, case_id)
    processes = {
        Process(name): ProcessInstance(
            process=Process(name),
            state=row.state,
            data=dict(row.data or {}),
            instance_no=row.instance_no,
        )
        for name, row in _latest_instances(session, case_id).items()
    }
    deadlines = tuple(
        OpenDeadline(rule=d.rule, anchor_date=d.anchor_date, due=d.due, process=Process(d.process))
        for d in _outstanding_deadlines(session, case_id)
    )
    snapshot = CaseSnapshot(facts=case_facts(case), processes=processes, deadlines=deadlines)
    return LoadedCase(snapshot=snapshot, version=case.version)


# --------------------------------------------------------------------------------------------------
# Persisting


def _bump_version(session: Session, case_id: str, expected: int, now: datetime) -> None:
    result = session.execute(
        update(CaseRow)
        .where(col(CaseRow.id) == case_id, col(CaseRow.version) == expected)
        .values(version=col(CaseRow.version) + 1, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        get_case(session, case_id)  # a case that vanished is "not found", not a conflict
        raise ConflictError(CONFLICT_MESSAGE.format(case_id=case_id, expected=expected))


def _apply_updates(session: Session, case: CaseRow, decision: Decision, now: datetime) -> None:
    latest = _latest_instances(session, case.id)
    for upd in decision.updates:
        name = str(upd.process)
        current = latest.get(name)
        if upd.new_instance or current is None:
            number = current.instance_no + 1 if current is not None else 1
            row = ProcessRow(
                case_id=case.id,
                process=name,
                instance_no=number,
                state=str(upd.to_state),
                data=audit.plain_params(upd.data),
                opened_at=now,
                updated_at=now,
            )
            session.add(row)
            latest[name] = row
        else:
            if upd.from_state is not None and current.state != upd.from_state:
                raise ConflictError(CONFLICT_MESSAGE.format(case_id=case.id, expected=case.version))
            current.state = str(upd.to_state)
            current.data = audit.plain_params(upd.data)
            current.updated_at = now
        if upd.process == Process.CASE:
            case.status = str(upd.to_state)


def _close_deadlines(
    session: Session, case_id: str, closures: Sequence[DeadlineClosure], at: datetime
) -> None:
    for closure in closures:
        status = DeadlineStatus(closure.status)
        reason = closure.reason or None
        session.execute(
            update(DeadlineRow)
            .where(
                col(DeadlineRow.case_id) == case_id,
                col(DeadlineRow.rule) == closure.rule,
                col(DeadlineRow.status) == DeadlineStatus.OPEN.value,
            )
            .values(status=status.value, closed_at=at, closed_reason=reason)
        )
        # A missed deadline stays missed (a legal fact); closing records that the step is done.
        session.execute(
            update(DeadlineRow)
            .where(
                col(DeadlineRow.case_id) == case_id,
                col(DeadlineRow.rule) == closure.rule,
                col(DeadlineRow.status) == DeadlineStatus.MISSED.value,
                col(DeadlineRow.closed_at).is_(None),
            )
            .values(closed_at=at, closed_reason=reason or status.value)
        )


def _open_deadlines(
    session: Session, case_id: str, specs: Sequence[DeadlineSpec], at: datetime, now: datetime
) -> None:
    for spec in specs:
        # One outstanding deadline per rule and case: a new one supersedes (re-anchoring).
        _close_deadlines(
            session,
            case_id,
            [DeadlineClosure(spec.rule, DeadlineStatus.CANCELLED, "neu berechnet")],
            at,
        )
        session.add(
            DeadlineRow(
                case_id=case_id,
                rule=spec.rule,
                norm=spec.norm,
                process=str(spec.process),
                anchor_event=spec.anchor_event,
                anchor_date=spec.anchor_date,
                nominal_end=spec.nominal_end,
                due=spec.due,
                remind_on=spec.remind_on,
                status=DeadlineStatus.OPEN.value,
                responsible_party=spec.responsible_party,
                created_at=now,
            )
        )


def _apply_facts(case: CaseRow, facts: Mapping[str, Any]) -> None:
    for key, value in facts.items():
        column = FACT_COLUMNS.get(key)
        if column is None:
            raise ValueError(
                f"store: unknown fact {key!r} in a decision (known: {sorted(FACT_COLUMNS)})"
            )
        if key in _DATE_FACTS and isinstance(value, str):
            value = date.fromisoformat(value)
        if key == "parties":
            value = list(value)
        setattr(case, column, value)


def _audit_entry(decision: Decision, at: datetime, by: str) -> AuditEntry:
    if decision.audit is not None:
        return decision.audit
    first = decision.updates[0]
    return AuditEntry(decision.trigger, first.process, first.from_state, first.to_state, at, by)


def apply_decision(
    session: Session,
    case: CaseRow,
    decision: Decision,
    *,
    at: datetime,
    by: str,
    agreement: Any = None,
    now: datetime | None = None,
) -> int:
    """Write everything ``decision`` changes for ``case`` (already locked/version-checked or new);
    returns the audit entry's id. Order: process states, facts, deadlines closed then opened,
    consent, audit entry, outbox rows (source key ``audit:<id>``)."""
    from workflows.store.outbox import enqueue

    now = now or datetime.now(UTC)
    _apply_updates(session, case, decision, now)
    _apply_facts(case, decision.facts_update)
    case.updated_at = now
    _close_deadlines(session, case.id, decision.deadlines_close, at)
    _open_deadlines(session, case.id, decision.deadlines_open, at, now)
    if decision.consent is not None:
        session.add(
            ConsentRow(
                case_id=case.id,
                scope=decision.consent.scope,
                status=str(decision.consent.status),
                norm=decision.consent.norm,
                at=at,
                recorded_by=by,
            )
        )
    entry = _audit_entry(decision, at, by)
    session.flush()
    audit_id = audit.append(
        session,
        audit.NewEntry(
            case_id=case.id,
            trigger=entry.trigger,
            process=str(entry.process),
            from_state=entry.from_state,
            to_state=entry.to_state,
            at=entry.at,
            by=entry.by,
            params=entry.params,
        ),
        recorded_at=now,
    )
    if decision.notifications:
        enqueue(
            session,
            case=case,
            events=decision.notifications,
            source_key=f"audit:{audit_id}",
            at=at,
            agreement=agreement,
        )
    session.flush()
    return audit_id


def persist_decision(
    session: Session,
    case_id: str,
    expected_version: int,
    decision: Decision,
    *,
    at: datetime,
    by: str,
    agreement: Any = None,
) -> int:
    """Persist ``decision`` for a case loaded at ``expected_version``; returns the audit id.

    Raises :class:`ConflictError` (German message, exit code 3) when the case changed since it was
    loaded; the caller's transaction must then be rolled back (``write_session`` does that).
    """
    now = datetime.now(UTC)
    _bump_version(session, case_id, expected_version, now)
    case = session.get(CaseRow, case_id, populate_existing=True)
    assert case is not None
    return apply_decision(session, case, decision, at=at, by=by, agreement=agreement, now=now)


def record_change(
    session: Session,
    case_id: str,
    expected_version: int,
    *,
    trigger: str,
    changes: Mapping[str, Any],
    params: Mapping[str, Any],
    at: datetime,
    by: str,
) -> int:
    """A change of case data outside the process rules (e.g. the contact address): version
    check, the new values, one audit entry (state unchanged). Returns the audit id."""
    now = datetime.now(UTC)
    _bump_version(session, case_id, expected_version, now)
    case = session.get(CaseRow, case_id, populate_existing=True)
    assert case is not None
    for key, value in changes.items():
        setattr(case, key, value)
    session.flush()
    return audit.append(
        session,
        audit.NewEntry(
            case_id=case_id,
            trigger=trigger,
            process=str(Process.CASE),
            from_state=case.status,
            to_state=case.status,
            at=at,
            by=by,
            params=params,
        ),
        recorded_at=now,
    )


# --------------------------------------------------------------------------------------------------
# Reading for people


def berlin_iso(value: datetime) -> str:
    return value.astimezone(BERLIN).isoformat()


def case_view(session: Session, case_id: str) -> dict[str, Any]:
    """The case as ``gpv case show --json`` prints it (keys fixed by the command-line contract)."""
    case = get_case(session, case_id)
    latest = _latest_instances(session, case_id)
    processes = {str(p): (latest[p].state if p in latest else None) for p in Process}
    deadlines = session.scalars(
        select(DeadlineRow).where(col(DeadlineRow.case_id) == case_id).order_by(col(DeadlineRow.id))
    ).all()
    history = session.scalars(
        select(AuditRow).where(col(AuditRow.case_id) == case_id).order_by(col(AuditRow.id))
    ).all()
    return {
        "id": case.id,
        "status": case.status,
        "carrier": case.carrier,
        "municipality": case.municipality,
        "processes": processes,
        "deadlines": [
            {"rule": d.rule, "norm": d.norm, "due": d.due.isoformat(), "status": d.status}
            for d in deadlines
        ],
        "history": [
            {
                "trigger": h.trigger,
                "from": h.from_state,
                "to": h.to_state,
                "at": berlin_iso(h.at),
                "by": h.by,
            }
            for h in history
        ],
        "version": case.version,
    }
