"""The steps offered for a snapshot are those the machines allow from its states."""

from __future__ import annotations

from datetime import date

from states.decision import CaseFacts, CaseSnapshot, Process, ProcessInstance
from states.next_steps import possible_triggers


def _snapshot(case: str | None, **subs: str) -> CaseSnapshot:
    facts = CaseFacts(
        case_id="C-2026-000001", received_on=date(2026, 3, 2), carrier="lwl",
        municipality="unna", parties=("lwl",), is_minor=False,
    )  # fmt: skip
    processes = {}
    if case is not None:
        processes[Process.CASE] = ProcessInstance(Process.CASE, case, {}, 1)
    for name, state in subs.items():
        processes[Process(name)] = ProcessInstance(Process(name), state, {}, 1)
    return CaseSnapshot(facts=facts, processes=processes)


def test_a_received_case_offers_its_own_steps_and_no_sub_process():
    found = possible_triggers(_snapshot("received"))
    assert "accept_jurisdiction" in found and "forward" in found
    assert "request_statement" not in found


def test_in_assessment_the_sub_processes_can_start():
    found = possible_triggers(_snapshot("assessment"))
    assert {"request_statement", "request_housing_support"} <= set(found)
    assert "deliver_statement" not in found


def test_a_running_statement_offers_its_steps_and_not_a_second_start():
    found = possible_triggers(_snapshot("assessment", statement="requested"))
    assert {"accept_statement_request", "deliver_statement", "cancel_statement"} <= set(found)
    assert "request_statement" not in found


def test_an_ended_case_offers_nothing():
    assert possible_triggers(_snapshot("closed")) == ()
    assert possible_triggers(_snapshot(None)) == ()
