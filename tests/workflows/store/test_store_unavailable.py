"""A database that cannot be used, or a file that cannot be read, is a clear message, never an
internal error: exit 4 for the store (issue 13), exit 2 for a configuration file or folder.

The commands run in-process through ``workflows.cli.main``, as the console script does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from tests.workflows.cli.test_cli_cases import OPEN_ADULT as OPEN_CASE
from workflows.cli import main
from workflows.store.db import dispose_engines, unavailable

FIRST_CASE = "C-2026-000001"


@pytest.fixture
def gpv(tmp_path, monkeypatch, capsys) -> Iterator[Gpv]:
    for name in ("GPV_DATABASE_URL", "GPV_CONFIG", "GPV_AGREEMENT", "GPV_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GPV_USER", "fm.mueller")
    yield Gpv(tmp_path, capsys)
    dispose_engines()


class Gpv:
    """``gpv`` in this process; returns (exit code, stderr) and checks there is no traceback."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = data_dir
        self.database = data_dir / "gpv.db"
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str]:
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exited:
            code = int(exited.code or 0)
        finally:
            dispose_engines()  # the next call opens the file afresh, as a new process would
        err = self.capsys.readouterr().err
        assert "Traceback" not in err and "Interner Fehler" not in err, err
        return code, err

    def database_files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.data_dir.glob("gpv.db*"))}


# --------------------------------------------------------------------- a broken database file


def _first_100_bytes(good: bytes) -> bytes:
    return good[:100]


def _first_page_only(good: bytes) -> bytes:
    return good[:4096]


def _not_a_database(good: bytes) -> bytes:
    return b"Gesamtplan 2026\n" * 64


@pytest.mark.parametrize("damage", [_first_100_bytes, _first_page_only, _not_a_database])
def test_a_damaged_database_file_exits_4_and_stays_byte_for_byte_unchanged(gpv, damage):
    assert gpv(*OPEN_CASE)[0] == 0
    gpv.database.write_bytes(damage(gpv.database.read_bytes()))
    before = gpv.database_files()
    assert list(before) == ["gpv.db"]

    for command in (["case", "list"], OPEN_CASE, ["fire", FIRST_CASE, "accept_jurisdiction"]):
        code, err = gpv(*command)

        assert code == 4, command
        # A line starts with it (notes such as "gpv fire: ohne Server …" may come first).
        assert f"\nFehler: Die Datenbank {gpv.database} ist beschädigt oder keine " in "\n" + err
        assert "SQLite-Datenbank" in err and "Sicherung zurückspielen" in err
        assert "nicht verändert" in err
        assert gpv.database_files() == before


def test_an_empty_database_file_is_a_new_database(gpv):
    gpv.database.write_bytes(b"")
    assert gpv("case", "list") == (0, "")
    assert gpv(*OPEN_CASE)[0] == 0


def test_a_read_only_database_refuses_a_write_with_exit_4_and_still_answers_reads(gpv, monkeypatch):
    assert gpv(*OPEN_CASE)[0] == 0
    before = gpv.database.read_bytes()
    monkeypatch.setenv("GPV_DATABASE_URL", f"sqlite:///file:{gpv.database}?mode=ro&uri=true")

    code, err = gpv("fire", FIRST_CASE, "accept_jurisdiction")

    assert code == 4
    assert "ist schreibgeschützt (SQLITE_READONLY)" in err
    assert "Es wurde nichts gespeichert" in err and "Schreibrechte" in err
    assert gpv("case", "show", FIRST_CASE)[0] == 0
    # (a read-only connection cannot remove its -wal/-shm files; the database itself is intact)
    assert gpv.database.read_bytes() == before


def test_a_database_path_that_is_a_folder_exits_4_naming_it(gpv):
    gpv.database.mkdir()
    code, err = gpv("case", "list")
    assert code == 4
    assert f"Die Datenbank {gpv.database} lässt sich nicht öffnen (SQLITE_CANTOPEN)" in err


# ----------------------------------------------------------- configuration files and folders


def test_gpv_config_naming_a_folder_is_bad_input_naming_the_folder_and_the_fix(
    gpv, tmp_path, monkeypatch
):
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv("GPV_CONFIG", str(folder))
    code, err = gpv("config", "show")
    assert code == 2
    assert f"{folder}: Die Konfigurationsdatei ist ein Ordner, keine Datei" in err
    assert "bitte GPV_CONFIG auf eine lesbare TOML-Datei setzen" in err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[smtp\nhost = 1", "ist kein gültiges TOML"),
        (b"\xff\xfe[smtp]", "ist nicht in UTF-8 gespeichert (Byte 1)"),
    ],
)
def test_gpv_config_that_is_not_toml_is_bad_input(gpv, tmp_path, monkeypatch, content, problem):
    file = tmp_path / "gpv-config.toml"
    file.write_bytes(content)
    monkeypatch.setenv("GPV_CONFIG", str(file))
    code, err = gpv("config", "show")
    assert code == 2
    assert f"{file}: Die Konfigurationsdatei {problem}" in err


def test_gpv_agreement_naming_a_folder_is_bad_input_naming_the_folder_and_the_fix(
    gpv, tmp_path, monkeypatch
):
    folder = tmp_path / "agreement"
    folder.mkdir()
    monkeypatch.setenv("GPV_AGREEMENT", str(folder))
    code, err = gpv(*OPEN_CASE)
    assert code == 2
    assert f"{folder}: Die Vereinbarungsdatei ist ein Ordner, keine Datei" in err
    assert "bitte GPV_AGREEMENT auf eine lesbare TOML-Datei setzen" in err
    monkeypatch.delenv("GPV_AGREEMENT")
    assert gpv("case", "list") == (0, "")


def test_an_audit_anchor_sync_that_is_neither_commit_nor_milliseconds_is_bad_input(
    gpv, monkeypatch
):
    monkeypatch.setenv("GPV_AUDIT_ANCHOR_SYNC", "sometimes")
    code, err = gpv(*OPEN_CASE)
    assert code == 2
    assert "GPV_AUDIT_ANCHOR_SYNC='sometimes': erwartet „commit“" in err
    monkeypatch.setenv("GPV_AUDIT_ANCHOR_SYNC", "commit")
    assert gpv("case", "list") == (0, "")  # nothing was opened


def test_gpv_agreement_that_is_not_utf8_is_bad_input(gpv, tmp_path, monkeypatch):
    file = tmp_path / "agreement.toml"
    file.write_bytes(b"title = '\xe4'")
    monkeypatch.setenv("GPV_AGREEMENT", str(file))
    code, err = gpv(*OPEN_CASE)
    assert code == 2
    assert "Die Vereinbarungsdatei ist nicht in UTF-8 gespeichert (Byte 10)" in err


def test_gpv_data_dir_naming_a_file_is_bad_input(gpv, tmp_path, monkeypatch):
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    monkeypatch.setenv("GPV_DATA_DIR", str(file))
    code, err = gpv("case", "list")
    assert code == 2
    assert f"Der Datenordner '{file}' ist eine Datei, kein Ordner" in err
    assert "bitte GPV_DATA_DIR auf einen beschreibbaren Ordner setzen" in err
    monkeypatch.setenv("GPV_DATA_DIR", str(file / "below"))
    code, err = gpv("case", "list")
    assert code == 2
    assert "ein übergeordneter Pfad ist eine Datei" in err


# -------------------------------------------------------------------------- the classification


def _sqlite_error(kind: type[sqlite3.Error], code: int, name: str) -> sqlite3.Error:
    error = kind("driver text with secret@example.org")
    error.sqlite_errorcode = code
    error.sqlite_errorname = name
    return error


PG_URL = "postgresql+psycopg://gpv:s3cret@db.example:5432/gpv"


@pytest.mark.parametrize(
    ("wrapper", "orig", "expected"),
    [
        (OperationalError, _sqlite_error(sqlite3.OperationalError, 13, "SQLITE_FULL"), "voll"),
        (OperationalError, _sqlite_error(sqlite3.OperationalError, 5, "SQLITE_BUSY"), "gesperrt"),
        (
            OperationalError,
            _sqlite_error(sqlite3.OperationalError, 778, "SQLITE_IOERR_WRITE"),
            "meldet der Datenträger einen Fehler",
        ),
        (OperationalError, psycopg.errors.AdminShutdown("bye"), "mitten im Befehl abgebrochen"),
        (OperationalError, psycopg.errors.DiskFull("full"), "ist voll"),
        (OperationalError, psycopg.errors.CannotConnectNow("starting"), "nicht erreichbar"),
        (OperationalError, psycopg.errors.TooManyConnections("many"), "abgebrochen"),
        (
            DBAPIError,
            psycopg.errors.ReadOnlySqlTransaction("standby"),
            "nimmt nur Lesezugriffe an",
        ),
        (
            OperationalError,
            psycopg.OperationalError("connection failed: Connection refused"),
            "nicht erreichbar (connection failed: Connection refused)",
        ),
    ],
)
def test_store_failures_become_exit_4_naming_the_database_without_password_or_values(
    wrapper, orig, expected
):
    problem = unavailable(
        wrapper("INSERT ...", {"email": "secret@example.org"}, orig, hide_parameters=True),
        PG_URL,
    )
    assert problem is not None and problem.exit_code == 4
    assert expected in problem.message
    assert "gpv:***@db.example:5432/gpv" in problem.message
    assert "s3cret" not in problem.message and "secret@example.org" not in problem.message


@pytest.mark.parametrize(
    ("wrapper", "orig"),
    [
        (OperationalError, _sqlite_error(sqlite3.OperationalError, 1, "SQLITE_ERROR")),
        (IntegrityError, _sqlite_error(sqlite3.IntegrityError, 2067, "SQLITE_CONSTRAINT_UNIQUE")),
        (IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
        (ProgrammingError, psycopg.errors.UndefinedTable("no table")),
        (OperationalError, psycopg.errors.DeadlockDetected("deadlock")),
    ],
)
def test_programming_errors_and_writer_conflicts_stay_internal_errors(wrapper, orig):
    assert unavailable(wrapper("SELECT 1", {}, orig), PG_URL) is None
    assert unavailable(ValueError("not a database error"), PG_URL) is None


def test_a_connection_invalidated_mid_command_says_the_step_was_not_stored():
    error = OperationalError(
        "UPDATE cases ...",
        {},
        psycopg.OperationalError("server closed"),
        connection_invalidated=True,
    )
    problem = unavailable(error, PG_URL)
    assert problem is not None
    assert "mitten im Befehl abgebrochen (OperationalError)" in problem.message
    assert "NICHT gespeichert" in problem.message and "wiederholt" in problem.message
