"""The public vocabulary of the engine: every trigger, its process and the parameters it takes.

The command line (``gpv fire CASE TRIGGER --param key=value``) and later the inbox use these names
as they are. Nothing is declared here: each process module declares its own triggers
(``ProcessDefinition.triggers``), and :mod:`states.processes.registry` collects them.
"""

from __future__ import annotations

from states.decision import Process
from states.processes.registry import TRIGGER_SPECS, TRIGGERS

__all__ = ["TRIGGERS", "TRIGGER_SPECS", "triggers_of"]


def triggers_of(process: Process) -> tuple[str, ...]:
    """The triggers of one process, in vocabulary order."""
    return tuple(name for name, p in TRIGGERS.items() if p is process)
