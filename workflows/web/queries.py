"""The reads the pages need beyond :mod:`workflows.service`: case search, the overdue table.

Each takes the engine and the set of case ids the user may see (None: all, as
:func:`workflows.users.visible_case_ids` answers) and returns plain dicts.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from states.deadlines import berlin_date
from workflows import service
from workflows.store.db import read_session
from workflows.store.models import CaseRow

SEARCH_LIMIT = 200


def search_cases(
    engine: Engine, query: str, visible: Set[str] | None, *, limit: int = SEARCH_LIMIT
) -> list[dict[str, Any]]:
    """Cases whose reference or own file number (``person_ref``) contains ``query`` (case
    ignored; all cases for an empty query), newest receipt first, at most ``limit``."""
    stmt = select(
        col(CaseRow.id),
        col(CaseRow.status),
        col(CaseRow.carrier),
        col(CaseRow.municipality),
        col(CaseRow.received_on),
        col(CaseRow.person_ref),
    )
    text = query.strip().lower()
    if "\x00" in text:  # in no reference or file number; PostgreSQL refuses it in a parameter
        return []
    if text:
        pattern = f"%{text}%"
        stmt = stmt.where(
            or_(
                func.lower(col(CaseRow.id)).like(pattern),
                func.lower(func.coalesce(col(CaseRow.person_ref), "")).like(pattern),
            )
        )
    if visible is not None:
        if not visible:
            return []
        stmt = stmt.where(col(CaseRow.id).in_(sorted(visible)))
    stmt = stmt.order_by(col(CaseRow.received_on).desc(), col(CaseRow.id).desc()).limit(limit)
    with read_session(engine) as session:
        rows = session.execute(stmt).all()
    return [
        {
            "id": r.id,
            "status": r.status,
            "carrier": r.carrier,
            "municipality": r.municipality,
            "received_on": r.received_on.isoformat(),
            "person_ref": r.person_ref,
        }
        for r in rows
    ]


def overdue(engine: Engine, now: datetime, visible: Set[str] | None) -> list[dict[str, Any]]:
    """Outstanding deadlines past their due day, with ``days_overdue`` (Berlin calendar days)."""
    today = berlin_date(now)
    rows = []
    for task in service.tasks(engine, now=now):
        if not task["overdue"] or (visible is not None and task["case_id"] not in visible):
            continue
        due = datetime.fromisoformat(task["due"]).date()
        rows.append({**task, "days_overdue": (today - due).days})
    return rows
