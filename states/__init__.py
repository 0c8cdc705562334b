"""The rules of the joint case process, pure: processes, legal deadlines, routing, the agreement.

Nothing in this package imports Prefect, a database driver or a network client (a test checks it).

The names in ``__all__`` are the package's public API. They are imported on first use (PEP 562),
so ``import states`` stays cheap: neither ``transitions`` nor ``holidays`` is loaded until a name
that needs them is used. The decision entry point itself is ``states.advance.advance``: the module
``states.advance`` has the same name, so the function cannot be offered here as well.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and linters see; at run time __getattr__ imports lazily
    from states.advance import OPEN_CASE, next_snapshot, open_case_decision
    from states.agreement import Agreement, load_agreement
    from states.calendar import compute_period, is_working_day, parse_period
    from states.deadlines import berlin_date, is_overdue
    from states.decision import (
        AuditEntry,
        CaseFacts,
        CaseSnapshot,
        CaseState,
        ConsentRecord,
        ConsentStatus,
        DeadlineClosure,
        DeadlineSpec,
        DeadlineStatus,
        Decision,
        NotificationEvent,
        OpenDeadline,
        Process,
        ProcessInstance,
        ProcessUpdate,
        SkippedDay,
    )
    from states.errors import (
        ConfigError,
        ConflictError,
        GpvError,
        InputError,
        NotFoundError,
        RefusedError,
        TransitionRefused,
    )
    from states.routing import PersonFacts, RoutingResult, parse_benefit, parse_disabilities, route
    from states.triggers import TRIGGER_SPECS, TRIGGERS

#: Where each public name lives (module → names); ``__getattr__`` imports from here.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "states.advance": ("OPEN_CASE", "next_snapshot", "open_case_decision"),
    "states.agreement": ("Agreement", "load_agreement"),
    "states.calendar": ("compute_period", "is_working_day", "parse_period"),
    "states.deadlines": ("berlin_date", "is_overdue"),
    "states.decision": (
        "AuditEntry",
        "CaseFacts",
        "CaseSnapshot",
        "CaseState",
        "ConsentRecord",
        "ConsentStatus",
        "DeadlineClosure",
        "DeadlineSpec",
        "DeadlineStatus",
        "Decision",
        "NotificationEvent",
        "OpenDeadline",
        "Process",
        "ProcessInstance",
        "ProcessUpdate",
        "SkippedDay",
    ),
    "states.errors": (
        "ConfigError",
        "ConflictError",
        "GpvError",
        "InputError",
        "NotFoundError",
        "RefusedError",
        "TransitionRefused",
    ),
    "states.routing": (
        "PersonFacts",
        "RoutingResult",
        "parse_benefit",
        "parse_disabilities",
        "route",
    ),
    "states.triggers": ("TRIGGERS", "TRIGGER_SPECS"),
}
_HOME: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "OPEN_CASE",
    "TRIGGERS",
    "TRIGGER_SPECS",
    "Agreement",
    "AuditEntry",
    "CaseFacts",
    "CaseSnapshot",
    "CaseState",
    "ConfigError",
    "ConflictError",
    "ConsentRecord",
    "ConsentStatus",
    "DeadlineClosure",
    "DeadlineSpec",
    "DeadlineStatus",
    "Decision",
    "GpvError",
    "InputError",
    "NotFoundError",
    "NotificationEvent",
    "OpenDeadline",
    "PersonFacts",
    "Process",
    "ProcessInstance",
    "ProcessUpdate",
    "RefusedError",
    "RoutingResult",
    "SkippedDay",
    "TransitionRefused",
    "berlin_date",
    "compute_period",
    "is_overdue",
    "is_working_day",
    "load_agreement",
    "next_snapshot",
    "open_case_decision",
    "parse_benefit",
    "parse_disabilities",
    "parse_period",
    "route",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'states' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups do not come here again
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
