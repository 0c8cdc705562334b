"""The SQL of one step, as SQLAlchemy Core statements built once per process.

A fire runs a dozen statements. Built anew as ORM statements on every fire, their construction,
cache keys and the ORM's identity map were most of its time (issue 11, docs/benchmarks.md); here
each statement is built once (per shape: the columns a decision sets) and executed on the
session's connection with bound values, so the column types (UTC timestamps, JSON, dates) still
convert every value. What is written, and in which order, is :mod:`workflows.store.rows`; the
transaction, the version check and the audit chain are :mod:`workflows.store.cases` and
:mod:`workflows.store.audit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, Update, bindparam, insert, select
from sqlalchemy import update as sql_update

from workflows.store.models import AuditRow, CaseRow, ConsentRow, DeadlineRow, ProcessRow
from workflows.store.rows import OUTSTANDING, Condition, Values

CASES: Table = CaseRow.__table__  # type: ignore[attr-defined]
PROCESSES: Table = ProcessRow.__table__  # type: ignore[attr-defined]
DEADLINES: Table = DeadlineRow.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditRow.__table__  # type: ignore[attr-defined]
CONSENTS: Table = ConsentRow.__table__  # type: ignore[attr-defined]

__all__ = [
    "AUDIT",
    "CASES",
    "CONSENTS",
    "DEADLINES",
    "PROCESSES",
    "READ_CASE",
    "READ_DEADLINES",
    "READ_HISTORY",
    "READ_INSTANCES",
    "READ_OUTSTANDING",
    "VIEW_COLUMNS",
    "bump_case",
    "clauses",
    "close_rows",
    "insert_rows",
    "update_instance",
]

#: The columns a notification view is built from (``cases._view``), no health data.
VIEW_COLUMNS = (
    CASES.c.id,
    CASES.c.carrier,
    CASES.c.municipality,
    CASES.c.parties,
    CASES.c.is_minor,
    CASES.c.contact_email.is_not(None),
    CASES.c.consented,
    CASES.c.statement_by,
    CASES.c.data_transfer_objection,
)

#: A case's columns that the rules (``CaseFacts``) and ``gpv case show`` read: no health data.
_CASE_COLUMNS = (
    "id", "status", "carrier", "municipality", "received_on", "parties", "is_minor",
    "contact_email", "version", "forwarded_from", "forwarded_to", "consented", "statement_by",
    "data_transfer_objection", "objection_notice_given_on", "routed_carrier", "routing_basis",
    "routing_reason", "routing_flags", "is_parent",
)  # fmt: skip
READ_CASE: Select[Any] = select(*(CASES.c[name] for name in _CASE_COLUMNS)).where(
    CASES.c.id == bindparam("case_id")
)
#: Every instance, oldest first per process: the last one of a process is its latest.
READ_INSTANCES: Select[Any] = (
    select(PROCESSES.c.process, PROCESSES.c.instance_no, PROCESSES.c.state, PROCESSES.c.data)
    .where(PROCESSES.c.case_id == bindparam("case_id"))
    .order_by(PROCESSES.c.process, PROCESSES.c.instance_no)
)


def _term(column: Any, op: str, value: Any) -> Any:
    if op == "is null":
        return column.is_(None)
    if op == "in":
        return column.in_(value)
    if op == "=":
        return column == value
    if op == "<":
        return column < value
    return column <= value


def clauses(conditions: Iterable[Condition], table: Table = DEADLINES) -> list[Any]:
    """The SQL of conditions stated in :mod:`workflows.store.rows`, on ``table``'s columns."""
    return [_term(table.c[c.column], c.op, c.value) for c in conditions]


#: Open deadlines, and missed ones whose step is still outstanding (``closed_at`` NULL).
READ_OUTSTANDING: Select[Any] = (
    select(
        DEADLINES.c.rule,
        DEADLINES.c.anchor_date,
        DEADLINES.c.due,
        DEADLINES.c.process,
        DEADLINES.c.variant,
    )
    .where(DEADLINES.c.case_id == bindparam("case_id"), *clauses(OUTSTANDING))
    .order_by(DEADLINES.c.id)
)
READ_DEADLINES: Select[Any] = (
    select(
        DEADLINES.c.rule,
        DEADLINES.c.norm,
        DEADLINES.c.due,
        DEADLINES.c.nominal_end,
        DEADLINES.c.status,
        DEADLINES.c.variant,
        DEADLINES.c.variant_reason,
    )
    .where(DEADLINES.c.case_id == bindparam("case_id"))
    .order_by(DEADLINES.c.id)
)
READ_HISTORY: Select[Any] = (
    select(AUDIT.c.trigger, AUDIT.c.from_state, AUDIT.c.to_state, AUDIT.c.at, AUDIT.c.by)
    .where(AUDIT.c.case_id == bindparam("case_id"))
    .order_by(AUDIT.c.id)
)


@cache
def bump_case(columns: tuple[str, ...]) -> Update:
    """``UPDATE cases SET version = version + 1, <columns> WHERE id = :case_id AND version =
    :expected RETURNING <the columns READ_CASE reads>``: the version check, the case's new values
    and the case as it is now, in one statement (values bound as ``new_<column>``)."""
    return (
        sql_update(CASES)
        .where(CASES.c.id == bindparam("case_id"), CASES.c.version == bindparam("expected"))
        .values(
            {CASES.c.version: CASES.c.version + 1}
            | {CASES.c[name]: bindparam(f"new_{name}") for name in columns}
        )
        .returning(*(CASES.c[name] for name in _CASE_COLUMNS))
    )


@cache
def update_instance(columns: tuple[str, ...]) -> Update:
    """One process instance's new values (bound as ``new_<column>``), by case, process and
    number (the unique key ``uq_process_instances_no``, bound as ``w_case_id``, ``w_process``,
    ``w_instance_no``)."""
    return (
        sql_update(PROCESSES)
        .where(
            PROCESSES.c.case_id == bindparam("w_case_id"),
            PROCESSES.c.process == bindparam("w_process"),
            PROCESSES.c.instance_no == bindparam("w_instance_no"),
        )
        .values({PROCESSES.c[name]: bindparam(f"new_{name}") for name in columns})
    )


@cache
def _closing(shape: tuple[tuple[str, str], ...], columns: tuple[str, ...]) -> Update:
    where = [DEADLINES.c.case_id == bindparam("w_case_id")]
    where += [
        _term(DEADLINES.c[name], op, bindparam(f"w{i}", expanding=op == "in"))
        for i, (name, op) in enumerate(shape)
    ]
    return (
        sql_update(DEADLINES)
        .where(*where)
        .values({DEADLINES.c[name]: bindparam(f"new_{name}") for name in columns})
    )


def close_rows(
    conn: Connection, case_id: str, conditions: Sequence[Condition], values: Mapping[str, Any]
) -> None:
    """``UPDATE deadlines SET <values> WHERE case_id = … AND <conditions>``: the statement is
    built once per shape, the conditions' values are bound."""
    statement = _closing(tuple((c.column, c.op) for c in conditions), tuple(values))
    params: dict[str, Any] = {f"new_{k}": v for k, v in values.items()}
    params.update({f"w{i}": c.value for i, c in enumerate(conditions) if c.op != "is null"})
    params["w_case_id"] = case_id
    conn.execute(statement, params)


_INSERTS: dict[str, Insert] = {
    t.name: insert(t) for t in (CASES, PROCESSES, DEADLINES, AUDIT, CONSENTS)
}


def insert_rows(conn: Connection, table: Table, rows: Sequence[Values]) -> None:
    """Insert ``rows`` (one execute, or one executemany) with the statement built once."""
    if rows:
        conn.execute(_INSERTS[table.name], rows[0] if len(rows) == 1 else list(rows))
