"""The building blocks of a process definition, and the helpers its effects share.

A process definition is data: an Enum of states, a table of :class:`StateSpec` (German label,
initial/final), a tuple of :class:`Transition` rows whose guards are function objects, one
:class:`TriggerSpec` per trigger (label, norm, parameters, who acts), and the effects each trigger
has on deadlines, notifications and consent. ``states.machine`` validates every definition at
import and builds one shared ``transitions.Machine`` per process from it.

Guards answer yes or no silently (the machine uses them as conditions). Every guard is registered
with :func:`guard` together with a *reason*: a function that builds the :class:`TransitionRefused`
the user reads when the guard says no. ``states.advance`` asks the reasons before firing, so a
refusal always names the current state, why, and the legal reference.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from states.agreement import CARRIER, Agreement
from states.deadlines import open_deadline
from states.decision import (
    CaseSnapshot,
    ConsentRecord,
    DeadlineClosure,
    DeadlineSpec,
    DeadlineStatus,
    NotificationEvent,
    OpenDeadline,
    Process,
    ProcessInstance,
    ProcessUpdate,
)
from states.errors import InputError, TransitionRefused


@dataclass(frozen=True)
class StateSpec:
    """How one state of a process is declared: its German label and whether it starts or ends it."""

    label: str
    initial: bool = False
    final: bool = False


@dataclass(frozen=True)
class StepContext:
    """Everything a guard, input check or effect may look at. Plain values; never mutated.

    ``today`` is the calendar date of ``at`` in Europe/Berlin (the legal date of the step).
    ``sub_processes`` are the definitions of the sub-processes (from ``states.processes.registry``),
    so that the case can ask each what ending the case means for it.
    """

    snapshot: CaseSnapshot
    trigger: str
    params: Mapping[str, str]
    at: datetime
    today: date
    by: str
    agreement: Agreement
    sub_processes: tuple[ProcessDefinition, ...]

    def instance(self, process: Process) -> ProcessInstance | None:
        return self.snapshot.processes.get(process)

    def state_of(self, process: Process) -> str | None:
        return self.snapshot.state_of(process)


Guard = Callable[[StepContext], bool]
Reason = Callable[[StepContext], TransitionRefused]


@dataclass(frozen=True)
class Transition:
    """One row of a transition table: ``trigger`` moves ``source`` (one or several) to ``dest``
    when every guard says yes."""

    trigger: str
    source: Any  # one state Enum member or a tuple of them (normalised to a tuple)
    dest: StrEnum
    guards: tuple[Guard, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.source, tuple):
            object.__setattr__(self, "source", (self.source,))

    @property
    def sources(self) -> tuple[StrEnum, ...]:
        return tuple(self.source)


@dataclass(frozen=True)
class TriggerSpec:
    """One trigger of a process, the public vocabulary of ``gpv fire CASE TRIGGER``.

    ``label`` is German, ``norm`` the legal reference of the step. ``required`` parameters must be
    present and non-blank, ``optional`` ones may be; nothing else is accepted. ``actor`` is who
    performs the step, as an agreement role: ``"carrier"`` (the case's carrier, whose case manager
    records it) or a party kind such as ``"health_service"``; ``Agreement.party_for`` names the
    party. ``process`` and ``starts_instance`` come from the :class:`ProcessDefinition` that
    declares the trigger.
    """

    name: str
    label: str
    norm: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    actor: str = CARRIER
    owner: Process | None = field(default=None, kw_only=True, repr=False)
    starts_instance: bool = field(default=False, kw_only=True)

    @property
    def process(self) -> Process:
        """The process the trigger moves (set when its definition is built)."""
        if self.owner is None:
            raise LookupError(f"trigger {self.name!r} is not declared on a ProcessDefinition")
        return self.owner

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass
class Effects:
    """What a step changes besides the process's own state (collected by an effect function)."""

    data: Mapping[str, Any] | None = None  # the instance's complete data after the step
    deadlines_open: list[DeadlineSpec] = field(default_factory=list)
    deadlines_close: list[DeadlineClosure] = field(default_factory=list)
    notifications: list[NotificationEvent] = field(default_factory=list)
    extra_updates: list[ProcessUpdate] = field(default_factory=list)
    consent: ConsentRecord | None = None
    facts_update: dict[str, Any] = field(default_factory=dict)


Effect = Callable[[StepContext, Effects], None]
InputCheck = Callable[[StepContext], None]
#: What ending the case means for a still-open sub-process instance: the hook adds its notices to
#: the effects and returns the instance's data after the end.
CaseEndHook = Callable[[StepContext, Effects], Mapping[str, Any]]


@dataclass(frozen=True)
class ProcessDefinition:
    """One process as data.

    ``triggers`` declares every trigger of the process (the start trigger first); each one comes
    out bound to this process. ``start_trigger`` (sub-processes only) opens a new instance in the
    initial state; it is not a machine transition (there is no state before the first one), and
    it is allowed only while the case is in one of the ``start_when`` states. ``on_case_end`` says
    what ending the case means for an open instance (default: its data stays, nobody is told).
    """

    process: Process
    title: str  # German, e.g. "Gesamtplankonferenz"
    state_enum: type[StrEnum]
    states: Mapping[StrEnum, StateSpec]
    transitions: tuple[Transition, ...]
    triggers: tuple[TriggerSpec, ...]
    start_trigger: str | None = None
    start_norm: str = ""
    start_when: frozenset[StrEnum] = frozenset()
    hints: Mapping[str, str] = field(default_factory=dict)  # trigger → sentence when not allowed
    input_checks: Mapping[str, InputCheck] = field(default_factory=dict)
    effects: Mapping[str, Effect] = field(default_factory=dict)
    on_case_end: CaseEndHook | None = None

    def __post_init__(self) -> None:
        bound = tuple(
            replace(spec, owner=self.process, starts_instance=spec.name == self.start_trigger)
            for spec in self.triggers
        )
        object.__setattr__(self, "triggers", bound)

    @property
    def initial(self) -> StrEnum:
        return next(state for state, spec in self.states.items() if spec.initial)

    @property
    def finals(self) -> frozenset[StrEnum]:
        return frozenset(state for state, spec in self.states.items() if spec.final)

    def is_final(self, state: str) -> bool:
        return any(spec.final for s, spec in self.states.items() if s.value == state)

    def label(self, state: str | StrEnum | None) -> str:
        if state is None:
            return "nicht begonnen"
        for s, spec in self.states.items():
            if s.value == str(state.value if isinstance(state, StrEnum) else state):
                return spec.label
        return str(state)

    @property
    def table_triggers(self) -> tuple[str, ...]:
        """The triggers the table uses, in table order (start trigger first)."""
        names: list[str] = [self.start_trigger] if self.start_trigger else []
        for row in self.transitions:
            if row.trigger not in names:
                names.append(row.trigger)
        return tuple(names)

    def sources_of(self, trigger: str) -> tuple[StrEnum, ...]:
        found: list[StrEnum] = []
        for row in self.transitions:
            if row.trigger == trigger:
                found.extend(s for s in row.sources if s not in found)
        return tuple(found)

    def row(self, trigger: str, state: str) -> Transition | None:
        for row in self.transitions:
            if row.trigger == trigger and any(s.value == state for s in row.sources):
                return row
        return None


_REASONS: dict[Guard, Reason] = {}


def guard(reason: Reason) -> Callable[[Guard], Guard]:
    """Register a guard with the reason given when it says no (a guard without one is a bug that
    ``states.machine`` reports at import)."""

    def register(fn: Guard) -> Guard:
        _REASONS[fn] = reason
        return fn

    return register


def reason_for(fn: Guard) -> Reason | None:
    return _REASONS.get(fn)


def refused(message: str, norm: str) -> TransitionRefused:
    """A refusal: a whole German sentence that ends with the legal reference."""
    return TransitionRefused(f"{message} ({norm}).", norm=norm)


def param_choice(ctx: StepContext, key: str, choices: Collection[str], why: str = "") -> str:
    """The value of parameter ``key``, one of ``choices``; InputError naming the trigger, the
    allowed values and the ``--set`` form otherwise (``why``: what the choices are, e.g. a norm)."""
    value = ctx.params.get(key, "").strip()
    if value not in choices:
        allowed = ", ".join(choices)
        what = f" ({why})" if why else ""
        raise InputError(
            f"Für „{ctx.trigger}“ ist {key}={value!r} nicht vorgesehen{what}; erlaubt sind "
            f"{allowed} (--set {key}={next(iter(choices))})."
        )
    return value


def carry(ctx: StepContext, process: Process) -> dict[str, Any]:
    """A copy of the current instance's data (kept when a step does not change it)."""
    instance = ctx.instance(process)
    return dict(instance.data) if instance else {}


def open_deadline_of(ctx: StepContext, rule: str) -> OpenDeadline | None:
    """The open deadline of ``rule`` in the snapshot, if any."""
    return next((d for d in ctx.snapshot.deadlines if d.rule == rule), None)


def close_if_open(
    ctx: StepContext, effects: Effects, rule: str, status: DeadlineStatus, reason: str = ""
) -> None:
    """Close the open deadline of ``rule`` (a deadline that is not open, e.g. already missed, is
    left alone).

    A step done after the period ended does not meet it: the period ends at 24:00 of its last day
    (§ 26 SGB X with § 188 BGB), so a closure as MET on a later day is recorded as MISSED."""
    deadline = open_deadline_of(ctx, rule)
    if deadline is None:
        return
    if status is DeadlineStatus.MET and ctx.today > deadline.due:
        status = DeadlineStatus.MISSED
        reason = reason or f"erledigt am {ctx.today.isoformat()}, nach Fristende {deadline.due}"
    effects.deadlines_close.append(DeadlineClosure(rule=rule, status=status, reason=reason))


def start_with_deadline(
    ctx: StepContext, effects: Effects, rule: str, event: str, process: Process
) -> None:
    """Start a sub-process: fresh data, the rule's deadline anchored today, and the request notice
    telling the responsible party what is due by when (with the norm)."""
    spec = open_rule(ctx, rule, ctx.today)
    effects.data = {}
    effects.deadlines_open.append(spec)
    effects.notifications.append(
        NotificationEvent(event, process, {"due": spec.due.isoformat(), "norm": spec.norm})
    )


def open_rule(
    ctx: StepContext,
    rule: str,
    anchor: date,
    *,
    variant: str = "standard",
    reason: str = "",
    until: date | None = None,
) -> DeadlineSpec:
    """The deadline of agreement rule ``rule`` (in its reading ``variant``, chosen by ``reason``)
    anchored on ``anchor`` (computed by ``states.deadlines``; periods, lead times and who must act
    come from the agreement file)."""
    party = ctx.agreement.party_for(
        ctx.agreement.rule(rule).responsible, ctx.snapshot.facts.carrier
    )
    return open_deadline(
        ctx.agreement,
        rule,
        anchor,
        responsible_party=party,
        variant=variant,
        variant_reason=reason,
        until=until,
    )
