"""The state × trigger table of every process: for each state and each trigger of the process, the
state it leads to or that it is refused (with every guard satisfied, so only the state decides).

The expectations are written out by hand here, not derived from the tables they check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import pytest

from states.advance import advance
from states.decision import Process
from states.errors import TransitionRefused
from states.processes.registry import DEFINITIONS
from states.triggers import TRIGGERS, triggers_of
from tests.states.support import AGREEMENT, BERLIN, SCHEDULED_DATA, build_snapshot

#: Parameters that satisfy every input check and guard.
VALID_PARAMS: Mapping[str, Mapping[str, str]] = {
    "forward": {"to": "kreis-unna"},
    "draw_up_plan": {"review": "2027-06-30"},
    "issue_decision": {"outcome": "approval", "approved_until": "2027-12-31"},
    "decline_statement_request": {"reason": "Keine freie Kapazität"},
    "schedule_conference": {"date": "2026-05-15T10:00", "location": "Kreishaus Unna, Raum 2"},
    "reschedule_conference": {"date": "2026-05-18T14:00", "location": "Kreishaus Unna, Raum 3"},
    "grant_provisional_benefits": {"reason": "Tod der Mutter, mit der die Person lebte"},
    "refuse_proposal": {"ground": "written_facts", "reason": "Sachverhalt liegt schriftlich vor"},
}

REFUSED = None
NONE = "<none>"  # no instance of the sub-process yet

# process → state → {trigger: new state}; a trigger not listed is refused in that state.
EXPECTED: Mapping[Process, Mapping[str, Mapping[str, str]]] = {
    Process.CASE: {
        "received": {
            "accept_jurisdiction": "assessment",
            "forward": "forwarded",
            "withdraw": "withdrawn",
        },
        "assessment": {
            "determine_benefits": "determined",
            "grant_provisional_benefits": "assessment",
            "withdraw": "withdrawn",
        },
        # An approval needs the Gesamtplan first (§ 121 Abs. 1 SGB IX); see test_advance for the
        # refusal that may be issued without it.
        "determined": {
            "draw_up_plan": "planned",
            "grant_provisional_benefits": "determined",
            "withdraw": "withdrawn",
        },
        "planned": {"issue_decision": "decided", "withdraw": "withdrawn"},
        "decided": {"start_review": "assessment", "close": "closed", "withdraw": "withdrawn"},
        "closed": {},
        "forwarded": {},
        "withdrawn": {},
    },
    Process.STATEMENT: {
        NONE: {"request_statement": "requested"},
        "requested": {
            "accept_statement_request": "accepted",
            "deliver_statement": "delivered",
            "decline_statement_request": "declined",
            "cancel_statement": "cancelled",
        },
        "accepted": {"deliver_statement": "delivered", "cancel_statement": "cancelled"},
        "delivered": {"request_statement": "requested"},
        "declined": {"request_statement": "requested"},
        "cancelled": {"request_statement": "requested"},
    },
    Process.CONFERENCE: {
        NONE: {"request_consent": "consent_pending"},
        # refuse_proposal needs a proposal (§ 119 Abs. 1 S. 2-3 SGB IX): test_person_rights.
        "consent_pending": {
            "give_consent": "consented",
            "refuse_consent": "refused",
            "cancel_conference": "cancelled",
        },
        "consented": {
            "schedule_conference": "scheduled",
            "cancel_conference": "cancelled",
            "revoke_consent": "cancelled",
        },
        "scheduled": {
            "reschedule_conference": "scheduled",
            "hold_conference": "held",
            "cancel_conference": "cancelled",
            "revoke_consent": "cancelled",
        },
        "held": {"request_consent": "consent_pending"},
        "refused": {"request_consent": "consent_pending"},
        "cancelled": {"request_consent": "consent_pending"},
        "proposal_refused": {"request_consent": "consent_pending"},
    },
    Process.HOUSING: {
        NONE: {"request_housing_support": "requested"},
        "requested": {
            "acknowledge_housing_support": "acknowledged",
            "cancel_housing_support": "cancelled",
        },
        "acknowledged": {
            "provide_housing_support": "provided",
            "cancel_housing_support": "cancelled",
        },
        "provided": {"close_housing_support": "closed", "cancel_housing_support": "cancelled"},
        "closed": {"request_housing_support": "requested"},
        "cancelled": {"request_housing_support": "requested"},
    },
}


#: Mon 20.04.2026 10:00 in Berlin: after the scheduled conference start, before the new dates.
SUB_AT = datetime(2026, 4, 20, 10, 0, tzinfo=BERLIN)
#: Mon 15.12.2025: within the § 14 Abs. 1 period of a case received Thu 11.12.2025.
CASE_AT = datetime(2025, 12, 15, 10, 0, tzinfo=BERLIN)


def _cases() -> list[tuple[Process, str, str, str | None]]:
    rows = []
    for process, by_state in EXPECTED.items():
        for state, outcomes in by_state.items():
            for trigger in triggers_of(process):
                rows.append((process, state, trigger, outcomes.get(trigger, REFUSED)))
    return rows


def test_the_table_covers_every_state_and_trigger_of_every_process() -> None:
    for process, defn in DEFINITIONS.items():
        declared = {s.value for s in defn.state_enum}
        listed = set(EXPECTED[process]) - {NONE}
        assert listed == declared, process
    assert {t for p in Process for t in triggers_of(p)} == set(TRIGGERS)


@pytest.mark.parametrize(
    ("process", "state", "trigger", "expected"),
    _cases(),
    ids=[f"{p.value}:{s}:{t}" for p, s, t, _ in _cases()],
)
def test_state_and_trigger_lead_to_the_expected_state_or_are_refused(
    process: Process, state: str, trigger: str, expected: str | None
) -> None:
    if process is Process.CASE:
        snapshot = build_snapshot(state)
        at = CASE_AT
    else:
        sub = {} if state == NONE else {process: state}
        data = {process: SCHEDULED_DATA} if state in ("scheduled", "held") else {}
        snapshot = build_snapshot("assessment", received_on=date(2026, 3, 30), sub=sub, data=data)
        at = SUB_AT
    params = VALID_PARAMS.get(trigger, {})
    if expected is REFUSED:
        with pytest.raises(TransitionRefused) as info:
            advance(snapshot, trigger, params, at, "fm-lwl", AGREEMENT)
        assert "Zustand" in info.value.message
        assert info.value.norm
        return
    decision = advance(snapshot, trigger, params, at, "fm-lwl", AGREEMENT)
    main = decision.updates[0]
    assert (main.process, main.to_state) == (process, expected)
    assert main.from_state == (None if state == NONE or main.new_instance else state)
    assert decision.audit is not None
    assert (decision.audit.from_state, decision.audit.to_state) == (main.from_state, expected)


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "9999-12-31T23:59", "2200-01-01T10:00"],
)
def test_a_conference_time_near_the_ends_of_the_calendar_is_bad_input_not_an_overflow(text):
    from states.errors import InputError
    from states.processes.conference import parse_conference_time

    with pytest.raises(InputError, match="außerhalb der Jahre 1900–2199"):
        parse_conference_time(text)
