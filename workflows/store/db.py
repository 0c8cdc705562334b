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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from states.errors import ConfigError
from workflows import settings

#: The newest Alembic revision; a test checks it against the scripts in
#: ``workflows/store/migrations``.
SCHEMA_HEAD = "0004_forwarding_chain"
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
        except DBAPIError:
            conn.rollback()
            return None
    return row[0] if row else None


def _unreachable(engine: Engine, exc: Exception) -> ConfigError:
    where = engine.url.render_as_string(hide_password=True)
    return ConfigError(
        f"{settings.DATABASE_URL_ENV}: Die Datenbank {where} ist nicht erreichbar "
        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
    )


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
        revision = current_revision(engine)
    except OperationalError as exc:
        raise _unreachable(engine, exc) from None
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
    _migrated.add(key)


def ready_engine(url: str | None = None) -> Engine:
    """The engine for ``url``, migrated to the head: what every command starts with."""
    engine = get_engine(url)
    migrate(engine)
    return engine
