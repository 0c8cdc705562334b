"""End to end: ``gpv run`` as a user starts it, ``gpv fire`` through it, SIGTERM, nothing left.

Runs the real command in its own data folder on a free port: the Prefect server (API and
dashboard), the served deployments, a fire through the command line found again by its
``case:<id>`` tag, the ``overdue-deadlines`` artifact after the sweep, and a clean stop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from workflows.orchestration.server import free_port, is_healthy, is_port_free

pytestmark = pytest.mark.slow

GPV = [sys.executable, "-c", "from workflows.cli import main; main()"]


def _wait_for(what: str, check: Callable[[], Any], timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(f"{what}: not within {timeout:.0f} s. gpv run said:\n{tail}")


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GPV_"))}
    clean.update(
        {
            "GPV_DATA_DIR": str(tmp_path / "data"),
            "GPV_RUNNER_POLL_SECONDS": "1",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return clean


def _gpv(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GPV, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _open_case(env: dict[str, str], received: date) -> str:
    done = _gpv(
        env, "case", "open", "--received", received.isoformat(), "--birth-date", "1990-05-17",
        "--municipality", "Unna", "--disability", "mental", "--benefit", "supported_living",
        "--school-finished", "2008-07-01", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["id"])


@pytest.fixture
def gpv_run(
    env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    log = tmp_path / "gpv-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*GPV, "run", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc, port, log
    finally:
        if proc.poll() is None:  # the test failed half-way: do not leave anything behind
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_gpv_run_serves_fires_sweeps_and_stops_cleanly(
    env: dict[str, str], gpv_run: tuple[subprocess.Popen[bytes], int, Path]
) -> None:
    import httpx

    proc, port, log = gpv_run
    base = f"http://127.0.0.1:{port}"
    api = f"{base}/api"
    today = date.today()
    overdue_case = _open_case(env, today - timedelta(days=25))  # § 14 Abs. 1: 2 weeks, missed
    fresh_case = _open_case(env, today - timedelta(days=1))

    _wait_for("health", lambda: is_healthy(api), 120, log)
    _wait_for("Dashboard line", lambda: b"Dashboard:" in log.read_bytes(), 120, log)
    servers = [p for p in _children(proc.pid) if "prefect server start" in _cmdline(p)]
    assert len(servers) == 1
    server_pid = servers[0]

    fired = _gpv({**env, "PREFECT_API_URL": api}, "fire", fresh_case, "accept_jurisdiction")
    assert fired.returncode == 0, fired.stderr

    with httpx.Client(base_url=api, timeout=10) as client:
        runs = client.post(
            "/flow_runs/filter",
            json={"flow_runs": {"tags": {"all_": [f"case:{fresh_case}"]}}},
        ).json()
        assert len(runs) == 1
        assert runs[0]["name"] == f"accept-jurisdiction-{fresh_case.lower()}"
        assert runs[0]["state"]["type"] == "COMPLETED"
        assert {"trigger:accept_jurisdiction", "party:lwl"} <= set(runs[0]["tags"])

        def overdue_artifact() -> Any:
            found = client.post(
                "/artifacts/latest/filter",
                json={"artifacts": {"key": {"any_": ["overdue-deadlines"]}}},
            ).json()
            return found if found and overdue_case in json.dumps(found[0]["data"]) else None

        _wait_for("overdue-deadlines artifact", overdue_artifact, 90, log)
        assert httpx.get(f"{base}/", timeout=10).status_code == 200

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not _alive(server_pid)
    _wait_for("port released", lambda: is_port_free("127.0.0.1", port), 15, log)
    assert not is_healthy(api, timeout=1)
