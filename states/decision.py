"""The contract between the pure rules and the shell: what a step is given and what it decides.

``states.advance(snapshot, trigger, params, at, by)`` takes a :class:`CaseSnapshot` (plain values
the store loaded), and returns a :class:`Decision` that the store persists in ONE transaction, or
raises a :class:`states.errors.GpvError`. Nothing here touches a database, a clock or a network:
``at`` is always a parameter (timezone-aware), and legal dates are calendar dates in
Europe/Berlin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Process(StrEnum):
    """The four processes of a case. Statement, conference and housing are sub-processes."""

    CASE = "case"
    STATEMENT = "statement"
    CONFERENCE = "conference"
    HOUSING = "housing"


class CaseState(StrEnum):
    """The states of the case process (``states.processes.case`` declares its table). Here, beside
    :class:`Process`, because the sub-processes name them too: the case states in which each may
    start (``ProcessDefinition.start_when``)."""

    RECEIVED = "received"
    ASSESSMENT = "assessment"
    DETERMINED = "determined"
    PLANNED = "planned"
    DECIDED = "decided"
    CLOSED = "closed"
    FORWARDED = "forwarded"
    WITHDRAWN = "withdrawn"


class DeadlineStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    CANCELLED = "cancelled"
    #: Replaced by another rule of the law, not missed: e.g. § 14 Abs. 2 S. 2 SGB IX once a
    #: Gutachten is requested (S. 3 applies instead). Never reminded, escalated or counted as
    #: missed.
    SUPERSEDED = "superseded"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    REVOKED = "revoked"


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about a case. No health data beyond what routing needs.

    ``received_on`` is the receipt of the application at the current carrier (§ 14 Abs. 1 SGB IX);
    ``parties`` the party ids routing decided to involve (carrier first); ``forwarded_from`` the
    case the application was forwarded from (§ 14 Abs. 2 S. 4 SGB IX), if it was.
    """

    case_id: str
    received_on: date
    carrier: str
    municipality: str
    parties: tuple[str, ...] = ()
    is_minor: bool = False
    has_contact_email: bool = False
    forwarded_from: str | None = None
    #: The consent register (see :class:`notifications.policy.CaseView`): parties the person
    #: agreed to involve, and the authors of statements delivered in this case.
    consented: tuple[str, ...] = ()
    statement_by: tuple[str, ...] = ()
    #: The day the person was told of the right to object (§ 76 Abs. 2 Nr. 1 SGB X), if recorded.
    objection_notice_given_on: date | None = None
    #: The person is the mother or father of a child (§ 119 Abs. 4 SGB IX: conference with consent).
    is_parent: bool = False


@dataclass(frozen=True)
class ProcessInstance:
    """The current (latest) instance of one process of a case.

    ``state`` is the Enum value (a plain string); ``data`` holds plain values the process keeps,
    e.g.
    for a conference ``{"scheduled_at": "2026-04-15T10:00:00+02:00", "location": "Kreishaus Unna",
    "sequence": 0, "uid": "..."}``.
    """

    process: Process
    state: str
    data: Mapping[str, Any] = field(default_factory=dict)
    instance_no: int = 1


@dataclass(frozen=True)
class OpenDeadline:
    """An open deadline as the store holds it."""

    rule: str
    anchor_date: date
    due: date
    process: Process = Process.CASE
    variant: str = "standard"


@dataclass(frozen=True)
class CaseSnapshot:
    facts: CaseFacts
    processes: Mapping[Process, ProcessInstance]
    deadlines: tuple[OpenDeadline, ...] = ()

    def state_of(self, process: Process) -> str | None:
        instance = self.processes.get(process)
        return instance.state if instance else None


@dataclass(frozen=True)
class SkippedDay:
    day: date
    reason: str


@dataclass(frozen=True)
class DeadlineSpec:
    """A deadline to open: everything the row needs, computed by the rules."""

    rule: str
    norm: str
    process: Process
    anchor_event: str
    anchor_date: date
    nominal_end: date
    due: date
    remind_on: date | None
    responsible_party: str
    skipped: tuple[SkippedDay, ...] = ()
    #: Which variant of the rule applies (``standard`` or a name under the rule's ``variants`` in
    #: the agreement file) and the recorded fact that chose it, in German.
    variant: str = "standard"
    variant_reason: str = ""


@dataclass(frozen=True)
class DeadlineClosure:
    rule: str
    status: DeadlineStatus  # MET, MISSED (done after the due date), CANCELLED or SUPERSEDED
    reason: str = ""


@dataclass(frozen=True)
class ProcessUpdate:
    """A process moved from one state to another (``new_instance`` starts a new sub-process)."""

    process: Process
    from_state: str | None
    to_state: str
    data: Mapping[str, Any] = field(default_factory=dict)
    new_instance: bool = False


@dataclass(frozen=True)
class NotificationEvent:
    """Something a party must be told. ``context`` holds plain, non-health values only
    (due dates, norms, conference time and place, the receiving carrier); recipients are resolved
    from the event by ``notifications.policy``.
    """

    event: str
    process: Process
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentRecord:
    scope: str  # e.g. "conference"
    status: ConsentStatus
    norm: str


@dataclass(frozen=True)
class AuditEntry:
    trigger: str
    process: Process
    from_state: str | None
    to_state: str
    at: datetime
    by: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """Everything one step changes; persisted in one transaction or not at all."""

    trigger: str
    updates: tuple[ProcessUpdate, ...]
    deadlines_open: tuple[DeadlineSpec, ...] = ()
    deadlines_close: tuple[DeadlineClosure, ...] = ()
    notifications: tuple[NotificationEvent, ...] = ()
    consent: ConsentRecord | None = None
    facts_update: Mapping[str, Any] = field(default_factory=dict)
    audit: AuditEntry | None = None
