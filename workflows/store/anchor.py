"""The audit chain's anchor outside the database: an append-only file of committed chain heads.

After every commit that appended audit entries, one line is appended to the anchor file:
``{"db": <database>, "id": <last id>, "hash": <last hash>, "at": <UTC time>}`` (JSON, one line,
written with ``O_APPEND``). The file is ``$GPV_AUDIT_ANCHOR`` if set (e.g. on another disk, owned
by another account, or a file with the append-only attribute), else ``audit-anchor.log`` in the
data folder; it is created by the first write.

When the line reaches the disk is ``$GPV_AUDIT_ANCHOR_SYNC`` (:func:`sync_policy`):

* a number of milliseconds (default 50): the line is written before the commit returns to its
  caller, so it survives the process being killed at any later instant; a background thread
  forces it to disk (``fsync``) at most that long after, and the process forces what is left
  when it exits. Only a crash of the whole machine within that window can lose a line, and a lost
  line is what :func:`workflows.store.audit.verify` already reports as "not yet anchored" (a
  warning), never as tampering. This is the durability SQLite itself has in WAL mode with
  ``synchronous=NORMAL`` (its commits, too, survive a killed process, not a lost machine), and
  like PostgreSQL's WAL writer it batches the flushes of commits that come close together: one
  ``fsync`` per commit cost more than the whole step's SQL (issue 11, docs/benchmarks.md).
* ``commit``: every line is forced to disk before the commit returns (one ``fsync`` per commit).

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

import atexit
import json
import logging
import os
import threading
import time
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
    "SYNC_ENV",
    "Anchor",
    "anchor_path",
    "database_key",
    "read",
    "remember",
    "write",
]

ANCHOR_ENV = "GPV_AUDIT_ANCHOR"
ANCHOR_FILE = "audit-anchor.log"
SYNC_ENV = "GPV_AUDIT_ANCHOR_SYNC"
#: ``$GPV_AUDIT_ANCHOR_SYNC``'s value for one ``fsync`` per commit.
SYNC_EACH_COMMIT = "commit"
DEFAULT_SYNC_MS = 50
#: ``session.info`` key of the head appended in the current transaction, not yet anchored.
_PENDING = "gpv_audit_anchor_pending"
_DEFAULT_PORTS = {"postgresql": 5432}

log = logging.getLogger(__name__)


def anchor_path() -> Path:
    """``$GPV_AUDIT_ANCHOR``, else ``audit-anchor.log`` in the data folder."""
    configured = (os.environ.get(ANCHOR_ENV) or "").strip()
    if configured:
        return _resolved(configured, os.getcwd())
    given = os.environ.get(settings.DATA_DIR_ENV)
    if given:  # the folder is created once per setting and working folder
        return _data_dir_file(given, os.getcwd())
    return settings.data_dir() / ANCHOR_FILE  # found like git's: looked for anew


# Resolving a path costs a system call per folder of it, more than the line (issue 11): once per
# setting and working folder.
@cache
def _resolved(configured: str, cwd: str) -> Path:
    return Path(configured).expanduser().resolve()


@cache
def _data_dir_file(given: str, cwd: str) -> Path:
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


def sync_policy() -> float | None:
    """``$GPV_AUDIT_ANCHOR_SYNC``: None for ``commit`` (fsync before the commit returns), else
    the longest a written line waits for its fsync, in seconds (default 50 ms). ConfigError
    naming the variable for anything else."""
    raw = (os.environ.get(SYNC_ENV) or "").strip().lower()
    if raw == SYNC_EACH_COMMIT:
        return None
    if not raw:
        return DEFAULT_SYNC_MS / 1000
    try:
        millis = int(raw)
    except ValueError:
        millis = -1
    if not 0 < millis <= 10_000:
        raise ConfigError(
            f"{SYNC_ENV}={raw!r}: erwartet „commit“ (jede Zeile des Audit-Ankers vor der Rückkehr "
            "auf die Platte) oder eine Zahl von Millisekunden zwischen 1 und 10000 (so lange "
            f"höchstens bis zur Platte; ohne Angabe {DEFAULT_SYNC_MS})."
        )
    return millis / 1000


def write(db: str, last_id: int, last_hash: str, *, at: datetime | None = None) -> None:
    """Append one head to the anchor file: written before this returns, forced to disk as
    :func:`sync_policy` says. Creates the file (and its folder) on first use, and forces that
    first line and the folder's entry to disk at once. Raises OSError or ConfigError when the
    file cannot be written."""
    path = anchor_path()
    try:
        delay = sync_policy()
    except ConfigError:  # every command refused it at start (db.ready_engine); strictest here
        delay = None
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
        if delay is None or created:
            os.fsync(fd)
    finally:
        os.close(fd)
    if created:  # the new file's directory entry must survive a crash as well
        _fsync_dir(path.parent)
    elif delay is not None:
        _SYNCER.request(path, delay)


class _Syncer:
    """Forces written anchor lines to disk in the background, at most ``delay`` after they were
    written, one fsync for all lines written meanwhile; and whatever is left when the process
    exits (``atexit``). The thread starts with the first request (again in a forked child)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._dirty: set[Path] = set()
        self._thread: threading.Thread | None = None
        self._delay = DEFAULT_SYNC_MS / 1000

    def request(self, path: Path, delay: float) -> None:
        with self._lock:
            self._dirty.add(path)
            self._delay = delay
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="gpv-audit-anchor-sync", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._dirty:
                    self._wake.wait()
                delay = self._delay
            time.sleep(delay)  # gather the lines of the commits that follow
            self.flush()

    def flush(self) -> None:
        """Force every written line to disk now."""
        with self._lock:
            paths, self._dirty = self._dirty, set()
        for path in paths:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                continue  # removed meanwhile (a temporary folder): nothing left to force
            except OSError as exc:
                log.warning("Der Audit-Anker %s ließ sich nicht auf die Platte schreiben (%s).",
                            path, exc)  # fmt: skip

    def forget_thread(self) -> None:
        """In a forked child: the parent's thread is not there; the next request starts one."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread = None


_SYNCER = _Syncer()
atexit.register(_SYNCER.flush)
os.register_at_fork(after_in_child=_SYNCER.forget_thread)


def flush() -> None:
    """Force every anchor line this process wrote to disk now (e.g. before a backup)."""
    _SYNCER.flush()


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
