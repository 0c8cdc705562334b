"""gpv's persisted step against its peers (issue 11): gpv, SpiffWorkflow and raw SQL, one run.

The same 15-step lifecycle of the README tour (``service.open_case`` + 14 x ``service.fire``:
jurisdiction, a statement, housing support, consent, the conference, benefits, plan, decision;
:data:`LIFECYCLE`) for ``--cases`` cases (default 100), ``--rounds`` rounds (default 5); in each
round every contender runs once on a fresh database in a fresh temporary folder, the order
rotating from round to round (interleaved), and the figures are the median over the rounds:

- **gpv**: ``workflows.service.open_case`` and ``service.fire``, each step one write transaction
  with the version check, the hash-chained audit entry (and its anchor line, forced to disk in the
  background as ``GPV_AUDIT_ANCHOR_SYNC`` says), the
  deadlines and the outbox rows; SQLite in WAL mode as gpv runs it.
- **spiff**: SpiffWorkflow 3.x running ``bench/peers/lifecycle.bpmn`` (the same 15 steps as user
  tasks): complete the task, run the engine, serialise the workflow to JSON and write it to an
  SQLite table (WAL, ``synchronous=NORMAL``, like gpv) in one transaction, as its users persist it.
- **fsync** (not a peer): one line appended to a file and fsynced per step, what the audit anchor
  costs per commit with ``GPV_AUDIT_ANCHOR_SYNC=commit`` (:mod:`workflows.store.anchor`; by
  default its lines are forced in the background); raw SQL writes no anchor.
- **raw**: the DB-API driver (``sqlite3`` / ``psycopg``) writing the rows gpv writes for each step
  (case version check, process instances, deadline closings and new deadlines, consent, the audit
  entry with its SHA-256 chain under the head lock, the outbox rows) with hand-written SQL in one
  transaction per step, on gpv's own schema. The rows are computed once, before timing, by gpv's
  pure rules (``states.advance``, ``workflows.store.rows``); no anchor file.

``--before CHECKOUT`` adds gpv of another checkout (e.g. ``git worktree add /tmp/before <commit>``)
as the contender ``gpv-before``, interleaved like the others. ``--breakdown`` adds a round of
gpv with timers around its functions (where a step's time goes).
``--postgres URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``) runs gpv and raw SQL
on PostgreSQL instead (a database per round and contender, dropped afterwards; SpiffWorkflow
is measured on SQLite only). ``--profile`` prints a cProfile of gpv's steps (one extra round).

SpiffWorkflow is an optional extra, never a runtime dependency of gpv:
``.venv/bin/pip install -e '.[bench]'``; without it the spiff contender is skipped.

    .venv/bin/python bench/peers.py                       # SQLite: gpv, spiff, raw
    .venv/bin/python bench/peers.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib.util
import json
import os
import platform
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BERLIN = ZoneInfo("Europe/Berlin")
BPMN = Path(__file__).with_name("peers") / "lifecycle.bpmn"
BY = "bench"


@dataclass(frozen=True)
class Step:
    trigger: str
    day: str
    params: Mapping[str, str] = field(default_factory=dict)
    by: str = BY

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.day).replace(hour=10, tzinfo=BERLIN)


#: The application of the README tour (routed to the LWL, SPDI involved).
APPLICATION: dict[str, Any] = {
    "received": date(2026, 3, 2),
    "birth_date": date(1990, 5, 17),
    "municipality": "Unna",
    "disabilities": "mental",
    "benefit": "supported_living",
    "contact_email": "person@example.org",
}
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)

#: The 14 steps after opening, as the README tour fires them (plus the statement request's
#: acceptance and the housing support's provision).
LIFECYCLE: tuple[Step, ...] = (
    Step("accept_jurisdiction", "2026-03-05"),
    Step("request_statement", "2026-03-06"),
    Step("accept_statement_request", "2026-03-09"),
    Step("deliver_statement", "2026-03-19"),
    Step("request_housing_support", "2026-03-20"),
    Step("acknowledge_housing_support", "2026-03-24", by="kreis-unna-wohnen"),
    Step("provide_housing_support", "2026-03-26", by="kreis-unna-wohnen"),
    Step("request_consent", "2026-03-27"),
    Step("give_consent", "2026-03-30"),
    Step(
        "schedule_conference",
        "2026-03-30",
        {"date": "2026-04-15T10:00", "location": "Kreishaus Unna"},
    ),
    Step("hold_conference", "2026-04-15"),
    Step("determine_benefits", "2026-04-16"),
    Step("draw_up_plan", "2026-04-16", {"review": "2027-04-15"}),
    Step("issue_decision", "2026-04-17", {"outcome": "approval", "approved_until": "2027-04-30"}),
)
STEPS_PER_CASE = 1 + len(LIFECYCLE)


# --------------------------------------------------------------------------------------------------
# Databases


class Place:
    """A fresh database for one contender and round: an SQLite file in a temporary folder, or a
    PostgreSQL database created on the server of ``admin_url`` (dropped by :meth:`close`)."""

    def __init__(self, label: str, admin_url: str | None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix=f"gpv-peers-{label}-")
        self.folder = Path(self._dir.name)
        self.admin_url = admin_url
        if admin_url is None:
            self.url = f"sqlite:///{self.folder / 'store.db'}"
            self.pg_name = None
        else:
            import psycopg

            self.pg_name = f"gpv_peers_{os.getpid()}_{label}_{time.monotonic_ns() % 10**9}"
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            base = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", admin_url)
            self.url = base.rsplit("/", 1)[0] + f"/{self.pg_name}"

    @property
    def libpq_url(self) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://")

    def close(self) -> None:
        from workflows.store.db import dispose_engines

        dispose_engines()
        if self.pg_name is not None and self.admin_url is not None:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        self._dir.cleanup()


def gpv_schema(place: Place) -> None:
    """gpv's schema, migrated to the head, in ``place`` (raw SQL writes the same tables)."""
    from workflows.store.db import dispose_engines, get_engine, migrate

    migrate(get_engine(place.url))
    dispose_engines()


# --------------------------------------------------------------------------------------------------
# The contenders


class Contender(ABC):
    """One side of the comparison: prepares its store, runs the cases, closes."""

    name = ""

    @abstractmethod
    def setup(self, place: Place) -> None: ...

    @abstractmethod
    def run_all(self, cases: int, postgres: str | None) -> float:
        """Seconds for ``cases`` cases of 15 steps each."""

    def teardown(self) -> dict[str, int]:
        """Close connections; returns row counts written (a check that all did the work)."""
        return {}


class PerCase(Contender):
    """A contender timed in this process around its cases, one after the other."""

    @abstractmethod
    def run_case(self, number: int) -> None:
        """One case's 15 steps."""

    def run_all(self, cases: int, postgres: str | None) -> float:
        started = time.perf_counter()
        for number in range(1, cases + 1):
            self.run_case(number)
        return time.perf_counter() - started


class Gpv(PerCase):
    name = "gpv"

    def setup(self, place: Place) -> None:
        from workflows.store.db import ready_engine

        os.environ["GPV_DATA_DIR"] = str(place.folder)
        os.environ["GPV_AUDIT_ANCHOR"] = str(place.folder / "audit-anchor.log")
        self.engine = ready_engine(place.url)

    def run_case(self, number: int) -> None:
        from workflows import service

        case = service.open_case(self.engine, **APPLICATION, at=OPENED, by=BY)
        for step in LIFECYCLE:
            service.fire(
                self.engine, case["id"], step.trigger, dict(step.params), at=step.at, by=step.by
            )

    def teardown(self) -> dict[str, int]:
        counts = table_counts(self.engine.url.render_as_string(hide_password=False))
        from workflows.store.db import dispose_engines

        dispose_engines()
        return counts


def table_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("cases", "process_instances", "deadlines", "audit_entries", "outbox")
        }
    engine.dispose()
    return counts


class Spiff(PerCase):
    """SpiffWorkflow 3.x: the workflow in memory, serialised to SQLite after each step."""

    name = "spiff"

    def setup(self, place: Place) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("lifecycle")
        self.serializer = BpmnWorkflowSerializer()
        self.conn = sqlite3.connect(str(place.folder / "spiff.db"), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE workflows (id TEXT PRIMARY KEY, data TEXT NOT NULL)")

    def run_case(self, number: int) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        case_id = f"C-2026-{number:06d}"
        for step in (Step("open_case", "2026-03-02"), *LIFECYCLE):
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            assert task is not None and task.task_spec.name == step.trigger, task
            task.data.update(step.params, by=step.by, at=step.at.isoformat())
            task.run()
            workflow.do_engine_steps()
            data = self.serializer.serialize_json(workflow)
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO workflows (id, data) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (case_id, data),
            )
            self.conn.execute("COMMIT")
        assert workflow.is_completed()

    def teardown(self) -> dict[str, int]:
        n = self.conn.execute("SELECT count(*) FROM workflows").fetchone()[0]
        self.conn.close()
        return {"workflows": int(n)}


class GpvElsewhere(Contender):
    """gpv from another checkout (``--before PATH``, e.g. a worktree of the commit before a
    change): this script of that checkout runs the gpv contender once in a child process on a
    database of its own; the time is its own measurement (start-up excluded)."""

    name = "gpv-before"
    checkout: Path | None = None

    def setup(self, place: Place) -> None:
        self.place = place

    def run_all(self, cases: int, postgres: str | None) -> float:
        import subprocess

        assert self.checkout is not None
        out = self.place.folder / "before.json"
        command = [sys.executable, str(self.checkout / "bench" / "peers.py"), "--only", "gpv",
                   "--rounds", "1", "--cases", str(cases), "--json-out", str(out)]  # fmt: skip
        if postgres is not None:
            command += ["--postgres", postgres]
        subprocess.run(command, check=True, capture_output=True, cwd=self.checkout)
        return float(json.loads(out.read_text())["times_s"]["gpv"][0])


class AnchorFloor(PerCase):
    """Not a peer: the floor of gpv's audit anchor, one line appended and fsynced per step (what
    ``workflows.store.anchor.write`` does after every commit), on the same disk in the same run."""

    name = "fsync"

    def setup(self, place: Place) -> None:
        self.path = place.folder / "floor.log"
        self.path.touch()

    def run_case(self, number: int) -> None:
        line = json.dumps({"db": str(self.path), "id": number, "hash": "0" * 64}).encode() + b"\n"
        for _ in range(STEPS_PER_CASE):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)


# ------------------------------------------------------------------------------------ raw SQL


@dataclass
class RawStep:
    """One step's statements and values; ``CASE`` in a value stands for the case id, ``AUDIT``
    for the audit entry's id (in the outbox's dedup keys)."""

    case_insert: dict[str, Any] | None
    case_update: dict[str, Any]
    expected_version: int
    instance_inserts: list[dict[str, Any]]
    instance_updates: list[tuple[str, int, dict[str, Any]]]
    deadline_updates: list[tuple[tuple[Any, ...], dict[str, Any]]]  # (conditions, values)
    deadline_inserts: list[dict[str, Any]]
    consent: dict[str, Any] | None
    audit: dict[str, Any]
    outbox: list[dict[str, Any]]


TEMPLATE_ID = "C-2026-999999"


def raw_script() -> list[RawStep]:
    """The rows gpv writes for the lifecycle, per step, computed by its pure rules."""
    from notifications.policy import CaseView
    from states.advance import advance, next_snapshot, open_case_decision
    from states.agreement import load_agreement
    from states.decision import CaseSnapshot
    from workflows import service
    from workflows.store.cases import case_facts
    from workflows.store.outbox import outbox_values
    from workflows.store.rows import CurrentRows, decision_rows

    agreement = load_agreement()
    application = service._checked_application(
        **APPLICATION,
        school_finished=None,
        school=None,
        benefit_start=None,
        person_ref=None,
        at=OPENED,
    )
    opening = service._routed(application, agreement)
    row = service._case_row(TEMPLATE_ID, application, opening)
    case_values = {c.name: getattr(row, c.name) for c in row.__table__.columns}  # type: ignore[attr-defined]
    facts = case_facts(row)
    decision = open_case_decision(facts, OPENED, BY, agreement)
    snapshot = CaseSnapshot(facts=facts, processes={})
    script = []
    for version, step in enumerate((None, *LIFECYCLE)):
        at, by = (OPENED, BY) if step is None else (step.at, step.by)
        if step is not None:
            decision = advance(snapshot, step.trigger, dict(step.params), at, by, agreement)
        current = {
            str(p): {"instance_no": i.instance_no, "state": i.state}
            for p, i in snapshot.processes.items()
        }
        now = datetime.now(UTC)
        changes = decision_rows(
            TEMPLATE_ID, CurrentRows(version, current), decision, at=at, by=by, now=now
        )
        snapshot = next_snapshot(snapshot, decision)
        view = CaseView.of(snapshot.facts)
        outbox = list(outbox_values(view, changes.notices, "audit:AUDIT", at, agreement))
        deadline_updates = [
            target
            for closing in (*changes.closings, *(n.supersedes for n in changes.new_deadlines))
            for target in closing.targets()
        ]
        audit = changes.audit
        script.append(
            RawStep(
                case_insert={**case_values, **changes.case} if step is None else None,
                case_update=changes.case,
                expected_version=version,
                instance_inserts=list(changes.new_instances),
                instance_updates=[
                    (c.process, c.instance_no, c.values) for c in changes.instance_changes
                ],
                deadline_updates=deadline_updates,
                deadline_inserts=[n.values for n in changes.new_deadlines],
                consent=changes.consent,
                audit={
                    "case_id": TEMPLATE_ID,
                    "trigger": audit.trigger,
                    "process": audit.process,
                    "from_state": audit.from_state,
                    "to_state": audit.to_state,
                    "at": audit.at,
                    "recorded_at": now,
                    "by": audit.by,
                    "params": dict(audit.params),
                },
                outbox=outbox,
            )
        )
    return script


class Raw(PerCase):
    """Hand-written SQL on the DB-API connection; statements prepared by the driver's cache."""

    name = "raw"

    def setup(self, place: Place) -> None:
        gpv_schema(place)
        self.script = raw_script()
        self.pg = place.pg_name is not None
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(place.libpq_url)
        else:
            self.conn = sqlite3.connect(str(place.folder / "store.db"), isolation_level=None)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
                self.conn.execute(f"PRAGMA {pragma}")

    # Values as each driver wants them (what gpv's column types do for SQLAlchemy).
    def value(self, v: Any) -> Any:
        if isinstance(v, list | dict):
            if self.pg:
                from psycopg.types.json import Json

                return Json(v)
            return json.dumps(v)
        if isinstance(v, datetime):
            v = v.astimezone(UTC)
            return v if self.pg else v.replace(tzinfo=None).isoformat(" ")
        if isinstance(v, date):
            return v if self.pg else v.isoformat()
        return v

    def sql(self, template: str) -> str:
        return re.sub(r":(\w+)", r"%(\1)s", template) if self.pg else template

    def execute(self, sql: str, values: Mapping[str, Any] | None = None) -> Any:
        return self.conn.execute(self.sql(sql), values or {})

    def insert(self, table: str, values: Mapping[str, Any]) -> None:
        columns = ", ".join(values)
        marks = ", ".join(f":{c}" for c in values)
        self.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",
            {k: self.value(v) for k, v in values.items()},
        )

    def run_case(self, number: int) -> None:
        case_id = f"C-2026-{number:06d}"
        for step in self.script:
            self.write_step(case_id, step)

    def write_step(self, case_id: str, s: RawStep) -> None:
        """One step: one transaction, the rows in gpv's order."""
        self.execute("BEGIN" if self.pg else "BEGIN IMMEDIATE")
        self.write_case(case_id, s)
        for values in s.instance_inserts:
            self.insert("process_instances", {**values, "case_id": case_id})
        for process, number, values in s.instance_updates:
            sets = ", ".join(f"{c} = :{c}" for c in values)
            self.execute(
                f"UPDATE process_instances SET {sets} "
                "WHERE case_id = :case_id AND process = :process AND instance_no = :no",
                {
                    **{k: self.value(v) for k, v in values.items()},
                    "case_id": case_id,
                    "process": process,
                    "no": number,
                },
            )
        self.write_deadlines(case_id, s)
        if s.consent is not None:
            self.insert("consents", {**s.consent, "case_id": case_id})
        audit_id = self.append_audit({**s.audit, "case_id": case_id})
        self.write_outbox(case_id, audit_id, s.outbox)
        self.execute("COMMIT")

    def write_case(self, case_id: str, s: RawStep) -> None:
        if s.case_insert is not None:
            self.insert("cases", {**s.case_insert, "id": case_id})
            return
        sets = ", ".join(f"{c} = :{c}" for c in s.case_update)
        cur = self.execute(
            f"UPDATE cases SET version = version + 1, {sets} WHERE id = :id AND version = :v",
            {
                **{k: self.value(v) for k, v in s.case_update.items()},
                "id": case_id,
                "v": s.expected_version,
            },
        )
        if cur.rowcount != 1:
            raise RuntimeError(f"{case_id}: version conflict")

    def write_deadlines(self, case_id: str, s: RawStep) -> None:
        for conditions, values in s.deadline_updates:
            where = " AND ".join(
                f"{c.column} IS NULL" if c.op == "is null" else f"{c.column} {c.op} :w_{c.column}"
                for c in conditions
            )
            sets = ", ".join(f"{c} = :{c}" for c in values)
            params = {k: self.value(v) for k, v in values.items()}
            params.update({f"w_{c.column}": c.value for c in conditions if c.op != "is null"})
            self.execute(
                f"UPDATE deadlines SET {sets} WHERE case_id = :case_id AND {where}",
                {**params, "case_id": case_id},
            )
        for values in s.deadline_inserts:
            self.insert("deadlines", {**values, "case_id": case_id})

    def write_outbox(self, case_id: str, audit_id: int, outbox: list[dict[str, Any]]) -> None:
        if not outbox:
            return
        rows = [
            {
                **{k: self.value(v) for k, v in row.items()},
                "case_id": case_id,
                "dedup_key": row["dedup_key"].replace("audit:AUDIT", f"audit:{audit_id}"),
            }
            for row in outbox
        ]
        columns = ", ".join(rows[0])
        marks = ", ".join(f":{c}" for c in rows[0])
        sql = self.sql(
            f"INSERT INTO outbox ({columns}) VALUES ({marks}) ON CONFLICT (dedup_key) DO NOTHING"
        )
        cursor = self.conn.cursor()
        cursor.executemany(sql, rows)
        cursor.close()

    def append_audit(self, entry: dict[str, Any]) -> int:
        lock = " FOR UPDATE" if self.pg else ""
        last_id, last_hash = self.execute(
            f"SELECT last_id, last_hash FROM audit_chain_head WHERE chain = 'global'{lock}"
        ).fetchone()
        new_id = last_id + 1
        fields = {
            **entry,
            "id": new_id,
            "prev_hash": last_hash,
            "at": entry["at"].astimezone(UTC).isoformat(),
            "recorded_at": entry["recorded_at"].astimezone(UTC).isoformat(),
        }
        digest = hashlib.sha256(
            json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        self.insert(
            "audit_entries", {**entry, "id": new_id, "prev_hash": last_hash, "hash": digest}
        )
        self.execute(
            "UPDATE audit_chain_head SET last_id = :id, last_hash = :h WHERE chain = 'global'",
            {"id": new_id, "h": digest},
        )
        return int(new_id)

    def teardown(self) -> dict[str, int]:
        counts = {
            t: int(self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("cases", "process_instances", "deadlines", "audit_entries", "outbox")
        }
        self.conn.close()
        return counts


# --------------------------------------------------------------------------------------------------
# Running


def contenders(postgres: str | None) -> list[type[Contender]]:
    if postgres is not None:
        return [Gpv, Raw, AnchorFloor]
    if importlib.util.find_spec("SpiffWorkflow") is None:
        print(
            "SpiffWorkflow is not installed (pip install -e '.[bench]'); spiff is skipped.",
            file=sys.stderr,
        )
        return [Gpv, Raw, AnchorFloor]
    return [Gpv, Spiff, Raw, AnchorFloor]


def one_run(
    kind: type[Contender],
    cases: int,
    postgres: str | None,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, dict[str, int]]:
    """Seconds for ``cases`` cases of ``kind`` on a fresh database, and the rows it wrote."""
    place = Place(kind.name, postgres)
    try:
        contender = kind()
        contender.setup(place)
        if profiler is not None:
            profiler.enable()
        elapsed = contender.run_all(cases, postgres)
        if profiler is not None:
            profiler.disable()
        return elapsed, contender.teardown()
    finally:
        place.close()


def rounds(
    kinds: list[type[Contender]], cases: int, n: int, postgres: str | None
) -> Iterator[tuple[int, str, float, dict[str, int]]]:
    for r in range(n):
        order = kinds[r % len(kinds) :] + kinds[: r % len(kinds)]  # rotate: interleaved
        for kind in order:
            elapsed, counts = one_run(kind, cases, postgres)
            yield r, kind.name, elapsed, counts


#: Where a step's time goes (``--breakdown``): functions timed around each call, by module.
BREAKDOWN = (
    ("workflows.service", "fire"),
    ("workflows.service", "open_case"),
    ("workflows.service", "acting_user_in"),
    ("workflows.store.cases", "load_snapshot"),
    ("states.advance", "advance"),
    ("workflows.store.cases", "persist_step"),
    ("workflows.store.cases", "close_deadlines"),
    ("workflows.store.audit", "append"),
    ("workflows.store.outbox", "enqueue"),
    ("workflows.store.cases", "_shown"),
    ("workflows.store.anchor", "write"),
)


def breakdown(cases: int, postgres: str | None) -> list[str]:
    """One extra round of gpv with timers around the functions of :data:`BREAKDOWN` and the
    session's commit (which includes the anchor's line): ms per step each (nested: a function's
    time includes the ones it calls), and the statements per step."""
    import importlib

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    spent: dict[str, float] = {}

    def timed(owner: Any, name: str, label: str) -> Any:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)
        return original

    saved: list[tuple[Any, str, Any]] = []
    for module, name in BREAKDOWN:
        owner = importlib.import_module(module)
        saved.append((owner, name, timed(owner, name, f"{module}.{name}")))
    saved.append((Session, "commit", timed(Session, "commit", "Session.commit (+ anchor)")))
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        elapsed, _ = one_run(Gpv, cases, postgres)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        for owner, name, original in saved:
            setattr(owner, name, original)
    steps = cases * STEPS_PER_CASE
    lines = [f"gpv, timed round: {elapsed / steps * 1000:.3f} ms per step, "
             f"{statements[0] / steps:.1f} statements per step (migration included)",
             "| function (nested) | ms per step |", "|---|---|"]  # fmt: skip
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {label} | {seconds / steps * 1000:.3f} |")
    return lines


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.2f}"
    )


def report(times: dict[str, list[float]], cases: int) -> list[str]:
    steps = cases * STEPS_PER_CASE
    ms = {name: statistics.median(t) / steps * 1000 for name, t in times.items()}
    lines = [
        "| contender | ms per step (median; min–max of rounds) | steps/s | vs. gpv |",
        "|---|---|---|---|",
    ]
    for name, value in ms.items():
        low, high = (min(times[name]) / steps * 1000, max(times[name]) / steps * 1000)
        lines.append(
            f"| {name} | {value:.3f} ({low:.3f}–{high:.3f}) | {1000 / value:,.0f} "
            f"| {value / ms['gpv']:.2f}× |"
        )
    lines.append("")
    if "raw" in ms:
        lines.append(f"gpv / raw SQL: {ms['gpv'] / ms['raw']:.1f}×")
    if "raw" in ms and "fsync" in ms:
        lines.append(
            f"gpv with an fsync per commit (GPV_AUDIT_ANCHOR_SYNC=commit, about gpv + the fsync "
            f"floor) / raw SQL: {(ms['gpv'] + ms['fsync']) / ms['raw']:.1f}× (raw SQL writes no "
            "anchor; by default gpv forces its anchor lines to disk in the background)"
        )
    if "spiff" in ms:
        lines.append(f"spiff / gpv: {ms['spiff'] / ms['gpv']:.2f}× (above 1: gpv is faster)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", help="gpv and raw SQL on PostgreSQL")
    parser.add_argument("--only", help="comma-separated contenders (gpv, spiff, raw)")
    parser.add_argument("--profile", action="store_true", help="cProfile of gpv (extra round)")
    parser.add_argument(
        "--breakdown", action="store_true", help="where gpv's step goes (extra round, timers)"
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument(
        "--before", type=Path, metavar="CHECKOUT", help="also gpv of another checkout, interleaved"
    )
    args = parser.parse_args(argv)
    kinds = contenders(args.postgres)
    if args.before is not None:
        GpvElsewhere.checkout = args.before.resolve()
        kinds.insert(1, GpvElsewhere)
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        kinds = [k for k in kinds if k.name in wanted]
    one_run(Gpv, 2, args.postgres)  # warm-up: imports, the agreement, statement caches
    times: dict[str, list[float]] = {k.name: [] for k in kinds}
    counts: dict[str, dict[str, int]] = {}
    for r, name, elapsed, written in rounds(kinds, args.cases, args.rounds, args.postgres):
        times[name].append(elapsed)
        counts[name] = written
        per_step = elapsed / (args.cases * STEPS_PER_CASE) * 1000
        print(f"round {r + 1} {name}: {elapsed:.2f} s, {per_step:.3f} ms/step", file=sys.stderr)
    backend = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    print(f"Machine: {machine()}")
    print(f"Command: bench/peers.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(
        f"Backend: {backend}; {args.cases} cases x {STEPS_PER_CASE} steps, {args.rounds} rounds\n"
    )
    print("\n".join(report(times, args.cases)))
    print("\nRows written in the last round: " + json.dumps(counts))
    if args.breakdown:
        print("\n" + "\n".join(breakdown(args.cases, args.postgres)))
    if args.profile:
        profiler = cProfile.Profile()
        one_run(Gpv, args.cases, args.postgres, profiler)
        print("\ncProfile of gpv's steps (cumulative, top 40):")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(40)
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {"machine": machine(), "times_s": times, "cases": args.cases, "counts": counts},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
