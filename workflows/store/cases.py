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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select, text, update
from sqlmodel import Session, col

from notifications.policy import AgreementLike, CaseView
from states.calendar import BERLIN
from states.decision import (
    CaseFacts,
    CaseSnapshot,
    Decision,
    OpenDeadline,
    Process,
    ProcessInstance,
)
from states.errors import ConflictError, NotFoundError
from workflows.store import audit
from workflows.store.models import (
    CaseRow,
    DeadlineRow,
)
from workflows.store.rows import (
    CONFLICT_MESSAGE,
    Condition,
    CurrentRows,
    DeadlineClosing,
    RowChanges,
    decision_rows,
)
from workflows.store.step_sql import (
    CONSENTS,
    DEADLINES,
    PROCESSES,
    READ_CASE,
    READ_DEADLINES,
    READ_HISTORY,
    READ_INSTANCES,
    READ_OUTSTANDING,
    bump_case,
    clauses,
    close_rows,
    insert_rows,
    update_instance,
)

CASE_ID_RE = re.compile(r"^C-(\d{4})-(\d{6})$")


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
        raise _not_found(case_id)
    return case


def _case_values(conn: Connection, case_id: str) -> Any:
    """The case's columns the rules and ``gpv case show`` read (a Row), or NotFoundError."""
    row = (
        conn.execute(READ_CASE, {"case_id": case_id}).first()
        if CASE_ID_RE.match(case_id or "")
        else None
    )
    if row is None:
        raise _not_found(case_id)
    return row


def _not_found(case_id: str) -> NotFoundError:
    return NotFoundError(f"Einen Fall {case_id!r} gibt es nicht (Aktenzeichen wie C-2026-000017).")


def _latest_instances(conn: Connection, case_id: str) -> dict[str, Any]:
    """Per process name its latest instance (a Row: process, instance_no, state, data)."""
    latest: dict[str, Any] = {}
    for row in conn.execute(READ_INSTANCES, {"case_id": case_id}):
        latest[row.process] = row  # ordered by instance_no: the last one wins
    return latest


def where(conditions: Iterable[Condition], model: Any = DeadlineRow) -> list[ColumnElement[bool]]:
    """The SQL of conditions stated in :mod:`workflows.store.rows`, on the columns of ``model``
    (an SQLModel class or a Table)."""
    return clauses(conditions, model if isinstance(model, Table) else model.__table__)


def _view(
    case_id: str,
    carrier: str,
    municipality: str,
    parties: Sequence[str] | None,
    is_minor: bool | None,
    has_contact_email: bool,
    consented: Sequence[str] | None = None,
    statement_by: Sequence[str] | None = None,
    objection: bool | None = False,
) -> CaseView:
    """The notification view; a statement's author counts only while the person has not
    objected to passing the statement on (§ 76 Abs. 2 Nr. 1 SGB X)."""
    return CaseView(
        case_id=case_id,
        carrier=str(carrier),
        municipality=str(municipality),
        parties=tuple(parties or ()),
        is_minor=bool(is_minor),
        has_contact_email=bool(has_contact_email),
        consented=tuple(consented or ()),
        statement_by=() if objection else tuple(statement_by or ()),
    )


def _view_columns() -> tuple[Any, ...]:
    """The columns a notification view is built from (see :func:`_view`), no health data."""
    return (
        col(CaseRow.id),
        col(CaseRow.carrier),
        col(CaseRow.municipality),
        col(CaseRow.parties),
        col(CaseRow.is_minor),
        col(CaseRow.contact_email).is_not(None),
        col(CaseRow.consented),
        col(CaseRow.statement_by),
        col(CaseRow.data_transfer_objection),
    )


def case_views(session: Session, case_ids: Iterable[str]) -> dict[str, CaseView]:
    """The notification view of the given cases: only the columns notices need (id, carrier,
    municipality, parties, is_minor, whether there is a contact e-mail), no health data."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    rows = session.execute(select(*_view_columns()).where(col(CaseRow.id).in_(wanted)))
    return {row[0]: _view(*row) for row in rows}


def case_contact(session: Session, case_id: str) -> tuple[CaseView, str | None] | None:
    """The notification view of one case and the person's e-mail address (what a dispatcher
    needs to address a notice), or None when the case does not exist."""
    row = session.execute(
        select(*_view_columns(), col(CaseRow.contact_email)).where(col(CaseRow.id) == case_id)
    ).first()
    if row is None:
        return None
    return _view(*row[:9]), row[9] or None


def case_facts(case: Any) -> CaseFacts:
    """What the rules know of a case (a :class:`CaseRow`, or a row of its columns): its
    notification view and the day of receipt."""
    view = _view(
        case.id, case.carrier, case.municipality, case.parties, case.is_minor,
        bool(case.contact_email), case.consented, case.statement_by,
        case.data_transfer_objection,
    )  # fmt: skip
    return CaseFacts(
        case_id=view.case_id,
        received_on=case.received_on,
        carrier=view.carrier,
        municipality=view.municipality,
        parties=view.parties,
        is_minor=view.is_minor,
        has_contact_email=view.has_contact_email,
        forwarded_from=case.forwarded_from,
        consented=view.consented,
        statement_by=tuple(case.statement_by or ()),
        objection_notice_given_on=case.objection_notice_given_on,
        is_parent=bool(case.is_parent),
    )


def load_snapshot(session: Session, case_id: str) -> LoadedCase:
    """The case as plain values for ``states.advance``.

    ``deadlines`` holds the open deadlines and the missed ones whose step is still outstanding, so
    the rules can close them when the step is finally done.
    """
    conn = session.connection()
    case = _case_values(conn, case_id)
    processes = {
        Process(name): ProcessInstance(
            process=Process(name),
            state=row.state,
            data=dict(row.data or {}),
            instance_no=row.instance_no,
        )
        for name, row in _latest_instances(conn, case_id).items()
    }
    deadlines = tuple(
        OpenDeadline(d.rule, d.anchor_date, d.due, Process(d.process), d.variant)
        for d in conn.execute(READ_OUTSTANDING, {"case_id": case_id})
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
        _conflict_or_missing(session, case_id, expected)


def _conflict_or_missing(session: Session, case_id: str, expected: int) -> None:
    get_case(session, case_id)  # a case that vanished is "not found", not a conflict
    raise ConflictError(CONFLICT_MESSAGE.format(case_id=case_id, expected=expected))


def close_deadlines(session: Session, case_id: str, closing: DeadlineClosing) -> None:
    """The closing's two set-based UPDATEs (open rows first, then missed ones), each on
    ``ix_deadlines_case``; under READ COMMITTED a row the sweep marks missed meanwhile is
    re-checked and taken by the second one."""
    conn = session.connection()
    for conditions, values in closing.targets():
        close_rows(conn, case_id, conditions, values)


def _current(latest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"instance_no": r.instance_no, "state": r.state} for name, r in latest.items()}


def _write_changes(
    session: Session,
    view: CaseView,
    changes: RowChanges,
    *,
    at: datetime,
    now: datetime,
    agreement: AgreementLike | None,
    outstanding: frozenset[str] | None = None,
) -> int:
    """Everything of ``changes`` after the case row, in :class:`RowChanges`' order; returns the
    audit entry's id. The outbox rows get the source key ``audit:<id>``.

    ``outstanding``, when known, names the rules with an outstanding deadline as the decision was
    made (under the passed version check): a closing of any other rule matches no row and is not
    sent. Only a step inserts deadlines, and the sweep only turns open ones missed (still
    outstanding), so no other row can have appeared since."""
    from workflows.store import outbox

    conn, case_id = session.connection(), view.case_id
    insert_rows(conn, PROCESSES, changes.new_instances)
    for change in changes.instance_changes:
        params = {f"new_{k}": v for k, v in change.values.items()}
        params.update(w_case_id=case_id, w_process=change.process, w_instance_no=change.instance_no)
        conn.execute(update_instance(tuple(change.values)), params)
    rules = set(outstanding) if outstanding is not None else None
    for closing in changes.closings:
        if rules is None or closing.rule in rules:
            close_deadlines(session, case_id, closing)
    for new in changes.new_deadlines:  # each after the one it supersedes is closed
        if rules is None or new.supersedes.rule in rules:
            close_deadlines(session, case_id, new.supersedes)
        insert_rows(conn, DEADLINES, (new.values,))
        if rules is not None:
            rules.add(new.supersedes.rule)
    if changes.consent is not None:
        insert_rows(conn, CONSENTS, (changes.consent,))
    audit_id = audit.append(session, changes.audit, recorded_at=now)
    if changes.notices:
        outbox.enqueue(
            session,
            case=view,
            events=changes.notices,
            source_key=f"audit:{audit_id}",
            at=at,
            agreement=agreement,
        )
    return audit_id


def apply_decision(
    session: Session,
    case: CaseRow,
    decision: Decision,
    *,
    at: datetime,
    by: str,
    agreement: AgreementLike | None = None,
    now: datetime | None = None,
) -> int:
    """Write everything ``decision`` changes for ``case`` (a row of this session, already
    locked/version-checked or new); returns the audit entry's id. What is written is
    :func:`workflows.store.rows.decision_rows`, in its order; the outbox rows get the source key
    ``audit:<id>``."""
    now = now or datetime.now(UTC)
    session.flush()  # a new case row first: its instances and deadlines refer to it
    latest = _latest_instances(session.connection(), case.id)
    changes = decision_rows(
        case.id, CurrentRows(case.version, _current(latest)), decision, at=at, by=by, now=now
    )
    for column, value in changes.case.items():
        setattr(case, column, value)
    session.flush()
    return _write_changes(session, CaseView.of(case), changes, at=at, now=now, agreement=agreement)


def persist_decision(
    session: Session,
    case_id: str,
    expected_version: int,
    decision: Decision,
    *,
    at: datetime,
    by: str,
    agreement: AgreementLike | None = None,
) -> int:
    """Persist ``decision`` for a case loaded at ``expected_version``; returns the audit id.

    Raises :class:`ConflictError` (German message, exit code 3) when the case changed since it was
    loaded; the caller's transaction must then be rolled back (``write_session`` does that).

    The case's first write is ``UPDATE cases SET version = version + 1, <the decision's case
    columns> WHERE id = … AND version = … RETURNING …``: the version check, the row lock
    (PostgreSQL) and the case's new values at once.
    """
    conn = session.connection()
    current = _current(_latest_instances(conn, case_id))
    return _persist(session, case_id, expected_version, current, decision, at=at, by=by,
                    agreement=agreement)[0]  # fmt: skip


def persist_step(
    session: Session,
    case_id: str,
    loaded: LoadedCase,
    decision: Decision,
    *,
    at: datetime,
    by: str,
    agreement: AgreementLike | None = None,
) -> dict[str, Any]:
    """:func:`persist_decision` for a decision made on ``loaded``; returns the case as
    :func:`case_view` shows it after the step.

    What the decision was made on spares two reads: the process instances (every change of a case
    raises its version, so when the version check passes they are still those) and the case row
    (the version check's UPDATE returns it); deadlines and history are read in the same
    transaction. A closing of a rule without an outstanding deadline in ``loaded`` is skipped
    (:func:`_write_changes`).
    """
    snapshot = loaded.snapshot
    current = {
        str(p): {"instance_no": i.instance_no, "state": i.state}
        for p, i in snapshot.processes.items()
    }
    outstanding = frozenset(d.rule for d in snapshot.deadlines)
    _, case, changes = _persist(session, case_id, loaded.version, current, decision, at=at,
                                by=by, agreement=agreement, outstanding=outstanding)  # fmt: skip
    states: dict[str, Any] = {name: values["state"] for name, values in current.items()}
    states.update({row["process"]: row["state"] for row in changes.new_instances})
    states.update({c.process: c.values["state"] for c in changes.instance_changes})
    return _shown(session.connection(), case, states)


def _persist(
    session: Session,
    case_id: str,
    expected_version: int,
    current: dict[str, dict[str, Any]],
    decision: Decision,
    *,
    at: datetime,
    by: str,
    agreement: AgreementLike | None,
    outstanding: frozenset[str] | None = None,
) -> tuple[int, Any, RowChanges]:
    """The audit id, the case's columns after the step (a Row), and the changes written."""
    now = datetime.now(UTC)
    changes = decision_rows(
        case_id, CurrentRows(expected_version, current), decision, at=at, by=by, now=now
    )
    params = {f"new_{k}": v for k, v in changes.case.items()}
    params.update(case_id=case_id, expected=expected_version)
    case = session.connection().execute(bump_case(tuple(changes.case)), params).first()
    if case is None:
        _conflict_or_missing(session, case_id, expected_version)
    assert case is not None
    view = case_facts(case)
    audit_id = _write_changes(
        session, CaseView.of(view), changes, at=at, now=now, agreement=agreement,
        outstanding=outstanding,
    )  # fmt: skip
    return audit_id, case, changes


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


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def berlin_iso(value: datetime) -> str:
    return value.astimezone(BERLIN).isoformat()


def case_view(session: Session, case_id: str) -> dict[str, Any]:
    """The case as ``gpv case show --json`` prints it (keys fixed by the command-line contract).
    Reads inside ``session``'s transaction: after a step, the case as just written."""
    session.flush()
    conn = session.connection()
    case = _case_values(conn, case_id)
    states = {name: row.state for name, row in _latest_instances(conn, case_id).items()}
    return _shown(conn, case, states)


def _shown(conn: Connection, case: Any, states: Mapping[str, Any]) -> dict[str, Any]:
    """The view of ``case`` (its columns, a Row) with its processes' ``states``; reads the
    deadlines and the history."""
    case_id = case.id
    processes = {str(p): states.get(str(p)) for p in Process}
    deadlines = conn.execute(READ_DEADLINES, {"case_id": case_id}).all()
    history = conn.execute(READ_HISTORY, {"case_id": case_id}).all()
    return {
        "id": case.id,
        "status": case.status,
        "carrier": case.carrier,
        "municipality": case.municipality,
        "received_on": case.received_on.isoformat(),
        # § 14 Abs. 2 S. 4 SGB IX: the forwarded application's cases, both ways
        "forwarded_from": case.forwarded_from,
        "forwarded_to": case.forwarded_to,
        "processes": processes,
        # Routing is advice to the receiving carrier (the case's carrier): legal-review C5.
        "routing": {
            "carrier": case.routed_carrier,
            "legal_basis": case.routing_basis,
            "reason": case.routing_reason,
            "review_flags": list(case.routing_flags or ()),
        },
        # Who may hear of the case beyond the carriers (legal-review M2-M5): the consent register
        # and the objection to passing a statement on (§ 76 Abs. 2 Nr. 1 SGB X).
        "involvement": {
            "proposed": [p for p in case.parties or () if p != case.carrier],
            "consented": list(case.consented or ()),
            "statement_by": list(case.statement_by or ()),
            "objection_notice_given_on": _iso(case.objection_notice_given_on),
            "objection": bool(case.data_transfer_objection),
            # § 119 Abs. 4 SGB IX: a parent's conference is held with their consent
            "parent": bool(case.is_parent),
        },
        "deadlines": [
            {
                "rule": d.rule,
                "norm": d.norm,
                "due": d.due.isoformat(),
                "latest": d.nominal_end.isoformat(),
                "status": d.status,
                "variant": d.variant,
                "variant_reason": d.variant_reason,
            }
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
