"""Benchmark of the case store at scale: seed, sweep, fire, and the floor, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_store.py                       # 1k, 10k, 100k on both backends
    .venv/bin/python bench/bench_store.py --sizes 1000,10000 --backends sqlite
    .venv/bin/python bench/bench_store.py --explain --json-out /tmp/bench.json

For each backend and size, in a fresh database: seed ``N`` cases (``workflows.seed``) as of
:data:`NOW`, then measure

- the **floor**: the sweep's two indexed queries (same WHERE clauses as
  ``workflows.sweep.overdue_query`` / ``reminder_query``) executed directly as SQL strings;
- ``run_sweep`` with **nothing to do** (``now`` = the seed's ``now``; the seed replayed every
  sweep up to then), median of ``--repeat`` runs, and its third part, the overdue list it returns;
- ``fire`` of a cheap trigger (``accept_jurisdiction`` on random cases in ``received``), median and
  90th percentile of ``--fires`` calls (each call includes the ``show`` the service returns);
- ``run_sweep`` with a **realistic batch**: the next morning (``NOW`` + 1 day), when the day's
  reminders are due and the deadlines that ended yesterday are overdue; run once, then again idle.

Ratios are taken within the same run (the machine is shared and noisy): sweep / floor, and fire at
``N`` / fire at the smallest size of the same backend. PostgreSQL: 127.0.0.1:5432, user postgres,
trust auth (``GPV_BENCH_PG`` overrides the admin conninfo); the benchmark creates its own database
and drops it afterwards. After seeding PostgreSQL gets ``ANALYZE`` (what autovacuum would do soon
after a bulk load); SQLite is left as gpv leaves it (no ``ANALYZE``). No assertions on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from states.deadlines import berlin_date
from workflows import service
from workflows.db import dispose_engines, get_engine, migrate
from workflows.seed import seed
from workflows.sweep import run_sweep

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=BERLIN)  # a Monday
NEXT_MORNING = NOW + timedelta(days=1)
PG_ADMIN = os.environ.get(
    "GPV_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
)

#: The sweep's two queries as plain SQL: the same WHERE clauses as workflows.sweep.
OVERDUE_SQL = (
    "SELECT id, due FROM deadlines WHERE status = 'open' AND closed_at IS NULL AND due < {p}"
)
REMINDER_SQL = (
    "SELECT id FROM deadlines WHERE status = 'open' AND reminder_sent_at IS NULL "
    "AND remind_on <= {p}"
)
#: The overdue list every sweep also returns (workflows.sweep.overdue_list).
OVERDUE_LIST_SQL = (
    "SELECT id, case_id, rule, norm, process, due, responsible_party FROM deadlines "
    "WHERE status = 'missed' AND closed_at IS NULL ORDER BY due, id"
)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return _ms(statistics.median(times))


# --------------------------------------------------------------------------------------------------
# Databases


class Database:
    """A fresh database of one backend; ``close`` removes it."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        if backend == "sqlite":
            self._dir = tempfile.TemporaryDirectory(prefix="gpv-bench-")
            self.url = f"sqlite:///{self._dir.name}/gpv.db"
        elif backend == "postgres":
            import psycopg

            self.name = f"gpv_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        else:
            raise SystemExit(f"unknown backend {backend!r} (sqlite, postgres)")
        self.engine = get_engine(self.url)
        migrate(self.engine)

    def close(self) -> None:
        dispose_engines()
        if self.backend == "sqlite":
            self._dir.cleanup()
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _param(engine: Engine) -> str:
    return "%(today)s" if engine.dialect.name == "postgresql" else ":today"


def _today(engine: Engine, when: datetime) -> Any:
    day = berlin_date(when)
    return day if engine.dialect.name == "postgresql" else day.isoformat()


def floor(engine: Engine, when: datetime) -> int:
    """The sweep's two indexed queries as raw SQL on one connection; returns the rows found."""
    p, today = _param(engine), _today(engine, when)
    with engine.connect() as conn:
        overdue = conn.exec_driver_sql(OVERDUE_SQL.format(p=p), {"today": today}).fetchall()
        reminders = conn.exec_driver_sql(REMINDER_SQL.format(p=p), {"today": today}).fetchall()
        conn.rollback()
    return len(overdue) + len(reminders)


def overdue_list_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(OVERDUE_LIST_SQL).fetchall()
        conn.rollback()
    return len(rows)


def explain(engine: Engine, when: datetime) -> dict[str, str]:
    """EXPLAIN QUERY PLAN (SQLite) / EXPLAIN ANALYZE (PostgreSQL) of the sweep's queries."""
    p, today = _param(engine), _today(engine, when)
    prefix = (
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
        if engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN"
    )
    out = {}
    with engine.connect() as conn:
        for name, sql in (
            ("overdue", OVERDUE_SQL.format(p=p)),
            ("reminder", REMINDER_SQL.format(p=p)),
            ("overdue_list", OVERDUE_LIST_SQL),
        ):
            rows = conn.exec_driver_sql(f"{prefix} {sql}", {"today": today}).fetchall()
            out[name] = "\n".join(" | ".join(str(c) for c in row) for row in rows)
        conn.rollback()
    return out


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar_one()
        conn.rollback()
    return int(value)


# --------------------------------------------------------------------------------------------------
# One measurement


def measure(backend: str, size: int, *, fires: int, repeat: int, want_explain: bool) -> dict:
    db = Database(backend)
    engine = db.engine
    try:
        print(f"[{backend} {size}] seeding …", file=sys.stderr, flush=True)
        t = time.perf_counter()
        seeded = seed(engine, cases=size, now=NOW)
        seed_s = time.perf_counter() - t
        if backend == "postgres":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        row: dict[str, Any] = {
            "backend": backend,
            "cases": size,
            "seed_s": round(seed_s, 1),
            "deadline_rows": _count(engine, "SELECT count(*) FROM deadlines"),
            "open_deadlines": _count(
                engine, "SELECT count(*) FROM deadlines WHERE status = 'open'"
            ),
            "audit_entries": seeded["audit_entries"],
            "outbox_rows": seeded["outbox"],
        }
        print(f"[{backend} {size}] seeded in {seed_s:.1f} s; idle sweep …", file=sys.stderr)

        idle = run_sweep(engine, NOW)
        assert idle["reminders"] == 0 and idle["escalations"] == 0, idle  # seed swept up to NOW
        row["overdue_listed"] = len(idle["overdue"])
        row["floor_idle_ms"] = _median_ms(lambda: floor(engine, NOW), repeat)
        row["overdue_list_ms"] = _median_ms(lambda: overdue_list_rows(engine), repeat)
        row["sweep_idle_ms"] = _median_ms(lambda: run_sweep(engine, NOW), repeat)

        print(f"[{backend} {size}] fire …", file=sys.stderr, flush=True)
        with engine.connect() as conn:
            received = [
                r[0]
                for r in conn.execute(
                    text("SELECT id FROM cases WHERE status = 'received' ORDER BY id")
                )
            ]
        picked = random.Random(size).sample(received, min(fires, len(received)))
        times = []
        for case_id in picked:
            t = time.perf_counter()
            service.fire(engine, case_id, "accept_jurisdiction", {}, at=NOW, by="bench")
            times.append(time.perf_counter() - t)
        row["fires"] = len(times)
        row["fire_median_ms"] = _ms(statistics.median(times))
        row["fire_p90_ms"] = _ms(sorted(times)[int(0.9 * (len(times) - 1))])

        print(f"[{backend} {size}] batch sweep …", file=sys.stderr, flush=True)
        row["batch_rows"] = floor(engine, NEXT_MORNING)
        row["floor_batch_ms"] = _median_ms(lambda: floor(engine, NEXT_MORNING), repeat)
        if want_explain:
            row["explain"] = explain(engine, NEXT_MORNING)
        t = time.perf_counter()
        batch = run_sweep(engine, NEXT_MORNING)
        row["sweep_batch_ms"] = _ms(time.perf_counter() - t)
        row["batch_reminders"] = batch["reminders"]
        row["batch_escalations"] = batch["escalations"]
        done = batch["reminders"] + batch["escalations"]
        row["batch_ms_per_item"] = round(row["sweep_batch_ms"] / done, 2) if done else None
        row["sweep_idle_after_ms"] = _median_ms(lambda: run_sweep(engine, NEXT_MORNING), repeat)
        row["floor_idle_after_ms"] = _median_ms(lambda: floor(engine, NEXT_MORNING), repeat)
        return row
    finally:
        db.close()


# --------------------------------------------------------------------------------------------------
# Report


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "–"
    return f"{a / b:.1f}×"


def markdown(rows: list[dict]) -> str:
    base = {}
    for r in rows:
        base.setdefault(r["backend"], r["fire_median_ms"])
    head = (
        "| backend | cases | open deadlines / rows | seed s | floor idle ms | sweep idle ms "
        "| sweep/floor | of which overdue list ms (rows) | batch: reminders + escalations "
        "| floor batch ms | sweep batch ms (per item) | fire median ms (p90) | fire vs. smallest |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['cases']:,} | {r['open_deadlines']:,} / {r['deadline_rows']:,} "
            f"| {r['seed_s']} | {r['floor_idle_ms']} | {r['sweep_idle_ms']} "
            f"| {_ratio(r['sweep_idle_ms'], r['floor_idle_ms'])} "
            f"| {r['overdue_list_ms']} ({r['overdue_listed']:,}) "
            f"| {r['batch_reminders']} + {r['batch_escalations']} | {r['floor_batch_ms']} "
            f"| {r['sweep_batch_ms']} ({r['batch_ms_per_item']}) "
            f"| {r['fire_median_ms']} ({r['fire_p90_ms']}) "
            f"| {_ratio(r['fire_median_ms'], base[r['backend']])} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--fires", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7, help="runs per median (sweep, floor)")
    parser.add_argument("--explain", action="store_true", help="query plans at the largest size")
    parser.add_argument("--json-out", type=Path, help="also write all figures as JSON here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    rows = []
    started = time.perf_counter()
    for backend in backends:
        for size in sizes:
            row = measure(
                backend,
                size,
                fires=args.fires,
                repeat=args.repeat,
                want_explain=args.explain and size == max(sizes),
            )
            rows.append(row)
            brief = {k: v for k, v in row.items() if k != "explain"}
            print(json.dumps(brief), file=sys.stderr, flush=True)
    print(f"Machine: {machine()}")
    print(f"Command: bench/bench_store.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"Seed now: {NOW.isoformat()}; batch sweep at {NEXT_MORNING.isoformat()}")
    print(f"Total run time: {time.perf_counter() - started:.0f} s\n")
    print(markdown(rows))
    for r in rows:
        for name, plan in (r.get("explain") or {}).items():
            print(f"\n{r['backend']} {r['cases']:,}: plan of the {name} query\n{plan}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
