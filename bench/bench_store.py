"""Benchmark of the case store at scale: seed, sweep, fire, and the floor, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_store.py                       # the full run (see --points)
    .venv/bin/python bench/bench_store.py --points 1000,10000 --backends sqlite   # a quick run
    .venv/bin/python bench/bench_store.py --explain --before --json-out /tmp/bench.json

A *point* is ``N`` or ``N:profile`` (``workflows.seeding.plans.PROFILES``: ``realistic``, the
default, about 1 open deadline per case and a backlog of missed ones; ``peak``, ~2.9 open deadlines
per case, every case received in the last two weeks). The default points are 1k, 10k and 100k cases
in both profiles. For each backend and point, in a fresh database: seed ``N`` cases
(``workflows.seeding.seed``) as of :data:`NOW`, then measure

- the **floor**: the sweep's two indexed queries (``workflows.sweep.overdue_query`` /
  ``reminder_query``, compiled once) executed directly as SQL strings;
- ``run_sweep`` with **nothing to do** (``now`` = the seed's ``now``; the seed replayed every
  sweep up to then), median of ``--repeat`` runs;
- ``overdue_report``, the bounded list of what is overdue (500 most overdue + the total count)
  that ``gpv sweep`` and the ``overdue-deadlines`` artifact show, median of ``--repeat`` runs;
- ``fire`` of a cheap trigger (``accept_jurisdiction`` on random cases in ``received``), median and
  90th percentile of ``--fires`` calls (each call includes the ``show`` the service returns);
- ``run_sweep`` with a **realistic batch**: the next morning (``NOW`` + 1 day), when the day's
  reminders are due and the deadlines that ended yesterday are overdue; run once (with the longest
  single write transaction of it), then again idle.

With ``--before`` the same is measured for the sweep as it was before the scale fixes
(``bench/legacy_sweep.py``): its idle run (which built the full overdue list every time) on the
same database, and its batch on a copy of the database taken before the batch.

Ratios are taken within the same run (the machine is shared and noisy): sweep / floor, and sweep
and fire at ``N`` / at 1,000 cases of the same backend and profile. PostgreSQL: 127.0.0.1:5432,
user postgres, trust auth (``GPV_BENCH_PG`` overrides the admin conninfo); the benchmark creates its
own databases and drops them afterwards. After seeding PostgreSQL gets ``ANALYZE`` (what autovacuum
would do soon after a bulk load); SQLite is left as gpv leaves it (no ``ANALYZE``). No assertions
on timings. Each finished point is printed (JSON, stderr) and, with ``--json-out``, saved at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import legacy_sweep

import workflows.sweep
from states.deadlines import berlin_date
from workflows import service
from workflows.seeding.seed import seed
from workflows.store import db
from workflows.store.db import dispose_engines, get_engine, migrate
from workflows.sweep import (
    OVERDUE_LIMIT,
    outstanding_count_query,
    outstanding_query,
    overdue_report,
    run_sweep,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=BERLIN)  # a Monday
NEXT_MORNING = NOW + timedelta(days=1)
PG_ADMIN = os.environ.get(
    "GPV_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
)
DEFAULT_POINTS = "1000,1000:peak,10000,10000:peak,100000:peak,100000"

#: What every sweep read before the fix (legacy_sweep.overdue_list): the whole backlog.
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


class WriteTimer:
    """Times every write transaction of a sweep (patched into the sweep modules' write_session):
    the longest one is how long a ``fire`` may have to wait for the write lock on SQLite."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    @contextlib.contextmanager
    def session(self, engine: Engine) -> Iterator[Any]:
        t = time.perf_counter()
        with db.write_session(engine) as session:
            yield session
        self.durations.append(time.perf_counter() - t)

    @contextlib.contextmanager
    def patched(self, module: Any) -> Iterator[WriteTimer]:
        original = module.write_session
        module.write_session = self.session
        try:
            yield self
        finally:
            module.write_session = original


# --------------------------------------------------------------------------------------------------
# Databases


class Database:
    """A fresh database of one backend (or a copy of one); ``close`` removes it."""

    url: str
    name: str  # PostgreSQL only

    def __init__(self, backend: str, *, copy_of: Database | None = None) -> None:
        self.backend = backend
        if backend == "sqlite":
            self._dir = tempfile.TemporaryDirectory(prefix="gpv-bench-")
            path = f"{self._dir.name}/gpv.db"
            if copy_of is not None:
                src = sqlite3.connect(copy_of.url.removeprefix("sqlite:///"))
                dst = sqlite3.connect(path)
                with dst:
                    src.backup(dst)
                src.close()
                dst.close()
            self.url = f"sqlite:///{path}"
        elif backend == "postgres":
            import psycopg

            self.name = f"gpv_bench_{uuid.uuid4().hex[:10]}"
            template = f' TEMPLATE "{copy_of.name}"' if copy_of is not None else ""
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"{template}')
            self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        else:
            raise SystemExit(f"unknown backend {backend!r} (sqlite, postgres)")
        self.engine = get_engine(self.url)
        migrate(self.engine)

    def copy(self) -> Database:
        """A copy of this database as it is now (closes this one's connections first)."""
        dispose_engines()
        copied = Database(self.backend, copy_of=self)
        self.engine = get_engine(self.url)
        return copied

    def close(self) -> None:
        dispose_engines()
        if self.backend == "sqlite":
            self._dir.cleanup()
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _sql(engine: Engine, query: Any) -> str:
    """``query`` as the plain SQL string the engine's dialect runs, values inlined."""
    return str(query.compile(engine, compile_kwargs={"literal_binds": True}))


def sweep_sql(engine: Engine, when: datetime) -> dict[str, str]:
    """The sweep's two queries for ``when``, compiled from workflows.sweep."""
    today = berlin_date(when)
    return {
        "overdue": _sql(engine, workflows.sweep.overdue_query(today)),
        "reminder": _sql(engine, workflows.sweep.reminder_query(today)),
    }


def report_sql(engine: Engine) -> dict[str, str]:
    """What overdue_report reads: the most overdue outstanding deadlines, bounded, and their
    count, compiled from workflows.sweep."""
    return {
        "overdue report page": _sql(engine, outstanding_query().limit(OVERDUE_LIMIT)),
        "overdue report count": _sql(engine, outstanding_count_query()),
    }


def floor(engine: Engine, when: datetime) -> int:
    """The sweep's two indexed queries as raw SQL on one connection; returns the rows found."""
    found = 0
    with engine.connect() as conn:
        for sql in sweep_sql(engine, when).values():
            found += len(conn.exec_driver_sql(sql).fetchall())
        conn.rollback()
    return found


def raw_rows(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql).fetchall()
        conn.rollback()
    return len(rows)


def explain(engine: Engine, when: datetime) -> dict[str, str]:
    """EXPLAIN QUERY PLAN (SQLite) / EXPLAIN ANALYZE (PostgreSQL) of the sweep's queries and of
    the overdue report's two."""
    prefix = (
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
        if engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN"
    )
    out = {}
    with engine.connect() as conn:
        for name, sql in (sweep_sql(engine, when) | report_sql(engine)).items():
            rows = conn.exec_driver_sql(f"{prefix} {sql}").fetchall()
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


def _batch(row: dict, prefix: str, module: Any, engine: Engine) -> None:
    """Run ``module.run_sweep`` once for the next morning; record time, counts, longest write."""
    timer = WriteTimer()
    with timer.patched(module):
        t = time.perf_counter()
        batch = module.run_sweep(engine, NEXT_MORNING)
        elapsed = time.perf_counter() - t
    done = batch["reminders"] + batch["escalations"]
    row[f"{prefix}batch_ms"] = _ms(elapsed)
    row[f"{prefix}batch_items"] = done
    row[f"{prefix}batch_ms_per_item"] = round(_ms(elapsed) / done, 3) if done else None
    row[f"{prefix}batch_transactions"] = len(timer.durations)
    row[f"{prefix}batch_longest_tx_ms"] = _ms(max(timer.durations, default=0.0))
    row[f"{prefix}batch_reminders"] = batch["reminders"]
    row[f"{prefix}batch_escalations"] = batch["escalations"]


def measure(
    backend: str, size: int, profile: str, *, fires: int, repeat: int, want_explain: bool,
    before: bool,
) -> dict:  # fmt: skip
    db_ = Database(backend)
    engine = db_.engine
    label = f"[{backend} {size} {profile}]"
    copy: Database | None = None
    try:
        print(f"{label} seeding …", file=sys.stderr, flush=True)
        t = time.perf_counter()
        seeded = seed(engine, cases=size, now=NOW, profile=profile)
        seed_s = time.perf_counter() - t
        if backend == "postgres":
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        row: dict[str, Any] = {
            "backend": backend,
            "cases": size,
            "profile": profile,
            "seed_s": round(seed_s, 1),
            "deadline_rows": _count(engine, "SELECT count(*) FROM deadlines"),
            "open_deadlines": _count(
                engine, "SELECT count(*) FROM deadlines WHERE status = 'open'"
            ),
            "audit_entries": seeded["audit_entries"],
            "outbox_rows": seeded["outbox"],
        }
        print(f"{label} seeded in {seed_s:.1f} s; idle sweep …", file=sys.stderr, flush=True)

        idle = run_sweep(engine, NOW)
        assert idle == {"reminders": 0, "escalations": 0}, idle  # the seed swept up to NOW
        report = overdue_report(engine, NOW)
        row["overdue_total"] = report["overdue_total"]
        row["overdue_listed"] = len(report["overdue"])
        row["floor_idle_ms"] = _median_ms(lambda: floor(engine, NOW), repeat)
        row["sweep_idle_ms"] = _median_ms(lambda: run_sweep(engine, NOW), repeat)
        row["report_ms"] = _median_ms(lambda: overdue_report(engine, NOW), repeat)
        page, count = report_sql(engine).values()
        row["report_page_sql_ms"] = _median_ms(lambda: raw_rows(engine, page), repeat)
        row["report_count_sql_ms"] = _median_ms(lambda: raw_rows(engine, count), repeat)
        if before:
            row["before_sweep_idle_ms"] = _median_ms(
                lambda: legacy_sweep.run_sweep(engine, NOW), repeat
            )
            row["before_overdue_list_sql_ms"] = _median_ms(
                lambda: raw_rows(engine, OVERDUE_LIST_SQL), repeat
            )

        print(f"{label} fire …", file=sys.stderr, flush=True)
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

        print(f"{label} batch sweep …", file=sys.stderr, flush=True)
        row["batch_rows"] = floor(engine, NEXT_MORNING)
        row["floor_batch_ms"] = _median_ms(lambda: floor(engine, NEXT_MORNING), repeat)
        if want_explain:
            row["explain"] = explain(engine, NEXT_MORNING)
        if before:
            copy = db_.copy()
            engine = db_.engine
        _batch(row, "", workflows.sweep, engine)
        row["sweep_idle_after_ms"] = _median_ms(lambda: run_sweep(engine, NEXT_MORNING), repeat)
        row["floor_idle_after_ms"] = _median_ms(lambda: floor(engine, NEXT_MORNING), repeat)
        if copy is not None:
            print(f"{label} batch sweep as before the fixes …", file=sys.stderr, flush=True)
            _batch(row, "before_", legacy_sweep, copy.engine)
            assert row["before_batch_items"] == row["batch_items"], row
        return row
    finally:
        if copy is not None:
            copy.close()
        db_.close()


# --------------------------------------------------------------------------------------------------
# Report


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "–"
    return f"{a / b:.1f}×"


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(rows: list[dict]) -> str:
    base: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["cases"] == min(x["cases"] for x in rows if x["backend"] == r["backend"]):
            base.setdefault((r["backend"], r["profile"]), r)
    idle = [
        "| backend | cases | profile | open deadlines / rows | missed, outstanding | seed s "
        "| floor idle ms | sweep idle ms | sweep/floor | sweep vs. smallest "
        "| before: sweep idle ms | overdue report ms (listed) | fire median ms (p90) "
        "| fire vs. smallest |",
        "|" + "---|" * 14,
    ]
    batch = [
        "| backend | cases | profile | reminders + escalations | floor batch ms "
        "| sweep batch ms (per item) | longest tx ms (of n) | before: batch ms (per item) "
        "| before: longest tx ms | speed-up | idle after ms (floor) |",
        "|" + "---|" * 11,
    ]
    for r in rows:
        b = base.get((r["backend"], r["profile"]), r)
        head = f"| {r['backend']} | {r['cases']:,} | {r['profile']} "
        idle.append(
            head + f"| {r['open_deadlines']:,} / {r['deadline_rows']:,} | {r['overdue_total']:,} "
            f"| {r['seed_s']} | {r['floor_idle_ms']} | {r['sweep_idle_ms']} "
            f"| {_ratio(r['sweep_idle_ms'], r['floor_idle_ms'])} "
            f"| {_ratio(r['sweep_idle_ms'], b['sweep_idle_ms'])} "
            f"| {r.get('before_sweep_idle_ms', '–')} "
            f"| {r['report_ms']} ({r['overdue_listed']:,}) "
            f"| {r['fire_median_ms']} ({r['fire_p90_ms']}) "
            f"| {_ratio(r['fire_median_ms'], b['fire_median_ms'])} |"
        )
        batch.append(
            head + f"| {r['batch_reminders']:,} + {r['batch_escalations']:,} "
            f"| {r['floor_batch_ms']} | {r['batch_ms']} ({r['batch_ms_per_item']}) "
            f"| {r['batch_longest_tx_ms']} ({r['batch_transactions']}) "
            f"| {_n(r.get('before_batch_ms', '–'))} ({r.get('before_batch_ms_per_item', '–')}) "
            f"| {r.get('before_batch_longest_tx_ms', '–')} "
            f"| {_ratio(r.get('before_batch_ms'), r['batch_ms'])} "
            f"| {r['sweep_idle_after_ms']} ({r['floor_idle_after_ms']}) |"
        )
    return "\n".join(idle) + "\n\n" + "\n".join(batch)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def _points(spec: str) -> list[tuple[int, str]]:
    out = []
    for item in spec.split(","):
        if item.strip():
            size, _, profile = item.strip().partition(":")
            out.append((int(size), profile or "realistic"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--points", default=DEFAULT_POINTS, help="N or N:profile, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--fires", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7, help="runs per median (sweep, floor)")
    parser.add_argument("--explain", action="store_true", help="query plans at the largest size")
    parser.add_argument("--before", action="store_true", help="also the sweep before the fixes")
    parser.add_argument("--json-out", type=Path, help="also write all figures as JSON here")
    args = parser.parse_args(argv)
    points = _points(args.points)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    largest = max(size for size, _ in points)
    rows: list[dict] = []
    started = time.perf_counter()
    for backend in backends:
        for size, profile in points:
            row = measure(
                backend, size, profile, fires=args.fires, repeat=args.repeat,
                want_explain=args.explain and size == largest, before=args.before,
            )  # fmt: skip
            rows.append(row)
            brief = {k: v for k, v in row.items() if k != "explain"}
            print(json.dumps(brief), file=sys.stderr, flush=True)
            if args.json_out:
                args.json_out.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    print(f"Machine: {machine()}")
    print(f"Command: bench/bench_store.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"Seed now: {NOW.isoformat()}; batch sweep at {NEXT_MORNING.isoformat()}")
    print(f"Total run time: {time.perf_counter() - started:.0f} s\n")
    print(markdown(rows))
    for r in rows:
        for name, plan in (r.get("explain") or {}).items():
            print(
                f"\n{r['backend']} {r['cases']:,} {r['profile']}: plan of the {name} query\n{plan}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
