"""One shared ``transitions.Machine`` per process, built and checked once at import.

Each definition is validated before its machine is built (house style: definitions are checked
when they load) by the small named checks of :data:`CHECKS`: exactly one initial state, no exits
from final states, every state reachable from the initial one, no dead ends, every guard a function
with a registered reason, no ambiguous rows, one :class:`TriggerSpec` per trigger of the table.
:data:`REGISTRY_CHECKS` look across the definitions (no trigger declared twice). A broken table
raises :class:`ProcessDefinitionError` naming the process, with a stable id and a hint.

Per step :func:`fire` adds a tiny adapter model (its ``state`` is the current state), fires the
trigger and removes the adapter again in ``finally`` (models are never kept registered). A lock
keeps the shared machine safe when flows run steps in threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from transitions import Machine

from states.agreement import CARRIER, PARTY_KINDS, STATEMENT_EXPERT
from states.decision import CaseState, Process
from states.processes.definition import ProcessDefinition, StepContext, reason_for
from states.processes.registry import ALL, DEFINITIONS

__all__ = [
    "CHECKS",
    "DEFINITIONS",
    "MACHINES",
    "REGISTRY_CHECKS",
    "ProcessDefinitionError",
    "allowed_triggers",
    "build_machine",
    "fire",
    "validate_definition",
    "validate_registry",
]


class ProcessDefinitionError(Exception):
    """A process table is inconsistent: a programming error, found at import (never user input)."""

    def __init__(self, process: Process | str, code: str, problem: str, hint: str) -> None:
        self.process = str(process)
        self.code = code
        self.problem = problem
        self.hint = hint
        super().__init__(f"[{code}] process '{process}': {problem} Hint: {hint}")


#: What a check found: (stable id, problem, hint).
Problem = tuple[str, str, str]
Check = Callable[[ProcessDefinition], Problem | None]


def _names(states: Iterable[StrEnum]) -> str:
    return ", ".join(sorted(s.value for s in states))


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "-"


def _initials(defn: ProcessDefinition) -> list[StrEnum]:
    return [s for s, spec in defn.states.items() if spec.initial]


def _reachable(defn: ProcessDefinition, start: StrEnum) -> set[StrEnum]:
    """Every state the transitions lead to from ``start`` (``start`` included)."""
    reachable = {start}
    frontier = [start]
    while frontier:
        current = frontier.pop()
        for row in defn.transitions:
            if current in row.sources and row.dest not in reachable:
                reachable.add(row.dest)
                frontier.append(row.dest)
    return reachable


def _check_state_table(defn: ProcessDefinition) -> Problem | None:
    members, declared = set(defn.state_enum), set(defn.states)
    if declared == members:
        return None
    return (
        "gpv.E100",
        f"the state table and {defn.state_enum.__name__} differ "
        f"(undeclared: {_names(members - declared) or '-'}; "
        f"not in the Enum: {_names(declared - members) or '-'}).",
        "declare every Enum member exactly once in the STATES table.",
    )


def _check_initial_state(defn: ProcessDefinition) -> Problem | None:
    initials = _initials(defn)
    if len(initials) == 1:
        return None
    return (
        "gpv.E101",
        f"exactly one initial state is required, found {len(initials)} "
        f"({_names(initials) or 'none'}).",
        "mark exactly one StateSpec with initial=True.",
    )


def _check_initial_not_final(defn: ProcessDefinition) -> Problem | None:
    if defn.initial not in defn.finals:
        return None
    return (
        "gpv.E102",
        f"the initial state '{defn.initial.value}' is also final.",
        "a process must be able to leave its initial state.",
    )


def _check_known_states(defn: ProcessDefinition) -> Problem | None:
    members = set(defn.state_enum)
    for row in defn.transitions:
        for state in (*row.sources, row.dest):
            if state not in members:
                return (
                    "gpv.E103",
                    f"transition '{row.trigger}' names the unknown state {state!r}.",
                    f"use members of {defn.state_enum.__name__}.",
                )
    return None


def _check_final_states(defn: ProcessDefinition) -> Problem | None:
    for row in defn.transitions:
        for source in row.sources:
            if source in defn.finals:
                return (
                    "gpv.E104",
                    f"transition '{row.trigger}' leaves the final state '{source.value}'.",
                    "final states have no exits; remove the row or unmark final.",
                )
    return None


def _check_one_row_per_source(defn: ProcessDefinition) -> Problem | None:
    seen: set[tuple[str, StrEnum]] = set()
    for row in defn.transitions:
        for source in row.sources:
            if (row.trigger, source) in seen:
                return (
                    "gpv.E105",
                    f"trigger '{row.trigger}' has two rows from state '{source.value}'.",
                    "one row per trigger and source state; combine the guards.",
                )
            seen.add((row.trigger, source))
    return None


def _check_guards(defn: ProcessDefinition) -> Problem | None:
    for row in defn.transitions:
        for fn in row.guards:
            if not callable(fn) or reason_for(fn) is None:
                return (
                    "gpv.E106",
                    f"guard {fn!r} of transition '{row.trigger}' cannot be resolved: it must be "
                    "a function registered with @guard(reason).",
                    "give guards as function objects decorated with states.processes.guard.",
                )
    return None


def _check_reachable(defn: ProcessDefinition) -> Problem | None:
    unreachable = set(defn.state_enum) - _reachable(defn, defn.initial)
    if not unreachable:
        return None
    return (
        "gpv.E107",
        f"unreachable state(s) from '{defn.initial.value}': {_names(unreachable)}.",
        "add a transition into each state or remove it.",
    )


def _check_dead_ends(defn: ProcessDefinition) -> Problem | None:
    with_exit = {s for row in defn.transitions for s in row.sources}
    dead_ends = set(defn.state_enum) - defn.finals - with_exit
    if not dead_ends:
        return None
    return (
        "gpv.E108",
        f"non-final state(s) without an outgoing transition: {_names(dead_ends)}.",
        "add a way out (e.g. a cancellation) or mark the state final.",
    )


def _check_start_trigger(defn: ProcessDefinition) -> Problem | None:
    if not defn.start_trigger or not any(r.trigger == defn.start_trigger for r in defn.transitions):
        return None
    return (
        "gpv.E109",
        f"the start trigger '{defn.start_trigger}' is also a transition trigger.",
        "the start trigger only opens a new instance in the initial state.",
    )


def _check_start_when(defn: ProcessDefinition) -> Problem | None:
    starts = bool(defn.start_trigger)
    if starts == bool(defn.start_when) and all(isinstance(s, CaseState) for s in defn.start_when):
        return None
    return (
        "gpv.E114",
        f"start_when ({_names(defn.start_when) or 'empty'}) does not fit the start trigger "
        f"({defn.start_trigger or 'none'}).",
        "a sub-process names the CaseState members it may start in; the case names none.",
    )


def _check_trigger_specs(defn: ProcessDefinition) -> Problem | None:
    in_table = set(defn.table_triggers)
    declared = [spec.name for spec in defn.triggers]
    if set(declared) == in_table and len(declared) == len(in_table):
        return None
    twice = {name for name in declared if declared.count(name) > 1}
    return (
        "gpv.E110",
        f"the table and the declared triggers differ (only in the table: "
        f"{_listed(in_table - set(declared))}; only declared: {_listed(set(declared) - in_table)}; "
        f"declared twice: {_listed(twice)}).",
        "declare one TriggerSpec per trigger of the table (and the start trigger) in triggers=.",
    )


def _check_effects(defn: ProcessDefinition) -> Problem | None:
    unknown = set(defn.effects) - set(defn.table_triggers)
    if not unknown:
        return None
    return (
        "gpv.E111",
        f"effects for unknown triggers: {', '.join(sorted(unknown))}.",
        "name effects after the process's triggers.",
    )


def _check_actors(defn: ProcessDefinition) -> Problem | None:
    for spec in defn.triggers:
        if spec.actor not in (CARRIER, STATEMENT_EXPERT) and spec.actor not in PARTY_KINDS:
            return (
                "gpv.E112",
                f"trigger '{spec.name}' names the unknown actor {spec.actor!r}.",
                f"an actor is '{CARRIER}', '{STATEMENT_EXPERT}' or a party kind "
                f"({', '.join(PARTY_KINDS)}).",
            )
    return None


#: The checks of one definition, in order; later checks rely on the earlier ones having passed
#: (e.g. everything after E101 may use ``defn.initial``).
CHECKS: tuple[Check, ...] = (
    _check_state_table,
    _check_initial_state,
    _check_initial_not_final,
    _check_known_states,
    _check_final_states,
    _check_one_row_per_source,
    _check_guards,
    _check_reachable,
    _check_dead_ends,
    _check_start_trigger,
    _check_start_when,
    _check_trigger_specs,
    _check_effects,
    _check_actors,
)


def validate_definition(defn: ProcessDefinition) -> None:
    """Raise :class:`ProcessDefinitionError` for the first problem :data:`CHECKS` find."""
    for check in CHECKS:
        found = check(defn)
        if found is not None:
            raise ProcessDefinitionError(defn.process, *found)


def _check_unique_triggers(definitions: tuple[ProcessDefinition, ...]) -> None:
    owner: dict[str, Process] = {}
    for defn in definitions:
        for spec in defn.triggers:
            first = owner.setdefault(spec.name, defn.process)
            if first is not defn.process:
                raise ProcessDefinitionError(
                    defn.process,
                    "gpv.E113",
                    f"trigger '{spec.name}' is also declared by process '{first}'.",
                    "trigger names are one vocabulary; give each process its own verbs.",
                )


#: The checks across all definitions of the registry.
REGISTRY_CHECKS: tuple[Callable[[tuple[ProcessDefinition, ...]], None], ...] = (
    _check_unique_triggers,
)


def validate_registry(definitions: tuple[ProcessDefinition, ...]) -> None:
    """Raise :class:`ProcessDefinitionError` when the definitions clash with each other."""
    for check in REGISTRY_CHECKS:
        check(definitions)


def build_machine(defn: ProcessDefinition) -> Machine:
    """Validate ``defn`` and build its shared machine (no model attached)."""
    validate_definition(defn)
    return Machine(
        model=None,
        states=list(defn.state_enum),
        transitions=[
            {
                "trigger": row.trigger,
                "source": list(row.sources),
                "dest": row.dest,
                "conditions": list(row.guards),
            }
            for row in defn.transitions
        ],
        initial=defn.initial,
        auto_transitions=False,
        send_event=False,
        ignore_invalid_triggers=False,
    )


validate_registry(ALL)

MACHINES: Mapping[Process, Machine] = MappingProxyType(
    {process: build_machine(defn) for process, defn in DEFINITIONS.items()}
)

_LOCKS = {process: threading.Lock() for process in DEFINITIONS}


class _Adapter:
    """The per-step model: only its ``state``; transitions adds trigger methods to it."""

    def __init__(self) -> None:
        self.state: StrEnum | None = None


def allowed_triggers(process: Process, state: str) -> tuple[str, ...]:
    """The triggers the machine offers from ``state`` (before guards)."""
    defn = DEFINITIONS[process]
    return tuple(MACHINES[process].get_triggers(defn.state_enum(state)))


def fire(process: Process, state: str, trigger: str, ctx: StepContext) -> StrEnum | None:
    """Fire ``trigger`` from ``state`` with the guards seeing ``ctx``; the new state, or None when a
    guard said no. The caller has checked that the trigger is allowed from ``state``."""
    defn = DEFINITIONS[process]
    machine = MACHINES[process]
    adapter = _Adapter()
    with _LOCKS[process]:
        machine.add_model(adapter, initial=defn.state_enum(state))
        try:
            moved = adapter.trigger(trigger, ctx)  # type: ignore[attr-defined]
            return adapter.state if moved else None
        finally:
            machine.remove_model(adapter)
