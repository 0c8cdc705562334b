"""Correcting the receipt or the town (issue 12): a step of its own, the deadlines re-anchored."""

from __future__ import annotations

from datetime import date

import pytest

from states.agreement import load_agreement
from states.correction import (
    REASON,
    check_field,
    correct_receipt,
    with_parties,
)
from states.decision import (
    CaseFacts,
    CaseSnapshot,
    CaseState,
    DeadlineStatus,
    OpenDeadline,
    Process,
    ProcessInstance,
)
from states.errors import InputError, TransitionRefused
from tests.workflows.conftest import noon

AGREEMENT = load_agreement()
RECEIVED = date(2026, 3, 2)


def snapshot(state: CaseState = CaseState.RECEIVED, **deadlines: str) -> CaseSnapshot:
    """An LWL case received on 2 March with its two receipt deadlines open."""
    facts = CaseFacts("C-2026-000001", RECEIVED, "lwl", "unna", parties=("lwl", "spdi"))
    open_ = (
        OpenDeadline("jurisdiction", RECEIVED, date(2026, 3, 16)),
        OpenDeadline(
            "decision", RECEIVED, date(2026, 3, 23), variant=deadlines.get("decision", "standard")
        ),
    )
    return CaseSnapshot(
        facts, {Process.CASE: ProcessInstance(Process.CASE, state.value)}, deadlines=open_
    )


def correct(snap: CaseSnapshot, new: date, **kwargs):
    args = {"reason": "Stempel falsch übertragen", "decided_on": None, "step_days": ()}
    args.update(kwargs)
    return correct_receipt(snap, new, at=noon("2026-03-10"), by="fm", agreement=AGREEMENT, **args)


def test_a_corrected_receipt_supersedes_the_deadlines_that_count_from_it_and_reopens_them():
    decision = correct(snapshot(), date(2026, 2, 27))
    closed = {(c.rule, c.status) for c in decision.deadlines_close}
    assert closed == {
        ("jurisdiction", DeadlineStatus.SUPERSEDED),
        ("decision", DeadlineStatus.SUPERSEDED),
    }
    assert all(c.reason.startswith(REASON) for c in decision.deadlines_close)
    opened = {d.rule: d for d in decision.deadlines_open}
    assert opened["jurisdiction"].anchor_date == date(2026, 2, 27)
    assert opened["jurisdiction"].due == date(2026, 3, 13)  # two weeks, § 14 Abs. 1 S. 1
    assert opened["decision"].due == date(2026, 3, 20)  # three weeks, § 14 Abs. 2 S. 2
    assert decision.facts_update == {"received_on": date(2026, 2, 27)}


def test_the_audit_entry_holds_field_old_and_new_value_and_the_reason():
    entry = correct(snapshot(), date(2026, 2, 27)).audit
    assert entry is not None
    assert (entry.trigger, entry.from_state, entry.to_state) == ("correct", "received", "received")
    assert dict(entry.params) == {
        "field": "received_on",
        "old": "2026-03-02",
        "new": "2026-02-27",
        "reason": "Stempel falsch übertragen",
    }


def test_a_variant_keeps_its_reading_when_it_counts_from_the_receipt():
    decision = correct(snapshot(decision="other_carriers"), date(2026, 2, 27))
    (reopened,) = [d for d in decision.deadlines_open if d.rule == "decision"]
    assert reopened.variant == "other_carriers"
    assert reopened.norm.startswith("§ 15 Abs. 4 S. 1")


def test_a_decision_period_counting_from_a_statement_is_left_alone():
    snap = snapshot()
    statement = OpenDeadline(
        "decision", date(2026, 3, 9), date(2026, 3, 23), variant="after_statement"
    )
    snap = CaseSnapshot(snap.facts, snap.processes, (snap.deadlines[0], statement))
    decision = correct(snap, date(2026, 2, 27))
    assert [c.rule for c in decision.deadlines_close] == ["jurisdiction"]


@pytest.mark.parametrize("state", [CaseState.DECIDED, CaseState.CLOSED, CaseState.FORWARDED])
def test_a_correction_after_the_decision_or_the_end_is_refused(state):
    with pytest.raises(TransitionRefused) as refused:
        correct(snapshot(state), date(2026, 2, 27))
    assert "§§ 44 ff. SGB X" in refused.value.message


def test_a_correction_after_a_review_began_is_refused_by_the_recorded_decision():
    with pytest.raises(TransitionRefused):
        correct(snapshot(CaseState.ASSESSMENT), date(2026, 2, 27), decided_on=date(2026, 4, 1))


def test_a_receipt_after_a_recorded_step_is_refused():
    with pytest.raises(TransitionRefused) as refused:
        correct(snapshot(), date(2026, 3, 5), step_days=(date(2026, 3, 4),))
    assert "2026-03-04" in refused.value.message


@pytest.mark.parametrize(
    ("new", "words"),
    [(RECEIVED, "bereits"), (date(2026, 3, 11), "nach dem heutigen Tag")],
)
def test_the_same_day_or_a_day_after_today_is_bad_input(new, words):
    with pytest.raises(InputError, match=words):
        correct(snapshot(), new)


def test_a_correction_without_a_reason_is_bad_input():
    with pytest.raises(InputError, match="--reason"):
        correct(snapshot(), date(2026, 2, 27), reason="  ")


def test_only_the_receipt_and_the_town_can_be_corrected():
    assert check_field("received-on") == "received_on"
    with pytest.raises(InputError, match="received_on"):
        check_field("carrier")


def test_a_corrected_town_that_brings_another_rehabilitation_carrier_moves_the_decision_period():
    parties = ("lwl", "spdi", "agentur-fuer-arbeit-hamm")
    decision = with_parties(
        snapshot(), parties, "selm", reason="Wohnort verwechselt", decided_on=None,
        at=noon("2026-03-10"), by="fm", agreement=AGREEMENT,
    )  # fmt: skip
    assert decision.facts_update == {"municipality": "selm", "parties": parties}
    assert [(c.rule, c.status) for c in decision.deadlines_close] == [
        ("decision", DeadlineStatus.SUPERSEDED)
    ]
    assert [d.variant for d in decision.deadlines_open] == ["other_carriers"]
