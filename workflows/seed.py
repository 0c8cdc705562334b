"""Seed data for benchmarks and demos: ``seed(engine, cases=N, now=...)`` (``gpv dev seed``).

Every case is driven through the real, pure rules: it is opened with
``states.advance.open_case_decision`` and moved along one :data:`SCENARIOS` path with
``states.advance.advance``, so its states, version, deadlines, consents, audit entries and outbox
rows are exactly what the engine itself would have written. Between two steps, and finally up to
``now``, the deadline sweep is replayed as if it had run every minute: reminders were sent on their
day, deadlines past their due day were marked missed with their ``miss_deadline`` audit entry and
their escalation notice. A sweep at ``now`` therefore has nothing to do; a sweep a day later finds
a realistic daily batch.

Fast by design: the rules run in Python, the rows go in with executemany inserts in chunks of
:data:`CHUNK` cases, one transaction per chunk. Case ids come from the store's own allocator
(``workflows.store.allocate_case_ids``), deadline ids from the table's own sequence, audit entries
through ``workflows.audit.append_many`` (the one hash chain), so nothing collides with what the
engine writes later and ``gpv audit verify`` passes. Seeded notices are marked ``sent`` (history,
not work for the dispatcher). ``recorded_at`` of the seeded audit entries is the wall-clock time of
the seed (when gpv wrote them); ``at`` is the effective time of each step.

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
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications.policy import CaseView, resolve
from states.advance import advance, open_case_decision
from states.agreement import Agreement, load_agreement
from states.calendar import is_working_day
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
from states.routing import PersonFacts, RoutingResult, route
from workflows import audit, store
from workflows.db import write_session
from workflows.models import Case, ConsentRow, DeadlineRecord, ProcessRecord
from workflows.outbox import OutboxMessage, OutboxStatus, dedup_key, plain_context
from workflows.sweep import MISS_TRIGGER, SWEEP_ACTOR, DeadlineFacts, plan_escalation, plan_reminder

BERLIN = ZoneInfo("Europe/Berlin")
CHUNK = 5_000
CASE_MANAGERS = 40  # seeded steps are signed "seed:fallmanagement-01" … "-40"


@dataclass(frozen=True)
class Scenario:
    """One path through the process. ``steps``: (trigger, min gap, max gap in days after the
    previous step); the last step happened ``last`` (min, max) days before ``now``."""

    name: str
    weight: int
    steps: tuple[tuple[str, int, int], ...]
    last: tuple[int, int]


_A = ("accept_jurisdiction", 1, 10)
_RS = ("request_statement", 0, 10)
_DS = ("deliver_statement", 5, 20)
_RC = ("request_consent", 0, 5)
_GC = ("give_consent", 2, 10)
_SC = ("schedule_conference", 1, 5)  # the conference itself is 7–20 days later
_HC = ("hold_conference", 0, 0)  # on the conference day
_RH = ("request_housing_support", 0, 5)
_AH = ("acknowledge_housing_support", 1, 10)
_PH = ("provide_housing_support", 5, 20)
_DB = ("determine_benefits", 1, 10)
_ID = ("issue_decision", 1, 7)

#: The stage mix (weights in percent). Every case state and every sub-process state occurs; most
#: cases sit in assessment (the busy part of the year) or wait for their two-yearly review.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("received", 10, (), (0, 20)),
    Scenario("forwarded", 2, (("forward", 1, 10),), (0, 120)),
    Scenario("assessment", 5, (_A,), (0, 25)),
    Scenario("statement_requested", 10, (_A, _RS), (0, 21)),
    Scenario("statement_accepted", 6, (_A, _RS, ("accept_statement_request", 1, 4)), (0, 18)),
    Scenario("statement_and_housing", 14, (_A, _RS, _RH), (0, 16)),
    Scenario("statement_declined", 2, (_A, _RS, ("decline_statement_request", 2, 8)), (0, 30)),
    Scenario("consent_pending", 4, (_A, _RS, _DS, _RC), (0, 12)),
    Scenario("conference_scheduled", 4, (_A, _RS, _DS, _RC, _GC, _SC), (0, 12)),
    Scenario("consent_refused", 2, (_A, _RC, ("refuse_consent", 2, 10), _RH, _AH), (0, 30)),
    Scenario("housing_provided", 3, (_A, _RH, _AH, _PH), (0, 30)),
    Scenario("determined", 4, (_A, _RS, _DS, _DB), (0, 12)),
    Scenario("decided", 16, (_A, _RS, _DS, _DB, _ID), (0, 760)),
    Scenario(
        "decided_after_conference",
        4,
        (_A, _RH, _AH, _RC, _GC, _SC, _HC, _PH, ("close_housing_support", 1, 20), _DB, _ID),
        (0, 760),
    ),
    Scenario("review_started", 4, (_A, _DB, _ID, ("start_review", 680, 725), _RS, _RH), (0, 14)),
    Scenario("conference_cancelled", 1, (_A, _RC, _GC, ("cancel_conference", 1, 10)), (0, 40)),
    Scenario("closed", 3, (_A, _DB, _ID, ("close", 30, 700)), (0, 365)),
    Scenario("withdrawn", 3, (_A, _RS, _RH, ("withdraw", 2, 30)), (0, 200)),
)

_ADULT_BENEFITS = (
    ("supported_living", 40),
    ("sheltered_workshop", 20),
    ("special_housing_form", 15),
    ("assistance_services", 10),
    ("work_participation", 8),
    ("personal_budget", 7),
)
_MINOR_BENEFITS = (
    ("school_assistant", 45),
    ("early_intervention", 25),
    ("therapeutic_day_centre", 15),
    ("daycare_centre", 15),
)
_DISABILITIES = (
    ("mental", 35),
    ("intellectual", 25),
    ("physical", 15),
    ("addiction", 10),
    ("sensory", 5),
    ("mental,physical", 5),
    ("intellectual,physical", 5),
)


def _pick(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


# --------------------------------------------------------------------------------------------------
# Timelines (pure)


@dataclass
class _Plan:
    """One case to seed: who, where, its scenario and the steps with their times and params."""

    scenario: str
    person: PersonFacts
    routed: RoutingResult
    contact_email: bool
    opened_at: datetime
    steps: list[tuple[str, datetime, dict[str, str]]]


def _next_working_day(day: date, region: str) -> date:
    while not is_working_day(day, region=region):
        day += timedelta(days=1)
    return day


def _at(day: date, rng: random.Random, region: str) -> datetime:
    """A time during office hours on ``day`` or, if that is no NRW working day, the next one."""
    day = _next_working_day(day, region)
    return datetime.combine(day, time(8, 0), BERLIN) + timedelta(minutes=rng.randrange(0, 480))


def _place(
    sc: Scenario, start: date, gaps: list[int], conf_in: int, region: str, rng: random.Random
) -> tuple[datetime, list[tuple[str, datetime, dict[str, str]]]]:
    opened = _at(start, rng, region)
    steps: list[tuple[str, datetime, dict[str, str]]] = []
    prev, conference_day = opened, None
    for (trigger, _, _), gap in zip(sc.steps, gaps, strict=True):
        params: dict[str, str] = {}
        if trigger == "hold_conference" and conference_day is not None:
            at = datetime.combine(conference_day, time(14, 0), BERLIN)
        else:
            at = _at(berlin_date(prev) + timedelta(days=gap), rng, region)
        if at <= prev:
            at = prev + timedelta(minutes=rng.randrange(5, 60))
        if trigger == "schedule_conference":
            conference_day = _next_working_day(berlin_date(at) + timedelta(days=conf_in), region)
            params = {
                "date": f"{conference_day.isoformat()}T10:00",
                "location": "Kreishaus Unna, Friedrich-Ebert-Straße 17",
            }
        elif trigger == "decline_statement_request":
            params = {"reason": "Keine fachärztliche Kapazität im angefragten Zeitraum"}
        steps.append((trigger, at, params))
        prev = at
    return opened, steps


def _timeline(
    sc: Scenario, now: datetime, region: str, rng: random.Random
) -> tuple[datetime, list[tuple[str, datetime, dict[str, str]]]]:
    """Step times such that the last step lies ``sc.last`` days before ``now`` (and before it)."""
    gaps = [rng.randint(lo, hi) for _, lo, hi in sc.steps]
    conf_in = rng.randint(7, 20)
    target = berlin_date(now) - timedelta(days=rng.randint(*sc.last))
    start = target - timedelta(days=sum(gaps))
    for _ in range(40):
        opened, steps = _place(sc, start, gaps, conf_in, region, rng)
        last = steps[-1][1] if steps else opened
        overshoot = (berlin_date(last) - target).days
        if last < now and overshoot <= 0:
            return opened, steps
        start -= timedelta(days=max(overshoot, 1))
    raise AssertionError(f"seed: no timeline for scenario {sc.name} before {now}")


def _person(
    rng: random.Random, agreement: Agreement, on: date
) -> tuple[PersonFacts, RoutingResult]:
    towns = sorted(agreement.towns)
    for _ in range(10):
        minor = rng.random() < 0.15
        if minor:
            birth = on - timedelta(days=rng.randint(2 * 365, 17 * 365))
            benefit = _pick(rng, _MINOR_BENEFITS)
        else:
            birth = on - timedelta(days=rng.randint(19 * 365, 75 * 365))
            benefit = _pick(rng, _ADULT_BENEFITS)
        facts = PersonFacts(
            birth_date=birth,
            municipality=rng.choice(towns),
            disabilities=frozenset(_pick(rng, _DISABILITIES).split(",")),
            benefit=benefit,
        )
        result = route(facts, on=on, agreement=agreement)
        if result.decided:
            return facts, result
    raise AssertionError("seed: routing decided none of ten generated people")


def plans(count: int, now: datetime, rng: random.Random, agreement: Agreement) -> list[_Plan]:
    """``count`` case plans, sorted by the time the case was opened (pure, deterministic)."""
    weights = [s.weight for s in SCENARIOS]
    out = []
    for sc in rng.choices(SCENARIOS, weights=weights, k=count):
        opened, steps = _timeline(sc, now, agreement.holiday_region, rng)
        person, routed = _person(rng, agreement, berlin_date(opened))
        out.append(_Plan(sc.name, person, routed, rng.random() < 0.6, opened, steps))
    out.sort(key=lambda p: p.opened_at)
    return out


# --------------------------------------------------------------------------------------------------
# Replaying the engine for one case (pure: rows as dicts, mirroring workflows.store / sweep)


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
    for d in sim.deadlines:  # as store._close_deadlines: open ones first, then missed ones
        if d["rule"] == rule and d["status"] == "open":
            d.update(status=status.value, closed_at=at, closed_reason=reason or None)
    for d in sim.deadlines:
        if d["rule"] == rule and d["status"] == "missed" and d["closed_at"] is None:
            d.update(closed_at=at, closed_reason=reason or status.value)


def _apply(sim: _Sim, decision: Decision, at: datetime, by: str) -> None:
    """As ``store.apply_decision``: states, facts, deadlines closed then opened, consent, audit."""
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
        if key in store._DATE_FACTS and isinstance(value, str):
            value = date.fromisoformat(value)
        sim.case[store.FACT_COLUMNS[key]] = list(value) if key == "parties" else value
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


def simulate(plan: _Plan, case_id: str, now: datetime, agreement: Agreement, rng: random.Random):
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
    for notice in notices:
        context = plain_context(notice.context)
        context.setdefault("process", str(notice.process))
        for r in resolve(notice.event, view, context, ag):
            yield {
                "case_id": view.case_id, "event": notice.event, "recipient_role": r.role,
                "recipient_party": r.party, "template_id": r.template_id, "context": context,
                "dedup_key": dedup_key(source_key, notice.event, r.role, r.party),
                "status": OutboxStatus.SENT.value, "attempts": 1, "created_at": at, "sent_at": at,
            }  # fmt: skip


def _write(session: Session, sims: list[_Sim], ag: Agreement) -> tuple[int, int]:
    """Insert one chunk; returns (audit entries, outbox rows) written."""
    session.execute(Case.__table__.insert(), [s.case for s in sims])  # type: ignore[attr-defined]
    instances = [row for s in sims for row in s.instances]
    session.execute(ProcessRecord.__table__.insert(), instances)  # type: ignore[attr-defined]
    consents = [row for s in sims for row in s.consents]
    if consents:
        session.execute(ConsentRow.__table__.insert(), consents)  # type: ignore[attr-defined]
    deadlines = [row for s in sims for row in s.deadlines]
    for row, new_id in zip(
        deadlines, _reserve_ids(session, "deadlines", len(deadlines)), strict=True
    ):
        row["id"] = new_id
    session.execute(DeadlineRecord.__table__.insert(), deadlines)  # type: ignore[attr-defined]
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
        session.execute(OutboxMessage.__table__.insert(), outbox[start : start + 20_000])  # type: ignore[attr-defined]
    return len(ids), len(outbox)


def seed(engine: Engine, *, cases: int, now: datetime, rng_seed: int = 2026) -> dict[str, Any]:
    """Add ``cases`` synthetic cases as of ``now`` (timezone-aware) to the (migrated) store.

    Deterministic for a given ``rng_seed`` and ``now`` (apart from case numbers, which continue the
    store's counters, and ``recorded_at``). Returns counts: ``cases``, ``first_id``, ``last_id``,
    ``deadlines``, ``open_deadlines``, ``audit_entries``, ``outbox``, ``by_status``, ``by_town``,
    ``by_scenario``, ``seconds``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("seed: now must be timezone-aware")
    if cases < 0:
        raise ValueError("seed: cases must be >= 0")
    started = clock.perf_counter()
    agreement = load_agreement()
    rng = random.Random(rng_seed)
    all_plans = plans(cases, now, rng, agreement)
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
                chunk_ids.extend(store.allocate_case_ids(session, year, n))
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
    stmt = select(func.count()).select_from(DeadlineRecord).where(DeadlineRecord.status == "open")  # type: ignore[arg-type]
    return int(session.execute(stmt).scalar_one())
