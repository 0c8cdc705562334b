"""Helpers the state tests share: the packaged agreement, case facts and snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from states.agreement import load_agreement
from states.calendar import BERLIN
from states.decision import CaseFacts, CaseSnapshot, OpenDeadline, Process, ProcessInstance

__all__ = ["AGREEMENT", "BERLIN", "SCHEDULED_DATA", "build_snapshot", "facts"]

AGREEMENT = load_agreement()


def facts(received_on: date = date(2025, 12, 11), carrier: str = "lwl") -> CaseFacts:
    return CaseFacts(case_id="C-17", received_on=received_on, carrier=carrier, municipality="Unna")


def build_snapshot(
    case_state: str = "assessment",
    *,
    received_on: date = date(2025, 12, 11),
    sub: Mapping[Process, str] | None = None,
    data: Mapping[Process, Mapping[str, Any]] | None = None,
    deadlines: tuple[OpenDeadline, ...] = (),
) -> CaseSnapshot:
    """A snapshot with the case in ``case_state`` and the given sub-process states."""
    processes = {Process.CASE: ProcessInstance(Process.CASE, case_state)}
    for process, state in (sub or {}).items():
        processes[process] = ProcessInstance(process, state, dict((data or {}).get(process, {})))
    return CaseSnapshot(facts(received_on), processes, deadlines)


SCHEDULED_DATA = {
    "scheduled_at": "2026-04-20T09:00:00+02:00",
    "location": "Kreishaus Unna",
    "sequence": 0,
    "uid": "conference-C-17-1@gpv",
}
