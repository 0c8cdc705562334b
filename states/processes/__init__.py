"""The four process definitions, one module each, and the building blocks they are made of.

The building blocks live in :mod:`states.processes.definition` and are re-exported here; the one
list of processes is :mod:`states.processes.registry`.
"""

from __future__ import annotations

from states.processes.definition import (
    CaseEndHook,
    Effect,
    Effects,
    Guard,
    InputCheck,
    ProcessDefinition,
    Reason,
    StateSpec,
    StepContext,
    Transition,
    TriggerSpec,
    carry,
    close_if_open,
    guard,
    open_deadline_of,
    open_rule,
    reason_for,
    refused,
    start_with_deadline,
)

__all__ = [
    "CaseEndHook",
    "Effect",
    "Effects",
    "Guard",
    "InputCheck",
    "ProcessDefinition",
    "Reason",
    "StateSpec",
    "StepContext",
    "Transition",
    "TriggerSpec",
    "carry",
    "close_if_open",
    "guard",
    "open_deadline_of",
    "open_rule",
    "reason_for",
    "refused",
    "start_with_deadline",
]
