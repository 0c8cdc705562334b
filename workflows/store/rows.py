"""The one rule for writing a step, as plain values: which rows a decision changes.

Pure: no database, no session, not even SQLAlchemy (a test checks it). Two users follow it:
``workflows.store.cases.apply_decision`` executes the changes with SQL, ``workflows.seeding``
applies them to its in-memory rows and batch-inserts those. The deadline sweep's rule, built on
the same conditions, is :mod:`workflows.store.sweep_rule`.

- :func:`decision_rows` turns one :class:`~states.decision.Decision` into :class:`RowChanges`:
  process instances inserted or changed, case columns, deadline closings, new deadlines (each
  superseding the rule's outstanding one, "neu berechnet"), the consent row, the audit entry and
  the notices.
- Which deadline rows a statement touches is stated once, as :class:`Condition` tuples that read
  like a WHERE clause: the store turns them into SQL (``workflows.store.cases.where``), the seed
  and the tests evaluate them here (:func:`matches`), with SQL's NULL semantics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

from states.decision import (
    DeadlineClosure,
    DeadlineSpec,
    DeadlineStatus,
    Decision,
    NotificationEvent,
    Process,
    ProcessUpdate,
)
from states.errors import ConflictError
from workflows.store.json_values import plain_params

#: One row's column values.
Values = dict[str, Any]

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
    "statement_by": "statement_by",
}
DATE_FACTS = frozenset({"received_on", "decided_on", "objection_notice_given_on"})
_LIST_FACTS = frozenset({"parties", "statement_by"})
SUPERSEDED = "neu berechnet"
OPEN = DeadlineStatus.OPEN.value
MISSED = DeadlineStatus.MISSED.value


# --------------------------------------------------------------------------------------------------
# Conditions on rows, read the way SQL reads them

Op = Literal["=", "<", "<=", "in", "is null"]


@dataclass(frozen=True)
class Condition:
    """``column op value``, one term of a WHERE clause. NULL satisfies no comparison, as in SQL."""

    column: str
    op: Op
    value: Any = None

    def holds(self, row: Mapping[str, Any]) -> bool:
        return matches(row, (self,))


def matches(row: Mapping[str, Any], conditions: Sequence[Condition]) -> bool:
    """Whether ``row`` satisfies every condition (their AND)."""
    # One loop without a call per condition: the seed asks this millions of times.
    for c in conditions:
        value, op = row[c.column], c.op
        if op == "is null":
            if value is not None:
                return False
        elif value is None:
            return False
        elif op == "=":
            if value != c.value:
                return False
        elif op == "in":
            if value not in c.value:
                return False
        elif not (value < c.value if op == "<" else value <= c.value):
            return False
    return True


#: Deadlines whose step is outstanding: open, or missed and not yet done (``closed_at`` NULL).
OUTSTANDING: tuple[Condition, ...] = (
    Condition("status", "in", (OPEN, MISSED)),
    Condition("closed_at", "is null"),
)
#: Missed deadlines whose step is still outstanding (what is overdue now).
MISSED_OUTSTANDING: tuple[Condition, ...] = (
    Condition("status", "=", MISSED),
    Condition("closed_at", "is null"),
)


# --------------------------------------------------------------------------------------------------
# A decision as row changes


@dataclass(frozen=True)
class NewEntry:
    """An audit entry to append; ``id``, ``recorded_at`` and the hashes are added by the chain
    (``workflows.store.audit``)."""

    case_id: str | None
    trigger: str
    process: str
    from_state: str | None
    to_state: str
    at: datetime
    by: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class CurrentRows:
    """What :func:`decision_rows` reads of a case: its version and, per process name, the latest
    instance's values (at least ``instance_no`` and ``state``)."""

    version: int
    processes: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class InstanceChange:
    """New column values of an existing process instance, named by process and instance_no."""

    process: str
    instance_no: int
    values: Values


@dataclass(frozen=True)
class DeadlineClosing:
    """Close a rule's outstanding deadline of a case: an open one gets ``status`` (and
    ``closed_at``); a missed one stays missed, a legal fact, and only records that its step is
    done. The SQL and the in-memory seed both use :meth:`targets`."""

    rule: str
    status: DeadlineStatus
    reason: str
    at: datetime

    def targets(self) -> tuple[tuple[tuple[Condition, ...], Values], ...]:
        """(which rows, the values they get), in the order they must be applied."""
        open_rows, missed_rows = _rule_rows(self.rule)
        return (
            (
                open_rows,
                {
                    "status": self.status.value,
                    "closed_at": self.at,
                    "closed_reason": self.reason or None,
                },
            ),
            (
                missed_rows,
                {"closed_at": self.at, "closed_reason": self.reason or self.status.value},
            ),
        )


def apply_closing(rows: Sequence[Values], closing: DeadlineClosing) -> None:
    """Apply ``closing`` to one case's deadline rows in memory (the seed), as the store's
    UPDATEs do: each target in order, to the rows that match it."""
    for conditions, values in closing.targets():
        for row in rows:
            if matches(row, conditions):
                row.update(values)


@cache  # the conditions are values; building them is the costly part in the seed
def _rule_rows(rule: str) -> tuple[tuple[Condition, ...], tuple[Condition, ...]]:
    """A rule's open deadlines, and its missed ones whose step is not done."""
    return (
        (Condition("rule", "=", rule), Condition("status", "=", OPEN)),
        (
            Condition("rule", "=", rule),
            Condition("status", "=", MISSED),
            Condition("closed_at", "is null"),
        ),
    )


@dataclass(frozen=True)
class NewDeadline:
    """A deadline row to insert, after ``supersedes`` (one outstanding deadline per rule and case:
    a new one replaces it, e.g. when a statement re-anchors the decision period)."""

    supersedes: DeadlineClosing
    values: Values


@dataclass(frozen=True)
class RowChanges:
    """Everything one decision writes, in the order it is written: process instances, case
    columns, deadline closings, new deadlines, consent, audit entry, notices (their source key is
    ``audit:<id of the entry>``)."""

    new_instances: tuple[Values, ...]
    instance_changes: tuple[InstanceChange, ...]
    case: Values
    closings: tuple[DeadlineClosing, ...]
    new_deadlines: tuple[NewDeadline, ...]
    consent: Values | None
    audit: NewEntry
    notices: tuple[NotificationEvent, ...]


@dataclass
class _Instances:
    """The latest instance per process while a decision's updates are applied in order."""

    case_id: str
    current: CurrentRows
    now: datetime
    latest: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    started: dict[str, Values] = field(default_factory=dict)  # by this decision, still inserts
    new: list[Values] = field(default_factory=list)
    changed: dict[str, InstanceChange] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.latest = dict(self.current.processes)

    def apply(self, upd: ProcessUpdate) -> None:
        name, current = str(upd.process), self.latest.get(str(upd.process))
        if upd.new_instance or current is None:
            self._start(name, upd, current["instance_no"] + 1 if current is not None else 1)
            return
        if upd.from_state is not None and current["state"] != upd.from_state:
            raise ConflictError(
                CONFLICT_MESSAGE.format(case_id=self.case_id, expected=self.current.version)
            )
        values = {
            "state": str(upd.to_state),
            "data": plain_params(upd.data),
            "updated_at": self.now,
        }
        if name in self.started:
            self.started[name].update(values)
            return
        self.latest[name] = {**current, **values}
        self.changed[name] = InstanceChange(name, current["instance_no"], values)

    def _start(self, name: str, upd: ProcessUpdate, number: int) -> None:
        row = {"case_id": self.case_id, "process": name, "instance_no": number}
        row.update(state=str(upd.to_state), data=plain_params(upd.data))
        row.update(opened_at=self.now, updated_at=self.now)
        self.new.append(row)
        self.latest[name] = self.started[name] = row


def fact_columns(facts_update: Mapping[str, Any]) -> Values:
    """The case columns a decision's ``facts_update`` sets (ISO dates parsed, parties a list)."""
    columns: Values = {}
    for key, value in facts_update.items():
        column = FACT_COLUMNS.get(key)
        if column is None:
            raise ValueError(
                f"store: unknown fact {key!r} in a decision (known: {sorted(FACT_COLUMNS)})"
            )
        if key in DATE_FACTS and isinstance(value, str):
            value = date.fromisoformat(value)
        columns[column] = list(value) if key in _LIST_FACTS else value
    return columns


_SPEC_COLUMNS = tuple(f.name for f in fields(DeadlineSpec) if f.name != "skipped")


def _new_deadline(case_id: str, spec: DeadlineSpec, at: datetime, now: datetime) -> NewDeadline:
    values = {name: getattr(spec, name) for name in _SPEC_COLUMNS}
    values.update(case_id=case_id, process=str(spec.process), status=OPEN)
    values.update(reminder_sent_at=None, escalated_at=None, closed_at=None, closed_reason=None)
    values["created_at"] = now
    supersedes = DeadlineClosing(spec.rule, DeadlineStatus.CANCELLED, SUPERSEDED, at)
    return NewDeadline(supersedes, values)


def _closing(closure: DeadlineClosure, at: datetime) -> DeadlineClosing:
    return DeadlineClosing(closure.rule, DeadlineStatus(closure.status), closure.reason, at)


def _consent(case_id: str, decision: Decision, at: datetime, by: str) -> Values | None:
    c = decision.consent
    if c is None:
        return None
    return {
        "case_id": case_id,
        "scope": c.scope,
        "status": str(c.status),
        "norm": c.norm,
        "at": at,
        "recorded_by": by,
    }


def _audit(case_id: str, decision: Decision, at: datetime, by: str) -> NewEntry:
    entry = decision.audit
    if entry is None:  # the rules name it; a hand-made decision falls back to its first update
        first = decision.updates[0]
        return NewEntry(
            case_id, decision.trigger, str(first.process), first.from_state, first.to_state,
            at, by, {},
        )  # fmt: skip
    return NewEntry(
        case_id, entry.trigger, str(entry.process), entry.from_state, entry.to_state,
        entry.at, entry.by, entry.params,
    )  # fmt: skip


def decision_rows(
    case_id: str,
    current: CurrentRows,
    decision: Decision,
    *,
    at: datetime,
    by: str,
    now: datetime,
) -> RowChanges:
    """The rows ``decision`` changes for a case, given its ``current`` process instances.

    ``at`` is the step's effective time (consent, closings), ``now`` the time gpv writes it
    (``opened_at``/``updated_at``/``created_at``; the seed writes history and passes ``at``).
    Raises :class:`~states.errors.ConflictError` when an update expects another state than the
    current one, :class:`ValueError` for a fact the store does not know.
    """
    instances = _Instances(case_id, current, now)
    case: Values = {}
    for upd in decision.updates:
        instances.apply(upd)
        if upd.process == Process.CASE:
            case["status"] = str(upd.to_state)
    case.update(fact_columns(decision.facts_update))
    case["updated_at"] = now
    return RowChanges(
        new_instances=tuple(instances.new),
        instance_changes=tuple(instances.changed.values()),
        case=case,
        closings=tuple(_closing(c, at) for c in decision.deadlines_close),
        new_deadlines=tuple(_new_deadline(case_id, s, at, now) for s in decision.deadlines_open),
        consent=_consent(case_id, decision, at, by),
        audit=_audit(case_id, decision, at, by),
        notices=tuple(decision.notifications),
    )


# --------------------------------------------------------------------------------------------------
# A forwarded application's case at the target (§ 14 Abs. 2 S. 4 SGB IX)

#: Party kinds whose cases gpv runs: the Gesamtplanverfahren is the EGH carrier's procedure
#: (§ 117 Abs. 1 SGB IX), and the youth office's under § 35a SGB VIII. A forwarding to any other
#: rehabilitation carrier opens no case there.
CASE_CARRIER_KINDS = frozenset({"egh_carrier", "youth_office"})

#: The columns the linked case takes over from the case it was forwarded from.
_CARRIED_OVER = (
    "municipality", "is_minor", "contact_email", "birth_date", "disabilities", "benefit",
    "school_finished", "routed_carrier", "routing_basis", "routing_reason", "school_status",
    "benefit_start", "data_transfer_objection", "objection_notice_given_on", "is_parent",
)  # fmt: skip


def forwarded_case_values(
    first: Mapping[str, Any],
    new_id: str,
    target: str,
    received: date,
    source_name: str,
    now: datetime,
) -> Values:
    """The case row at ``target`` for the application forwarded from ``first`` (its column
    values): the same person and application, the target as carrier, ``received`` as its receipt,
    a note on the periods, and the link back. Used by the service and the seeder alike."""
    note = (
        f"Weitergeleitet von {source_name} (Fall {first['id']}): Sie sind leistender Träger; die "
        f"Entscheidungsfrist läuft ab dem Eingang bei Ihnen am {received.isoformat()} "
        "(§ 14 Abs. 2 S. 4 SGB IX). Weiterleiten nur im Einvernehmen (§ 14 Abs. 3 SGB IX)."
    )
    parties = [target, *(p for p in first["parties"] if p not in (first["carrier"], target))]
    values: Values = {column: first[column] for column in _CARRIED_OVER}
    values.update(
        id=new_id, status="", carrier=target, received_on=received, parties=parties, version=1,
        person_ref=None, decided_on=None, routing_flags=[note], forwarded_from=first["id"],
        forwarded_to=None, created_at=now, updated_at=now,
        # A new carrier asks anew: consents and statements stay with the first procedure (a
        # statement passes on only without the person's objection, § 76 Abs. 2 Nr. 1 SGB X).
        consented=[], statement_by=[],
    )  # fmt: skip
    return values
