"""What ``states.advance`` decides: guards with their reasons, deadlines, notifications, consent,
audit, and the refusal of malformed input. Real dates, NRW holidays included."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from states.advance import advance, next_snapshot, open_case_decision
from states.decision import (
    ConsentStatus,
    DeadlineStatus,
    OpenDeadline,
    Process,
    ProcessInstance,
)
from states.errors import InputError, TransitionRefused
from tests.states.support import AGREEMENT, BERLIN, SCHEDULED_DATA, build_snapshot, facts

BY = "fm-lwl"


def at(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=BERLIN)


def opened_case(received_on: date = date(2025, 12, 11)):  # type: ignore[no-untyped-def]
    decision = open_case_decision(
        facts(received_on), at(*received_on.timetuple()[:3]), BY, AGREEMENT
    )
    return next_snapshot(build_snapshot("received", received_on=received_on), decision), decision


def step(snapshot, trigger, when, **params):  # type: ignore[no-untyped-def]
    return advance(snapshot, trigger, params, when, BY, AGREEMENT)


def run(snapshot, trigger, when, **params):  # type: ignore[no-untyped-def]
    return next_snapshot(snapshot, step(snapshot, trigger, when, **params))


# --- opening a case ------------------------------------------------------------------------------


def test_opening_a_case_starts_the_two_section_14_periods_on_the_receipt() -> None:
    _, decision = opened_case(date(2025, 12, 11))
    specs = {d.rule: d for d in decision.deadlines_open}
    assert specs["jurisdiction"].due == date(2025, 12, 29)  # 25./26.12. holidays, weekend
    assert specs["decision"].due == date(2026, 1, 2)  # Neujahr
    assert {d.responsible_party for d in specs.values()} == {"lwl"}
    assert decision.updates[0].to_state == "received" and decision.updates[0].new_instance
    assert decision.audit is not None and decision.audit.trigger == "open_case"
    assert decision.audit.from_state is None


# --- § 14 Abs. 1: forwarding ---------------------------------------------------------------------


def test_an_agreed_second_forwarding_is_not_bound_to_the_two_weeks_of_section_14_abs_1() -> None:
    """Legal-review C5, § 14 Abs. 3 SGB IX: the carrier the application was forwarded to has no
    two-week forwarding period; with the agreement it may forward on while the decision period
    runs (received 2025-12-11, forwarded on 2026-01-15), and without it not at all."""
    forwarded_in = replace(build_snapshot("received"), facts=replace(facts(), forwarded_from="C-1"))
    late = at(2026, 1, 15)
    agreed = step(forwarded_in, "forward", late, to="jugendamt-unna", agreed="ja")
    assert agreed.updates[0].to_state == "forwarded"
    with pytest.raises(TransitionRefused) as refused:
        step(forwarded_in, "forward", late, to="jugendamt-unna")
    assert refused.value.norm == "§ 14 Abs. 3 SGB IX"


def test_an_application_may_be_forwarded_to_any_rehabilitation_carrier_the_agreement_lists() -> (
    None
):
    """§ 14 Abs. 1 S. 2 with § 6 Abs. 1 Nr. 2 SGB IX: e.g. the Agentur für Arbeit for the entry
    and training area of a workshop (§ 63 Abs. 1 Nr. 1); not the SPDI (legal-review C5, M1)."""
    snapshot = build_snapshot("received")
    decision = step(snapshot, "forward", at(2025, 12, 15), to="agentur-fuer-arbeit-hamm")
    assert decision.updates[0].to_state == "forwarded"
    assert decision.notifications[0].context["to"] == "agentur-fuer-arbeit-hamm"
    with pytest.raises(InputError, match="Rehabilitationsträger"):
        step(snapshot, "forward", at(2025, 12, 15), to="spdi")


def test_forwarding_on_the_last_day_of_the_two_week_period_is_allowed() -> None:
    snapshot, _ = opened_case(date(2025, 12, 11))
    decision = step(snapshot, "forward", at(2025, 12, 29, 23, 30), to="kreis-unna")
    assert decision.updates[0].to_state == "forwarded"
    closes = {(c.rule, c.status) for c in decision.deadlines_close}
    assert closes == {("jurisdiction", DeadlineStatus.MET), ("decision", DeadlineStatus.CANCELLED)}
    (notice,) = decision.notifications
    assert notice.event == "case_forwarded"
    assert notice.context == {
        "to": "kreis-unna",
        "to_name": AGREEMENT.party("kreis-unna").name,
        "forwarded_on": "2025-12-29",  # the person learns the day it was sent on (m5)
    }


def test_forwarding_after_the_two_week_period_is_refused() -> None:
    snapshot, _ = opened_case(date(2025, 12, 11))
    with pytest.raises(TransitionRefused) as info:
        step(snapshot, "forward", at(2025, 12, 30, 8), to="kreis-unna")
    message = info.value.message
    assert "§ 14 Abs. 1 S. 1 SGB IX" in message and "§ 14 Abs. 2 S. 1 SGB IX" in message
    assert "leistender Rehabilitationsträger" in message and "2025-12-29" in message
    assert "„Antrag eingegangen“ (received)" in message


def test_the_forwarding_period_ends_at_midnight_in_berlin_not_in_utc() -> None:
    snapshot, _ = opened_case(date(2025, 12, 11))
    late_utc = datetime(2025, 12, 29, 23, 30, tzinfo=UTC)  # 00:30 on 30.12. in Berlin
    with pytest.raises(TransitionRefused):
        step(snapshot, "forward", late_utc, to="kreis-unna")


def test_forwarding_without_the_open_deadline_recomputes_the_period_from_the_receipt() -> None:
    snapshot = build_snapshot("received", received_on=date(2025, 12, 11))
    assert step(snapshot, "forward", at(2025, 12, 29), to="jugendamt-kamen").updates
    with pytest.raises(TransitionRefused):
        step(snapshot, "forward", at(2025, 12, 30), to="jugendamt-kamen")


@pytest.mark.parametrize(
    ("target", "why"),
    [("nowhere", "Unbekannte Partei"), ("spdi", "Jugendamt"), ("lwl", "bereits der Träger")],
)
def test_forwarding_needs_another_carrier_or_youth_office_as_target(target: str, why: str) -> None:
    snapshot, _ = opened_case()
    with pytest.raises(InputError, match=why):
        step(snapshot, "forward", at(2025, 12, 15), to=target)


# --- determine_benefits --------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["requested", "accepted"])
def test_benefits_cannot_be_determined_while_a_statement_is_awaited(state: str) -> None:
    snapshot = build_snapshot("assessment", sub={Process.STATEMENT: state})
    with pytest.raises(TransitionRefused) as info:
        step(snapshot, "determine_benefits", at(2026, 4, 20))
    assert "§ 121 Abs. 4 Nr. 5" in info.value.message and "cancel_statement" in info.value.message


@pytest.mark.parametrize("state", ["scheduled", "consented"])
def test_benefits_cannot_be_determined_before_an_agreed_conference_was_held(state: str) -> None:
    data = {Process.CONFERENCE: SCHEDULED_DATA} if state == "scheduled" else {}
    snapshot = build_snapshot("assessment", sub={Process.CONFERENCE: state}, data=data)
    with pytest.raises(TransitionRefused) as info:
        step(snapshot, "determine_benefits", at(2026, 4, 20))
    assert "§ 119 Abs. 1 SGB IX" in info.value.message
    assert "§ 120 Abs. 1 SGB IX" in info.value.message


@pytest.mark.parametrize(
    "sub",
    [
        {Process.STATEMENT: "delivered", Process.CONFERENCE: "held"},
        {Process.STATEMENT: "cancelled", Process.CONFERENCE: "refused"},
        {Process.CONFERENCE: "consent_pending"},
    ],
)
def test_benefits_can_be_determined_once_nothing_is_awaited(sub: dict[Process, str]) -> None:
    snapshot = build_snapshot("assessment", sub=sub)
    assert step(snapshot, "determine_benefits", at(2026, 4, 20)).updates[0].to_state == "determined"


# --- decision and review -------------------------------------------------------------------------


def test_issuing_the_decision_meets_the_decision_period_and_opens_the_review() -> None:
    deadline = OpenDeadline("decision", date(2026, 4, 7), date(2026, 4, 21))
    snapshot = build_snapshot("planned", deadlines=(deadline,))
    decision = step(
        snapshot, "issue_decision", at(2026, 4, 20), outcome="approval", approved_until="2027-12-31"
    )
    assert decision.deadlines_close[0].rule == "decision"
    assert decision.deadlines_close[0].status is DeadlineStatus.MET
    review, approval = decision.deadlines_open
    assert review.rule == "review" and review.anchor_date == date(2026, 4, 20)
    assert review.due == date(2028, 4, 20)  # Thursday; the internal target shifts backwards only
    assert approval.rule == "approval_end"
    assert approval.due == date(2027, 12, 31)  # Friday; the last day of the approval period
    assert approval.remind_on == date(2027, 11, 5)  # 40 NRW working days before
    assert decision.facts_update == {"decided_on": date(2026, 4, 20)}
    assert decision.notifications[0].event == "decision_issued"
    assert decision.notifications[0].context["outcome"] == "approval"


def test_the_review_falls_due_at_the_date_the_gesamtplan_names() -> None:
    """§ 121 Abs. 4 Nr. 1 SGB IX: the plan names its review date (Sat 2027-10-30 → internal
    target Fri 2027-10-29); the legal latest date, two years after the Bescheid (§ 121 Abs. 2
    S. 2), stays stored as the nominal end (legal-review M7, ruling 8)."""
    determined = build_snapshot("determined")
    planned = step(determined, "draw_up_plan", at(2026, 4, 16), review="2027-10-30")
    assert planned.updates[0].to_state == "planned"
    assert planned.updates[0].data["review"] == "2027-10-30"
    snapshot = next_snapshot(determined, planned)
    decision = step(
        snapshot, "issue_decision", at(2026, 4, 20), outcome="partial", approved_until="2027-12-31"
    )
    review = next(s for s in decision.deadlines_open if s.rule == "review")
    assert (review.nominal_end, review.due) == (date(2028, 4, 20), date(2027, 10, 29))
    assert review.variant_reason == "Überprüfungszeitpunkt laut Gesamtplan"


@pytest.mark.parametrize("review", ["2026-04-16", "2028-04-17", "31.10.2027"])
def test_a_plan_review_date_not_ahead_or_beyond_two_years_is_bad_input(review: str) -> None:
    """§ 121 Abs. 2 S. 2 SGB IX: at the latest after two years (from 2026-04-16: 2028-04-16)."""
    with pytest.raises(InputError, match=r"review|Überprüfungszeitpunkt"):
        step(build_snapshot("determined"), "draw_up_plan", at(2026, 4, 16), review=review)


def test_an_approval_without_a_gesamtplan_is_refused_but_a_refusal_is_not() -> None:
    """§ 121 Abs. 1 SGB IX: the plan comes before an approval; a refusal needs none. A refusal
    opens neither a review nor an approval period, and its notice names no review date (C6)."""
    snapshot = build_snapshot("determined")
    with pytest.raises(TransitionRefused, match="Gesamtplan") as info:
        step(snapshot, "issue_decision", at(2026, 4, 20), outcome="approval",
             approved_until="2027-12-31")  # fmt: skip
    assert info.value.norm == "§ 121 Abs. 1 SGB IX"
    decision = step(snapshot, "issue_decision", at(2026, 4, 20), outcome="refusal")
    assert decision.updates[0].to_state == "decided"
    assert decision.deadlines_open == ()
    assert decision.notifications[0].context == {"outcome": "refusal"}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "outcome"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "approval"}, "approved_until"),
        ({"outcome": "refusal", "approved_until": "2027-12-31"}, "Ablehnung"),
        ({"outcome": "approval", "approved_until": "2026-04-20"}, "Bewilligungszeitraums"),
    ],
)
def test_a_decision_needs_its_outcome_and_for_an_approval_the_period(params, fragment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=fragment):
        step(build_snapshot("planned"), "issue_decision", at(2026, 4, 20), **params)


def test_starting_the_review_meets_the_review_deadline() -> None:
    deadline = OpenDeadline("review", date(2026, 4, 20), date(2028, 4, 20))
    snapshot = build_snapshot("decided", deadlines=(deadline,))
    decision = step(snapshot, "start_review", at(2028, 3, 1))
    assert decision.updates[0].to_state == "assessment"
    assert [(c.rule, c.status) for c in decision.deadlines_close] == [
        ("review", DeadlineStatus.MET)
    ]


def test_closing_a_decided_case_cancels_its_review_deadline() -> None:
    deadline = OpenDeadline("review", date(2026, 4, 20), date(2028, 4, 20))
    snapshot = build_snapshot("decided", deadlines=(deadline,))
    decision = step(snapshot, "close", at(2026, 6, 1))
    assert [(c.rule, c.status) for c in decision.deadlines_close] == [
        ("review", DeadlineStatus.CANCELLED)
    ]


def test_closing_a_case_also_ends_a_housing_support_still_running() -> None:
    snapshot = build_snapshot("decided", sub={Process.HOUSING: "provided"})
    decision = step(snapshot, "close", at(2026, 6, 1))
    assert [(u.process, u.to_state) for u in decision.updates] == [
        (Process.CASE, "closed"),
        (Process.HOUSING, "cancelled"),
    ]


# --- withdraw ------------------------------------------------------------------------------------


def test_withdrawing_cancels_every_open_sub_process_and_deadline_and_tells_the_parties() -> None:
    deadlines = (
        OpenDeadline("decision", date(2026, 3, 30), date(2026, 4, 20)),
        OpenDeadline("statement", date(2026, 4, 1), date(2026, 4, 15), Process.STATEMENT),
        OpenDeadline("housing_ack", date(2026, 4, 1), date(2026, 4, 15), Process.HOUSING),
    )
    snapshot = build_snapshot(
        "assessment",
        sub={
            Process.STATEMENT: "requested",
            Process.CONFERENCE: "scheduled",
            Process.HOUSING: "acknowledged",
        },
        data={Process.CONFERENCE: {**SCHEDULED_DATA, "scheduled_at": "2026-05-15T10:00:00+02:00"}},
        deadlines=deadlines,
    )
    decision = step(snapshot, "withdraw", at(2026, 4, 20), reason="Antrag zurückgenommen")
    assert {(u.process, u.from_state, u.to_state) for u in decision.updates} == {
        (Process.CASE, "assessment", "withdrawn"),
        (Process.STATEMENT, "requested", "cancelled"),
        (Process.CONFERENCE, "scheduled", "cancelled"),
        (Process.HOUSING, "acknowledged", "cancelled"),
    }
    assert {c.rule for c in decision.deadlines_close} == {"decision", "statement", "housing_ack"}
    assert {c.status for c in decision.deadlines_close} == {DeadlineStatus.CANCELLED}
    events = {n.event: n.context for n in decision.notifications}
    assert set(events) == {"conference_cancelled", "statement_cancelled"}
    assert events["conference_cancelled"]["sequence"] == 1
    assert events["conference_cancelled"]["uid"] == "conference-C-17-1@gpv"


def test_withdrawing_leaves_finished_sub_processes_alone() -> None:
    snapshot = build_snapshot("assessment", sub={Process.STATEMENT: "delivered"})
    decision = step(snapshot, "withdraw", at(2026, 4, 20))
    assert [u.process for u in decision.updates] == [Process.CASE]
    assert decision.notifications == ()


# --- statement -----------------------------------------------------------------------------------


def test_requesting_a_statement_gives_the_spdi_two_weeks_past_ostermontag() -> None:
    snapshot = build_snapshot("assessment", received_on=date(2026, 3, 16))
    decision = step(snapshot, "request_statement", at(2026, 3, 23))
    (spec,) = decision.deadlines_open
    assert (spec.rule, spec.responsible_party, spec.due) == ("statement", "spdi", date(2026, 4, 7))
    notice, objection = decision.notifications
    assert notice.event == "statement_requested"
    assert notice.context == {"due": "2026-04-07", "norm": spec.norm, "responsible_party": "spdi"}
    # § 76 Abs. 2 Nr. 1 SGB X: the person is told of the right to object, once, and it is recorded
    assert objection.event == "objection_notice"
    assert decision.facts_update["objection_notice_given_on"] == date(2026, 3, 23)
    assert decision.updates[0].new_instance


def test_delivering_the_statement_restarts_the_decision_period_two_weeks_from_delivery() -> None:
    """§ 14 Abs. 2 S. 3 SGB IX: two weeks after the Gutachten arrives. A store from before the
    variants still holds the S. 2 deadline beside a pending request: it is superseded, not
    cancelled or missed (legal-review C1)."""
    deadlines = (
        OpenDeadline("decision", date(2026, 3, 16), date(2026, 4, 7)),
        OpenDeadline("statement", date(2026, 3, 23), date(2026, 4, 7), Process.STATEMENT),
    )
    snapshot = build_snapshot(
        "assessment", sub={Process.STATEMENT: "accepted"}, deadlines=deadlines
    )
    decision = step(snapshot, "deliver_statement", at(2026, 4, 7, 15))
    closes = {c.rule: c for c in decision.deadlines_close}
    assert closes["statement"].status is DeadlineStatus.MET
    assert closes["decision"].status is DeadlineStatus.SUPERSEDED
    assert closes["decision"].reason == (
        "ersetzt durch § 14 Abs. 2 S. 3 SGB IX: Gutachten (Stellungnahme) eingegangen am 2026-04-07"
    )
    (spec,) = decision.deadlines_open
    assert (spec.rule, spec.anchor_date, spec.due) == (
        "decision",
        date(2026, 4, 7),
        date(2026, 4, 21),
    )
    assert spec.norm == "§ 14 Abs. 2 S. 3 SGB IX"
    assert spec.variant == "after_statement"
    (notice,) = decision.notifications
    assert notice.event == "statement_delivered"
    assert set(notice.context) == {"decision_due", "norm"}  # nothing of the statement itself


def test_declining_a_statement_request_needs_a_reason() -> None:
    snapshot = build_snapshot("assessment", sub={Process.STATEMENT: "requested"})
    with pytest.raises(InputError, match="reason"):
        step(snapshot, "decline_statement_request", at(2026, 4, 20))
    with pytest.raises(InputError, match="reason"):
        step(snapshot, "decline_statement_request", at(2026, 4, 20), reason="   ")


def test_the_reason_for_declining_stays_in_the_audit_and_out_of_the_notification() -> None:
    deadline = OpenDeadline("statement", date(2026, 4, 13), date(2026, 4, 27), Process.STATEMENT)
    snapshot = build_snapshot(
        "assessment", sub={Process.STATEMENT: "requested"}, deadlines=(deadline,)
    )
    decision = step(snapshot, "decline_statement_request", at(2026, 4, 20), reason="Kapazität")
    assert decision.updates[0].to_state == "declined"
    assert decision.audit is not None and decision.audit.params == {"reason": "Kapazität"}
    (notice,) = decision.notifications
    assert notice.event == "statement_declined" and "Kapazität" not in str(notice.context)
    assert [(c.rule, c.status) for c in decision.deadlines_close] == [
        ("statement", DeadlineStatus.CANCELLED)
    ]


def test_cancelling_a_statement_closes_its_deadline_and_tells_the_spdi() -> None:
    deadline = OpenDeadline("statement", date(2026, 4, 13), date(2026, 4, 27), Process.STATEMENT)
    snapshot = build_snapshot(
        "assessment", sub={Process.STATEMENT: "accepted"}, deadlines=(deadline,)
    )
    decision = step(snapshot, "cancel_statement", at(2026, 4, 20))
    assert decision.deadlines_close[0].status is DeadlineStatus.CANCELLED
    assert decision.notifications[0].event == "statement_cancelled"


# --- sub-process lifecycle -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "norm"),
    [
        ("request_statement", "§ 121 Abs. 3 SGB IX"),
        ("request_consent", "§ 119 Abs. 1 SGB IX"),
        ("request_housing_support", "§ 117 Abs. 1 SGB IX"),
    ],
)
@pytest.mark.parametrize("case_state", ["received", "determined", "decided", "withdrawn"])
def test_a_sub_process_starts_only_while_the_case_is_in_assessment(
    trigger: str, norm: str, case_state: str
) -> None:
    with pytest.raises(TransitionRefused) as info:
        step(build_snapshot(case_state), trigger, at(2026, 4, 20))
    assert norm in info.value.message and f"({case_state})" in info.value.message


def test_only_one_statement_is_open_at_a_time_and_a_new_one_may_follow_a_finished_one() -> None:
    snapshot = build_snapshot("assessment", sub={Process.STATEMENT: "accepted"})
    with pytest.raises(TransitionRefused, match="bereits"):
        step(snapshot, "request_statement", at(2026, 4, 20))
    finished = build_snapshot("assessment", sub={Process.STATEMENT: "delivered"})
    after = run(finished, "request_statement", at(2026, 4, 20))
    assert after.processes[Process.STATEMENT].instance_no == 2
    assert after.processes[Process.STATEMENT].state == "requested"


def test_a_sub_process_of_a_finished_case_cannot_be_progressed() -> None:
    snapshot = build_snapshot("closed", sub={Process.HOUSING: "provided"})
    with pytest.raises(TransitionRefused) as info:
        step(snapshot, "close_housing_support", at(2026, 4, 20))
    assert "(closed)" in info.value.message and "(provided)" in info.value.message


# --- conference ----------------------------------------------------------------------------------


def consented():  # type: ignore[no-untyped-def]
    return build_snapshot("assessment", sub={Process.CONFERENCE: "consented"})


def test_consent_given_and_refused_are_recorded_with_section_119() -> None:
    pending = build_snapshot("assessment", sub={Process.CONFERENCE: "consent_pending"})
    given = step(pending, "give_consent", at(2026, 4, 20)).consent
    refused = step(pending, "refuse_consent", at(2026, 4, 20)).consent
    assert given is not None and given.status is ConsentStatus.GIVEN
    assert refused is not None and refused.status is ConsentStatus.REFUSED
    assert given.scope == "conference" and given.norm == "§ 119 Abs. 1 SGB IX"


def test_requesting_consent_starts_a_conference_and_asks_the_person() -> None:
    decision = step(build_snapshot("assessment"), "request_consent", at(2026, 4, 20))
    assert decision.updates[0].to_state == "consent_pending"
    assert decision.notifications[0].event == "consent_requested"


def test_scheduling_a_conference_sends_an_invitation_with_a_stable_uid() -> None:
    decision = step(
        consented(), "schedule_conference", at(2026, 4, 20), date="2026-05-15T10:00",
        location="Kreishaus Unna, Raum 2",
    )  # fmt: skip
    data = decision.updates[0].data
    assert data == {
        "scheduled_at": "2026-05-15T10:00:00+02:00",
        "location": "Kreishaus Unna, Raum 2",
        "sequence": 0,
        "uid": "conference-C-17-1@gpv",
    }
    (notice,) = decision.notifications
    assert notice.event == "conference_invitation" and notice.context == data


def test_a_conference_time_with_an_offset_is_kept_as_berlin_time() -> None:
    decision = step(
        consented(), "schedule_conference", at(2026, 4, 20), date="2026-05-15T08:00:00+00:00",
        location="Kreishaus",
    )  # fmt: skip
    assert decision.updates[0].data["scheduled_at"] == "2026-05-15T10:00:00+02:00"


def test_scheduling_a_conference_on_christi_himmelfahrt_is_refused() -> None:
    with pytest.raises(TransitionRefused) as info:
        step(consented(), "schedule_conference", at(2026, 4, 20), date="2026-05-14T10:00",
             location="Kreishaus")  # fmt: skip
    assert "2026-05-14 ist ein Feiertag in NRW (Christi Himmelfahrt)" in info.value.message
    assert "„Zustimmung erteilt“ (consented)" in info.value.message


def test_scheduling_a_conference_on_a_saturday_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="2026-05-16 ist ein Samstag"):
        step(consented(), "schedule_conference", at(2026, 4, 20), date="2026-05-16T10:00",
             location="Kreishaus")  # fmt: skip


def test_scheduling_a_conference_in_the_past_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="nicht in der Zukunft"):
        step(consented(), "schedule_conference", at(2026, 4, 20), date="2026-04-20T09:00",
             location="Kreishaus")  # fmt: skip


def test_scheduling_without_consent_is_refused_citing_section_119() -> None:
    pending = build_snapshot("assessment", sub={Process.CONFERENCE: "consent_pending"})
    with pytest.raises(TransitionRefused) as info:
        step(pending, "schedule_conference", at(2026, 4, 20), date="2026-05-15T10:00",
             location="Kreishaus")  # fmt: skip
    assert "§ 119 Abs. 1 SGB IX" in info.value.message and "zugestimmt" in info.value.message


@pytest.mark.parametrize(
    ("value", "location"),
    [("2026-05-15", "Kreishaus"), ("15.05.2026 10:00", "Kreishaus"),
     ("2026-05-15T10:00", "Kreishaus\nRaum 2"), ("2026-05-15T10:00", "  ")],
)  # fmt: skip
def test_a_malformed_conference_date_or_location_is_bad_input(value: str, location: str) -> None:
    with pytest.raises(InputError):
        step(consented(), "schedule_conference", at(2026, 4, 20), date=value, location=location)


def scheduled(sequence: int = 0):  # type: ignore[no-untyped-def]
    data = {**SCHEDULED_DATA, "scheduled_at": "2026-05-15T10:00:00+02:00", "sequence": sequence}
    return build_snapshot(
        "assessment", sub={Process.CONFERENCE: "scheduled"}, data={Process.CONFERENCE: data}
    )


def test_rescheduling_raises_the_sequence_and_tells_everyone() -> None:
    decision = step(scheduled(2), "reschedule_conference", at(2026, 4, 20),
                    date="2026-05-18T14:00", location="Rathaus Kamen")  # fmt: skip
    assert decision.updates[0].to_state == "scheduled"
    assert decision.updates[0].data["sequence"] == 3
    assert decision.notifications[0].event == "conference_rescheduled"
    assert decision.notifications[0].context["uid"] == "conference-C-17-1@gpv"


def test_rescheduling_onto_a_holiday_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="Pfingstmontag"):
        step(scheduled(), "reschedule_conference", at(2026, 4, 20), date="2026-05-25T10:00",
             location="Kreishaus")  # fmt: skip


def test_a_conference_cannot_be_held_before_its_day() -> None:
    with pytest.raises(TransitionRefused, match="2026-05-15"):
        step(scheduled(), "hold_conference", at(2026, 5, 14, 18))
    assert step(scheduled(), "hold_conference", at(2026, 5, 15, 8)).updates[0].to_state == "held"


def test_cancelling_a_scheduled_conference_sends_a_cancellation_with_the_next_sequence() -> None:
    decision = step(scheduled(1), "cancel_conference", at(2026, 4, 20))
    assert decision.updates[0].data["sequence"] == 2
    (notice,) = decision.notifications
    assert notice.event == "conference_cancelled"
    assert notice.context["sequence"] == 2 and notice.context["uid"] == "conference-C-17-1@gpv"


def test_cancelling_an_unscheduled_conference_sends_no_cancellation() -> None:
    assert step(consented(), "cancel_conference", at(2026, 4, 20)).notifications == ()


def test_revoking_consent_cancels_the_conference_and_records_the_revocation() -> None:
    decision = step(scheduled(), "revoke_consent", at(2026, 4, 20))
    assert decision.updates[0].to_state == "cancelled"
    assert decision.consent is not None
    assert decision.consent.status is ConsentStatus.REVOKED
    # The § 119 Zustimmung is procedural, not a data-protection Einwilligung (legal-review m4).
    assert decision.consent.norm == "§ 119 Abs. 1 S. 1 SGB IX"
    assert [n.event for n in decision.notifications] == ["conference_cancelled"]


# --- housing -------------------------------------------------------------------------------------


def test_requesting_housing_support_gives_the_kreis_housing_contact_a_deadline() -> None:
    decision = step(build_snapshot("assessment"), "request_housing_support", at(2026, 4, 20))
    (spec,) = decision.deadlines_open
    assert spec.rule == "housing_ack" and spec.responsible_party == AGREEMENT.housing_party()
    assert decision.notifications[0].event == "housing_requested"


def test_acknowledging_and_cancelling_housing_support_close_its_deadline() -> None:
    deadline = OpenDeadline("housing_ack", date(2026, 4, 20), date(2026, 5, 4), Process.HOUSING)
    requested = build_snapshot(
        "assessment", sub={Process.HOUSING: "requested"}, deadlines=(deadline,)
    )
    ack = step(requested, "acknowledge_housing_support", at(2026, 4, 21))
    cancel = step(requested, "cancel_housing_support", at(2026, 4, 21))
    assert [(c.rule, c.status) for c in ack.deadlines_close] == [
        ("housing_ack", DeadlineStatus.MET)
    ]
    assert [(c.rule, c.status) for c in cancel.deadlines_close] == [
        ("housing_ack", DeadlineStatus.CANCELLED)
    ]


# --- input and audit -----------------------------------------------------------------------------


def test_an_unknown_trigger_is_bad_input_listing_the_vocabulary() -> None:
    with pytest.raises(InputError) as info:
        step(build_snapshot(), "approve_everything", at(2026, 4, 20))
    assert "request_statement" in info.value.message and "withdraw" in info.value.message


def test_a_naive_time_is_bad_input() -> None:
    with pytest.raises(InputError, match="Zeitzone"):
        advance(build_snapshot(), "withdraw", {}, datetime(2026, 4, 20, 10), BY, AGREEMENT)


def test_an_unknown_parameter_is_bad_input() -> None:
    with pytest.raises(InputError, match="locaton"):
        step(consented(), "schedule_conference", at(2026, 4, 20), date="2026-05-15T10:00",
             locaton="Kreishaus")  # fmt: skip


def test_every_decision_carries_its_audit_entry() -> None:
    when = at(2026, 4, 20)
    decision = step(build_snapshot("assessment"), "request_statement", when)
    assert decision.audit is not None
    assert (decision.audit.trigger, decision.audit.process) == (
        "request_statement",
        Process.STATEMENT,
    )
    assert (decision.audit.from_state, decision.audit.to_state) == (None, "requested")
    assert (decision.audit.at, decision.audit.by) == (when, BY)


def test_advance_leaves_the_snapshot_as_it_was() -> None:
    snapshot = scheduled()
    before = replace(snapshot)
    step(snapshot, "cancel_conference", at(2026, 4, 20))
    assert snapshot == before
    assert snapshot.processes[Process.CONFERENCE] == ProcessInstance(
        Process.CONFERENCE, "scheduled", snapshot.processes[Process.CONFERENCE].data
    )
    assert snapshot.processes[Process.CONFERENCE].data["sequence"] == 0


def test_a_step_dated_before_the_receipt_of_the_application_is_bad_input():
    from datetime import date, datetime

    from states.advance import advance
    from states.decision import CaseFacts, CaseSnapshot, Process, ProcessInstance
    from states.errors import InputError

    snapshot = CaseSnapshot(
        facts=CaseFacts("C-2026-000001", date(2026, 3, 2), "lwl", "unna", ("lwl",)),
        processes={Process.CASE: ProcessInstance(Process.CASE, "received")},
    )
    before = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    with pytest.raises(InputError, match="vor dem Antragseingang"):
        advance(snapshot, "accept_jurisdiction", {}, before, "fm-lwl")
    on_the_day = datetime(2026, 3, 2, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert advance(snapshot, "accept_jurisdiction", {}, on_the_day, "fm-lwl").updates


def test_a_step_done_after_its_period_ended_records_the_deadline_as_missed_not_met():
    from datetime import date, datetime

    from states.advance import advance
    from states.decision import (
        CaseFacts,
        CaseSnapshot,
        DeadlineStatus,
        OpenDeadline,
        Process,
        ProcessInstance,
    )

    berlin = ZoneInfo("Europe/Berlin")
    # Received Thu 11.12.2025: the § 14 Abs. 1 period ends Mon 29.12.2025 (holidays, weekend).
    snapshot = CaseSnapshot(
        facts=CaseFacts("C-2025-000007", date(2025, 12, 11), "lwl", "unna", ("lwl",)),
        processes={Process.CASE: ProcessInstance(Process.CASE, "received")},
        deadlines=(OpenDeadline("jurisdiction", date(2025, 12, 11), date(2025, 12, 29)),),
    )
    in_time = advance(
        snapshot, "accept_jurisdiction", {}, datetime(2025, 12, 29, 23, 0, tzinfo=berlin), "fm"
    )
    assert [c.status for c in in_time.deadlines_close] == [DeadlineStatus.MET]
    late = advance(
        snapshot, "accept_jurisdiction", {}, datetime(2025, 12, 30, 8, 0, tzinfo=berlin), "fm"
    )
    (closure,) = late.deadlines_close
    assert closure.status is DeadlineStatus.MISSED and "2025-12-29" in closure.reason
