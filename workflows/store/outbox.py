"""The notification outbox: one row per (notice, recipient), written with the state change.

Rows are written by :func:`enqueue` (many sources at once: :func:`enqueue_many`) inside the
caller's transaction (the transactional outbox: the notice exists if and only if the state change
committed), sent by ``workflows.delivery.dispatch`` and listed by :func:`outbox_rows`. The
``dedup_key`` is unique: enqueueing the same source twice (a retried task, a sweep that runs twice)
inserts nothing the second time, on SQLite and PostgreSQL alike.

The table stands alone on ``SQLModel.metadata`` (it does not import the case store), so the store's
Alembic migrations and the tests can create it without the rest of the schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Text, select
from sqlalchemy.engine import Engine, Row
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from notifications.policy import AgreementLike, CaseView, resolve
from states.decision import NotificationEvent
from states.errors import ConfigError, InputError
from workflows.store.db import UTCDateTime
from workflows.store.json_values import json_value, offset_iso


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Channel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"


#: Context keys that could carry health or identifying data; refused outright (§ 35 SGB I).
FORBIDDEN_CONTEXT_KEYS: frozenset[str] = frozenset(
    {
        "birth_date",
        "date_of_birth",
        "disability",
        "disabilities",
        "diagnosis",
        "diagnoses",
        "benefit",
        "benefits",
        "person_ref",
        "person_name",
        "statement",
        "statement_text",
        "findings",
    }
)


class OutboxRow(SQLModel, table=True):
    """One notice to one recipient. ``recipient_party`` is a party id or ``"person"``.

    Lifecycle: ``pending`` → ``sent`` | ``failed``. ``claimed_at``/``claimed_by`` mark the one
    attempt in progress (committed before the message goes to the transport); ``attempts`` counts
    attempts started, so a dispatcher killed mid-send still uses up an attempt.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    event: str = Field(sa_column=Column(String(64), nullable=False))
    recipient_role: str = Field(sa_column=Column(String(32), nullable=False))
    recipient_party: str = Field(sa_column=Column(String(64), nullable=False))
    template_id: str = Field(sa_column=Column(String(96), nullable=False))
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict)
    )
    dedup_key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    status: str = Field(
        default=OutboxStatus.PENDING.value,
        sa_column=Column(String(16), nullable=False, index=True, default="pending"),
    )
    channel: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    message_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))


def plain_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as JSON values (:func:`~workflows.store.json_values.json_value`): datetimes as
    ISO strings with their own UTC offset, dates as ISO dates, Enums as values.

    Refuses keys that could carry health data (:data:`FORBIDDEN_CONTEXT_KEYS`).
    """
    bad = sorted(k for k in context if str(k).lower() in FORBIDDEN_CONTEXT_KEYS)
    if bad:
        raise InputError(
            "Eine Benachrichtigung darf keine Gesundheits- oder Personendaten enthalten "
            f"(§ 35 SGB I); unzulässige Felder: {', '.join(bad)}."
        )
    return {str(k): json_value(v, offset_iso) for k, v in context.items()}


def dedup_key(source_key: str, event: str, role: str, party: str) -> str:
    return f"{source_key}:{event}:{role}:{party}"


def _insert_ignoring_duplicates(session: Session, target: Any = OutboxRow) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(target)
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(target)
    raise ConfigError(  # pragma: no cover - db.get_engine accepts only these two
        f"Die Datenbank {name!r} wird nicht unterstützt; GPV_DATABASE_URL muss auf SQLite oder "
        "PostgreSQL (postgresql+psycopg://…) zeigen."
    )


def outbox_values(
    view: CaseView,
    events: Sequence[NotificationEvent],
    source_key: str,
    at: datetime,
    agreement: AgreementLike,
) -> Iterator[dict[str, Any]]:
    """The outbox rows (as column values, status ``pending``) of ``events`` for one case: one per
    event and recipient the policy resolves. Pure apart from the policy lookup; shared by
    :func:`enqueue`, :func:`enqueue_many` and the seed."""
    if at.tzinfo is None:
        raise ValueError("enqueue: 'at' must be timezone-aware")
    for notice in events:
        context = plain_context(notice.context)
        context.setdefault("process", str(notice.process))
        for recipient in resolve(notice.event, view, context, agreement):
            yield {
                "case_id": view.case_id,
                "event": notice.event,
                "recipient_role": recipient.role,
                "recipient_party": recipient.party,
                "template_id": recipient.template_id,
                "context": context,
                "dedup_key": dedup_key(source_key, notice.event, recipient.role, recipient.party),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "created_at": at,
            }


def _agreement(agreement: AgreementLike | None) -> AgreementLike:
    if agreement is not None:
        return agreement
    from states.agreement import load_agreement

    return load_agreement()


def enqueue(
    session: Session,
    *,
    case: Any,
    events: Sequence[NotificationEvent],
    source_key: str,
    at: datetime,
    agreement: AgreementLike | None = None,
) -> list[Row[Any]]:
    """Write one outbox row per event and recipient into the caller's transaction.

    ``case`` is the store's case row or anything with the :class:`CaseView` fields; only those are
    read. ``source_key`` names what caused the notices (e.g. the history row id, or
    ``deadline:<id>:reminder``); with event, role and party it forms the unique dedup key, so a
    second call with the same source inserts nothing. Returns the rows actually inserted (the
    table's columns, read as attributes: ``row.id``). Does not commit. For many notices at once
    (the sweep) use :func:`enqueue_many`.
    """
    if at.tzinfo is None:
        raise ValueError("enqueue: 'at' must be timezone-aware")
    rows = outbox_values(CaseView.of(case), events, source_key, at, _agreement(agreement))
    stmt, conn = _insert_returning(session), session.connection()
    inserted: list[Row[Any]] = []
    for values in rows:
        row = conn.execute(stmt, values).first()
        if row is not None:
            inserted.append(row)
    return inserted


def _insert_returning(session: Session) -> Any:
    """``INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING *`` as a Core statement on the
    table, built once per dialect (a fire enqueues on every step; building it anew, and an ORM
    object per row, cost more than the insert, issue 11)."""
    name = session.get_bind().dialect.name
    stmt = _RETURNING.get(name)
    if stmt is None:
        table = OutboxRow.__table__  # type: ignore[attr-defined]
        stmt = _RETURNING[name] = (
            _insert_ignoring_duplicates(session, table)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(*table.c)
        )
    return stmt


_RETURNING: dict[str, Any] = {}


@dataclass(frozen=True)
class Notices:
    """The notices of one source for one case, for :func:`enqueue_many`."""

    case: CaseView
    events: Sequence[NotificationEvent]
    source_key: str


def enqueue_many(
    session: Session,
    items: Iterable[Notices],
    *,
    at: datetime,
    agreement: AgreementLike | None = None,
) -> int:
    """Write the outbox rows of many sources in ONE executemany insert into the caller's
    transaction: ``INSERT … ON CONFLICT (dedup_key) DO NOTHING``, no rows returned. A source
    already enqueued (same dedup keys) inserts nothing, as with :func:`enqueue`.

    Returns how many rows were offered (duplicates among them are skipped by the database).
    Does not commit.
    """
    if at.tzinfo is None:
        raise ValueError("enqueue: 'at' must be timezone-aware")
    agreement = _agreement(agreement)
    rows = [
        values
        for item in items
        for values in outbox_values(item.case, item.events, item.source_key, at, agreement)
    ]
    if rows:
        session.execute(
            # Core insert on the table: an executemany, no ORM objects, nothing returned.
            _insert_ignoring_duplicates(
                session,
                OutboxRow.__table__,  # type: ignore[attr-defined]
            ).on_conflict_do_nothing(index_elements=["dedup_key"]),
            rows,
        )
    return len(rows)


def outbox_rows(
    engine: Engine, *, status: str | None = None, limit: int | None = None
) -> list[Mapping[str, Any]]:
    """The outbox as plain rows (``gpv outbox``), newest last. No message content."""
    t = OutboxRow.__table__  # type: ignore[attr-defined]
    query = select(
        t.c.id,
        t.c.case_id,
        t.c.event,
        t.c.recipient_role,
        t.c.recipient_party,
        t.c.template_id,
        t.c.status,
        t.c.channel,
        t.c.attempts,
        t.c.next_attempt_at,
        t.c.created_at,
        t.c.sent_at,
        t.c.message_id,
        t.c.last_error,
    ).order_by(t.c.id)
    if status is not None:
        query = query.where(t.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def retry_failed(engine: Engine, ids: Sequence[int] = ()) -> list[int]:
    """Put ``failed`` rows (the given ids, or all) back to ``pending`` with a fresh count of
    attempts, so the next dispatch sends them again with the same Message-ID (after the address
    or the server was repaired). Returns the ids it reset; rows in any other status are left."""
    from sqlalchemy import update

    from workflows.store.db import write_session

    table = OutboxRow.__table__  # type: ignore[attr-defined]
    where = [table.c.status == OutboxStatus.FAILED.value]
    if ids:
        where.append(table.c.id.in_(list(ids)))
    with write_session(engine) as session:
        reset = list(session.execute(select(table.c.id).where(*where)).scalars())
        if reset:
            session.execute(
                update(table)
                .where(table.c.id.in_(reset))
                .values(
                    status=OutboxStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=None,
                    claimed_at=None,
                    claimed_by=None,
                )
            )
    return reset


def undeliverable_alert_rows(engine: Engine, *, limit: int = 100) -> list[dict[str, Any]]:
    """The supervisor alerts (``delivery_failed``) that finally failed, oldest first, at most
    ``limit``: id, recipient party, attempts, last error, and the id and event of the notice the
    alert was about (from its context). Never the message content."""
    table = OutboxRow.__table__  # type: ignore[attr-defined]
    query = (
        select(
            table.c.id,
            table.c.event,
            table.c.recipient_party,
            table.c.attempts,
            table.c.last_error,
            table.c.context,
        )
        .where(table.c.status == OutboxStatus.FAILED.value, table.c.event == "delivery_failed")
        .order_by(table.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        failed = (row.pop("context") or {}).get("failed") or {}
        row["about_id"] = failed.get("outbox_id")
        row["about_event"] = failed.get("event")
    return rows


def undeliverable_alerts(engine: Engine) -> int:
    """How many supervisor alerts (``delivery_failed``) finally failed: nobody was told that a
    notice did not arrive."""
    from sqlalchemy import func

    table = OutboxRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    table.c.status == OutboxStatus.FAILED.value,
                    table.c.event == "delivery_failed",
                )
            ).scalar_one()
        )
