"""Beyond one machine: gpv's deployments on a Prefect work pool, run by separate workers.

``gpv run`` serves the deployments from one process. To spread the flow runs over several
processes or machines, the same flows are deployed to a **process work pool** and executed by
``prefect worker start`` processes that poll it (docs/scale-out.md has the whole picture, the
Kubernetes path and the measured figures):

1. :func:`ensure_process_pool` creates the pool once (idempotent).
2. :func:`deploy_to_pool` registers the deployments with ``flow.from_source(<project root>,
   "workflows/orchestration/flows.py:<flow>")``: each run first changes into the project folder (the
   deployment's pull step), then imports the flow from there. The ``fire-trigger`` deployment keeps
   its name; ``gpv fire`` creates its runs of ``fire-trigger/fire-trigger`` ``Pending`` and
   carries them out itself, so the pool's workers run the ones started from the dashboard.
3. :class:`WorkerGroup` starts N workers as child processes with the environment they need
   (``PREFECT_API_URL``, ``GPV_DATABASE_URL``, ``GPV_DATA_DIR``) and stops them again.

Every worker and every flow run it starts must reach the same Prefect API and the same application
database; with more than one machine that means PostgreSQL for both (SQLite is one file, one host).

Command line (the variables above must be set; ``PREFECT_API_URL`` names the server)::

    python -m workflows.orchestration.pool deploy  [--pool gpv-process] [--all]
    python -m workflows.orchestration.pool workers [--pool gpv-process] [--count 2] [--limit 4]

Nothing here imports Prefect at module level (importing it is slow).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Self
from uuid import UUID

from states.errors import ConfigError, GpvError
from workflows.orchestration._process import signal_group, tail
from workflows.orchestration.deployments import (
    ALERT_FLOW,
    DEPLOYMENTS,
    FIRE_FLOW,
    FLOWS_FILE,
    SWEEP_FLOW,
)

DEFAULT_POOL = "gpv-process"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 15.0
#: How often a worker asks the pool for runs (Prefect's default is 10 s; it bounds the pick-up of a
#: scheduled run, e.g. one started from the dashboard).
DEFAULT_QUERY_SECONDS = 2.0

_SUBMITTED = re.compile(r"Worker '(?P<worker>[^']+)' submitting flow run '(?P<run>[0-9a-f-]{36})'")


class ScaleOutError(GpvError):
    """A work pool, deployment or worker could not be set up; the message says why."""


def ensure_process_pool(name: str = DEFAULT_POOL, *, concurrency_limit: int | None = None) -> UUID:
    """The id of the process work pool ``name``, created with Prefect's default base job template
    for process workers if it does not exist yet. An existing pool is left as it is, unless it is
    of another type (then :class:`ScaleOutError`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            try:
                pool = client.create_work_pool(
                    WorkPoolCreate(
                        name=name,
                        type=ProcessWorker.type,
                        base_job_template=ProcessWorker.get_default_base_job_template(),
                        concurrency_limit=concurrency_limit,
                        description="gpv: Flow-Läufe in eigenen Prozessen (prefect worker start)",
                    )
                )
            except ObjectAlreadyExists:  # created at the same moment by someone else
                pool = client.read_work_pool(name)
    if pool.type != ProcessWorker.type:
        raise ScaleOutError(
            f"Der Work-Pool {name!r} ist vom Typ {pool.type!r}, erwartet wird 'process'. "
            "Bitte einen anderen Namen wählen (--pool)."
        )
    return pool.id


def deploy_to_pool(
    pool: str = DEFAULT_POOL,
    *,
    names: Iterable[str] = (FIRE_FLOW,),
    source: Path | str = PROJECT_ROOT,
    schedules: bool = True,
    python: str = sys.executable,
    job_variables: Mapping[str, Any] | None = None,
) -> dict[str, UUID]:
    """Register (upsert) the named deployments on the work pool ``pool``; name → deployment id.

    ``source`` is the project folder and ``python`` the interpreter (with gpv installed) as the
    *workers* see them: the same paths on every worker machine. Each run is started as
    ``<python> -m prefect.engine``; naming the command skips the process worker's default
    "workspace supervisor" process, which costs CPU on every run (figures: docs/scale-out.md).
    With ``schedules`` the sweep, dispatch and report deployments get ``gpv run``'s intervals.
    When both ``sweep-deadlines`` and ``alert-supervisor`` are deployed, the alert automation of
    ``gpv run`` is set up as well.
    """
    from prefect import flow as prefect_flow

    chosen = list(names)
    unknown = [n for n in chosen if n not in DEPLOYMENTS]
    if unknown:
        raise ConfigError(
            f"Unbekannte Bereitstellung(en) {', '.join(unknown)}; "
            f"bekannt sind: {', '.join(DEPLOYMENTS)}."
        )
    root = Path(source)
    if not (root / FLOWS_FILE).is_file():
        raise ConfigError(f"{root}: hier liegt kein gpv-Projekt ({FLOWS_FILE} fehlt).")
    ensure_process_pool(pool)
    ids: dict[str, UUID] = {}
    for name in chosen:
        entrypoint = DEPLOYMENTS[name].entrypoint
        # Called from sync code these return values, not coroutines (Prefect's sync/async dual).
        loaded: Any = prefect_flow.from_source(source=str(root), entrypoint=entrypoint)
        deployment: Any = loaded.to_deployment(
            name=name,
            work_pool_name=pool,
            job_variables={"command": f"{python} -m prefect.engine", **(job_variables or {})},
            interval=DEPLOYMENTS[name].interval_s if schedules else None,
            tags=["gpv", f"pool:{pool}"],
            description=f"gpv: {name} über den Work-Pool {pool}",
        )
        ids[name] = deployment.apply()
    if SWEEP_FLOW in ids and ALERT_FLOW in ids:
        from workflows.orchestration.serve import ensure_alert_automation

        ensure_alert_automation(ids[SWEEP_FLOW], ids[ALERT_FLOW])
    return ids


def worker_environment(
    api_url: str,
    *,
    database_url: str,
    data_dir: Path | str,
    prefect_home: Path | str | None = None,
    query_seconds: float = DEFAULT_QUERY_SECONDS,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a worker and of every flow run it starts (runs inherit it).

    Starts from this process's environment without its ``PREFECT_*`` settings, so a developer's
    own profile or a test harness cannot leak into the workers.
    """
    home = Path(prefect_home) if prefect_home is not None else Path(data_dir) / "prefect"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_WORKER_QUERY_SECONDS": str(query_seconds),
            "GPV_DATABASE_URL": database_url,
            "GPV_DATA_DIR": str(data_dir),
        }
    )
    env.update(extra or {})
    return env


@dataclass
class WorkerProcess:
    """One ``prefect worker start --type process`` child in its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class WorkerGroup:
    """N process workers on one pool. Use as a context manager, or :meth:`start` / :meth:`stop`.

    Each worker writes its console output to ``<log_dir>/<name>.log``. ``stop`` sends SIGINT (the
    worker's graceful shutdown), then SIGTERM and SIGKILL to the whole process group, so neither a
    worker nor a flow run it started survives; it is idempotent.
    """

    pool: str
    env: Mapping[str, str]
    log_dir: Path
    count: int = 2
    limit: int | None = 4
    prefix: str = "gpv-worker"
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [f"{self.prefix}-{i + 1}" for i in range(self.count)]

    def start(self, *, wait: float = 90.0) -> Self:
        """Start the workers and wait until each has registered with the pool (heartbeat)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name in self.names:
                self.workers.append(self._spawn(name))
            self.wait_online(wait)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str) -> WorkerProcess:
        command = [
            sys.executable,
            "-m",
            "prefect",
            "worker",
            "start",
            "--pool",
            self.pool,
            "--type",
            "process",
            "--name",
            name,
            "--install-policy",
            "never",
            "--no-create-pool-if-not-found",
        ]
        if self.limit is not None:
            command += ["--limit", str(self.limit)]
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("ab")
        process = subprocess.Popen(
            command,
            env=dict(self.env),
            cwd=str(PROJECT_ROOT),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return WorkerProcess(name=name, process=process, log_path=log_path, log=log)

    def wait_online(self, timeout: float) -> None:
        """Until every worker of this group shows as ONLINE in the pool."""
        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + timeout
        wanted = set(self.names)
        online: set[str] = set()
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                for worker in self.workers:
                    if not worker.alive():
                        raise ScaleOutError(
                            f"Der Worker {worker.name} hat sich beim Start beendet (Exit-Code "
                            f"{worker.process.returncode}). Protokoll: {worker.log_path}\n"
                            f"{tail(worker.log_path)}"
                        )
                online = {
                    w.name
                    for w in client.read_workers_for_work_pool(self.pool)
                    if str(getattr(w.status, "value", w.status)).upper() == "ONLINE"
                }
                if wanted <= online:
                    return
                time.sleep(0.5)
        raise ScaleOutError(
            f"Nach {timeout:.0f} s sind nicht alle Worker im Pool {self.pool!r} angemeldet "
            f"(fehlen: {', '.join(sorted(wanted - online))}). Protokolle in {self.log_dir}."
        )

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            if worker.alive():
                signal_group(worker.process.pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(worker.process.pid, signal.SIGTERM)
                try:
                    worker.process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    signal_group(worker.process.pid, signal.SIGKILL)
                    worker.process.wait()
            # flow-run processes the worker started in its group go too
            signal_group(worker.process.pid, signal.SIGKILL)
            worker.log.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def runs_by_worker(log_lines: Iterable[str]) -> dict[str, str]:
    """Flow run id → name of the worker that submitted it, from the workers' log line
    ``Worker '<name>' submitting flow run '<id>'`` (in the worker's console and in each flow
    run's logs on the dashboard)."""
    found: dict[str, str] = {}
    for line in log_lines:
        for match in _SUBMITTED.finditer(line):
            found[match["run"]] = match["worker"]
    return found


def submitted_runs(group: WorkerGroup | Sequence[Path]) -> dict[str, str]:
    """:func:`runs_by_worker` over the console logs of a worker group (or of the given files)."""
    paths = (
        [group.log_dir / f"{name}.log" for name in group.names]
        if isinstance(group, WorkerGroup)
        else list(group)
    )
    lines: list[str] = []
    for path in paths:
        with contextlib.suppress(OSError):
            lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return runs_by_worker(lines)


# ------------------------------------------------------------------------------- command line


def _require_api_url() -> str:
    url = (os.environ.get("PREFECT_API_URL") or "").strip()
    if not url:
        raise ConfigError(
            "PREFECT_API_URL fehlt: bitte die Adresse des Prefect-Servers setzen, "
            "z. B. PREFECT_API_URL=http://prefect.intern:4200/api."
        )
    return url


def main(argv: Sequence[str] | None = None) -> int:
    from workflows import settings

    parser = argparse.ArgumentParser(
        prog="python -m workflows.orchestration.pool",
        description="gpv auf einem Prefect-Work-Pool mit mehreren Workern.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    deploy = sub.add_parser("deploy", help="Work-Pool anlegen und Bereitstellungen registrieren.")
    deploy.add_argument("--pool", default=DEFAULT_POOL)
    deploy.add_argument(
        "--all", action="store_true", help="alle fünf Bereitstellungen (sonst nur fire-trigger)"
    )
    deploy.add_argument("--source", default=str(PROJECT_ROOT), help="Projektordner der Worker")
    deploy.add_argument("--python", default=sys.executable, help="Python der Worker (mit gpv)")
    deploy.add_argument("--no-schedules", action="store_true")
    workers = sub.add_parser("workers", help="N Worker starten, bis Strg+C oder SIGTERM.")
    workers.add_argument("--pool", default=DEFAULT_POOL)
    workers.add_argument("--count", type=int, default=2)
    workers.add_argument("--limit", type=int, default=4, help="gleichzeitige Läufe je Worker")
    args = parser.parse_args(argv)

    try:
        api_url = _require_api_url()
        if args.command == "deploy":
            names = list(DEPLOYMENTS) if args.all else [FIRE_FLOW]
            ids = deploy_to_pool(
                args.pool,
                names=names,
                source=args.source,
                schedules=not args.no_schedules,
                python=args.python,
            )
            for name, deployment_id in ids.items():
                print(f"{name}/{name} → Work-Pool {args.pool} ({deployment_id})")
            return 0
        ensure_process_pool(args.pool)
        env = worker_environment(
            api_url, database_url=settings.database_url(), data_dir=settings.data_dir()
        )
        group = WorkerGroup(
            pool=args.pool,
            env=env,
            log_dir=settings.data_dir() / "workers",
            count=args.count,
            limit=args.limit,
        )

        def _stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)
        try:
            group.start()
            print(f"{args.count} Worker am Pool {args.pool}; Protokolle in {group.log_dir}.")
            while all(w.alive() for w in group.workers):
                time.sleep(1)
            print("Ein Worker hat sich beendet; alle werden gestoppt.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            group.stop()
    except GpvError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
