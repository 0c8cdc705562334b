"""The audit chain's anchor outside the database: an append-only file of committed chain heads.

After every commit that appended audit entries, one line is appended to the anchor file:
``{"db": <database>, "id": <last id>, "hash": <last hash>, "at": <UTC time>}`` (JSON, one line,
written with ``O_APPEND``, then ``fsync``). The file is ``$GPV_AUDIT_ANCHOR`` if set (e.g. on
another disk, owned by another account, or a file with the append-only attribute), else
``audit-anchor.log`` in the data folder; it is created by the first write.

Only a commit writes a line (the session's ``after_commit`` event); a transaction that rolls back
writes none. A line may be missing (the process died between commit and line, the file was not
writable: a warning is logged, the committed work stands), so :func:`workflows.store.audit.verify`
treats the anchor as a set of heads the chain must still contain, not as the complete list.

``db`` names the database the head belongs to (backend, host, port and name; the absolute file
for SQLite), so one data folder used with several databases keeps their heads apart. Several
processes or machines writing to one PostgreSQL database each anchor in their own data folder:
an anchor file proves what was committed through THIS installation. Concurrent writers append
their lines in whatever order their commits finish their ``after_commit``; readers accept any
order.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import URL, event
from sqlalchemy.orm import Session, SessionTransaction

from states.errors import ConfigError
from workflows import settings

__all__ = [
    "ANCHOR_ENV",
    "ANCHOR_FILE",
    "Anchor",
    "anchor_path",
    "database_key",
    "read",
    "remember",
    "write",
]

ANCHOR_ENV = "GPV_AUDIT_ANCHOR"
ANCHOR_FILE = "audit-anchor.log"
#: ``session.info`` key of the head appended in the current transaction, not yet anchored.
_PENDING = "gpv_audit_anchor_pending"
_DEFAULT_PORTS = {"postgresql": 5432}

log = logging.getLogger(__name__)


def anchor_path() -> Path:
    """``$GPV_AUDIT_ANCHOR``, else ``audit-anchor.log`` in the data folder."""
    configured = (os.environ.get(ANCHOR_ENV) or "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return settings.data_dir() / ANCHOR_FILE


@cache  # resolving the file's path on every commit cost more than the line (issue 11)
def database_key(url: URL) -> str:
    """The database a head belongs to, independent of driver, user and password."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        is_file = database not in ("", ":memory:") and not database.startswith("file:")
        return f"sqlite:///{Path(database).resolve() if is_file else database}"
    port = url.port or _DEFAULT_PORTS.get(backend)
    return f"{backend}://{url.host or ''}:{port or ''}/{url.database or ''}"


# --------------------------------------------------------------------------------------------------
# Writing


def remember(session: Session, last_id: int, last_hash: str) -> None:
    """Note the chain head appended in ``session``'s transaction; it is anchored after commit."""
    url = session.get_bind().engine.url
    session.info[_PENDING] = (database_key(url), last_id, last_hash)


def write(db: str, last_id: int, last_hash: str, *, at: datetime | None = None) -> None:
    """Append one head to the anchor file and force it to disk; creates the file (and its folder)
    on first use. Raises OSError or ConfigError when the file cannot be written."""
    path = anchor_path()
    line = json.dumps(
        {
            "db": db,
            "id": last_id,
            "hash": last_hash,
            "at": (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    created = False
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:  # the first line: create the file (and its folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        created = True
    try:
        os.write(fd, (line + "\n").encode("utf-8"))  # one write: concurrent lines never mix
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:  # the new file's directory entry must survive a crash as well
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@event.listens_for(Session, "after_commit")
def _anchor_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    try:
        write(*pending)
    except (OSError, ConfigError) as exc:
        # The transaction is committed and stays so; a missing line only weakens the anchor.
        log.warning(
            "Der Audit-Anker %s konnte nicht geschrieben werden (%s); der Stand bis Eintrag %s "
            "ist gespeichert, aber nicht verankert. Bitte %s auf eine beschreibbare Datei setzen.",
            _path_for_message(),
            exc,
            pending[1],
            ANCHOR_ENV,
        )


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    # Any rollback (a savepoint's too) may have removed what the pending head names; forgetting
    # it can only leave a head unanchored, never anchor one that was not committed.
    session.info.pop(_PENDING, None)


def _path_for_message() -> str:
    try:
        return str(anchor_path())
    except ConfigError:
        return ANCHOR_FILE


# --------------------------------------------------------------------------------------------------
# Reading


@dataclass
class Anchor:
    """What the anchor file says about one database.

    ``exists`` is False when the file was never written (an older installation, or nothing was
    written yet). ``heads`` maps each anchored id to its hash and the time it was anchored;
    ``problem`` names the first unreadable or contradictory line.
    """

    path: Path
    exists: bool = False
    heads: dict[int, tuple[str, str]] = field(default_factory=dict)
    lines: int = 0
    problem: str | None = None

    @property
    def highest(self) -> int | None:
        return max(self.heads) if self.heads else None


def read(url: URL) -> Anchor:
    """The heads anchored for the database at ``url`` (any order; repeated lines merge)."""
    anchor = Anchor(path=anchor_path())
    try:
        stream = anchor.path.open(encoding="utf-8")
    except FileNotFoundError:
        return anchor
    anchor.exists = True
    db = database_key(url)
    with stream:
        for number, text in enumerate(stream, start=1):
            anchor.lines += 1
            problem = _take(anchor, db, number, text)
            if problem is not None:
                anchor.problem = problem
                break
    return anchor


def _take(anchor: Anchor, db: str, number: int, text: str) -> str | None:
    where = f"Anker {anchor.path}, Zeile {number}"
    try:
        record: dict[str, Any] = json.loads(text)
        line_db, last_id = record["db"], int(record["id"])
        last_hash, at = str(record["hash"]), str(record["at"])
    except (ValueError, TypeError, KeyError):
        return f"{where}: unlesbar (von Hand geändert oder beim Schreiben abgebrochen)."
    if line_db != db:
        return None
    known = anchor.heads.setdefault(last_id, (last_hash, at))
    if known[0] != last_hash:
        return (
            f"{where}: nennt für Eintrag {last_id} einen anderen Hash als eine frühere Zeile "
            "(die Kette wurde neu geschrieben und dabei erneut verankert, oder der Anker "
            "gehört zu einer gelöschten und neu angelegten Datenbank)."
        )
    return None
