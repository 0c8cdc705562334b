"""Seed data for benchmarks and demos: ``seed(engine, cases=N, now=...)`` (``gpv dev seed``).

Which cases, along which paths and when, is planned in :mod:`workflows.seeding.plans` (the scenario
data and the ``realistic`` and ``peak`` profiles), replayed case by case in
:mod:`workflows.seeding.replay`; this module writes them.

Every case is driven through the real, pure rules: it is opened with
``states.advance.open_case_decision`` and moved along its scenario's path with
``states.advance.advance``, and each decision becomes rows by the store's own rule
(:mod:`workflows.store.rows`), so its states, version, deadlines, consents, audit entries and
outbox rows are exactly what the engine itself would have written (a contract test compares them
row for row). Between two steps, and finally up to ``now``, the deadline sweep is replayed
(:mod:`workflows.store.sweep_rule`) as if it had run every minute: reminders were sent on their
day, deadlines past their due day were marked missed with their ``miss_deadline`` audit entry and
their escalation notice. A sweep at ``now`` therefore has nothing to do; a sweep a day later finds
a realistic daily batch.

Fast by design: the rules run in Python, the rows go in with executemany inserts in chunks of
:data:`CHUNK` cases, one transaction per chunk. Case ids come from the store's own allocator
(``workflows.store.allocate_case_ids``), deadline ids from the table's own sequence, audit
entries through ``workflows.store.audit.append_many`` (the one hash chain), so nothing collides with
what the engine writes later and ``gpv audit verify`` passes. Seeded notices are marked ``sent``
(history, not work for the dispatcher). ``recorded_at`` of the seeded audit entries is the
wall-clock time of the seed (when gpv wrote them); ``at`` is the effective time of each step.

Generated people are synthetic (no real data): birth dates, towns, disability types and benefits
are drawn from :class:`random.Random` seeded with ``rng_seed``.
"""

from __future__ import annotations

import random
import time as clock
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications.policy import CaseView
from states.agreement import Agreement, load_agreement
from states.calendar import BERLIN
from states.deadlines import berlin_date
from states.decision import NotificationEvent
from states.errors import InputError
from workflows.seeding.plans import PROFILES, SCENARIOS, CasePlan, Scenario, plans
from workflows.seeding.replay import ReplayedCase, replay, replay_forwarded
from workflows.store import audit
from workflows.store.cases import allocate_case_ids
from workflows.store.db import write_session
from workflows.store.models import CaseRow, ConsentRow, DeadlineRow, ProcessRow
from workflows.store.outbox import OutboxRow, OutboxStatus, outbox_values
from workflows.store.rows import CASE_CARRIER_KINDS, Values
from workflows.store.sweep_rule import DeadlineFacts, SweepStep, plan_escalation, plan_reminder

__all__ = [
    "PROFILES",
    "SCENARIOS",
    "CasePlan",
    "Scenario",
    "count_open_deadlines",
    "plans",
    "seed",
    "seed_plans",
]

CHUNK = 5_000
OUTBOX_BATCH = 20_000  # rows per executemany of the outbox


# --------------------------------------------------------------------------------------------------
# Writing


def _reserve_ids(session: Session, table: str, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table`` (its sequence on PostgreSQL; on SQLite the write
    transaction holds the database lock, so max(id) + 1 … is safe)."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return sorted(int(r[0]) for r in rows)
    last = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(int(last) + 1, int(last) + 1 + count))


def _insert(session: Session, table: Any, rows: Sequence[Values]) -> None:
    if rows:
        session.execute(table.__table__.insert(), rows)


def _insert_case_rows(session: Session, sims: list[ReplayedCase]) -> None:
    """Cases, process instances, consents and deadlines (ids reserved, for the sweep's keys)."""
    _insert(session, CaseRow, [s.case for s in sims])
    _insert(session, ProcessRow, [row for s in sims for row in s.instances])
    _insert(session, ConsentRow, [row for s in sims for row in s.consents])
    deadlines = [row for s in sims for row in s.deadlines]
    ids = _reserve_ids(session, "deadlines", len(deadlines))
    for row, new_id in zip(deadlines, ids, strict=True):
        row["id"] = new_id
    _insert(session, DeadlineRow, deadlines)


def _sent(
    notices: Sequence[NotificationEvent],
    view: CaseView,
    source_key: str,
    at: datetime,
    ag: Agreement,
) -> Iterator[Values]:
    """The rows ``workflows.store.outbox`` would write, marked as sent at ``at`` (seeded
    history)."""
    for row in outbox_values(view, notices, source_key, at, ag):
        yield row | {"status": OutboxStatus.SENT.value, "attempts": 1, "sent_at": at}


def _sweep_outbox(step: SweepStep, view: CaseView, ag: Agreement) -> Iterator[Values]:
    d = step.row
    facts = DeadlineFacts(
        d["id"], d["case_id"], d["rule"], d["norm"], d["process"], d["due"], d["responsible_party"]
    )
    plan = plan_escalation if step.kind == "escalation" else plan_reminder
    event = plan(ag, facts, step.today)
    if event is not None:
        yield from _sent([event], view, f"deadline:{d['id']}:{step.kind}", step.at, ag)


def _case_outbox(sim: ReplayedCase, audit_ids: Iterator[int], ag: Agreement) -> Iterator[Values]:
    """One case's outbox rows: its entries' notices (source ``audit:<id>``), then the sweep's."""
    view = CaseView.of(sim.facts)
    for entry, notices in sim.entries:
        audit_id = next(audit_ids)
        if notices:
            yield from _sent(notices, view, f"audit:{audit_id}", entry.at, ag)
    for step in sim.sweep_notices:
        yield from _sweep_outbox(step, view, ag)


def _write(session: Session, sims: list[ReplayedCase], ag: Agreement) -> tuple[int, int]:
    """Insert one chunk; returns (audit entries, outbox rows) written."""
    _insert_case_rows(session, sims)
    entries = [entry for s in sims for entry, _ in s.entries]
    ids = audit.append_many(session, entries, recorded_at=datetime.now(UTC))
    audit_ids = iter(ids)
    outbox = [row for s in sims for row in _case_outbox(s, audit_ids, ag)]
    for start in range(0, len(outbox), OUTBOX_BATCH):
        _insert(session, OutboxRow, outbox[start : start + OUTBOX_BATCH])
    return len(ids), len(outbox)


# --------------------------------------------------------------------------------------------------
# Seeding


@dataclass
class _Tally:
    ids: list[str] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_town: Counter[str] = field(default_factory=Counter)

    def add(self, ids: list[str], sims: list[ReplayedCase], n_audit: int, n_outbox: int) -> None:
        self.ids.extend(ids)
        self.totals.update(audit_entries=n_audit, outbox=n_outbox)
        for s in sims:
            self.by_status[s.case["status"]] += 1
            self.by_town[s.case["municipality"]] += 1
            self.totals["deadlines"] += len(s.deadlines)
            self.totals["open_deadlines"] += sum(d["status"] == "open" for d in s.deadlines)

    def report(self) -> dict[str, Any]:
        return {
            "cases": len(self.ids),
            # opened where a seeded application was forwarded to (§ 14 Abs. 2 S. 4 SGB IX)
            "forwarded_cases": self.totals["forwarded_cases"],
            "first_id": self.ids[0] if self.ids else None,
            "last_id": self.ids[-1] if self.ids else None,
            "deadlines": self.totals["deadlines"],
            "open_deadlines": self.totals["open_deadlines"],
            "audit_entries": self.totals["audit_entries"],
            "outbox": self.totals["outbox"],
            "by_status": dict(sorted(self.by_status.items())),
            "by_town": dict(sorted(self.by_town.items())),
        }


def _allocate(engine: Engine, chunk: Sequence[CasePlan]) -> list[str]:
    """Case ids for the chunk's plans (sorted by time): ``allocate_case_ids`` hands them out per
    year of receipt in ascending order."""
    years = Counter(p.opened_at.astimezone(BERLIN).year for p in chunk)
    with write_session(engine) as session:
        return [
            cid for year in sorted(years) for cid in allocate_case_ids(session, year, years[year])
        ]


def _linked(
    engine: Engine, sims: list[ReplayedCase], now: datetime, agreement: Agreement
) -> list[ReplayedCase]:
    """The cases gpv opens where the chunk's applications were forwarded to (§ 14 Abs. 2 S. 4
    SGB IX; only carriers whose cases gpv runs), ids allocated after the chunk's, in the order of
    the forwardings."""
    forwarded = sorted(
        (
            (at, sim)
            for sim in sims
            if sim.forwarded is not None
            for target, at, _ in (sim.forwarded,)
            if agreement.party(target).kind in CASE_CARRIER_KINDS
        ),
        key=lambda pair: pair[0],
    )
    if not forwarded:
        return []
    with write_session(engine) as session:
        ids = [allocate_case_ids(session, berlin_date(at).year)[0] for at, _ in forwarded]
    return [
        replay_forwarded(sim, cid, now, agreement)
        for (_, sim), cid in zip(forwarded, ids, strict=True)
    ]


def seed_plans(
    engine: Engine,
    case_plans: Sequence[CasePlan],
    *,
    now: datetime,
    agreement: Agreement,
    rng: random.Random,
) -> dict[str, Any]:
    """Replay and write ``case_plans`` (sorted by ``opened_at``) as of ``now``, :data:`CHUNK`
    cases per transaction; ``rng`` picks each case's case manager. Returns the counts of
    :func:`seed` without ``profile``, ``by_scenario`` and ``seconds``."""
    tally = _Tally()
    for start in range(0, len(case_plans), CHUNK):
        chunk = case_plans[start : start + CHUNK]
        chunk_ids = _allocate(engine, chunk)
        sims = [
            replay(p, cid, now, agreement, rng) for p, cid in zip(chunk, chunk_ids, strict=True)
        ]
        linked = _linked(engine, sims, now, agreement)
        sims += linked
        with write_session(engine) as session:
            n_audit, n_outbox = _write(session, sims, agreement)
        tally.add(chunk_ids, sims, n_audit, n_outbox)
        tally.totals["forwarded_cases"] += len(linked)
    return tally.report()


def _check(now: datetime, cases: int, profile: str) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("seed: now must be timezone-aware")
    if cases < 0:
        raise ValueError("seed: cases must be >= 0")
    if profile not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"Unbekanntes Profil {profile!r} (--profile); möglich: {known}.")


def seed(
    engine: Engine,
    *,
    cases: int,
    now: datetime,
    rng_seed: int = 2026,
    profile: str = "realistic",
) -> dict[str, Any]:
    """Add ``cases`` synthetic cases as of ``now`` (timezone-aware) to the (migrated) store, drawn
    from the scenario mix ``profile`` (``realistic`` or ``peak``, see
    :mod:`workflows.seeding.plans`).

    Deterministic for a given ``rng_seed``, ``profile`` and ``now`` (apart from case numbers, which
    continue the store's counters, and ``recorded_at``). Returns counts: ``cases``, ``profile``,
    ``first_id``, ``last_id``, ``deadlines``, ``open_deadlines``, ``audit_entries``, ``outbox``,
    ``by_status``, ``by_town``, ``by_scenario``, ``seconds``.
    """
    _check(now, cases, profile)
    started = clock.perf_counter()
    agreement = load_agreement()
    rng = random.Random(rng_seed)
    all_plans = plans(cases, now, rng, agreement, PROFILES[profile])
    counts = seed_plans(engine, all_plans, now=now, agreement=agreement, rng=rng)
    return {
        "cases": counts.pop("cases"),
        "profile": profile,
        **counts,
        "by_scenario": dict(sorted(Counter(p.scenario for p in all_plans).items())),
        "seconds": round(clock.perf_counter() - started, 2),
    }


def count_open_deadlines(session: Session) -> int:
    """Open deadlines in the store (for the benchmark's report)."""
    stmt = select(func.count()).select_from(DeadlineRow).where(DeadlineRow.status == "open")  # type: ignore[arg-type]
    return int(session.execute(stmt).scalar_one())
