"""The application database: engines, sessions, timestamps and schema migrations.

- SQLite (default, a file in the data folder) runs in WAL mode with a busy timeout and foreign keys
  on. Python's sqlite3 module is told not to open transactions itself; gpv emits ``BEGIN`` for
  reads and ``BEGIN IMMEDIATE`` for writes (:func:`write_session`), so a write transaction holds the
  database's single write lock from its first statement and two writers queue instead of failing
  half-way with ``database is locked``.
- PostgreSQL via ``postgresql+psycopg://…``, READ COMMITTED; writers serialise on the rows they
  update (the case's version, the audit chain head).
- Timestamps are timezone-aware UTC in and out (:class:`UTCDateTime`); naive values are refused.
- :func:`migrate` brings the schema to the Alembic head. Every command that touches the store calls
  it; when the database is already at the head it costs one small query.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, DateTime, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from states.errors import ConfigError, StoreUnavailableError
from workflows import settings

#: The newest Alembic revision; a test checks it against the scripts in
#: ``workflows/store/migrations``.
SCHEMA_HEAD = "0010_step_request_time"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
WRITE_OPTION = "gpv_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Arbitrary constant key of the PostgreSQL advisory lock that serialises migrations.
_PG_MIGRATION_LOCK = 0x67707631

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone, so UTC is implied)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: gpv stores timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Stop pysqlite from emitting BEGIN/COMMIT on its own; _on_begin emits our BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default :func:`settings.database_url`), one per URL and process."""
    url = _normalise_url(url or settings.database_url())
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        try:
            if url.startswith("sqlite"):
                # hide_parameters: an error never carries the bound values (birth date, disability,
                # e-mail) into a message, a log or the terminal (issue 13, item 1).
                engine = create_engine(
                    url,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                    hide_parameters=True,
                )
                event.listen(engine, "connect", _sqlite_on_connect)
                event.listen(engine, "begin", _sqlite_on_begin)
            else:
                engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        except (ArgumentError, ImportError) as exc:
            raise ConfigError(
                f"{settings.DATABASE_URL_ENV}: Die Datenbank-URL {url!r} ist ungültig ({exc}); "
                "erwartet wird z. B. sqlite:///pfad/gpv.db oder postgresql+psycopg://user@host/gpv."
            ) from None
        if not _engines:
            # Close pooled connections when the process ends, also after an error exit: SQLite
            # then checkpoints and removes its -wal/-shm files, leaving only the database file.
            atexit.register(dispose_engines)
        _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; its transaction ends (rolled back) when the block ends."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls everything back on any exception.

    On SQLite the transaction starts with BEGIN IMMEDIATE, i.e. it waits (busy timeout) for the
    write lock before it reads anything, so what it reads cannot change under it.
    """
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database, or None for an empty database."""
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except DBAPIError as exc:
            if unavailable(exc, engine.url) is not None:
                raise  # a lost server or a broken file is not an empty database
            conn.rollback()
            return None
    return row[0] if row else None


def migrate(engine: Engine) -> None:
    """Apply the Alembic migrations up to the head (``alembic upgrade head``), once per process.

    Safe when several processes start at once: on SQLite the migration runs in a BEGIN IMMEDIATE
    transaction, on PostgreSQL under an advisory lock, and Alembic reads the current revision
    inside that transaction, so the second process finds the work done.
    """
    key = engine.url.render_as_string(hide_password=False)
    if key in _migrated:
        return
    try:
        _upgrade(engine)
    except DBAPIError as exc:
        problem = unavailable(exc, engine.url)
        if problem is None:
            raise
        raise problem from exc
    _migrated.add(key)


def _upgrade(engine: Engine) -> None:
    revision = current_revision(engine)
    if revision != SCHEMA_HEAD:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK}
                    )
                config.attributes["connection"] = conn
                command.upgrade(config, "head")


def ready_engine(url: str | None = None) -> Engine:
    """The engine for ``url``, migrated to the head: what every command starts with."""
    from workflows.store.anchor import sync_policy

    sync_policy()  # a bad GPV_AUDIT_ANCHOR_SYNC is refused before any command works (exit 2)
    engine = get_engine(url)
    migrate(engine)
    return engine


# ------------------------------------------------------------------ a database that cannot be used


@dataclass(frozen=True)
class _Problem:
    """What went wrong with the store ({where}, {detail}) and what the user can do about it."""

    what: str
    fix: str


_NOTHING_STORED = "Es wurde nichts gespeichert; "
_CORRUPT = _Problem(
    "Die Datenbank {where} ist beschädigt oder keine SQLite-Datenbank ({detail}); "
    "gpv hat sie nicht verändert.",
    "Bitte die Datei aus der letzten Sicherung zurückspielen oder "
    f"{settings.DATA_DIR_ENV} bzw. {settings.DATABASE_URL_ENV} auf die richtige Datenbank setzen.",
)
_FULL = _Problem(
    "Der Datenträger der Datenbank {where} ist voll ({detail}).",
    _NOTHING_STORED + "bitte Platz schaffen und den Befehl wiederholen.",
)
_READ_ONLY_FILE = _Problem(
    "Die Datenbank {where} ist schreibgeschützt ({detail}).",
    _NOTHING_STORED + "bitte Schreibrechte auf die Datei und ihren Ordner geben und den Befehl "
    "wiederholen.",
)
_READ_ONLY_SERVER = _Problem(
    "Die Datenbank {where} nimmt nur Lesezugriffe an ({detail}).",
    _NOTHING_STORED + f"bitte {settings.DATABASE_URL_ENV} auf den Primärserver statt einen "
    "Standby setzen und den Befehl wiederholen.",
)
_CANNOT_OPEN = _Problem(
    "Die Datenbank {where} lässt sich nicht öffnen ({detail}).",
    "Bitte prüfen, ob Datei und Ordner existieren und gpv sie lesen und schreiben darf.",
)
_DISK_ERROR = _Problem(
    "Beim Zugriff auf die Datenbank {where} meldet der Datenträger einen Fehler ({detail}).",
    _NOTHING_STORED + "bitte den Datenträger prüfen und den Befehl wiederholen; hilft das nicht, "
    "die letzte Sicherung zurückspielen.",
)
_BUSY = _Problem(
    "Die Datenbank {where} ist länger als "
    f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s von einem anderen Vorgang gesperrt ({{detail}}).",
    _NOTHING_STORED + "bitte den Befehl später wiederholen.",
)
_UNREACHABLE = _Problem(
    "Die Datenbank {where} ist nicht erreichbar ({detail}).",
    _NOTHING_STORED + "bitte prüfen, ob der Datenbankserver läuft und "
    f"{settings.DATABASE_URL_ENV} stimmt, und den Befehl dann wiederholen.",
)
_LOST = _Problem(
    "Die Verbindung zur Datenbank {where} ist mitten im Befehl abgebrochen ({detail}).",
    "Der Schritt wurde NICHT gespeichert (die Transaktion ist verworfen) und kann wiederholt "
    "werden, sobald der Datenbankserver wieder läuft.",
)
_LOST_AT_COMMIT = _Problem(
    "Die Verbindung zur Datenbank {where} ist genau beim Speichern abgebrochen ({detail}).",
    "Ob der Schritt gespeichert wurde, ist offen: bitte, sobald der Datenbankserver wieder läuft, "
    "nachsehen (z. B. gpv case show), bevor der Befehl wiederholt wird.",
)
_SERVER_BUSY = _Problem(
    "Der Datenbankserver von {where} hat den Befehl abgebrochen ({detail}).",
    _NOTHING_STORED + "bitte den Befehl wiederholen, sobald der Server wieder bereit ist.",
)

#: SQLite primary result codes (the low byte of ``sqlite_errorcode``) that mean the store, not
#: the program, is at fault. SQLITE_ERROR (1, e.g. "no such table") is a bug and not listed.
_SQLITE_PROBLEMS = {
    5: _BUSY,  # SQLITE_BUSY: the busy timeout ran out
    6: _BUSY,  # SQLITE_LOCKED
    8: _READ_ONLY_FILE,  # SQLITE_READONLY
    10: _DISK_ERROR,  # SQLITE_IOERR
    11: _CORRUPT,  # SQLITE_CORRUPT: "database disk image is malformed"
    13: _FULL,  # SQLITE_FULL
    14: _CANNOT_OPEN,  # SQLITE_CANTOPEN
    26: _CORRUPT,  # SQLITE_NOTADB: "file is not a database"
}
#: PostgreSQL SQLSTATE prefixes; the first match counts. Class 40 (deadlock, serialization
#: failure) is an OperationalError too, but a conflict between writers and deliberately not listed.
_POSTGRES_PROBLEMS = (
    ("25006", _READ_ONLY_SERVER),  # read_only_sql_transaction (a standby)
    ("53100", _FULL),  # disk_full
    ("57P03", _UNREACHABLE),  # cannot_connect_now: the server starts or shuts down
    ("57P", _LOST),  # admin_shutdown, crash_shutdown: the server went away
    ("08", _UNREACHABLE),  # connection_exception
    ("53", _SERVER_BUSY),  # insufficient resources: memory, too many connections
    ("55P03", _SERVER_BUSY),  # lock_not_available (a lock_timeout set on the server)
    ("57014", _SERVER_BUSY),  # query_canceled (statement_timeout, pg_cancel_backend)
    ("58", _DISK_ERROR),  # system error: I/O
)


def unavailable(exc: BaseException, url: URL | str | None = None) -> StoreUnavailableError | None:
    """The :class:`StoreUnavailableError` for a database error that is the store's fault, or None
    for anything else (a constraint violated by a bug, bad SQL: those stay internal errors).

    The store's fault: a server that cannot be reached or went away mid-command (the connection
    was invalidated), a file that is no SQLite database or is damaged, a full or read-only disk.
    ``url`` (default: :func:`settings.database_url`) names the database, without its password;
    the message never quotes the driver's text beyond a connection failure, nor a bound value.
    """
    if not isinstance(exc, DBAPIError):
        return None
    problem, detail = _classify(exc)
    if problem is None:
        return None
    where = _where(url)
    return StoreUnavailableError(
        problem.what.format(where=where, detail=detail) + " " + problem.fix
    )


def _classify(exc: DBAPIError) -> tuple[_Problem | None, str]:
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if sqlite_code is not None:
        name = getattr(orig, "sqlite_errorname", None) or f"SQLite-Fehler {sqlite_code}"
        return _SQLITE_PROBLEMS.get(sqlite_code & 0xFF), name
    sqlstate = getattr(orig, "sqlstate", None) or ""
    detail = f"{type(orig).__name__}" + (f", SQLSTATE {sqlstate}" if sqlstate else "")
    problem = next((p for prefix, p in _POSTGRES_PROBLEMS if sqlstate.startswith(prefix)), None)
    if exc.connection_invalidated or problem is _LOST:
        return (_LOST_AT_COMMIT if _during_commit(exc) else _LOST), detail
    if problem is None and isinstance(exc, OperationalError) and not sqlstate:
        # No SQLSTATE: the driver failed to connect; its first line says why (no values in it).
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else detail
        return _UNREACHABLE, reason
    return problem, detail


def _during_commit(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while the driver committed, i.e. the outcome is unknown."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_commit_impl":
            return True
        tb = tb.tb_next
    return False


def _where(url: URL | str | None) -> str:
    """The database as a user recognises it: the file of SQLite, else the URL without password."""
    try:
        parsed = (
            url
            if isinstance(url, URL)
            else make_url(_normalise_url(url or settings.database_url()))
        )
    except (ArgumentError, ConfigError):
        return f"aus {settings.DATABASE_URL_ENV}"
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)
