"""Seed data for benchmarks and demos: ``seed(engine, cases=N, now=...)`` (``gpv dev seed``).

Which cases, along which paths and when, is planned in :mod:`workflows.seeding.plans` (the scenario
data and the ``realistic`` and ``peak`` profiles); this module replays and writes them.

Every case is driven through the real, pure rules: it is opened with
``states.advance.open_case_decision`` and moved along its scenario's path with
``states.advance.advance``, and each decision becomes rows by the store's own rule,
:func:`workflows.store.rows.decision_rows`, so its states, version, deadlines, consents, audit
entries and outbox rows are exactly what the engine itself would have written (a contract test
compares them row for row). Between two steps, and finally up to ``now``, the deadline sweep is
replayed by :func:`workflows.store.rows.swept_until` as if it had run every minute: reminders
were sent on their day, deadlines past their due day were marked missed with their
``miss_deadline`` audit entry and their escalation notice. A sweep at ``now`` therefore has
nothing to do; a sweep a day later finds a realistic daily batch.

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

import dataclasses
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
from states.advance import advance, open_case_decision
from states.agreement import Agreement, load_agreement
from states.deadlines import berlin_date
from states.decision import (
    CaseFacts,
    CaseSnapshot,
    Decision,
    NotificationEvent,
    OpenDeadline,
    Process,
    ProcessInstance,
)
from states.errors import InputError
from workflows.seeding.plans import BERLIN, PROFILES, SCENARIOS, CasePlan, Scenario, plans
from workflows.store import audit
from workflows.store.cases import allocate_case_ids
from workflows.store.db import write_session
from workflows.store.models import CaseRow, ConsentRow, DeadlineRow, ProcessRow
from workflows.store.outbox import OutboxRow, OutboxStatus, outbox_values
from workflows.store.rows import (
    OUTSTANDING,
    CurrentRows,
    DeadlineFacts,
    NewEntry,
    SweepStep,
    Values,
    apply_closing,
    decision_rows,
    matches,
    miss_entry,
    plan_escalation,
    plan_reminder,
    swept_until,
)

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
CASE_MANAGERS = 40  # seeded steps are signed "seed:fallmanagement-01" … "-40"
OUTBOX_BATCH = 20_000  # rows per executemany of the outbox
_FACT_FIELDS = frozenset(f.name for f in dataclasses.fields(CaseFacts))


# --------------------------------------------------------------------------------------------------
# Replaying the engine for one case (pure: rows as dicts, by the rule of workflows.store.rows)


@dataclass
class _Sim:
    case: Values
    facts: CaseFacts
    processes: dict[str, Values] = field(default_factory=dict)  # latest instance each
    instances: list[Values] = field(default_factory=list)
    deadlines: list[Values] = field(default_factory=list)
    consents: list[Values] = field(default_factory=list)
    # (audit entry, its notices) and the sweep's reminders and escalations, in the order written
    entries: list[tuple[NewEntry, tuple[NotificationEvent, ...]]] = field(default_factory=list)
    sweep_notices: list[SweepStep] = field(default_factory=list)

    def snapshot(self) -> CaseSnapshot:
        return CaseSnapshot(
            facts=self.facts,
            processes={
                Process(name): ProcessInstance(
                    Process(name), p["state"], p["data"], p["instance_no"]
                )
                for name, p in self.processes.items()
            },
            deadlines=tuple(
                OpenDeadline(d["rule"], d["anchor_date"], d["due"], Process(d["process"]))
                for d in self.deadlines
                if matches(d, OUTSTANDING)
            ),
        )


def _sweep_until(sim: _Sim, t: datetime) -> None:
    """What the every-minute sweep did to this case's open deadlines up to ``t``."""
    reminders, escalations = swept_until(sim.deadlines, t)
    for step in (*reminders, *escalations):
        step.row.update(step.values)
    sim.sweep_notices.extend(reminders)
    for step in escalations:
        d = step.row
        sim.sweep_notices.append(step)
        entry = miss_entry(
            case_id=d["case_id"], process=d["process"], rule=d["rule"], norm=d["norm"],
            due=d["due"], at=step.at,
        )  # fmt: skip
        sim.entries.append((entry, ()))


def _apply(sim: _Sim, decision: Decision, at: datetime, by: str) -> None:
    """As ``cases.apply_decision``, on the case's rows in memory (``now`` is ``at``: history)."""
    current = CurrentRows(sim.case["version"], sim.processes)
    changes = decision_rows(sim.facts.case_id, current, decision, at=at, by=by, now=at)
    for row in changes.new_instances:
        sim.instances.append(row)
        sim.processes[row["process"]] = row
    for change in changes.instance_changes:
        sim.processes[change.process].update(change.values)
    sim.case.update(changes.case)
    if decision.facts_update:
        _refresh_facts(sim)
    for closing in changes.closings:
        apply_closing(sim.deadlines, closing)
    for new in changes.new_deadlines:
        apply_closing(sim.deadlines, new.supersedes)
        sim.deadlines.append(new.values)
    if changes.consent is not None:
        sim.consents.append(changes.consent)
    sim.entries.append((changes.audit, changes.notices))


def _refresh_facts(sim: _Sim) -> None:
    """The rules' facts after a decision changed case columns (as ``cases.case_facts`` reads)."""
    changed = {k: v for k, v in sim.case.items() if k in _FACT_FIELDS and k != "case_id"}
    changed["parties"] = tuple(changed.get("parties") or ())
    sim.facts = dataclasses.replace(sim.facts, **changed)


def _new_case(plan: CasePlan, case_id: str) -> _Sim:
    """The case row as ``service.open_case`` writes it, before its opening decision."""
    person, opened, routed = plan.person, plan.opened_at, plan.routed
    assert routed.carrier is not None
    facts = CaseFacts(
        case_id=case_id,
        received_on=berlin_date(opened),
        carrier=routed.carrier,
        municipality=routed.town,
        parties=tuple(routed.parties),
        is_minor=routed.is_minor,
        has_contact_email=plan.contact_email,
    )
    number = int(case_id.rsplit("-", 1)[1])
    case: Values = {
        "id": case_id, "status": "", "carrier": routed.carrier, "municipality": routed.town,
        "received_on": facts.received_on, "parties": list(routed.parties),
        "is_minor": routed.is_minor, "version": 1,
        "contact_email": f"kontakt-{number}@example.org" if plan.contact_email else None,
        "person_ref": None, "birth_date": person.birth_date,
        "disabilities": ",".join(sorted(person.disabilities)), "benefit": person.benefit,
        "school_finished": None, "data_transfer_objection": False,
        "objection_notice_given_on": None, "decided_on": None,
        "created_at": opened, "updated_at": opened,
    }  # fmt: skip
    return _Sim(case=case, facts=facts)


def simulate(
    plan: CasePlan, case_id: str, now: datetime, agreement: Agreement, rng: random.Random
) -> _Sim:
    """Replay ``plan`` for ``case_id`` through the rules; the case as of ``now``."""
    by = f"seed:fallmanagement-{rng.randint(1, CASE_MANAGERS):02d}"
    sim = _new_case(plan, case_id)
    opened = plan.opened_at
    _apply(sim, open_case_decision(sim.facts, opened, by, agreement), opened, by)
    for trigger, at, params in plan.steps:
        if trigger == "forward":  # § 14 Abs. 1 SGB IX: to the other carrier of the agreement
            params = {"to": "kreis-unna" if plan.routed.carrier == "lwl" else "lwl"}
        _sweep_until(sim, at)
        _apply(sim, advance(sim.snapshot(), trigger, params, at, by, agreement), at, by)
        sim.case["version"] += 1
    _sweep_until(sim, now)
    return sim


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


def _insert_case_rows(session: Session, sims: list[_Sim]) -> None:
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


def _case_outbox(sim: _Sim, audit_ids: Iterator[int], ag: Agreement) -> Iterator[Values]:
    """One case's outbox rows: its entries' notices (source ``audit:<id>``), then the sweep's."""
    view = CaseView.of(sim.facts)
    for entry, notices in sim.entries:
        audit_id = next(audit_ids)
        if notices:
            yield from _sent(notices, view, f"audit:{audit_id}", entry.at, ag)
    for step in sim.sweep_notices:
        yield from _sweep_outbox(step, view, ag)


def _write(session: Session, sims: list[_Sim], ag: Agreement) -> tuple[int, int]:
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

    def add(self, ids: list[str], sims: list[_Sim], n_audit: int, n_outbox: int) -> None:
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
            simulate(p, cid, now, agreement, rng) for p, cid in zip(chunk, chunk_ids, strict=True)
        ]
        with write_session(engine) as session:
            n_audit, n_outbox = _write(session, sims, agreement)
        tally.add(chunk_ids, sims, n_audit, n_outbox)
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
