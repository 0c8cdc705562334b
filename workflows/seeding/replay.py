"""Replaying the engine for one seeded case, in memory: its rows as dicts, by the store's rule.

Pure apart from the rules' own clock-free calls: each step's decision comes from
``states.advance``, becomes rows through :func:`workflows.store.rows.decision_rows` (with ``now``
= the step's ``at``: seeded rows are history), and between two steps the sweep is replayed with
:func:`workflows.store.sweep_rule.swept_until`. :mod:`workflows.seeding.seed` writes the result.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import datetime

from states.advance import advance, open_case_decision
from states.agreement import Agreement
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
from workflows.seeding.plans import CasePlan
from workflows.store.rows import (
    OUTSTANDING,
    CurrentRows,
    NewEntry,
    Values,
    apply_closing,
    decision_rows,
    forwarded_case_values,
    matches,
)
from workflows.store.sweep_rule import SweepStep, miss_entry, swept_until

CASE_MANAGERS = 40  # seeded steps are signed "seed:fallmanagement-01" … "-40"
_FACT_FIELDS = frozenset(f.name for f in dataclasses.fields(CaseFacts))


@dataclass
class ReplayedCase:
    """One case's rows as the engine would have written them, in memory (dicts of column
    values): the case, every process instance, deadline and consent, the audit entries with
    their notices and the sweep's reminders and escalations, each in the order written."""

    case: Values
    facts: CaseFacts
    processes: dict[str, Values] = field(default_factory=dict)  # latest instance each
    instances: list[Values] = field(default_factory=list)
    deadlines: list[Values] = field(default_factory=list)
    consents: list[Values] = field(default_factory=list)
    # (audit entry, its notices) and the sweep's reminders and escalations, in the order written
    entries: list[tuple[NewEntry, tuple[NotificationEvent, ...]]] = field(default_factory=list)
    sweep_notices: list[SweepStep] = field(default_factory=list)
    # (target, at, by) of a forwarding: the seed opens the linked case (§ 14 Abs. 2 S. 4 SGB IX)
    forwarded: tuple[str, datetime, str] | None = None

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
                OpenDeadline(
                    d["rule"], d["anchor_date"], d["due"], Process(d["process"]), d["variant"]
                )
                for d in self.deadlines
                if matches(d, OUTSTANDING)
            ),
        )


def _sweep_until(sim: ReplayedCase, t: datetime) -> None:
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


def _apply(sim: ReplayedCase, decision: Decision, at: datetime, by: str) -> None:
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


def _refresh_facts(sim: ReplayedCase) -> None:
    """The rules' facts after a decision changed case columns (as ``cases.case_facts`` reads)."""
    changed = {k: v for k, v in sim.case.items() if k in _FACT_FIELDS and k != "case_id"}
    changed["parties"] = tuple(changed.get("parties") or ())
    sim.facts = dataclasses.replace(sim.facts, **changed)


def _new_case(plan: CasePlan, case_id: str) -> ReplayedCase:
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
        "routed_carrier": routed.carrier, "routing_basis": routed.legal_basis,
        "routing_reason": routed.reason, "routing_flags": list(routed.review_flags),
        "school_status": person.school, "benefit_start": person.benefit_start,
        "forwarded_from": None, "forwarded_to": None, "consented": [], "statement_by": [],
        "is_parent": False,
        "created_at": opened, "updated_at": opened,
    }  # fmt: skip
    return ReplayedCase(case=case, facts=facts)


def replay(
    plan: CasePlan, case_id: str, now: datetime, agreement: Agreement, rng: random.Random
) -> ReplayedCase:
    """Replay ``plan`` for ``case_id`` through the rules; the case as of ``now``."""
    by = f"seed:fallmanagement-{rng.randint(1, CASE_MANAGERS):02d}"
    sim = _new_case(plan, case_id)
    opened = plan.opened_at
    _apply(sim, open_case_decision(sim.facts, opened, by, agreement), opened, by)
    for trigger, at, params in plan.steps:
        if trigger == "forward":  # § 14 Abs. 1 SGB IX: to the other carrier of the agreement
            params = {"to": "kreis-unna" if plan.routed.carrier == "lwl" else "lwl"}
            sim.forwarded = (params["to"], at, by)
        _sweep_until(sim, at)
        _apply(sim, advance(sim.snapshot(), trigger, params, at, by, agreement), at, by)
        sim.case["version"] += 1
    _sweep_until(sim, now)
    return sim


def replay_forwarded(
    first: ReplayedCase, case_id: str, now: datetime, agreement: Agreement
) -> ReplayedCase:
    """The case gpv opens at the carrier ``first`` was forwarded to (``service._open_forwarded``),
    as of ``now``: opened in the forwarding's moment, then only swept (the seed's plans end with
    the forwarding). Sets ``first``'s link to it."""
    assert first.forwarded is not None
    target, at, by = first.forwarded
    received = first.case["received_on"] if first.case["forwarded_from"] else berlin_date(at)
    source = agreement.party(first.case["carrier"]).name
    case = forwarded_case_values(first.case, case_id, target, received, source, at)
    first.case["forwarded_to"] = case_id
    facts = CaseFacts(
        case_id=case_id, received_on=received, carrier=target,
        municipality=case["municipality"], parties=tuple(case["parties"]),
        is_minor=case["is_minor"], has_contact_email=bool(case["contact_email"]),
        forwarded_from=first.case["id"],
    )  # fmt: skip
    sim = ReplayedCase(case=case, facts=facts)
    _apply(sim, open_case_decision(facts, at, by, agreement), at, by)
    _sweep_until(sim, now)
    return sim
