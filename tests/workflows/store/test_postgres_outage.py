"""PostgreSQL going away in the middle of ``gpv fire``: exit 4 with a German message, and the
store afterwards as if the command had never run (issue 13).

The server is a PRIVATE cluster that this module starts on a free port (never the shared server
on 5432, which the test would otherwise kill). A second connection holds the audit chain's head
row ``FOR UPDATE``, so the command deterministically waits inside its write transaction, after it
has updated the case, until the server is killed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from states.errors import StoreUnavailableError
from workflows import service
from workflows.store.db import dispose_engines, get_engine, migrate, ready_engine

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

GPV = str(Path(sys.executable).with_name("gpv"))
INITDB = ("-A", "trust", "-U", "postgres", "-E", "UTF8")
STOP_NOW = ("-m", "immediate", "stop")


def _postgres_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster; as root it runs as the ``postgres`` user (initdb refuses
    root), in a folder that user owns."""

    bin: Path
    root: Path
    port: int
    as_user: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def pg_ctl(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"pg_ctl {' '.join(args)} failed: {done.stderr}\n{tail}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        self.pg_ctl("-w", "-t", "60", "-l", str(self.root / "log"), "-o", options, "start")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def crash(self) -> None:
        """SIGKILL the postmaster and then its children: a server that is simply gone."""
        pid = self.postmaster_pid()
        children = [int(p) for p in _children(pid)]
        os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in [pid, *children]) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Where nobody reaps the killed postmaster (a container's init), its zombie keeps its
        # PID, and a new postmaster would take the stale lock files for a running server.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for stale in self.root.glob(f".s.PGSQL.{self.port}*"):
            stale.unlink(missing_ok=True)

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=5"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"


def _children(pid: int) -> list[str]:
    done = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return done.stdout.split()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of pg_ctl's shell is a zombie until reaped; it no longer holds anything.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pg_bin = _postgres_bin()
    if pg_bin is None:
        if os.environ.get("GPV_REQUIRE_POSTGRES") == "1":
            pytest.fail("GPV_REQUIRE_POSTGRES=1 but no PostgreSQL binaries (initdb) were found")
        pytest.skip("no PostgreSQL binaries (initdb) to start a private server")
    root = Path(tempfile.mkdtemp(prefix="gpv-pg-outage-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    server = Cluster(pg_bin, root, _free_port(), as_user)
    try:
        subprocess.run(
            [*as_user, str(pg_bin / "initdb"), "--no-sync", "-D", str(server.data), *INITDB],
            check=True,
            capture_output=True,
            timeout=120,
        )
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, str(pg_bin / "pg_ctl"), "-D", str(server.data), *STOP_NOW],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def _gpv(url: str, data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GPV_DATABASE_URL": url, "GPV_DATA_DIR": str(data_dir)}
    env["GPV_USER"] = "fm.mueller"
    return subprocess.Popen(
        [GPV, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _open_case(url: str) -> str:
    engine = get_engine(url)
    try:
        migrate(engine)
        return str(
            service.open_case(
                engine,
                received=date(2026, 3, 2),
                birth_date=date(1990, 5, 17),
                municipality="Unna",
                disabilities="mental",
                benefit="supported_living",
                at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                by="fm",
            )["id"]
        )
    finally:
        dispose_engines()


def _case_and_chain(url: str, case_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    engine = ready_engine(url)
    try:
        return service.show_case(engine, case_id), service.audit_verify(engine)
    finally:
        dispose_engines()


def _wait_until_blocked(cluster: Cluster, dbname: str, holder_pid: int) -> None:
    """Until a session other than the holder waits for a lock (the command, mid-transaction)."""
    with psycopg.connect(cluster.conninfo(dbname), autocommit=True) as watcher:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s "
                "AND wait_event_type = 'Lock'",
                (dbname, holder_pid),
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    pytest.fail("gpv fire never waited for the audit head's lock")


def _stop_fast(cluster: Cluster) -> None:
    cluster.pg_ctl("-m", "fast", "-w", "stop")  # the backends get AdminShutdown (57P01)


@pytest.mark.parametrize("outage", [Cluster.crash, _stop_fast], ids=["sigkill", "fast-shutdown"])
def test_postgres_gone_in_the_middle_of_fire_exits_4_and_the_step_is_not_stored(
    cluster, tmp_path, outage
):
    if not (cluster.data / "postmaster.pid").exists():
        cluster.start()  # an earlier test failed before it could restart the server
    dbname = f"gpv_outage_{outage.__name__.strip('_')}"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    url = cluster.url(dbname)
    case_id = _open_case(url)
    before, _ = _case_and_chain(url, case_id)
    fire = ["fire", case_id, "accept_jurisdiction", "--at", "2026-03-03"]

    holder = psycopg.connect(cluster.conninfo(dbname))
    try:
        holder.execute("SELECT * FROM audit_chain_head FOR UPDATE")
        command = _gpv(url, tmp_path, *fire)
        _wait_until_blocked(cluster, dbname, holder.info.backend_pid)
        outage(cluster)
        out, err = command.communicate(timeout=60)
    finally:
        holder.close()

    assert command.returncode == 4, err
    assert "Traceback" not in err and "Interner Fehler" not in err, err
    assert (  # a line starts with it (notes such as "gpv fire: ohne Server …" may come first)
        f"\nFehler: Die Verbindung zur Datenbank {url} ist mitten im Befehl abgebrochen"
        in "\n" + err
    ), err
    assert "Der Schritt wurde NICHT gespeichert" in err and "wiederholt" in err
    assert out == ""

    # While the server is down, the next command stops at start-up: exit 4, not "bad input".
    with pytest.raises(StoreUnavailableError, match=re.escape(f"Die Datenbank {url} ist nicht")):
        _case_and_chain(url, case_id)

    cluster.start()
    after, chain = _case_and_chain(url, case_id)
    assert after == before  # neither the state, the version nor the history moved
    assert chain["ok"], chain
    again = _gpv(url, tmp_path, *fire)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    after, chain = _case_and_chain(url, case_id)
    assert after["status"] != before["status"] and after["version"] == before["version"] + 1
    assert chain["ok"], chain
