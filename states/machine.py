"""One shared ``transitions.Machine`` per process, built and checked once at import.

Each definition is validated before its machine is built (house style: definitions are checked
when they load): exactly one initial state, no exits from final states, every state reachable from
the initial one, no dead ends, every guard a function with a registered reason, no ambiguous rows,
and a vocabulary that matches ``states.triggers``. A broken table raises
:class:`ProcessDefinitionError` naming the process, with a stable id and a hint.

Per step :func:`fire` adds a tiny adapter model (its ``state`` is the current state), fires the
trigger and removes the adapter again in ``finally`` (about 33 µs; models are never kept
registered). A lock keeps the shared machine safe when flows run steps in threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from transitions import Machine

from states.decision import Process
from states.processes import (
    ProcessDefinition,
    StepContext,
    case,
    conference,
    housing,
    reason_for,
    statement,
)
from states.triggers import TRIGGERS


class ProcessDefinitionError(Exception):
    """A process table is inconsistent: a programming error, found at import (never user input)."""

    def __init__(self, process: Process | str, code: str, problem: str, hint: str) -> None:
        self.process = str(process)
        self.code = code
        self.problem = problem
        self.hint = hint
        super().__init__(f"[{code}] process '{process}': {problem} Hint: {hint}")


def _fail(defn: ProcessDefinition, code: str, problem: str, hint: str) -> ProcessDefinitionError:
    return ProcessDefinitionError(defn.process, code, problem, hint)


def _names(states: Iterable[StrEnum]) -> str:
    return ", ".join(sorted(s.value for s in states))


def validate_definition(
    defn: ProcessDefinition, vocabulary: Mapping[str, Process] | None = None
) -> None:
    """Raise :class:`ProcessDefinitionError` for the first problem found in ``defn``.

    ``vocabulary`` (trigger → process) defaults to :data:`states.triggers.TRIGGERS`.
    """
    members = set(defn.state_enum)
    declared = set(defn.states)
    if declared != members:
        raise _fail(
            defn,
            "gpv.E100",
            f"the state table and {defn.state_enum.__name__} differ "
            f"(undeclared: {_names(members - declared) or '-'}; "
            f"not in the Enum: {_names(declared - members) or '-'}).",
            "declare every Enum member exactly once in the STATES table.",
        )
    initials = [s for s, spec in defn.states.items() if spec.initial]
    if len(initials) != 1:
        raise _fail(
            defn,
            "gpv.E101",
            f"exactly one initial state is required, found {len(initials)} "
            f"({_names(initials) or 'none'}).",
            "mark exactly one StateSpec with initial=True.",
        )
    finals = defn.finals
    if initials[0] in finals:
        raise _fail(
            defn, "gpv.E102", f"the initial state '{initials[0].value}' is also final.",
            "a process must be able to leave its initial state.",
        )  # fmt: skip
    seen: set[tuple[str, StrEnum]] = set()
    for row in defn.transitions:
        for state in (*row.sources, row.dest):
            if state not in members:
                raise _fail(
                    defn, "gpv.E103",
                    f"transition '{row.trigger}' names the unknown state {state!r}.",
                    f"use members of {defn.state_enum.__name__}.",
                )  # fmt: skip
        for source in row.sources:
            if source in finals:
                raise _fail(
                    defn, "gpv.E104",
                    f"transition '{row.trigger}' leaves the final state '{source.value}'.",
                    "final states have no exits; remove the row or unmark final.",
                )  # fmt: skip
            if (row.trigger, source) in seen:
                raise _fail(
                    defn, "gpv.E105",
                    f"trigger '{row.trigger}' has two rows from state '{source.value}'.",
                    "one row per trigger and source state; combine the guards.",
                )  # fmt: skip
            seen.add((row.trigger, source))
        for fn in row.guards:
            if not callable(fn) or reason_for(fn) is None:
                raise _fail(
                    defn, "gpv.E106",
                    f"guard {fn!r} of transition '{row.trigger}' cannot be resolved: it must be "
                    "a function registered with @guard(reason).",
                    "give guards as function objects decorated with states.processes.guard.",
                )  # fmt: skip
    reachable = {initials[0]}
    frontier = [initials[0]]
    while frontier:
        current = frontier.pop()
        for row in defn.transitions:
            if current in row.sources and row.dest not in reachable:
                reachable.add(row.dest)
                frontier.append(row.dest)
    if members - reachable:
        raise _fail(
            defn, "gpv.E107",
            f"unreachable state(s) from '{initials[0].value}': {_names(members - reachable)}.",
            "add a transition into each state or remove it.",
        )  # fmt: skip
    with_exit = {s for row in defn.transitions for s in row.sources}
    dead_ends = members - finals - with_exit
    if dead_ends:
        raise _fail(
            defn, "gpv.E108",
            f"non-final state(s) without an outgoing transition: {_names(dead_ends)}.",
            "add a way out (e.g. a cancellation) or mark the state final.",
        )  # fmt: skip
    if defn.start_trigger and any(r.trigger == defn.start_trigger for r in defn.transitions):
        raise _fail(
            defn, "gpv.E109",
            f"the start trigger '{defn.start_trigger}' is also a transition trigger.",
            "the start trigger only opens a new instance in the initial state.",
        )  # fmt: skip
    vocabulary = TRIGGERS if vocabulary is None else vocabulary
    mine = set(defn.triggers)
    listed = {t for t, p in vocabulary.items() if p is defn.process}
    if mine != listed:
        raise _fail(
            defn, "gpv.E110",
            f"the table and states.triggers differ (only in the table: "
            f"{', '.join(sorted(mine - listed)) or '-'}; only in the vocabulary: "
            f"{', '.join(sorted(listed - mine)) or '-'}).",
            "keep TRIGGERS in states/triggers.py and the transition table in step.",
        )  # fmt: skip
    unknown_effects = set(defn.effects) - mine
    if unknown_effects:
        raise _fail(
            defn, "gpv.E111",
            f"effects for unknown triggers: {', '.join(sorted(unknown_effects))}.",
            "name effects after the process's triggers.",
        )  # fmt: skip


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


DEFINITIONS: Mapping[Process, ProcessDefinition] = MappingProxyType(
    {
        Process.CASE: case.DEFINITION,
        Process.STATEMENT: statement.DEFINITION,
        Process.CONFERENCE: conference.DEFINITION,
        Process.HOUSING: housing.DEFINITION,
    }
)

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
