"""The audit history: append-only and hash-chained.

There is ONE global chain over all entries (not one per case): entry ``n`` stores the hash of
entry ``n-1`` (``prev_hash``) and its own ``hash`` = SHA-256 over the canonical JSON encoding
(sorted keys, separators ``,`` and ``:``, UTF-8, timestamps as ISO 8601 in UTC) of its fields
``id``, ``case_id``, ``trigger``, ``process``, ``from_state``, ``to_state``, ``at``,
``recorded_at``, ``by``, ``params`` and ``prev_hash``. The first entry's ``prev_hash`` is
:data:`GENESIS`.

The head of the chain (last id and hash) is a row of ``audit_chain_head``. Appending reads it
``FOR UPDATE`` on PostgreSQL (on SQLite the writer already holds the database's write lock from
``BEGIN IMMEDIATE``), so two concurrent writers queue and can never fork the chain. Editing,
deleting or reordering entries breaks the chain at the first entry touched; cutting off the tail
shows as a head that no longer matches the last entry. (Whoever can rewrite the whole table *and*
the head can forge a consistent chain; anchoring the head outside the database is the next step.)

Nothing here updates or deletes an entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from workflows.store.json_values import json_value, plain_params, utc_iso
from workflows.store.models import AuditHeadRow, AuditRow
from workflows.store.rows import NewEntry

__all__ = [
    "CHAIN",
    "GENESIS",
    "NewEntry",
    "VerifyResult",
    "append",
    "append_many",
    "canonical",
    "entry_hash",
    "plain_params",
    "record_hash",
    "verify",
]

GENESIS = "0" * 64
CHAIN = "global"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken_id": self.first_broken_id,
            "problem": self.problem,
        }


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The canonical encoding the hash is taken over."""
    return json.dumps(
        json_value(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _fields(
    *,
    id: int,
    case_id: str | None,
    trigger: str,
    process: str,
    from_state: str | None,
    to_state: str,
    at: datetime,
    recorded_at: datetime,
    by: str,
    params: Mapping[str, Any],
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "id": id,
        "case_id": case_id,
        "trigger": trigger,
        "process": process,
        "from_state": from_state,
        "to_state": to_state,
        "at": utc_iso(at),
        "recorded_at": utc_iso(recorded_at),
        "by": by,
        "params": plain_params(params),
        "prev_hash": prev_hash,
    }


def entry_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def record_hash(row: AuditRow) -> str:
    """The hash a stored row should carry, recomputed from its fields."""
    return entry_hash(
        _fields(
            id=row.id,
            case_id=row.case_id,
            trigger=row.trigger,
            process=row.process,
            from_state=row.from_state,
            to_state=row.to_state,
            at=row.at,
            recorded_at=row.recorded_at,
            by=row.by,
            params=row.params or {},
            prev_hash=row.prev_hash,
        )
    )


def _lock_head(session: Session) -> tuple[int, str]:
    stmt = select(col(AuditHeadRow.last_id), col(AuditHeadRow.last_hash)).where(
        col(AuditHeadRow.chain) == CHAIN
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:  # the migration creates it; a hand-made database may lack it
        session.add(AuditHeadRow(chain=CHAIN, last_id=0, last_hash=GENESIS))
        session.flush()
        return _lock_head(session)
    return int(row[0]), str(row[1])


def append_many(
    session: Session, entries: Sequence[NewEntry], *, recorded_at: datetime
) -> list[int]:
    """Append ``entries`` in order to the chain inside the caller's transaction; returns their ids.

    Bulk-friendly: one head lock, one executemany insert, one head update (the seed uses this).
    """
    if not entries:
        return []
    last_id, last_hash = _lock_head(session)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        last_id += 1
        fields = _fields(
            id=last_id,
            case_id=entry.case_id,
            trigger=entry.trigger,
            process=entry.process,
            from_state=entry.from_state,
            to_state=entry.to_state,
            at=entry.at,
            recorded_at=recorded_at,
            by=entry.by,
            params=entry.params,
            prev_hash=last_hash,
        )
        last_hash = entry_hash(fields)
        rows.append(
            {
                **fields,
                "at": entry.at,
                "recorded_at": recorded_at,
                "hash": last_hash,
            }
        )
    session.execute(insert(AuditRow), rows)
    session.execute(
        update(AuditHeadRow)
        .where(col(AuditHeadRow.chain) == CHAIN)
        .values(last_id=last_id, last_hash=last_hash)
    )
    return [r["id"] for r in rows]


def append(session: Session, entry: NewEntry, *, recorded_at: datetime) -> int:
    """Append one entry; returns its id (its position in the chain)."""
    return append_many(session, [entry], recorded_at=recorded_at)[0]


def verify(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Walk the chain from the first entry and report the first entry that does not fit.

    Checks per entry: ids without gaps, ``prev_hash`` equal to the previous entry's hash, and the
    stored hash equal to the hash recomputed from the fields; finally that the chain head names the
    last entry.
    """
    checked = 0
    prev_id = 0
    prev_hash = GENESIS
    stmt = select(AuditRow).order_by(col(AuditRow.id)).execution_options(yield_per=batch)
    for row in session.scalars(stmt):
        if row.id != prev_id + 1:
            return VerifyResult(
                False,
                checked,
                row.id,
                f"Eintrag {row.id}: Lücke in der Kette, Eintrag {prev_id + 1} fehlt.",
            )
        if row.prev_hash != prev_hash:
            return VerifyResult(
                False,
                checked,
                row.id,
                f"Eintrag {row.id}: verweist nicht auf den Hash von Eintrag {prev_id} "
                "(Eintrag gelöscht, ersetzt oder umsortiert).",
            )
        if record_hash(row) != row.hash:
            return VerifyResult(
                False,
                checked,
                row.id,
                f"Eintrag {row.id}: Inhalt passt nicht zu seinem Hash (nachträglich geändert).",
            )
        checked += 1
        prev_id, prev_hash = row.id, row.hash
        session.expunge(row)
    head = session.get(AuditHeadRow, CHAIN)
    if head is not None and (head.last_id != prev_id or head.last_hash != prev_hash):
        return VerifyResult(
            False,
            checked,
            prev_id + 1 if head.last_id > prev_id else head.last_id,
            f"Kettenende: laut Kopf ist der letzte Eintrag {head.last_id}, gefunden wurde "
            f"{prev_id} (Einträge am Ende gelöscht oder Kopf verändert).",
        )
    return VerifyResult(True, checked)
