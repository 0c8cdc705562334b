"""The tables of the case store (SQLModel).

Everything with legal weight lives here: cases, their process instances, deadlines, consents and the
hash-chained audit history (the notification outbox is :mod:`workflows.store.outbox`). Schema
changes go through an Alembic migration in ``workflows/store/migrations``; a test checks that the
migrations and these models agree.

Data minimisation: health data (birth date, disability types) and the person's own reference live
only in columns of ``cases`` that no notification reads; everywhere outside the store a case is
its pseudonymous id ``C-<year of receipt>-<6-digit number>``. States, rules, events and party ids
are stored as their plain string values (the Enums of ``states/``), never as database enum types.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from workflows.store.db import UTCDateTime


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class CaseRow(SQLModel, table=True):
    """One Gesamtplanverfahren. ``status`` mirrors the state of its ``case`` process instance;
    ``version`` is raised by every change (optimistic concurrency, see
    ``workflows.store.cases``)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status", "status"),
        Index("ix_cases_municipality", "municipality"),
    )

    id: str = Field(sa_column=Column(String(20), primary_key=True))
    status: str
    carrier: str
    municipality: str  # town slug (agreement towns)
    received_on: date  # receipt at the current carrier (§ 14 SGB IX)
    parties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_minor: bool = False
    version: int = 1
    contact_email: str | None = None  # the person's or legal guardian's address
    person_ref: str | None = None  # the carrier's own file reference; never in a notification
    # Health data: read by routing only, never by notifications.
    birth_date: date
    disabilities: str  # comma-separated disability types, e.g. "mental,physical"
    benefit: str
    school_finished: date | None = None
    # § 76 Abs. 2 Nr. 1 SGB X: the person objected to the transfer of medical assessment data.
    data_transfer_objection: bool = False
    # § 119 Abs. 4 SGB IX: the person is the mother or father of a child (conference with consent).
    is_parent: bool = False
    objection_notice_given_on: date | None = None
    decided_on: date | None = None  # last Bescheid (§ 120 Abs. 2 SGB IX); anchors the review
    # The carrier is the one that received the application: the § 14 Abs. 1 SGB IX clock runs
    # there. Routing's answer is advice (issue 9, legal-review C5): the carrier it names (None when
    # undecided), its norm and reason, and the notes to check ("Zuständigkeit prüfen", § 41 SGB
    # VIII, ...). The reason names age and disability: shown to the case manager only.
    routed_carrier: str | None = None
    routing_basis: str | None = None
    routing_reason: str | None = None
    routing_flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The consent register (issue 10, legal-review M2-M4): the parties the person agreed to
    # involve, and those that delivered a statement here (unless the person objected to passing it
    # on, § 76 Abs. 2 Nr. 1 SGB X). Notices reach no other party but the carriers.
    consented: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    statement_by: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    school_status: str | None = None  # in_school | finished | none (AG-SGB IX NRW § 1 Abs. 2)
    benefit_start: date | None = None  # planned start of the benefit (routing asks about it)
    # The chain of a forwarded application (§ 14 Abs. 2 S. 4, Abs. 3 SGB IX): the case it came from
    # and the case it went to, both pseudonymous references.
    forwarded_from: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    forwarded_to: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class CaseSequenceRow(SQLModel, table=True):
    """The last case number handed out per year of receipt (``C-2026-000017`` → 17)."""

    __tablename__ = "case_sequences"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_no: int = 0


class ProcessRow(SQLModel, table=True):
    """One instance of a process of a case (the case itself, or a statement, conference or
    housing sub-process; a case may run several of one kind over its life, one at a time)."""

    __tablename__ = "process_instances"
    __table_args__ = (
        UniqueConstraint("case_id", "process", "instance_no", name="uq_process_instances_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(sa_column=Column(String(20), ForeignKey("cases.id"), nullable=False))
    process: str
    instance_no: int = 1
    state: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = _ts()
    updated_at: datetime = _ts()


class DeadlineRow(SQLModel, table=True):
    """A legal or agreed deadline as data (house style 6).

    ``status`` open → met | missed | cancelled | superseded (replaced by another rule of the law,
    e.g. § 14 Abs. 2 S. 2 SGB IX once a Gutachten is requested; never counted as missed).
    ``variant`` is the rule's reading that applies (``standard`` or one of the rule's variants in
    the agreement file) and ``variant_reason`` the recorded fact that chose it.
    A missed deadline whose task is still outstanding
    keeps ``closed_at`` NULL until the step is done. The sweep's two queries are range scans of
    the compound indexes ``ix_deadlines_reminder`` (status, reminder_sent_at, remind_on) and
    ``ix_deadlines_due`` (status, closed_at, due).
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        # (case_id, rule, status): closing or re-anchoring a rule's deadline names all three; with
        # only (case_id, status) SQLite preferred ix_deadlines_due and walked the whole backlog of
        # missed deadlines on every fire (docs/benchmarks.md).
        Index("ix_deadlines_case", "case_id", "rule", "status"),
        Index("ix_deadlines_reminder", "status", "reminder_sent_at", "remind_on"),
        Index("ix_deadlines_due", "status", "closed_at", "due"),
        Index("ix_deadlines_party", "responsible_party", "status", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(sa_column=Column(String(20), ForeignKey("cases.id"), nullable=False))
    rule: str
    norm: str
    process: str
    anchor_event: str
    anchor_date: date
    nominal_end: date
    due: date
    remind_on: date | None = None
    status: str = "open"
    responsible_party: str
    reminder_sent_at: datetime | None = _ts(nullable=True)
    escalated_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    closed_reason: str | None = None
    created_at: datetime = _ts()
    variant: str = Field(default="standard", sa_column_kwargs={"server_default": "standard"})
    variant_reason: str = Field(default="", sa_column_kwargs={"server_default": ""})


class ConsentRow(SQLModel, table=True):
    """A consent decision of the person (e.g. scope ``conference``, § 119 Abs. 1 SGB IX).
    Rows are only ever added; the latest row per scope is the current status."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_case", "case_id", "scope"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(sa_column=Column(String(20), ForeignKey("cases.id"), nullable=False))
    scope: str
    status: str  # given | refused | revoked
    norm: str
    at: datetime = _ts()
    recorded_by: str


class AuditRow(SQLModel, table=True):
    """One entry of the append-only, hash-chained audit history (see ``workflows.store.audit``).

    ``id`` is the position in the one global chain (1, 2, 3, …), assigned under the chain lock.
    ``at`` is the effective time of the step, ``recorded_at`` when gpv wrote it.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_case", "case_id", "id"),)

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    case_id: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    trigger: str
    process: str
    from_state: str | None = None
    to_state: str
    at: datetime = _ts()
    recorded_at: datetime = _ts()
    by: str
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditHeadRow(SQLModel, table=True):
    """The head of the audit chain: the last id and hash. Appending locks this row, so two writers
    can never fork the chain; verifying compares it with the last entry (a cut-off tail shows)."""

    __tablename__ = "audit_chain_head"

    chain: str = Field(sa_column=Column(String(20), primary_key=True))
    last_id: int = 0
    last_hash: str = Field(sa_column=Column(String(64), nullable=False))
