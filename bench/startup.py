"""Start-up of the ``gpv`` command line against a bare ``python -c pass`` (issue 11).

Each command runs as its own process, as a user types it: the console script ``gpv`` of this
virtual environment, in a fresh data folder with a few cases (SQLite, no Prefect server: the
Prefect variables are removed from the environment). Rounds are interleaved (every command once
per round, in turn), so a busy neighbour on the machine slows all of them alike; the figure is
the median of the rounds, the ratio is against the median of the bare interpreter in the same run.

Then, per command, the top of ``python -X importtime`` (cumulative microseconds of the top-level
imports) and which of the heavy libraries the command loaded.

    .venv/bin/python bench/startup.py                 # 15 rounds
    .venv/bin/python bench/startup.py --rounds 31 --top 12

Goals (issue 11): ``gpv deadline``, ``gpv route``, ``gpv --help`` <= 4x; ``gpv case show`` <= 6x;
``gpv fire`` on SQLite without a server <= 10x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "jinja2",
    "icalendar",
    "prefect",
    "fastapi",
    "uvicorn",
    "argon2",
    "rich",
    "pydantic",
    "transitions",
    "holidays",
)

GOALS = {"--help": 4.0, "deadline": 4.0, "route": 4.0, "case show": 6.0, "fire": 10.0}

ROUTE = (
    "route", "--birth-date", "2012-03-04", "--municipality", "Bönen", "--disability", "mental",
    "--benefit", "school_assistant", "--school", "in-school", "--on", "2026-11-29",
)  # fmt: skip

OPEN = (
    "case", "open", "--received", "2026-03-02", "--at", "2026-03-02T10:00",
    "--birth-date", "1980-05-05", "--municipality", "Unna", "--disability", "physical",
    "--benefit", "assistance_services", "--json",
)  # fmt: skip


def _gpv() -> list[str]:
    script = Path(sys.executable).with_name("gpv")
    found = str(script) if script.exists() else shutil.which("gpv")
    if found is None:
        raise SystemExit("bench/startup.py: the console script gpv is not installed")
    return [sys.executable, found]


def _env(data: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "GPV_")) and k != "PYTHONPROFILEIMPORTTIME"
    }
    env["GPV_DATA_DIR"] = str(data)
    env["GPV_USER"] = "bench"
    return env


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return done


def _open_cases(gpv: list[str], env: dict[str, str], cwd: Path, n: int) -> list[str]:
    """``n`` cases in ``received`` (the first through the command line, which also migrates)."""
    import json

    first = json.loads(_run([*gpv, *OPEN], env, cwd).stdout)
    script = (
        "import sys\n"
        "from datetime import date, datetime, UTC\n"
        "from workflows import service\n"
        "from workflows.store.db import ready_engine\n"
        "engine = ready_engine()\n"
        "for _ in range(int(sys.argv[1])):\n"
        "    print(service.open_case(engine, received=date(2026, 3, 2),\n"
        "        birth_date=date(1980, 5, 5), municipality='Unna', disabilities='physical',\n"
        "        benefit='assistance_services', at=datetime(2026, 3, 2, 9, tzinfo=UTC),\n"
        "        by='bench')['id'])\n"
    )
    more = _run([sys.executable, "-c", script, str(n - 1)], env, cwd).stdout.split()
    return [first["id"], *more]


def _commands(gpv: list[str], case_ids: list[str], rounds: int) -> dict[str, list[list[str]]]:
    """Per command name, the command line of each round (``fire`` takes a fresh case each
    round, since a case accepts ``accept_jurisdiction`` once)."""
    bare = [sys.executable, "-c", "pass"]
    fixed = {
        "python -c pass": bare,
        "--help": [*gpv, "--help"],
        "deadline": [*gpv, "deadline", "--from", "2025-12-11", "--period", "2w"],
        "route": [*gpv, *ROUTE],
        "case show": [*gpv, "case", "show", case_ids[0]],
    }
    per_round = {name: [argv] * rounds for name, argv in fixed.items()}
    per_round["fire"] = [
        [*gpv, "fire", case_ids[i + 1], "accept_jurisdiction", "--at", "2026-03-03T09:00"]
        for i in range(rounds)
    ]
    return per_round


def _importtime(argv: list[str], env: dict[str, str], cwd: Path, top: int) -> list[str]:
    """The top-level imports by cumulative time, and the heavy libraries that were loaded."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    rows: list[tuple[int, str]] = []
    loaded: set[str] = set()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[12:].split("|"))
        if not cumulative.isdigit():
            continue
        module = name.strip()
        loaded.add(module.split(".")[0])
        if not name.startswith(" "):  # a top-level import (nested ones are indented)
            rows.append((int(cumulative), module))
    rows.sort(reverse=True)
    lines = [f"    {us / 1000:8.1f} ms  {module}" for us, module in rows[:top]]
    heavy = [lib for lib in HEAVY if lib in loaded]
    lines.append(f"    heavy libraries loaded: {', '.join(heavy) or 'none'}")
    return lines


def _measure(
    commands: dict[str, list[list[str]]], envs: dict[str, dict[str, str]], rounds: int, cwd: Path
) -> dict[str, list[float]]:
    """Seconds per command and round; one warm-up round first (file cache, .pyc), not counted."""
    for name, argv_list in commands.items():
        _run(argv_list[0], envs[name], cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(1, rounds + 1):
        for name, argv_list in commands.items():
            start = time.perf_counter()
            _run(argv_list[i], envs[name], cwd)
            times[name].append(time.perf_counter() - start)
    return times


def _report(times: dict[str, list[float]], rounds: int) -> None:
    bare = statistics.median(times["python -c pass"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# gpv start-up, {rounds} interleaved rounds, load average {load:.2f}")
    print(f"{'command':<20} {'median ms':>10} {'min ms':>8} {'ratio':>7} {'goal':>6}  met")
    for name, samples in times.items():
        median = statistics.median(samples)
        ratio = median / bare
        goal = GOALS.get(name)
        met = "" if goal is None else ("yes" if ratio <= goal else "NO")
        goal_text = f"{goal:.0f}x" if goal else ""
        print(
            f"{name:<20} {median * 1000:10.1f} {min(samples) * 1000:8.1f} "
            f"{ratio:6.2f}x {goal_text:>6}  {met}"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--top", type=int, default=10, help="importtime rows per command")
    parser.add_argument(
        "--before",
        help="another source tree of gpv (e.g. `git archive` of an older commit): its commands "
        "run in the same rounds (PYTHONPATH), listed as 'before: …'",
    )
    args = parser.parse_args()

    gpv = _gpv()
    with tempfile.TemporaryDirectory(prefix="gpv-startup-") as tmp:
        cwd = Path(tmp)
        env = _env(cwd / "data")
        case_ids = _open_cases(gpv, env, cwd, args.rounds + 3)
        commands = _commands(gpv, case_ids, args.rounds + 1)
        envs = dict.fromkeys(commands, env)
        if args.before:  # its own store: an older tree may not know the newer migrations
            before_env = {**_env(cwd / "before"), "PYTHONPATH": args.before}
            earlier_ids = _open_cases(gpv, before_env, cwd, args.rounds + 2)
            earlier = _commands(gpv, earlier_ids, args.rounds + 1)
            for name, argv_list in earlier.items():
                if name != "python -c pass":
                    commands[f"before: {name}"] = argv_list
                    envs[f"before: {name}"] = before_env
        _report(_measure(commands, envs, args.rounds, cwd), args.rounds)
        fire_case = case_ids[-1]  # used by no round
        for name, argv_list in commands.items():
            if name == "python -c pass" or name.startswith("before: "):
                continue
            argv = argv_list[0]
            if name == "fire":
                argv = [*argv[:3], fire_case, *argv[4:]]
            print(f"-X importtime, gpv {name}: top-level imports by cumulative time")
            print("\n".join(_importtime(argv, env, cwd, args.top)))


if __name__ == "__main__":
    main()
