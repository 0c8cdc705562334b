"""The registry is the one list of processes: the vocabulary, the sub-processes and who acts on
each step are derived from the process modules' own declarations."""

from __future__ import annotations

import pytest

from states.decision import CaseState, Process
from states.processes.registry import ALL, DEFINITIONS, SUB_PROCESSES, TRIGGER_SPECS, TRIGGERS
from states.triggers import triggers_of
from tests.states.support import AGREEMENT

#: Who performs each step that is not the carrier's, written out by hand.
OTHER_ACTORS = {
    "accept_statement_request": "spdi",
    "deliver_statement": "spdi",
    "decline_statement_request": "spdi",
    "acknowledge_housing_support": "kreis-unna-wohnen",
    "provide_housing_support": "kreis-unna-wohnen",
}


def test_the_registry_lists_every_process_once_with_the_case_first() -> None:
    assert [d.process for d in ALL] == list(Process)
    assert dict(DEFINITIONS) == {d.process: d for d in ALL}


def test_the_sub_processes_are_the_definitions_with_a_start_trigger() -> None:
    assert [d.process for d in SUB_PROCESSES] == [
        Process.STATEMENT,
        Process.CONFERENCE,
        Process.HOUSING,
    ]


@pytest.mark.parametrize("defn", SUB_PROCESSES, ids=lambda d: d.process.value)
def test_a_sub_process_starts_only_in_assessment(defn) -> None:  # type: ignore[no-untyped-def]
    assert defn.start_when == frozenset({CaseState.ASSESSMENT})


def test_each_trigger_belongs_to_the_definition_that_declares_it() -> None:
    for defn in ALL:
        for spec in defn.triggers:
            assert TRIGGER_SPECS[spec.name] is spec
            assert spec.process is defn.process
            assert spec.starts_instance == (spec.name == defn.start_trigger)
    assert {t for p in Process for t in triggers_of(p)} == set(TRIGGERS)


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_each_step_is_performed_by_the_same_party_as_before(trigger: str) -> None:
    actor = AGREEMENT.party_for(TRIGGER_SPECS[trigger].actor, "lwl")
    assert actor == OTHER_ACTORS.get(trigger, "lwl")
