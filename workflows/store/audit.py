"""The audit history: append-only, hash-chained, anchored outside the database.

There is ONE global chain over all entries (not one per case): entry ``n`` stores the hash of
entry ``n-1`` (``prev_hash``) and its own ``hash`` = SHA-256 over the canonical JSON encoding
(sorted keys, separators ``,`` and ``:``, UTF-8, timestamps as ISO 8601 in UTC) of its fields
``id``, ``case_id``, ``trigger``, ``process``, ``from_state``, ``to_state``, ``at``,
``recorded_at``, ``by``, ``params`` and ``prev_hash``. The first entry's ``prev_hash`` is
:data:`GENESIS`.

The head of the chain (last id and hash) is a row of ``audit_chain_head``. Appending reads it
``FOR UPDATE`` on PostgreSQL (on SQLite the writer already holds the database's write lock from
``BEGIN IMMEDIATE``), so two concurrent writers queue and can never fork the chain. After the
transaction commits, the new head is appended to the anchor file outside the database
(:mod:`workflows.store.anchor`; a rolled-back transaction anchors nothing).

:func:`verify` (``gpv audit verify``) proves, in one consistent snapshot:

- the chain: ids without gaps, each entry linked to its predecessor, each hash recomputed from
  the entry's fields, and the head row naming the last entry. Editing, deleting, inserting or
  reordering entries breaks it at the first entry touched; a cut-off tail shows at the head.
- the anchor: every head anchored for this database is still in the chain with the same hash, and
  the chain is not shorter than the highest anchored id. This catches what the database alone
  cannot: a tail cut off together with a rewound (or deleted) head row, an emptied table, and a
  chain rewritten consistently with recomputed hashes, up to the last anchored head.
- the cases: each case's ``version`` equals the number of its entries other than the sweep's
  ``miss_deadline`` entries (opening, every decision and every data change raise it by one and
  write one entry), and its ``status`` equals the ``to_state`` of its last such entry of the case
  process; no case lacks entries and no entry names a case that does not exist. A forged entry
  appended with a correct hash, or a case row changed behind gpv's back, shows here.

What it cannot prove:

- Entries after the last anchored head (a commit whose anchor line was lost, or a writer that
  anchors elsewhere) are protected by the chain only: whoever rewrites them consistently and
  adjusts the case rows to match is not detected; verify reports how many entries are not yet
  anchored, as a warning.
- Whoever can also rewrite or delete the anchor file can forge everything; a missing anchor file
  is only a warning (an installation from before the anchor looks the same). Put the anchor
  where the database's administrators cannot write (``$GPV_AUDIT_ANCHOR``: another disk or
  account, a file with the append-only attribute) to make that hard.
- The anchor proves what was committed through the installation that wrote it; on PostgreSQL
  with several installations each has its own anchor file.
- On SQLite (``synchronous=NORMAL``) a power loss can undo the last commits while their anchor
  lines survived: verify then reports the chain shorter than anchored, which is true — the
  history lost entries.
- Content that was wrong when it was written (a wrong ``by`` passed in) is faithfully chained.

Nothing here updates or deletes an entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, bindparam, func, insert, or_, select, update
from sqlalchemy import case as sql_case
from sqlmodel import Session, col

from states.decision import Process
from workflows.store import anchor
from workflows.store.json_values import json_value, plain_params, utc_iso
from workflows.store.models import AuditHeadRow, AuditRow, CaseRow
from workflows.store.rows import NewEntry
from workflows.store.sweep_rule import MISS_TRIGGER

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
CASE_PROCESS = str(Process.CASE)


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found. ``first_broken_id`` names the first entry that does not fit (None
    when the chain fits but a case row does not, then ``case_id`` names it, or when the anchor
    file is unreadable); ``warnings`` never make ``ok`` False (a missing anchor, entries not yet
    anchored)."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str | None = None
    case_id: str | None = None
    cases_checked: int = 0
    anchored: int = 0
    anchor: str | None = None
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": list(self.warnings)}


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


# The append path's statements, built once (Core, on the session's connection: no ORM objects).
_HEAD = AuditHeadRow.__table__  # type: ignore[attr-defined]
_READ_HEAD = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.chain == CHAIN)
_LOCK_HEAD = _READ_HEAD.with_for_update()
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.chain == CHAIN)
    .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"))
)
_INSERT_ENTRY = insert(AuditRow.__table__)  # type: ignore[attr-defined]


def _lock_head(session: Session) -> tuple[int, str]:
    conn = session.connection()
    locked = conn.dialect.name == "postgresql"
    row = conn.execute(_LOCK_HEAD if locked else _READ_HEAD).first()
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
    The new head is anchored when (and only if) the transaction commits.
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
    conn = session.connection()
    conn.execute(_INSERT_ENTRY, rows if len(rows) > 1 else rows[0])
    conn.execute(_MOVE_HEAD, {"new_id": last_id, "new_hash": last_hash})
    anchor.remember(session, last_id, last_hash)
    return [r["id"] for r in rows]


def append(session: Session, entry: NewEntry, *, recorded_at: datetime) -> int:
    """Append one entry; returns its id (its position in the chain)."""
    return append_many(session, [entry], recorded_at=recorded_at)[0]


# --------------------------------------------------------------------------------------------------
# Verifying


@dataclass
class _Walk:
    """The chain as walked: its length, its last entry, the first anchored id whose hash differs."""

    checked: int = 0
    last_id: int = 0
    last_hash: str = GENESIS
    anchor_mismatch: int | None = None


def _link_problem(row: AuditRow, walk: _Walk) -> str | None:
    if row.id != walk.last_id + 1:
        return f"Eintrag {row.id}: Lücke in der Kette, Eintrag {walk.last_id + 1} fehlt."
    if row.prev_hash != walk.last_hash:
        return (
            f"Eintrag {row.id}: verweist nicht auf den Hash von Eintrag {walk.last_id} "
            "(Eintrag gelöscht, ersetzt oder umsortiert)."
        )
    if record_hash(row) != row.hash:
        return f"Eintrag {row.id}: Inhalt passt nicht zu seinem Hash (nachträglich geändert)."
    return None


def _walk(
    session: Session, heads: Mapping[int, tuple[str, str]], batch: int
) -> VerifyResult | _Walk:
    """Walk the chain from the first entry; the first entry that does not fit, or the walk."""
    walk = _Walk()
    stmt = select(AuditRow).order_by(col(AuditRow.id)).execution_options(yield_per=batch)
    for row in session.scalars(stmt):
        problem = _link_problem(row, walk)
        if problem is not None:
            return VerifyResult(False, walk.checked, row.id, problem)
        anchored = heads.get(row.id)
        if anchored is not None and anchored[0] != row.hash and walk.anchor_mismatch is None:
            walk.anchor_mismatch = row.id
        walk.checked += 1
        walk.last_id, walk.last_hash = row.id, row.hash
        session.expunge(row)
    return walk


def _head_problem(session: Session, walk: _Walk) -> tuple[int, str] | None:
    head = session.get(AuditHeadRow, CHAIN)
    if head is None:
        if walk.checked == 0:
            return None  # a hand-made, empty database; the anchor still speaks for it
        return walk.last_id, "Kettenkopf fehlt (Zeile in audit_chain_head gelöscht)."
    if head.last_id == walk.last_id and head.last_hash == walk.last_hash:
        return None
    return (
        walk.last_id + 1 if head.last_id > walk.last_id else head.last_id,
        f"Kettenende: laut Kopf ist der letzte Eintrag {head.last_id}, gefunden wurde "
        f"{walk.last_id} (Einträge am Ende gelöscht oder Kopf verändert).",
    )


def _anchor_problem(found: anchor.Anchor, walk: _Walk) -> tuple[int | None, str] | None:
    if found.problem is not None:
        return None, found.problem
    highest = found.highest
    if highest is not None and highest > walk.last_id:
        return (
            walk.last_id + 1,
            f"Verlauf kürzer als verankert: der Anker nennt Eintrag {highest} "
            f"(verankert {found.heads[highest][1]}), die Kette endet bei Eintrag {walk.last_id} "
            "(Einträge am Ende samt Kettenkopf gelöscht).",
        )
    if walk.anchor_mismatch is not None:
        at = found.heads[walk.anchor_mismatch][1]
        return (
            walk.anchor_mismatch,
            f"Eintrag {walk.anchor_mismatch}: Hash weicht vom Anker ab (verankert {at}); die Kette "
            "wurde bis hierher neu geschrieben und neu berechnet.",
        )
    return None


def _anchor_warnings(found: anchor.Anchor | None, walk: _Walk) -> tuple[str, ...]:
    if found is None:
        return ()
    if not found.exists:
        return (
            f"Anker fehlt: {found.path} gibt es nicht (ältere Installation oder noch nichts "
            "geschrieben); geprüft ist nur die Kette in der Datenbank. Der nächste Schreibvorgang "
            "legt ihn an.",
        )
    highest = found.highest
    if highest is None:
        return (
            f"Kein Anker für diese Datenbank: {found.path} enthält keine Zeile für sie; geprüft "
            "ist nur die Kette in der Datenbank.",
        )
    if walk.last_id > highest:
        tail = (
            f"Eintrag {walk.last_id} ist"
            if walk.last_id == highest + 1
            else f"Einträge {highest + 1} bis {walk.last_id} sind"
        )
        return (
            f"{tail} nicht verankert (die Zeile wurde nicht geschrieben oder von einer anderen "
            "Installation), also nur durch die Kette geschützt.",
        )
    return ()


def _case_tally() -> Subquery:
    """Per case: how many entries raised its version (all but the sweep's ``miss_deadline``),
    and the id of the last of them in the case process."""
    return (
        select(
            col(AuditRow.case_id).label("case_id"),
            func.count().label("entries"),
            func.max(sql_case((col(AuditRow.process) == CASE_PROCESS, col(AuditRow.id)))).label(
                "last_id"
            ),
        )
        .where(col(AuditRow.case_id).is_not(None), col(AuditRow.trigger) != MISS_TRIGGER)
        .group_by(col(AuditRow.case_id))
        .subquery()
    )


def _mismatch(
    case_id: str,
    version: int,
    status: str,
    entries: int | None,
    last: tuple[int | None, str | None],
) -> str:
    """Why a case row does not fit its entries (``last``: the last case-process entry's id and
    ``to_state``, both None when there is none)."""
    if entries is None:
        return (
            f"Fall {case_id}: kein Eintrag im Verlauf (Fall außerhalb von gpv angelegt oder seine "
            "Einträge gelöscht)."
        )
    if entries != version:
        return (
            f"Fall {case_id}: Version {version}, im Verlauf aber {entries} Änderungen (Fall oder "
            "Verlauf außerhalb von gpv geändert)."
        )
    last_id, to_state = last
    if to_state is None:
        return f"Fall {case_id}: kein Eintrag des Fallprozesses im Verlauf."
    return (
        f"Fall {case_id}: Status {status!r}, laut Verlauf {to_state!r} (Eintrag {last_id}; "
        "Fall oder Verlauf außerhalb von gpv geändert)."
    )


def _case_problem(session: Session) -> tuple[int | None, str, str] | None:
    """The first case whose row does not match its entries (entry id None), or the first entry
    naming a case that does not exist: (entry id, case id, problem)."""
    tally = _case_tally()
    last = AuditRow.__table__.alias("last_entry")  # type: ignore[attr-defined]
    stmt = (
        select(
            col(CaseRow.id),
            col(CaseRow.version),
            col(CaseRow.status),
            tally.c.entries,
            last.c.id,
            last.c.to_state,
        )
        .outerjoin(tally, tally.c.case_id == col(CaseRow.id))
        .outerjoin(last, last.c.id == tally.c.last_id)
        .where(
            or_(
                tally.c.entries.is_(None),
                tally.c.entries != col(CaseRow.version),
                last.c.to_state.is_(None),
                last.c.to_state != col(CaseRow.status),
            )
        )
        .order_by(col(CaseRow.id))
        .limit(1)
    )
    row = session.execute(stmt).first()
    if row is not None:
        case_id, version, status, entries, last_id, to_state = row
        return None, case_id, _mismatch(case_id, version, status, entries, (last_id, to_state))
    orphan = session.execute(
        select(col(AuditRow.id), col(AuditRow.case_id))
        .outerjoin(CaseRow, col(CaseRow.id) == col(AuditRow.case_id))
        .where(col(AuditRow.case_id).is_not(None), col(CaseRow.id).is_(None))
        .order_by(col(AuditRow.id))
        .limit(1)
    ).first()
    if orphan is not None:
        entry_id, case_id = orphan
        return entry_id, case_id, f"Eintrag {entry_id} nennt den Fall {case_id}, den es nicht gibt."
    return None


def _same_snapshot(session: Session) -> None:
    # Chain, head and cases must be read from one snapshot; PostgreSQL's READ COMMITTED would let
    # a concurrent commit show up between two statements and look like tampering.
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(
    session: Session, *, anchored: anchor.Anchor | None = None, batch: int = 5000
) -> VerifyResult:
    """Check the chain, the heads ``anchored`` outside the database, and every case against its
    entries; the first thing that does not fit (see the module docstring).

    Read ``anchored`` BEFORE this session's first statement: a line is written after its commit,
    so every head read first is in the snapshot, and concurrent writers cause no false alarm.
    """
    _same_snapshot(session)
    walk = _walk(session, anchored.heads if anchored else {}, batch)
    if isinstance(walk, VerifyResult):
        return walk
    context: dict[str, Any] = {
        "anchored": len(anchored.heads) if anchored else 0,
        "anchor": str(anchored.path) if anchored else None,
    }
    broken = _head_problem(session, walk) or (
        _anchor_problem(anchored, walk) if anchored is not None else None
    )
    if broken:
        return VerifyResult(False, walk.checked, *broken, **context)
    cases = session.execute(select(func.count()).select_from(CaseRow)).scalar_one()
    mismatch = _case_problem(session)
    if mismatch is not None:
        entry_id, case_id, problem = mismatch
        return VerifyResult(False, walk.checked, entry_id, problem, case_id, cases, **context)
    warnings = _anchor_warnings(anchored, walk)
    return VerifyResult(True, walk.checked, cases_checked=cases, warnings=warnings, **context)
