"""Who holds an outbox row: the claim a dispatcher takes before it sends, and the clean-up after a
dispatcher that died.

A claim is ``claimed_at``/``claimed_by`` on the row, set in its own committed transaction and only
while the row is pending and unclaimed (or its claim is stale), so two dispatchers never send the
same row at once. ``claimed_by`` is ``<host>:<pid>:<random>``: a later run on the same host can
tell that the process holding a claim is gone (see :func:`release_dead_claims`).

Claims are stamped and judged on the database's clock (:func:`database_now`), never on the
dispatcher's: a dispatcher run with a logical ``--now`` in the past or the future, or on a host
whose clock is off, cannot take a live claim for stale and send the message a second time.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from workflows.store.db import WRITE_OPTION
from workflows.store.outbox import OutboxRow, OutboxStatus

log = logging.getLogger(__name__)

_T = OutboxRow.__table__  # type: ignore[attr-defined]

UNCONFIRMED_NOTE = (
    "Annahme durch den Server nicht bestätigt: der Versand wurde unmittelbar vor dem "
    "Abschluss der Übergabe abgebrochen."
)


def database_now(engine: Engine) -> datetime:
    """The database's clock: PostgreSQL's ``now()``; SQLite lives in a file on this host, so its
    clock is this host's."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            value = conn.execute(select(func.now())).scalar_one()
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def worker_id() -> str:
    """This dispatcher's claim mark: ``<host>:<pid>:<random>``."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions take the write lock at once (SQLite ``BEGIN IMMEDIATE``)."""
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_claims(engine: Engine) -> list[str]:
    """The claim marks of dispatcher processes on this host that no longer exist."""
    host = socket.gethostname()[:30]
    with engine.connect() as conn:
        claims = conn.execute(
            select(_T.c.claimed_by).where(_T.c.claimed_by.is_not(None)).distinct()
        ).scalars()
        dead = []
        for claim in claims:
            claim_host, _, rest = str(claim).partition(":")
            pid = rest.partition(":")[0]
            mine = claim_host == host and pid.isdigit() and int(pid) != os.getpid()
            if mine and not _pid_alive(int(pid)):
                dead.append(claim)
    return dead


def _release(engine: Engine, claim: str) -> tuple[int, list[int]]:
    """Release one dead claim; returns (pending rows released, ids of sent rows unconfirmed)."""
    with write_connection(engine) as conn, conn.begin():
        released = conn.execute(
            update(_T)
            .where(_T.c.claimed_by == claim, _T.c.status == OutboxStatus.PENDING.value)
            .values(claimed_at=None, claimed_by=None)
        )
        unconfirmed_ids = list(
            conn.execute(
                select(_T.c.id).where(
                    _T.c.claimed_by == claim, _T.c.status == OutboxStatus.SENT.value
                )
            ).scalars()
        )
        if unconfirmed_ids:
            conn.execute(
                update(_T)
                .where(_T.c.id.in_(unconfirmed_ids))
                .values(claimed_at=None, claimed_by=None, last_error=UNCONFIRMED_NOTE)
            )
    return released.rowcount or 0, unconfirmed_ids


def release_dead_claims(
    engine: Engine, unconfirmed_rows: list[int] | None = None
) -> dict[str, int]:
    """Clean up after a dispatcher process on this host that died (e.g. SIGKILL).

    - a *pending* row it had claimed was not handed over (the server drops an unfinished DATA):
      the claim is released and the row is sent again, with the same Message-ID;
    - a *sent* row it had claimed but not confirmed was handed over in its last instant: it is
      not sent again (that would risk a duplicate); the row keeps a note for ``gpv outbox``.

    Returns ``{"released": n, "unconfirmed": n}``; the ids of unconfirmed rows are appended to
    ``unconfirmed_rows`` when given, so the caller can alert the supervisor: such a message may
    not have arrived, and a human must check with the recipient (a lost notice can cost a legal
    deadline).
    """
    result = {"released": 0, "unconfirmed": 0}
    if unconfirmed_rows is None:
        unconfirmed_rows = []
    for claim in _dead_claims(engine):
        released, unconfirmed_ids = _release(engine, claim)
        result["released"] += released
        result["unconfirmed"] += len(unconfirmed_ids)
        unconfirmed_rows.extend(unconfirmed_ids)
    if result["released"] or result["unconfirmed"]:
        log.warning("outbox: nach Abbruch eines Versandlaufs: %s", result)
    return result


def due_ids(engine: Engine, now: datetime, stale: datetime, limit: int) -> list[int]:
    """Up to ``limit`` ids of pending rows that are due and unclaimed (or stale), in id order."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(_T.c.id)
                .where(
                    _T.c.status == OutboxStatus.PENDING.value,
                    or_(_T.c.next_attempt_at.is_(None), _T.c.next_attempt_at <= now),
                    or_(_T.c.claimed_at.is_(None), _T.c.claimed_at <= stale),
                )
                .order_by(_T.c.id)
                .limit(limit)
            ).scalars()
        )


def claim(engine: Engine, row_id: int, now: datetime, stale: datetime, worker: str) -> Any:
    """Claim the row for ``worker`` (and count the attempt), stamped ``now`` on the database's
    clock; the row, or None when another dispatcher holds it (a claim after ``stale``) or it is
    no longer pending."""
    with write_connection(engine) as conn, conn.begin():
        result = conn.execute(
            update(_T)
            .where(
                _T.c.id == row_id,
                _T.c.status == OutboxStatus.PENDING.value,
                or_(_T.c.claimed_at.is_(None), _T.c.claimed_at <= stale),
            )
            .values(claimed_at=now, claimed_by=worker, attempts=_T.c.attempts + 1)
        )
        if result.rowcount != 1:
            return None
        return conn.execute(select(_T).where(_T.c.id == row_id)).one()


def claim_batch(
    engine: Engine, row_ids: list[int], now: datetime, stale: datetime, worker: str
) -> list[Any]:
    """Claim the rows of ``row_ids`` that are still pending and unclaimed (or stale) for
    ``worker`` in one transaction, as :func:`claim` does one by one; the claimed rows in id
    order (the others are held by another dispatcher or no longer pending).

    A claim taken for a whole batch may go stale before the batch's last row is sent; that row
    is then safe all the same, because the dispatcher's hand-over writes ``sent`` only while this
    worker still holds the claim, and sends nothing otherwise
    (:meth:`workflows.delivery.dispatch.Dispatcher.deliver`)."""
    if not row_ids:
        return []
    with write_connection(engine) as conn, conn.begin():
        rows = conn.execute(
            update(_T)
            .where(
                _T.c.id.in_(row_ids),
                _T.c.status == OutboxStatus.PENDING.value,
                or_(_T.c.claimed_at.is_(None), _T.c.claimed_at <= stale),
            )
            .values(claimed_at=now, claimed_by=worker, attempts=_T.c.attempts + 1)
            .returning(*_T.c)
        ).all()
    return sorted(rows, key=lambda row: row.id)


def held_by(row_id: int, worker: str) -> Any:
    """The WHERE clause of an update to a row this worker has claimed."""
    return and_(_T.c.id == row_id, _T.c.claimed_by == worker)
