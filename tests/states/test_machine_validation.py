"""The definitions are checked when they load: broken tables fail with a clear, named error."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import pytest

from states.advance import advance
from states.decision import Process
from states.machine import (
    MACHINES,
    ProcessDefinitionError,
    build_machine,
    validate_definition,
    validate_registry,
)
from states.processes import StateSpec, StepContext, Transition, TriggerSpec, guard, refused
from states.processes.housing import HousingState as H
from states.processes.registry import DEFINITIONS
from tests.states.support import AGREEMENT, build_snapshot

HOUSING = DEFINITIONS[Process.HOUSING]


def _broken(**changes) -> None:  # type: ignore[no-untyped-def]
    validate_definition(replace(HOUSING, **changes))


@pytest.mark.parametrize("process", list(Process))
def test_every_shipped_definition_is_valid(process: Process) -> None:
    validate_definition(DEFINITIONS[process])


def test_a_table_with_two_initial_states_is_rejected_naming_the_process() -> None:
    states = {**HOUSING.states, H.ACKNOWLEDGED: StateSpec("bestätigt", initial=True)}
    with pytest.raises(ProcessDefinitionError) as info:
        _broken(states=states)
    assert info.value.code == "gpv.E101" and info.value.process == "housing"
    assert "exactly one initial state" in str(info.value)
    assert "acknowledged, requested" in str(info.value)


def test_a_table_without_an_initial_state_is_rejected() -> None:
    states = {**HOUSING.states, H.REQUESTED: StateSpec("angefragt")}
    with pytest.raises(ProcessDefinitionError, match="found 0"):
        _broken(states=states)


def test_a_transition_out_of_a_final_state_is_rejected() -> None:
    rows = (*HOUSING.transitions, Transition("provide_housing_support", H.CLOSED, H.PROVIDED))
    with pytest.raises(ProcessDefinitionError) as info:
        _broken(transitions=rows)
    assert info.value.code == "gpv.E104" and "final state 'closed'" in str(info.value)


def test_an_unreachable_state_is_rejected() -> None:
    # Without its only way in, "closed" cannot be reached from "requested".
    rows = tuple(r for r in HOUSING.transitions if r.trigger != "close_housing_support")
    with pytest.raises(ProcessDefinitionError) as info:
        _broken(transitions=rows)
    assert info.value.code == "gpv.E107" and "closed" in info.value.problem


def test_a_dead_end_is_rejected() -> None:
    # "provided" is reached but has no way out; "closed" is reached from "acknowledged" instead.
    rows = (
        Transition("acknowledge_housing_support", H.REQUESTED, H.ACKNOWLEDGED),
        Transition("provide_housing_support", H.ACKNOWLEDGED, H.PROVIDED),
        Transition("close_housing_support", H.ACKNOWLEDGED, H.CLOSED),
        Transition("cancel_housing_support", (H.REQUESTED, H.ACKNOWLEDGED), H.CANCELLED),
    )
    with pytest.raises(ProcessDefinitionError) as info:
        _broken(transitions=rows)
    assert info.value.code == "gpv.E108" and "provided" in info.value.problem


def _unregistered(ctx: StepContext) -> bool:
    return True


def test_a_guard_without_a_reason_or_given_by_name_is_rejected() -> None:
    for bad in (_unregistered, "is_anything"):
        rows = (
            Transition("acknowledge_housing_support", H.REQUESTED, H.ACKNOWLEDGED, guards=(bad,)),
            *HOUSING.transitions[1:],
        )
        with pytest.raises(ProcessDefinitionError) as info:
            _broken(transitions=rows)
        assert info.value.code == "gpv.E106"


def test_a_registered_guard_is_accepted() -> None:
    @guard(lambda ctx: refused("Nein", "§ 1"))
    def is_fine(ctx: StepContext) -> bool:
        return True

    rows = (
        Transition("acknowledge_housing_support", H.REQUESTED, H.ACKNOWLEDGED, guards=(is_fine,)),
        *HOUSING.transitions[1:],
    )
    build_machine(replace(HOUSING, transitions=rows))


def test_two_rows_for_the_same_trigger_and_state_are_rejected() -> None:
    rows = (*HOUSING.transitions, Transition("provide_housing_support", H.ACKNOWLEDGED, H.CLOSED))
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E105"):
        _broken(transitions=rows)


def test_a_state_missing_from_the_table_is_rejected() -> None:
    states = {s: spec for s, spec in HOUSING.states.items() if s is not H.PROVIDED}
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E100"):
        _broken(states=states)


def test_a_state_of_another_enum_is_rejected() -> None:
    class Other(StrEnum):
        ELSEWHERE = "elsewhere"

    rows = (
        *HOUSING.transitions,
        Transition("provide_housing_support", H.REQUESTED, Other.ELSEWHERE),
    )
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E103"):
        _broken(transitions=rows)


def test_a_table_and_its_declared_triggers_that_differ_are_rejected() -> None:
    triggers = (*HOUSING.triggers, TriggerSpec("demolish_housing", "Abreißen", "§ 0"))
    with pytest.raises(ProcessDefinitionError, match="demolish_housing"):
        _broken(triggers=triggers)


def test_a_trigger_declared_twice_in_one_definition_is_rejected() -> None:
    triggers = (*HOUSING.triggers, HOUSING.triggers[1])
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E110.*declared twice: acknowledge"):
        _broken(triggers=triggers)


def test_an_actor_that_is_no_role_is_rejected() -> None:
    first, *rest = HOUSING.triggers
    triggers = (first, replace(rest[0], actor="housing"), *rest[1:])
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E112") as info:
        _broken(triggers=triggers)
    assert "acknowledge_housing_support" in info.value.problem


def test_a_sub_process_without_start_states_is_rejected() -> None:
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E114"):
        _broken(start_when=frozenset())


def test_start_states_that_are_not_case_states_are_rejected() -> None:
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E114"):
        _broken(start_when=frozenset({H.REQUESTED}))


def test_a_trigger_declared_by_two_processes_is_rejected() -> None:
    statement = DEFINITIONS[Process.STATEMENT]
    twin = replace(statement, triggers=(*statement.triggers, HOUSING.triggers[-1]))
    with pytest.raises(ProcessDefinitionError, match=r"gpv\.E113") as info:
        validate_registry((HOUSING, twin))
    assert "cancel_housing_support" in info.value.problem and info.value.process == "statement"


def test_machines_have_no_automatic_transitions() -> None:
    for process, machine in MACHINES.items():
        assert not any(t.startswith("to_") for t in machine.events), process
        assert machine.models == []


def test_no_model_stays_registered_after_a_step_or_a_refusal() -> None:
    at = datetime(2026, 4, 20, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    advance(build_snapshot("assessment"), "determine_benefits", {}, at, "fm", AGREEMENT)
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        advance(build_snapshot("closed"), "withdraw", {}, at, "fm", AGREEMENT)
    assert all(machine.models == [] for machine in MACHINES.values())
