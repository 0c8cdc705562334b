"""Which steps a case could take next: the triggers the machines offer from a snapshot.

Pure, like :mod:`states.advance`, whose checks it mirrors without the parameters: the case's own
triggers from its state; a sub-process's start trigger while the case is in one of its
``start_when`` states and none of its kind is open; a running sub-process's triggers from its
state while the case is not ended. Guards are not asked (they may need parameters, e.g. a
reason); :func:`states.advance.advance` still decides each step and names why it refuses.
"""

from __future__ import annotations

from states.decision import CaseSnapshot, Process
from states.machine import allowed_triggers
from states.processes.definition import ProcessDefinition
from states.processes.registry import ALL, DEFINITIONS


def _sub_process_triggers(snapshot: CaseSnapshot, defn: ProcessDefinition) -> list[str]:
    case_state = snapshot.state_of(Process.CASE)
    current = snapshot.processes.get(defn.process)
    if current is None or defn.is_final(current.state):
        startable = any(case_state == s.value for s in defn.start_when)
        return [defn.start_trigger] if startable and defn.start_trigger else []
    return list(allowed_triggers(defn.process, current.state))


def possible_triggers(snapshot: CaseSnapshot) -> tuple[str, ...]:
    """The triggers worth offering for ``snapshot``, in vocabulary order (case first); empty for
    a case without a state or an ended case."""
    case_state = snapshot.state_of(Process.CASE)
    case_defn = DEFINITIONS[Process.CASE]
    if case_state is None or case_defn.is_final(case_state):
        return ()
    found = list(allowed_triggers(Process.CASE, case_state))
    for defn in ALL:
        if defn.start_trigger:
            found += _sub_process_triggers(snapshot, defn)
    order = [spec.name for d in ALL for spec in d.triggers]
    return tuple(sorted(set(found), key=order.index))
