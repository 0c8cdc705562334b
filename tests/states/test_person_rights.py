"""The person's rights in the process (legal-review M11, M12; issue 10): proposing a conference
(§ 119 Abs. 1 S. 2-3 SGB IX), the conference for parents (§ 119 Abs. 4) and provisional benefits in
an urgent case (§ 120 Abs. 4). Pure rules, real dates."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from states.advance import advance, next_snapshot
from states.decision import CaseSnapshot, OpenDeadline, Process
from states.errors import InputError, TransitionRefused
from tests.states.support import AGREEMENT, BERLIN, SCHEDULED_DATA, build_snapshot

#: Mon 13.04.2026, 10:00 in Berlin.
AT = datetime(2026, 4, 13, 10, 0, tzinfo=BERLIN)


def step(snapshot: CaseSnapshot, trigger: str, **params: str):
    return advance(snapshot, trigger, params, AT, "fm", AGREEMENT)


def proposed() -> CaseSnapshot:
    """A case in assessment whose person proposed a conference on 13.04.2026."""
    snapshot = build_snapshot("assessment")
    return next_snapshot(snapshot, step(snapshot, "request_consent", proposed_by="person"))


# § 119 Abs. 1 S. 2-3 SGB IX: the person proposes, the carrier refuses only on a ground


def test_a_proposal_is_recorded_with_who_proposed_it_and_when() -> None:
    instance = proposed().processes[Process.CONFERENCE]
    assert instance.state == "consent_pending"
    assert instance.data == {"proposed_by": "person", "proposed_on": "2026-04-13"}


def test_a_carrier_that_is_no_rehabilitation_carrier_cannot_propose() -> None:
    with pytest.raises(InputError, match=r"§ 119 Abs\. 1 S\. 2 SGB IX"):
        step(build_snapshot("assessment"), "request_consent", proposed_by="jobcenter-kreis-unna")


def test_a_rehabilitation_carrier_involved_may_propose() -> None:
    snapshot = build_snapshot("assessment")
    decision = step(snapshot, "request_consent", proposed_by="agentur-fuer-arbeit-hamm")
    assert decision.updates[0].data["proposed_by"] == "agentur-fuer-arbeit-hamm"


def test_a_pending_proposal_cannot_be_cancelled_silently() -> None:
    with pytest.raises(TransitionRefused, match=r"§ 119 Abs\. 1 S\. 3 SGB IX"):
        step(proposed(), "cancel_conference")


def test_benefits_are_not_determined_while_a_proposal_awaits_the_carriers_answer() -> None:
    with pytest.raises(TransitionRefused, match="noch nicht festgestellt"):
        step(proposed(), "determine_benefits")


def test_a_proposal_is_refused_only_with_a_statutory_ground_and_a_reason() -> None:
    with pytest.raises(InputError, match=r"kein Grund des § 119 Abs\. 1 S\. 3 SGB IX"):
        step(proposed(), "refuse_proposal", ground="keine Zeit", reason="Urlaub")
    with pytest.raises(InputError, match="reason"):
        step(proposed(), "refuse_proposal", ground="written_facts", reason="  ")


def test_a_refused_proposal_tells_the_person_the_ground_in_plain_words() -> None:
    decision = step(
        proposed(), "refuse_proposal", ground="disproportionate", reason="Eine Stunde Assistenz"
    )
    assert decision.updates[0].to_state == "proposal_refused"
    (notice,) = decision.notifications
    assert notice.event == "proposal_refused"
    assert notice.context == {
        "norm": "§ 119 Abs. 1 S. 3 SGB IX",
        "ground": "Eine Konferenz wäre zu viel Aufwand für die beantragte Hilfe",
    }
    assert "Eine Stunde Assistenz" not in str(notice.context)  # the reason stays in gpv
    assert decision.audit is not None and decision.audit.params["reason"]
    after = next_snapshot(proposed(), decision)
    assert step(after, "determine_benefits").updates[0].to_state == "determined"


def test_a_conference_the_carrier_asked_for_itself_is_not_a_proposal_to_refuse() -> None:
    snapshot = build_snapshot("assessment", sub={Process.CONFERENCE: "consent_pending"})
    with pytest.raises(TransitionRefused, match="Abgelehnt werden kann nur ein Vorschlag"):
        step(snapshot, "refuse_proposal", ground="written_facts", reason="liegt vor")


# § 119 Abs. 4 SGB IX: parents with a disability


def parent(**sub: str) -> CaseSnapshot:
    snapshot = build_snapshot(
        "assessment",
        sub={Process(k): v for k, v in sub.items()},
        data={Process.CONFERENCE: SCHEDULED_DATA} if sub.get("conference") == "held" else None,
    )
    return dataclasses.replace(snapshot, facts=dataclasses.replace(snapshot.facts, is_parent=True))


def test_a_parents_benefits_are_not_determined_before_the_conference() -> None:
    with pytest.raises(TransitionRefused, match=r"\(§ 119 Abs\. 4 SGB IX\)\.$"):
        step(parent(), "determine_benefits")


@pytest.mark.parametrize("conference", ["held", "refused"])
def test_a_parents_benefits_are_determined_after_the_conference_or_their_no(
    conference: str,
) -> None:
    decision = step(parent(conference=conference), "determine_benefits")
    assert decision.updates[0].to_state == "determined"


def test_a_parent_who_revoked_consent_is_not_held_up_but_a_cancelled_conference_is() -> None:
    snapshot = parent(conference="scheduled")
    revoked = next_snapshot(snapshot, step(snapshot, "revoke_consent"))
    assert step(revoked, "determine_benefits").updates[0].to_state == "determined"
    cancelled = next_snapshot(snapshot, step(snapshot, "cancel_conference"))
    with pytest.raises(TransitionRefused, match=r"§ 119 Abs\. 4 SGB IX"):
        step(cancelled, "determine_benefits")


# § 120 Abs. 4 SGB IX: provisional benefits in an urgent case


def test_provisional_benefits_need_the_reason_of_the_urgency() -> None:
    with pytest.raises(InputError, match="reason"):
        step(build_snapshot("assessment"), "grant_provisional_benefits", reason=" ")


def test_provisional_benefits_are_recorded_and_stop_no_period() -> None:
    decision_deadline = OpenDeadline("decision", date(2025, 12, 11), date(2026, 1, 2), Process.CASE)
    snapshot = build_snapshot("assessment", deadlines=(decision_deadline,))
    decision = step(
        snapshot, "grant_provisional_benefits", reason="Die Mutter, bei der sie lebte, starb"
    )
    (update,) = decision.updates
    assert (update.from_state, update.to_state) == ("assessment", "assessment")
    assert update.data["provisional_since"] == "2026-04-13"
    assert decision.deadlines_close == () and decision.deadlines_open == ()
    assert decision.notifications == ()
    assert next_snapshot(snapshot, decision).deadlines == (decision_deadline,)
