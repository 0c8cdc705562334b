"""The pure decision entry point: given a case snapshot and a trigger, what changes.

:func:`advance` never touches a database, a clock or a network and never mutates its input: it
returns a :class:`states.decision.Decision` for the store to persist in one transaction, or raises
:class:`states.errors.InputError` (malformed or missing input) or
:class:`states.errors.TransitionRefused` (the rules say no: wrong state, failed guard), whose
message names the current state, why, and the legal reference.

Order of checks (so the first problem the user reads is the most basic one): ``at`` and the trigger
name, the parameters (required, unknown, blank), their values; then the states (case and
sub-process), then each guard with its reason; only then the machine fires.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from states import decision_deadline, law
from states.agreement import Agreement, load_agreement
from states.deadlines import berlin_date
from states.decision import (
    AuditEntry,
    CaseFacts,
    CaseSnapshot,
    Decision,
    NotificationEvent,
    OpenDeadline,
    Process,
    ProcessInstance,
    ProcessUpdate,
)
from states.errors import InputError, TransitionRefused
from states.machine import allowed_triggers, fire
from states.processes.case import phase_text
from states.processes.definition import (
    Effects,
    ProcessDefinition,
    StepContext,
    TriggerSpec,
    carry,
    open_rule,
    reason_for,
)
from states.processes.registry import DEFINITIONS, SUB_PROCESSES, TRIGGER_SPECS, TRIGGERS

OPEN_CASE = "open_case"


def _check_at(at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(
            f"Der Zeitpunkt {at!r} hat keine Zeitzone; erwartet wird ein Zeitpunkt mit Zeitzone "
            "(UTC oder Europe/Berlin)."
        )


def _check_by(by: str) -> str:
    if not isinstance(by, str) or not by.strip():
        raise InputError("Es fehlt, wer den Schritt auslöst (by).")
    return by


def _spec(trigger: str) -> TriggerSpec:
    spec = TRIGGER_SPECS.get(trigger)
    if spec is None:
        known = ", ".join(TRIGGERS)
        raise InputError(f"Unbekannter Auslöser {trigger!r}; bekannt sind: {known}.")
    return spec


def _check_params(spec: TriggerSpec, params: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        allowed = ", ".join(spec.params) or "keine"
        raise InputError(
            f"„{spec.name}“ kennt den Parameter {', '.join(map(repr, unknown))} nicht; "
            f"erlaubt: {allowed}."
        )
    for name, value in params.items():
        if not isinstance(value, str):
            raise InputError(f"Der Parameter „{name}“ muss ein Text sein, nicht {value!r}.")
    missing = [name for name in spec.required if not params.get(name, "").strip()]
    if missing:
        raise InputError(
            f"Für „{spec.name}“ fehlt der Parameter {', '.join(f'„{m}“' for m in missing)}."
        )
    return dict(params)


def _state_text(defn: ProcessDefinition, state: str | None) -> str:
    return f"„{defn.label(state)}“ ({state})"


def _norm(ctx: StepContext, spec: TriggerSpec) -> str:
    """The norm the step names in this case (a youth office's case cites SGB VIII, C4)."""
    return law.trigger_norm(ctx.agreement, ctx.snapshot.facts.carrier, spec.name, spec.norm)


def _not_allowed(
    ctx: StepContext, defn: ProcessDefinition, spec: TriggerSpec, state: str
) -> TransitionRefused:
    sources = defn.sources_of(spec.name)
    where = " oder ".join(_state_text(defn, s.value) for s in sources)
    hint = defn.hints.get(spec.name)
    norm = _norm(ctx, spec)
    return TransitionRefused(
        f"„{spec.label}“ ({spec.name}) ist bei {defn.title} im Zustand {_state_text(defn, state)} "
        f"nicht möglich, nur im Zustand {where} ({norm})." + (f" {hint}" if hint else ""),
        norm=norm,
    )


def _check_start(ctx: StepContext, defn: ProcessDefinition, spec: TriggerSpec) -> None:
    """A sub-process starts only while the case is in one of its ``start_when`` states (e.g. in
    assessment) and none of its kind is open."""
    case_state = ctx.state_of(Process.CASE)
    case_defn = DEFINITIONS[Process.CASE]
    carrier = ctx.snapshot.facts.carrier
    norm = law.trigger_norm(ctx.agreement, carrier, spec.name, defn.start_norm)
    if case_state not in defn.start_when:
        when = " oder ".join(phase_text(s) for s in case_defn.states if s in defn.start_when)
        raise TransitionRefused(
            f"„{spec.label}“ ({spec.name}) ist nur {when} möglich; der "
            f"Fall ist im Zustand {_state_text(case_defn, case_state)} ({norm}).",
            norm=norm,
        )
    current = ctx.instance(defn.process)
    if current is not None and not defn.is_final(current.state):
        raise TransitionRefused(
            f"Zu diesem Fall läuft bereits eine {defn.title} (Nr. {current.instance_no}, Zustand "
            f"{_state_text(defn, current.state)}); je Fall ist nur eine zur Zeit offen. Bitte "
            f"sie zuerst abschließen oder zurückziehen ({norm}).",
            norm=norm,
        )


def _sub_process_state(ctx: StepContext, defn: ProcessDefinition, spec: TriggerSpec) -> str:
    """The state of the existing sub-process a trigger progresses (the case must not be final)."""
    current = ctx.instance(defn.process)
    norm = _norm(ctx, spec)
    if current is None:
        raise TransitionRefused(
            f"Zu diesem Fall gibt es noch keine {defn.title} (Zustand „nicht begonnen“); "
            f"„{spec.label}“ ({spec.name}) setzt voraus, dass sie mit {defn.start_trigger} "
            f"begonnen wurde ({norm}).",
            norm=norm,
        )
    case_defn = DEFINITIONS[Process.CASE]
    case_state = ctx.state_of(Process.CASE)
    if case_state is not None and case_defn.is_final(case_state):
        raise TransitionRefused(
            f"Der Fall ist im Zustand {_state_text(case_defn, case_state)} beendet; die "
            f"{defn.title} (Zustand {_state_text(defn, current.state)}) kann nicht mehr "
            f"fortgeführt werden ({norm}).",
            norm=norm,
        )
    return current.state


def advance(
    snapshot: CaseSnapshot,
    trigger: str,
    params: Mapping[str, str],
    at: datetime,
    by: str,
    agreement: Agreement | None = None,
) -> Decision:
    """Decide one step of a case. Pure: the snapshot is not changed; the result is everything to
    persist. ``at`` must be timezone-aware; its Europe/Berlin date is the legal date of the step.
    ``agreement`` defaults to :func:`states.agreement.load_agreement` (cached)."""
    _check_at(at)
    spec = _spec(trigger)
    clean = _check_params(spec, params)
    _check_by(by)
    if snapshot.state_of(Process.CASE) is None:
        raise InputError(f"Der Fall {snapshot.facts.case_id!r} hat keinen Verfahrensstand.")
    if berlin_date(at) < snapshot.facts.received_on:
        # Every period of the case runs from the receipt (§ 14 Abs. 1 SGB IX, § 26 SGB X with
        # § 187 Abs. 1 BGB); a step dated before it would put deadlines before their anchor.
        raise InputError(
            f"Der Zeitpunkt {berlin_date(at).isoformat()} liegt vor dem Antragseingang "
            f"({snapshot.facts.received_on.isoformat()}); bitte ein Datum ab dem Eingang angeben."
        )
    ctx = StepContext(
        snapshot=snapshot,
        trigger=trigger,
        params=clean,
        at=at,
        today=berlin_date(at),
        by=by,
        agreement=agreement if agreement is not None else load_agreement(),
        sub_processes=SUB_PROCESSES,
    )
    defn = DEFINITIONS[spec.process]
    check = defn.input_checks.get(trigger)
    if check is not None:
        check(ctx)

    from_state: str | None
    if spec.starts_instance:
        _check_start(ctx, defn, spec)
        from_state, to_state = None, defn.initial.value
    else:
        if spec.process is Process.CASE:
            from_state = str(snapshot.state_of(Process.CASE))
        else:
            from_state = _sub_process_state(ctx, defn, spec)
        to_state = _move(ctx, defn, spec, from_state)

    fx = Effects()
    effect = defn.effects.get(trigger)
    if effect is not None:
        effect(ctx, fx)
    if fx.data is not None:
        data: Mapping[str, Any] = fx.data
    else:
        data = {} if spec.starts_instance else carry(ctx, spec.process)
    update = ProcessUpdate(
        spec.process, from_state, to_state, data, new_instance=spec.starts_instance
    )
    decision = Decision(
        trigger=trigger,
        updates=(update, *fx.extra_updates),
        deadlines_open=tuple(fx.deadlines_open),
        deadlines_close=tuple(fx.deadlines_close),
        notifications=tuple(fx.notifications),
        consent=fx.consent,
        facts_update=dict(fx.facts_update),
        audit=AuditEntry(trigger, spec.process, from_state, to_state, at, by, dict(clean)),
    )
    # §§ 14, 15, 120 SGB IX: the step may change which decision period applies.
    decision = decision_deadline.reconcile(ctx, decision, next_snapshot(snapshot, decision))
    return _in_law(decision, law.law_of(ctx.agreement, snapshot.facts.carrier))


def _in_law(decision: Decision, case_law: law.Law) -> Decision:
    """The notices as the case's law names them (a youth office's case: the Hilfeplan notices)."""
    if not case_law.events:
        return decision
    notices = tuple(
        dataclasses.replace(n, event=case_law.event(n.event)) for n in decision.notifications
    )
    return dataclasses.replace(decision, notifications=notices)


def _move(ctx: StepContext, defn: ProcessDefinition, spec: TriggerSpec, state: str) -> str:
    """Check the state and the guards (with reasons), then let the machine fire."""
    if spec.name not in allowed_triggers(defn.process, state):
        raise _not_allowed(ctx, defn, spec, state)
    row = defn.row(spec.name, state)
    assert row is not None  # allowed_triggers found one
    for check in row.guards:
        if not check(ctx):
            reason = reason_for(check)
            assert reason is not None  # states.machine validated every guard at import
            raise reason(ctx)
    moved = fire(defn.process, state, spec.name, ctx)
    if moved is None:  # a guard changed its mind between check and fire: refuse, change nothing
        raise _not_allowed(ctx, defn, spec, state)
    return moved.value


def open_case_decision(
    facts: CaseFacts,
    at: datetime,
    by: str,
    agreement: Agreement | None = None,
    *,
    check_jurisdiction: bool = False,
) -> Decision:
    """The decision that opens a case in ``received``: the § 14 periods ``jurisdiction`` and
    ``decision``, both anchored on the receipt (``facts.received_on``) and owed by the carrier
    that received the application. With ``check_jurisdiction`` (routing names another carrier or
    none) that carrier is told to check within the § 14 Abs. 1 period (legal-review C5)."""
    _check_at(at)
    _check_by(by)
    agreement = agreement if agreement is not None else load_agreement()
    agreement.party(facts.carrier)  # unknown carrier → InputError
    ctx = StepContext(
        snapshot=CaseSnapshot(facts=facts, processes={}),
        trigger=OPEN_CASE,
        params={},
        at=at,
        today=berlin_date(at),
        by=by,
        agreement=agreement,
        sub_processes=SUB_PROCESSES,
    )
    initial = DEFINITIONS[Process.CASE].initial.value
    # The decision period's reading from the facts at receipt (§ 14 Abs. 2 S. 2, § 15 Abs. 4).
    opened = CaseSnapshot(
        facts=facts, processes={Process.CASE: ProcessInstance(Process.CASE, initial, {}, 1)}
    )
    choice = decision_deadline.choose(opened, agreement)
    decision = open_rule(
        ctx, "decision", facts.received_on, variant=choice.variant or "standard",
        reason=choice.reason,
    )  # fmt: skip
    if facts.forwarded_from is not None:
        # § 14 Abs. 2 S. 4 SGB IX: the carrier the application was forwarded to is the leistender
        # Träger; its decision period runs from the receipt there, it has no two weeks to forward.
        audit = AuditEntry(
            OPEN_CASE, Process.CASE, None, initial, at, by, {"forwarded_from": facts.forwarded_from}
        )
        return Decision(
            trigger=OPEN_CASE,
            updates=(ProcessUpdate(Process.CASE, None, initial, {}, new_instance=True),),
            deadlines_open=(decision,),
            audit=audit,
        )
    jurisdiction = open_rule(ctx, "jurisdiction", facts.received_on)
    notices: tuple[NotificationEvent, ...] = ()
    if check_jurisdiction:
        context = {"due": jurisdiction.due.isoformat(), "norm": jurisdiction.norm}
        notices = (NotificationEvent("jurisdiction_check", Process.CASE, context),)
    return Decision(
        trigger=OPEN_CASE,
        updates=(ProcessUpdate(Process.CASE, None, initial, {}, new_instance=True),),
        notifications=notices,
        deadlines_open=(jurisdiction, decision),
        audit=AuditEntry(OPEN_CASE, Process.CASE, None, initial, at, by, {}),
    )


def next_snapshot(snapshot: CaseSnapshot, decision: Decision) -> CaseSnapshot:
    """The snapshot after ``decision``, as the store would load it next time (pure; for replays,
    the worked example and tests; the database stays the source of truth)."""
    processes: dict[Process, ProcessInstance] = dict(snapshot.processes)
    for update in decision.updates:
        old = processes.get(update.process)
        if update.new_instance:
            number = old.instance_no + 1 if old is not None else 1
        else:
            number = old.instance_no if old is not None else 1
        processes[update.process] = ProcessInstance(
            update.process, update.to_state, dict(update.data), number
        )
    closed = {c.rule for c in decision.deadlines_close}
    deadlines = [d for d in snapshot.deadlines if d.rule not in closed]
    deadlines.extend(
        OpenDeadline(s.rule, s.anchor_date, s.due, s.process, s.variant)
        for s in decision.deadlines_open
    )
    fields = {f.name for f in dataclasses.fields(CaseFacts)}
    facts_changes = {k: v for k, v in decision.facts_update.items() if k in fields}
    facts = (
        dataclasses.replace(snapshot.facts, **facts_changes) if facts_changes else snapshot.facts
    )
    return CaseSnapshot(facts=facts, processes=processes, deadlines=tuple(deadlines))
