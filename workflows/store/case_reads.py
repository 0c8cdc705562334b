"""Who read which case, when: one row per case page a signed-in user opened (issue 12).

The web front end records every read of a case (a case manager's case page, a party member's
task page of a case) here, in the transaction of the read. These rows are deliberately not part of
the hash-chained audit history (:mod:`workflows.store.audit`): that chain holds the steps of a case,
and ``gpv audit verify`` checks that a case's version equals its entries; a read changes nothing
of the case. Rows are only ever added.

The table stands alone on ``SQLModel.metadata`` (like the outbox and the step requests), so the
migrations and the tests can create it without the rest of the schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, String, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, col

from workflows.store.db import UTCDateTime, read_session, write_session


class CaseReadRow(SQLModel, table=True):
    """One read of a case: who (user name, party, role), which page, when (UTC)."""

    __tablename__ = "case_reads"
    __table_args__ = (Index("ix_case_reads_case", "case_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    case_id: str = Field(sa_column=Column(String(20), nullable=False))
    user_name: str = Field(sa_column=Column(String, nullable=False))
    party: str = Field(sa_column=Column(String, nullable=False))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    page: str = Field(sa_column=Column(String(32), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


def record_read(
    engine: Engine, case_id: str, *, user_name: str, party: str, role: str, page: str, at: datetime
) -> None:
    """Add one read (its own small write transaction)."""
    with write_session(engine) as session:
        session.add(
            CaseReadRow(
                case_id=case_id, user_name=user_name, party=party, role=role, page=page, at=at
            )
        )


def reads_of(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    """The reads of one case, oldest first: user_name, party, role, page, at (ISO, UTC)."""
    with read_session(engine) as session:
        rows = session.scalars(
            select(CaseReadRow)
            .where(col(CaseReadRow.case_id) == case_id)
            .order_by(col(CaseReadRow.at), col(CaseReadRow.id))
        ).all()
    return [
        {
            "user_name": r.user_name,
            "party": r.party,
            "role": r.role,
            "page": r.page,
            "at": r.at.isoformat(),
        }
        for r in rows
    ]
