"""Seed data for benchmarks and demos: ``seed(engine, cases=N, now=...)`` (``gpv dev seed``).

Which cases, along which paths and when, is planned in :mod:`workflows.seeding.plans` (the scenario
data and the ``realistic`` and ``peak`` profiles); this module replays and writes them.

Every case is driven through the real, pure rules: it is opened with
``states.advance.open_case_decision`` and moved along its scenario's path with
``states.advance.advance``, so its states, version, deadlines, consents, audit entries and outbox
rows are exactly what the engine itself would have written. Between two steps, and finally up to
``now``, the deadline sweep is replayed as if it had run every minute: reminders were sent on their
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

import dataclasses
import random
import time as clock
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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
    DeadlineStatus,
    Decision,
    NotificationEvent,
    OpenDeadline,
    Process,
    ProcessInstance,
)
from states.errors import InputError
from workflows.seeding.plans import BERLIN, PROFILES, SCENARIOS, CasePlan, Scenario, plans
from workflows.store import audit
from workflows.store.cases import _DATE_FACTS, FACT_COLUMNS, allocate_case_ids
from workflows.store.db import write_session
from workflows.store.models import CaseRow, ConsentRow, DeadlineRow, ProcessRow
from workflows.store.outbox import OutboxRow, OutboxStatus, outbox_values
from workflows.sweep import MISS_TRIGGER, SWEEP_ACTOR, DeadlineFacts, plan_escalation, plan_reminder

__all__ = ["PROFILES", "SCENARIOS", "CasePlan", "Scenario", "count_open_deadlines", "plans", "seed"]

CHUNK = 5_000
CASE_MANAGERS = 40  # seeded steps are signed "seed:fallmanagement-01" … "-40"


# --------------------------------------------------------------------------------------------------
# Replaying the engine for one case (pure: rows as dicts, mirroring workflows.store.cases / sweep)


@dataclass
class _Sim:
    case: dict[str, Any]
    facts: CaseFacts
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)  # latest instance each
    instances: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    # (audit entry, its notices) and (deadline row, "reminder" | "escalation", when, today)
    entries: list[tuple[audit.NewEntry, tuple[NotificationEvent, ...]]] = field(
        default_factory=list
    )
    sweep_notices: list[tuple[dict[str, Any], str, datetime, date]] = field(default_factory=list)

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
                if d["status"] == "open" or (d["status"] == "missed" and d["closed_at"] is None)
            ),
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), BERLIN)


def _sweep_until(sim: _Sim, t: datetime) -> None:
    """What the every-minute sweep did to this case's open deadlines up to ``t``."""
    today = berlin_date(t)
    missed: list[tuple[datetime, dict[str, Any]]] = []
    for d in sim.deadlines:
        if d["status"] != "open":
            continue
        remind_on = d["remind_on"]
        if (
            d["reminder_sent_at"] is None
            and remind_on is not None
            and remind_on <= min(today, d["due"])
        ):
            sent = _midnight(remind_on)
            d["reminder_sent_at"] = sent
            sim.sweep_notices.append((d, "reminder", sent, remind_on))
        if d["due"] < today:
            when = _midnight(d["due"] + timedelta(days=1))
            d["status"], d["escalated_at"] = "missed", when
            missed.append((when, d))
    for when, d in sorted(missed, key=lambda m: m[0]):
        sim.sweep_notices.append((d, "escalation", when, berlin_date(when)))
        sim.entries.append(
            (
                audit.NewEntry(
                    case_id=sim.facts.case_id,
                    trigger=MISS_TRIGGER,
                    process=d["process"],
                    from_state="open",
                    to_state="missed",
                    at=when,
                    by=SWEEP_ACTOR,
                    params={"rule": d["rule"], "norm": d["norm"], "due": d["due"].isoformat()},
                ),
                (),
            )
        )


def _close(sim: _Sim, rule: str, status: DeadlineStatus, reason: str, at: datetime) -> None:
    for d in sim.deadlines:  # as cases._close_deadlines: open ones first, then missed ones
        if d["rule"] == rule and d["status"] == "open":
            d.update(status=status.value, closed_at=at, closed_reason=reason or None)
    for d in sim.deadlines:
        if d["rule"] == rule and d["status"] == "missed" and d["closed_at"] is None:
            d.update(closed_at=at, closed_reason=reason or status.value)


def _apply(sim: _Sim, decision: Decision, at: datetime, by: str) -> None:
    """As ``cases.apply_decision``: states, facts, deadlines closed then opened, consent, audit."""
    for upd in decision.updates:
        name, current = str(upd.process), sim.processes.get(str(upd.process))
        data = audit.plain_params(upd.data)
        if upd.new_instance or current is None:
            number = current["instance_no"] + 1 if current else 1
            row = {"case_id": sim.facts.case_id, "process": name, "instance_no": number}
            row.update(state=str(upd.to_state), data=data, opened_at=at, updated_at=at)
            sim.instances.append(row)
            sim.processes[name] = row
        else:
            current.update(state=str(upd.to_state), data=data, updated_at=at)
        if upd.process == Process.CASE:
            sim.case["status"] = str(upd.to_state)
    for key, value in decision.facts_update.items():
        if key in _DATE_FACTS and isinstance(value, str):
            value = date.fromisoformat(value)
        sim.case[FACT_COLUMNS[key]] = list(value) if key == "parties" else value
        if key in {f.name for f in dataclasses.fields(CaseFacts)}:
            sim.facts = dataclasses.replace(sim.facts, **{key: value})
    sim.case["updated_at"] = at
    for closure in decision.deadlines_close:
        _close(sim, closure.rule, DeadlineStatus(closure.status), closure.reason, at)
    for spec in decision.deadlines_open:
        _close(sim, spec.rule, DeadlineStatus.CANCELLED, "neu berechnet", at)
        row = {
            f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "skipped"
        }
        row.update(case_id=sim.facts.case_id, process=str(spec.process), status="open")
        row.update(reminder_sent_at=None, escalated_at=None, closed_at=None, closed_reason=None)
        row["created_at"] = at
        sim.deadlines.append(row)
    if decision.consent is not None:
        c = decision.consent
        sim.consents.append(
            {"case_id": sim.facts.case_id, "scope": c.scope, "status": str(c.status)}
            | {"norm": c.norm, "at": at, "recorded_by": by}
        )
    entry = decision.audit
    assert entry is not None  # advance and open_case_decision always name the audit entry
    new = audit.NewEntry(
        sim.facts.case_id, entry.trigger, str(entry.process), entry.from_state, entry.to_state,
        entry.at, entry.by, entry.params,
    )  # fmt: skip
    sim.entries.append((new, decision.notifications))


def simulate(plan: CasePlan, case_id: str, now: datetime, agreement: Agreement, rng: random.Random):
    """Replay ``plan`` for ``case_id`` through the rules; the case as of ``now``."""
    person, opened = plan.person, plan.opened_at
    routed = plan.routed
    assert routed.carrier is not None
    by = f"seed:fallmanagement-{rng.randint(1, CASE_MANAGERS):02d}"
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
    case: dict[str, Any] = {
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
    sim = _Sim(case=case, facts=facts)
    _apply(sim, open_case_decision(facts, opened, by, agreement), opened, by)
    for trigger, at, params in plan.steps:
        if trigger == "forward":  # § 14 Abs. 1 SGB IX: to the other carrier of the agreement
            params = {"to": "kreis-unna" if routed.carrier == "lwl" else "lwl"}
        _sweep_until(sim, at)
        _apply(sim, advance(sim.snapshot(), trigger, params, at, by, agreement), at, by)
        case["version"] += 1
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


def _outbox_rows(
    notices: list[NotificationEvent], view: CaseView, source_key: str, at: datetime, ag: Agreement
) -> Iterator[dict[str, Any]]:
    """The rows ``workflows.store.outbox`` would write, marked as sent at ``at`` (seeded
    history)."""
    for row in outbox_values(view, notices, source_key, at, ag):
        yield row | {"status": OutboxStatus.SENT.value, "attempts": 1, "sent_at": at}


def _write(session: Session, sims: list[_Sim], ag: Agreement) -> tuple[int, int]:
    """Insert one chunk; returns (audit entries, outbox rows) written."""
    session.execute(CaseRow.__table__.insert(), [s.case for s in sims])  # type: ignore[attr-defined]
    instances = [row for s in sims for row in s.instances]
    session.execute(ProcessRow.__table__.insert(), instances)  # type: ignore[attr-defined]
    consents = [row for s in sims for row in s.consents]
    if consents:
        session.execute(ConsentRow.__table__.insert(), consents)  # type: ignore[attr-defined]
    deadlines = [row for s in sims for row in s.deadlines]
    for row, new_id in zip(
        deadlines, _reserve_ids(session, "deadlines", len(deadlines)), strict=True
    ):
        row["id"] = new_id
    session.execute(DeadlineRow.__table__.insert(), deadlines)  # type: ignore[attr-defined]
    entries = [e for s in sims for e in s.entries]
    recorded_at = datetime.now(UTC)
    ids = audit.append_many(session, [e for e, _ in entries], recorded_at=recorded_at)
    outbox: list[dict[str, Any]] = []
    by_case = iter(ids)
    for s in sims:
        view = CaseView.of(s.facts)
        for entry, notices in s.entries:
            audit_id = next(by_case)
            if notices:
                outbox.extend(_outbox_rows(list(notices), view, f"audit:{audit_id}", entry.at, ag))
        for d, kind, when, today in s.sweep_notices:
            facts = DeadlineFacts(
                d["id"], d["case_id"], d["rule"], d["norm"], d["process"], d["due"],
                d["responsible_party"],
            )  # fmt: skip
            event = (plan_escalation if kind == "escalation" else plan_reminder)(ag, facts, today)
            if event is not None:
                key = f"deadline:{d['id']}:{kind}"
                outbox.extend(_outbox_rows([event], view, key, when, ag))
    for start in range(0, len(outbox), 20_000):
        session.execute(OutboxRow.__table__.insert(), outbox[start : start + 20_000])  # type: ignore[attr-defined]
    return len(ids), len(outbox)


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
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("seed: now must be timezone-aware")
    if cases < 0:
        raise ValueError("seed: cases must be >= 0")
    if profile not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"Unbekanntes Profil {profile!r} (--profile); möglich: {known}.")
    started = clock.perf_counter()
    agreement = load_agreement()
    rng = random.Random(rng_seed)
    all_plans = plans(cases, now, rng, agreement, PROFILES[profile])
    totals: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_town: Counter[str] = Counter()
    ids: list[str] = []
    for start in range(0, len(all_plans), CHUNK):
        chunk = all_plans[start : start + CHUNK]
        with write_session(engine) as session:
            chunk_ids: list[str] = []
            for year in sorted({p.opened_at.astimezone(BERLIN).year for p in chunk}):
                n = sum(1 for p in chunk if p.opened_at.astimezone(BERLIN).year == year)
                chunk_ids.extend(allocate_case_ids(session, year, n))
        # allocate_case_ids hands out per year in ascending order; plans are sorted by time.
        sims = [
            simulate(p, cid, now, agreement, rng) for p, cid in zip(chunk, chunk_ids, strict=True)
        ]
        with write_session(engine) as session:
            n_audit, n_outbox = _write(session, sims, agreement)
        ids.extend(chunk_ids)
        totals.update(audit_entries=n_audit, outbox=n_outbox)
        for s in sims:
            by_status[s.case["status"]] += 1
            by_town[s.case["municipality"]] += 1
            totals["deadlines"] += len(s.deadlines)
            totals["open_deadlines"] += sum(d["status"] == "open" for d in s.deadlines)
    return {
        "cases": len(ids),
        "profile": profile,
        "first_id": ids[0] if ids else None,
        "last_id": ids[-1] if ids else None,
        "deadlines": totals["deadlines"],
        "open_deadlines": totals["open_deadlines"],
        "audit_entries": totals["audit_entries"],
        "outbox": totals["outbox"],
        "by_status": dict(sorted(by_status.items())),
        "by_town": dict(sorted(by_town.items())),
        "by_scenario": dict(sorted(Counter(p.scenario for p in all_plans).items())),
        "seconds": round(clock.perf_counter() - started, 2),
    }


def count_open_deadlines(session: Session) -> int:
    """Open deadlines in the store (for the benchmark's report)."""
    stmt = select(func.count()).select_from(DeadlineRow).where(DeadlineRow.status == "open")  # type: ignore[arg-type]
    return int(session.execute(stmt).scalar_one())
