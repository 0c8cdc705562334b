"""Step requests: what ``gpv fire`` asked for, kept in gpv's store so Prefect sees references only.

Before ``gpv fire`` creates a ``fire-trigger`` run on the Prefect server it stores the request here
(case, trigger, the free-text parameters, the effective time and who asked, and whether a step
after now is meant, ``--allow-future``, judged against which now, ``--now``; issue 12) under a
random id; the run's parameters are that id, the case id and the trigger (issue 13). The flow
loads the request by its id and records the outcome here: ``pending`` → ``applied`` |
``refused`` | ``invalid``. A refused or invalid request keeps the rules' full message (it may
quote what the user typed), which ``gpv fire`` prints; Prefect gets a generic message naming
the request id and the legal norm.

A request is carried out at most once: once it has an outcome, running it again changes nothing.

The table stands alone on ``SQLModel.metadata`` (like the outbox), so the migrations and the tests
can create it without the rest of the schema.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, String, Text, false, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from states.errors import GpvError, InputError, RefusedError
from workflows.store.db import UTCDateTime, read_session, utcnow, write_session

REQUEST_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REFUSED = "refused"
    INVALID = "invalid"


class StepRequestRow(SQLModel, table=True):
    """One request of ``gpv fire`` through the Prefect server. ``id`` is a uuid4 in hex."""

    __tablename__ = "step_requests"
    __table_args__ = (Index("ix_step_requests_case", "case_id", "created_at"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    case_id: str = Field(sa_column=Column(String(20), nullable=False))
    trigger: str = Field(sa_column=Column(String(64), nullable=False))
    params: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    by: str = Field(sa_column=Column(String, nullable=False))
    # gpv fire --allow-future and --now (states.step_time; migration 0010): None is the clock.
    allow_future: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    now: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(
        default=RequestStatus.PENDING.value, sa_column=Column(String(16), nullable=False)
    )
    # The rules' full message of a refused or invalid request, and its legal norm.
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    norm: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


@dataclass(frozen=True)
class StepRequest:
    """A stored request as plain values (what the flow's tasks work with; never returned to
    Prefect)."""

    id: str
    case_id: str
    trigger: str
    params: dict[str, str]
    at: datetime
    by: str
    status: RequestStatus
    message: str | None
    norm: str | None
    allow_future: bool = False
    now: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status is not RequestStatus.PENDING


def _plain(row: StepRequestRow) -> StepRequest:
    return StepRequest(
        id=row.id,
        case_id=row.case_id,
        trigger=row.trigger,
        params=dict(row.params or {}),
        at=row.at,
        by=row.by,
        status=RequestStatus(row.status),
        message=row.message,
        norm=row.norm,
        allow_future=bool(row.allow_future),
        now=row.now,
    )


def store_request(
    engine: Engine,
    case_id: str,
    trigger: str,
    params: Mapping[str, str],
    *,
    at: datetime,
    by: str,
    allow_future: bool = False,
    now: datetime | None = None,
) -> str:
    """Keep a new request (status ``pending``); returns its id. ``allow_future`` and ``now`` are
    passed on to :func:`workflows.service.fire` (:mod:`states.step_time`)."""
    request_id = uuid.uuid4().hex
    row = StepRequestRow(
        id=request_id,
        case_id=case_id,
        trigger=trigger,
        params={str(k): str(v) for k, v in params.items()},
        at=at,
        by=by,
        allow_future=allow_future,
        now=now,
        created_at=utcnow(),
    )
    with write_session(engine) as session:
        session.add(row)
    return request_id


def load_request(engine: Engine, request_id: str) -> StepRequest:
    """The request ``request_id``. The messages of the :class:`InputError` raised for a missing or
    unknown id do not repeat the value given (it may have been typed into the dashboard)."""
    if not request_id:
        raise InputError(
            "Ein Lauf von fire-trigger braucht die Nummer einer in gpv gespeicherten Anfrage "
            "(Parameter request_id); `gpv fire` legt sie an. Ohne sie wird nichts ausgeführt."
        )
    row = None
    if REQUEST_ID_RE.match(request_id):
        with read_session(engine) as session:
            row = session.get(StepRequestRow, request_id)
    if row is None:
        raise InputError(
            "Die angegebene Anfrage (request_id) gibt es in gpv nicht; `gpv fire` legt Anfragen "
            "an. Es wurde nichts ausgeführt."
        )
    return _plain(row)


def status_of(exc: GpvError) -> RequestStatus:
    """The outcome of a request the rules refused (``refused``) or found bad input in
    (``invalid``)."""
    return RequestStatus.REFUSED if isinstance(exc, RefusedError) else RequestStatus.INVALID


def finish_request(
    engine: Engine,
    request_id: str,
    status: RequestStatus,
    *,
    message: str | None = None,
    norm: str | None = None,
) -> None:
    """Record the outcome of a pending request (a request that already has one keeps it)."""
    table: Any = StepRequestRow.__table__  # type: ignore[attr-defined]
    with write_session(engine) as session:
        session.execute(
            update(table)
            .where(table.c.id == request_id, table.c.status == RequestStatus.PENDING.value)
            .values(status=status.value, message=message, norm=norm, finished_at=utcnow())
        )
