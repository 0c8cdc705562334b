"""The decision deadline's reading follows the recorded facts (legal-review C1, C2; issue 9).

Real dates: 2026-03-02 is a Monday; Good Friday 2026-04-03 and Easter Monday 2026-04-06 are NRW
holidays; 2026-05-02 is a Saturday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from states.advance import advance, next_snapshot, open_case_decision
from states.decision import CaseFacts, CaseSnapshot, DeadlineStatus, Decision, OpenDeadline, Process
from states.errors import GpvError
from states.processes.statement import OPEN_STATES
from tests.states.support import AGREEMENT, BERLIN

RECEIVED = date(2026, 3, 2)
BY = "fm-lwl"


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, 0, tzinfo=BERLIN)


def opened(
    parties: tuple[str, ...] = ("lwl",), agreement=AGREEMENT
) -> tuple[CaseSnapshot, Decision]:  # type: ignore[no-untyped-def]
    facts = CaseFacts("C-2026-000001", RECEIVED, "lwl", "Unna", parties=parties)
    decision = open_case_decision(facts, at(2026, 3, 2), BY, agreement)
    return next_snapshot(CaseSnapshot(facts, {}), decision), decision


def walk(snapshot: CaseSnapshot, *steps, agreement=AGREEMENT):  # type: ignore[no-untyped-def]
    """Apply (trigger, when, params) steps; return the last snapshot and every decision."""
    decisions = []
    for trigger, when, params in steps:
        decision = advance(snapshot, trigger, params, when, BY, agreement)
        decisions.append(decision)
        snapshot = next_snapshot(snapshot, decision)
    return snapshot, decisions


def decision_deadline(snapshot: CaseSnapshot) -> OpenDeadline | None:
    return next((d for d in snapshot.deadlines if d.rule == "decision"), None)


ACCEPT = ("accept_jurisdiction", at(2026, 3, 4), {})
REQUEST = ("request_statement", at(2026, 3, 16), {})


def test_without_a_gutachten_the_decision_is_due_three_weeks_after_receipt() -> None:
    """§ 14 Abs. 2 S. 2 SGB IX: receipt Mon 2026-03-02 → Mon 2026-03-23."""
    _, decision = opened()
    spec = next(s for s in decision.deadlines_open if s.rule == "decision")
    assert (spec.variant, spec.due, spec.norm) == (
        "standard",
        date(2026, 3, 23),
        "§ 14 Abs. 2 S. 2 SGB IX",
    )
    assert spec.variant_reason == "kein Gutachten angefordert"


def test_requesting_a_gutachten_supersedes_the_three_week_deadline_instead_of_letting_it_run() -> (
    None
):
    """S2 of the legal review, corrected: § 14 Abs. 2 S. 2 applies only while no Gutachten is
    needed; with one, S. 3 replaces it. Statement requested 2026-03-16: the deadline due
    2026-03-23 is superseded, not missed, and no decision deadline runs until it arrives."""
    snapshot, (_accept, request) = walk(opened()[0], ACCEPT, REQUEST)
    (closure,) = [c for c in request.deadlines_close if c.rule == "decision"]
    assert closure.status is DeadlineStatus.SUPERSEDED
    assert closure.reason.startswith(
        "ersetzt durch § 14 Abs. 2 S. 3 SGB IX: Gutachten (Stellungnahme) angefordert"
    )
    assert decision_deadline(snapshot) is None
    assert not [s for s in request.deadlines_open if s.rule == "decision"]


def test_the_decision_is_due_two_weeks_after_the_gutachten_arrives() -> None:
    """§ 14 Abs. 2 S. 3 SGB IX: delivered Fri 2026-03-27 → Fri 2026-04-10; the notice to the
    carrier names that date and norm."""
    deliver = ("deliver_statement", at(2026, 3, 27), {})
    snapshot, decisions = walk(opened()[0], ACCEPT, REQUEST, deliver)
    deadline = decision_deadline(snapshot)
    assert deadline is not None
    assert (deadline.variant, deadline.anchor_date, deadline.due) == (
        "after_statement", date(2026, 3, 27), date(2026, 4, 10),
    )  # fmt: skip
    (notice,) = decisions[-1].notifications
    assert notice.context == {"decision_due": "2026-04-10", "norm": "§ 14 Abs. 2 S. 3 SGB IX"}


def test_a_cancelled_request_brings_back_the_original_three_week_deadline() -> None:
    """No Gutachten follows: § 14 Abs. 2 S. 2 applies again with its original due date."""
    cancel = ("cancel_statement", at(2026, 3, 18), {})
    _snapshot, decisions = walk(opened()[0], ACCEPT, REQUEST, cancel)
    (spec,) = [s for s in decisions[-1].deadlines_open if s.rule == "decision"]
    assert (spec.variant, spec.anchor_date, spec.due) == ("standard", RECEIVED, date(2026, 3, 23))
    assert "zurückgezogen" in spec.variant_reason


def test_a_request_declined_after_the_original_date_returns_a_deadline_already_past() -> None:
    """Declined on 2026-03-30: the S. 2 deadline (due 2026-03-23) returns and is overdue, so the
    sweep records it as missed; its reason says why it came back."""
    decline = ("decline_statement_request", at(2026, 3, 30), {"reason": "keine Kapazität"})
    _snapshot, decisions = walk(opened()[0], ACCEPT, REQUEST, decline)
    (spec,) = [s for s in decisions[-1].deadlines_open if s.rule == "decision"]
    assert spec.due == date(2026, 3, 23) < date(2026, 3, 30)
    assert spec.variant_reason.startswith("Gutachten-Anfrage abgelehnt")


def test_other_rehabilitation_carriers_give_six_weeks_from_receipt() -> None:
    """§ 15 Abs. 4 S. 1 SGB IX: the Agentur für Arbeit involved besides the LWL: 2026-03-02 →
    Mon 2026-04-13. A Gutachten does not shorten it."""
    snapshot, decision = opened(parties=("lwl", "agentur-fuer-arbeit-hamm"))
    spec = next(s for s in decision.deadlines_open if s.rule == "decision")
    assert (spec.variant, spec.due, spec.norm) == (
        "other_carriers", date(2026, 4, 13), "§ 15 Abs. 4 S. 1 SGB IX",
    )  # fmt: skip
    assert "Agentur für Arbeit" in spec.variant_reason

    snapshot, (_, request) = walk(snapshot, ACCEPT, REQUEST)
    assert not request.deadlines_close and decision_deadline(snapshot) == OpenDeadline(
        "decision", RECEIVED, date(2026, 4, 13), Process.CASE, "other_carriers"
    )


def test_a_youth_office_informed_in_a_minors_case_is_no_section_15_involvement() -> None:
    """§ 117 Abs. 6 SGB IX: the youth office takes part for information; the three weeks of
    § 14 Abs. 2 S. 2 stay (agreement key section_15_kinds)."""
    _, decision = opened(parties=("lwl", "jugendamt-werne"))
    spec = next(s for s in decision.deadlines_open if s.rule == "decision")
    assert (spec.variant, spec.due) == ("standard", date(2026, 3, 23))


TOUR = (
    ("accept_jurisdiction", at(2026, 3, 4), {}),
    ("request_statement", at(2026, 3, 5), {}),
    ("accept_statement_request", at(2026, 3, 6), {}),
    ("deliver_statement", at(2026, 3, 19), {}),
    ("request_consent", at(2026, 3, 20), {}),
    ("give_consent", at(2026, 3, 23), {}),
    ("schedule_conference", at(2026, 3, 24), {"date": "2026-04-15T10:00", "location": "Kreishaus"}),
)


def test_after_a_gesamtplankonferenz_the_decision_is_due_two_months_after_receipt() -> None:
    """S1 of the legal review, corrected (§ 15 Abs. 4 S. 2, § 120 Abs. 1 SGB IX): receipt
    2026-03-02, conference set on 2026-03-24 for 2026-04-15 → due Sat 2026-05-02, so Mon
    2026-05-04 (§ 26 Abs. 3 SGB X); the Bescheid of 2026-04-17 meets it."""
    snapshot, decisions = walk(opened()[0], *TOUR)
    deadline = decision_deadline(snapshot)
    assert deadline is not None
    assert (deadline.variant, deadline.due) == ("conference", date(2026, 5, 4))
    (superseded,) = [c for c in decisions[-1].deadlines_close if c.rule == "decision"]
    assert superseded.status is DeadlineStatus.SUPERSEDED
    assert superseded.reason.startswith("ersetzt durch § 15 Abs. 4 S. 2, § 120 Abs. 1 SGB IX")
    snapshot, decisions = walk(
        snapshot,
        ("hold_conference", at(2026, 4, 15, 12), {}),
        ("determine_benefits", at(2026, 4, 16), {}),
        ("draw_up_plan", at(2026, 4, 16), {"review": "2027-04-15"}),
        (
            "issue_decision",
            at(2026, 4, 17),
            {"outcome": "approval", "approved_until": "2027-04-30"},
        ),
    )
    (met,) = [c for c in decisions[-1].deadlines_close if c.rule == "decision"]
    assert met.status is DeadlineStatus.MET


def test_cancelling_the_conference_returns_to_the_period_after_the_gutachten() -> None:
    """Without the conference § 14 Abs. 2 S. 3 applies again: delivered 2026-03-19 → 2026-04-02."""
    cancel = ("cancel_conference", at(2026, 3, 25), {})
    snapshot, _ = walk(opened()[0], *TOUR, cancel)
    deadline = decision_deadline(snapshot)
    assert deadline is not None
    assert (deadline.variant, deadline.due) == ("after_statement", date(2026, 4, 2))


def test_the_agreement_can_read_section_120_without_the_two_month_period() -> None:
    """The disputed reading is data (decision_deadline.gesamtplankonferenz_two_months = false):
    the conference then leaves § 14 Abs. 2 S. 3 in place."""
    strict = replace(
        AGREEMENT,
        decision_deadline=replace(
            AGREEMENT.decision_deadline, gesamtplankonferenz_two_months=False
        ),
    )
    snapshot, _ = walk(opened(agreement=strict)[0], *TOUR, agreement=strict)
    deadline = decision_deadline(snapshot)
    assert deadline is not None and deadline.variant == "after_statement"


# --- property: a deadline is missed only after its own period ended ---------------------------

TRIGGERS = (
    "accept_jurisdiction", "request_statement", "accept_statement_request", "deliver_statement",
    "decline_statement_request", "cancel_statement", "request_consent", "give_consent",
    "schedule_conference", "cancel_conference", "hold_conference", "determine_benefits",
    "draw_up_plan", "issue_decision",
)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_deadline_is_missed_only_if_its_own_period_ended_before_the_closing_step(data) -> None:  # type: ignore[no-untyped-def]
    """For random valid step sequences: every MISSED closure closes a deadline whose due date
    lies before the step's day; a superseded deadline is never recorded as missed; and while the
    decision is owed, a decision deadline runs unless a requested Gutachten is awaited."""
    parties = data.draw(st.sampled_from([("lwl",), ("lwl", "agentur-fuer-arbeit-hamm")]))
    snapshot, _ = opened(parties)
    now = at(2026, 3, 2)

    for _ in range(data.draw(st.integers(1, 25))):
        now += timedelta(days=data.draw(st.integers(0, 20)))
        trigger = data.draw(st.sampled_from(TRIGGERS))
        params: dict[str, str] = {}
        if trigger == "decline_statement_request":
            params = {"reason": "keine Kapazität"}
        if trigger == "draw_up_plan":
            params = {"review": (now.date() + timedelta(days=200)).isoformat()}
        if trigger == "issue_decision":
            params = {"outcome": "refusal"}
        if trigger == "schedule_conference":
            day = now.date() + timedelta(days=data.draw(st.integers(1, 14)))
            params = {"date": f"{day.isoformat()}T10:00", "location": "Kreishaus"}
        try:
            decision = advance(snapshot, trigger, params, now, BY, AGREEMENT)
        except GpvError:
            continue
        due = {d.rule: d.due for d in snapshot.deadlines}
        for closure in decision.deadlines_close:
            if closure.status is DeadlineStatus.MISSED:
                assert due[closure.rule] < now.astimezone(BERLIN).date(), closure
        snapshot = next_snapshot(snapshot, decision)
        if snapshot.state_of(Process.CASE) in ("received", "assessment", "determined", "planned"):
            awaited = snapshot.state_of(Process.STATEMENT) in OPEN_STATES
            runs = decision_deadline(snapshot) is not None
            assert runs or awaited, snapshot
