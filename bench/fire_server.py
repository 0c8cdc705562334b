"""``gpv fire`` through the Prefect server against its floor (issue 11).

Starts ``gpv run`` as a user does (its own data folder, a free port: the Prefect server, the served
deployments, the web front end), opens cases, then measures in interleaved rounds, each command a
process of its own as a user types it:

- **gpv fire**: ``gpv fire CASE accept_jurisdiction`` through the server (found from the record
  ``gpv run`` keeps in the data folder): the step request stored, a run of the ``fire-trigger``
  deployment created and carried out in the ``gpv fire`` process (before issue 11's change:
  picked up by the runner ``gpv run`` serves and waited for), the case read back.
- **floor**: ``import prefect`` and one trivial flow run against the same server
  (``@flow def noop(): pass; noop()``), in a fresh interpreter.

Prints the medians and the ratio; ``GPV_RUNNER_POLL_SECONDS`` (how often the runner asks the server
for new runs, default 2 s in ``gpv run``) is printed too, since the pick-up waits for it.

    .venv/bin/python bench/fire_server.py                       # 7 rounds
    .venv/bin/python bench/fire_server.py --rounds 9 --runner-poll 1

Goal (issue 11): gpv fire through the server <= 1.5x the floor.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

GPV = [sys.executable, "-c", "from workflows.cli import main; main()"]
FLOOR = "from prefect import flow\n@flow\ndef noop():\n    pass\nnoop()\n"


def _env(data: Path, poll: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GPV_"))}
    env.update(
        GPV_DATA_DIR=str(data), GPV_USER="bench", DO_NOT_TRACK="1", PYTHONUNBUFFERED="1",
        GPV_RUNNER_POLL_SECONDS=poll,
    )  # fmt: skip
    return env


#: Every command runs in a neutral folder: ``python -c`` puts the working directory first on
#: ``sys.path``, ahead of ``PYTHONPATH``, so run from the checkout, ``--before`` would measure
#: the checkout's code again.
NEUTRAL_CWD = tempfile.gettempdir()


def _run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False,
                          cwd=NEUTRAL_CWD)  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[-3:]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def _check_tree(tree: str, env: dict[str, str]) -> None:
    """Refuse to measure when ``--before`` would import the checkout's gpv instead of ``tree``."""
    where = subprocess.run(
        [sys.executable, "-c", "import workflows; print(workflows.__file__)"], env=env,
        capture_output=True, text=True, check=True, cwd=NEUTRAL_CWD,
    ).stdout.strip()  # fmt: skip
    if not Path(where).resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"--before {tree}: gpv would be imported from {where}, not from {tree}")


def _open_case(env: dict[str, str]) -> str:
    done = subprocess.run(
        [*GPV, "case", "open", "--received", "2026-03-02", "--at", "2026-03-02T10:00",
         "--birth-date", "1990-05-17", "--municipality", "Unna", "--disability", "mental",
         "--benefit", "supported_living", "--school-finished", "2008-07-01", "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return str(json.loads(done.stdout)["id"])


def _phases(api: str, case_id: str, began: datetime, ended: datetime) -> list[float]:
    """Where one fire's time went, from the run's own timestamps on the server: client start to
    run created (imports, the step request, the create call), created to running (the runner's
    pick-up and the flow's child process), running to completed (the step, the dispatch), and
    completed to the end of ``gpv fire`` (noticing the final state, reading the case back)."""
    import httpx

    runs = httpx.post(
        f"{api}/flow_runs/filter",
        json={"flow_runs": {"tags": {"all_": [f"case:{case_id}"]}}},
        timeout=30,
    ).json()
    run = runs[0]
    created, start, end = (
        datetime.fromisoformat(run[key]) for key in ("created", "start_time", "end_time")
    )
    marks = [began, created, start, end, ended]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(marks)]


def _wait_healthy(api: str, log: Path, timeout: float = 180) -> None:
    from workflows.orchestration.server import is_healthy

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_healthy(api) and b"Dashboard:" in log.read_bytes():
            return
        time.sleep(0.5)
    raise SystemExit(f"gpv run did not come up:\n{log.read_text(errors='replace')[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runner-poll", default="2", help="GPV_RUNNER_POLL_SECONDS for gpv run")
    parser.add_argument(
        "--before",
        help="another source tree of gpv (e.g. `git archive` of an older commit) whose gpv fire "
        "is measured in the same rounds, against the same server",
    )
    args = parser.parse_args()

    from workflows.orchestration.server import free_port

    with tempfile.TemporaryDirectory(prefix="gpv-fire-server-") as tmp:
        env = _env(Path(tmp) / "data", args.runner_poll)
        cases = [_open_case(env) for _ in range(2 * args.rounds + 1)]
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        log = Path(tmp) / "gpv-run.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*GPV, "run", "--port", str(port)], env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            _wait_healthy(api, log)
            floor_env = {**env, "PREFECT_API_URL": api, "PREFECT_HOME": str(Path(tmp) / "ph")}
            fire = [*GPV, "fire", "", "accept_jurisdiction", "--at", "2026-03-03T09:00"]
            _run([*fire[:-4], cases[0], *fire[-3:]], env)  # warm-up (deployment, caches)
            _run([sys.executable, "-c", FLOOR], floor_env)
            before_env = {**env, "PYTHONPATH": args.before or ""}
            if args.before:
                _check_tree(args.before, before_env)
            fires, floors, befores = [], [], []
            phases: list[list[float]] = []
            for i in range(1, args.rounds + 1):
                began = datetime.now(UTC)
                fires.append(_run([*fire[:-4], cases[i], *fire[-3:]], env))
                phases.append(_phases(api, cases[i], began, datetime.now(UTC)))
                floors.append(_run([sys.executable, "-c", FLOOR], floor_env))
                note = ""
                if args.before:
                    case = cases[args.rounds + i]
                    befores.append(_run([*fire[:-4], case, *fire[-3:]], before_env))
                    note = f", before {befores[-1]:6.2f} s"
                print(f"round {i}: gpv fire {fires[-1]:6.2f} s, floor {floors[-1]:6.2f} s{note}")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    fire_s, floor_s = statistics.median(fires), statistics.median(floors)
    load = os.getloadavg()[0]
    print(f"\n# gpv fire through the server, {args.rounds} interleaved rounds, "
          f"GPV_RUNNER_POLL_SECONDS={args.runner_poll}, load average {load:.2f}")  # fmt: skip
    print(f"gpv fire (server)        {fire_s:6.2f} s")
    if befores:
        before_s = statistics.median(befores)
        print(f"gpv fire, {args.before}: {before_s:6.2f} s ({before_s / floor_s:.2f}x the floor)")
    print(f"floor (prefect + a flow) {floor_s:6.2f} s")
    names = ("start → created", "created → running", "running → completed", "completed → exit")
    print("gpv fire, median per phase: " + ", ".join(
        f"{name} {statistics.median(p[k] for p in phases):.2f} s" for k, name in enumerate(names)
    ))  # fmt: skip
    verdict = "met" if fire_s / floor_s <= 1.5 else "NOT met"
    print(f"ratio                    {fire_s / floor_s:6.2f}x  (goal <= 1.5x: {verdict})")


if __name__ == "__main__":
    main()
