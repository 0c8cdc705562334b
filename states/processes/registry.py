"""The one list of processes; everything else about "which processes and triggers exist" is
derived from it.

Adding a process: a member of ``states.decision.Process``, a module in ``states/processes/``
with its ``DEFINITION`` (states, transitions, triggers, effects), and one entry in :data:`ALL`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from states.decision import Process
from states.processes import case, conference, housing, statement
from states.processes.definition import ProcessDefinition, TriggerSpec

#: Every process definition, the case first; the order is the order of the vocabulary.
ALL: tuple[ProcessDefinition, ...] = (
    case.DEFINITION,
    statement.DEFINITION,
    conference.DEFINITION,
    housing.DEFINITION,
)

#: process → its definition.
DEFINITIONS: Mapping[Process, ProcessDefinition] = MappingProxyType({d.process: d for d in ALL})

#: The sub-processes: the definitions with a start trigger, in :data:`ALL` order.
SUB_PROCESSES: tuple[ProcessDefinition, ...] = tuple(d for d in ALL if d.start_trigger)

#: trigger name → its full specification (``states.machine`` checks that no name is declared twice).
TRIGGER_SPECS: Mapping[str, TriggerSpec] = MappingProxyType(
    {spec.name: spec for d in ALL for spec in d.triggers}
)

#: trigger name → the process it moves (the public vocabulary).
TRIGGERS: Mapping[str, Process] = MappingProxyType(
    {name: spec.process for name, spec in TRIGGER_SPECS.items()}
)
