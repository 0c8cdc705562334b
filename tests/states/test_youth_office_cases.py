"""A youth office's case runs under SGB VIII (legal-review C4, m7, m8; scenario S6 of § 0.2).

S6: a child born 2014-05-17 in Werne with a mental disability applies on 2026-03-02; routing gives
the case to the youth office (§ 35a, § 10 Abs. 4 S. 1 SGB VIII). Corrected outcome: the § 14 SGB IX
periods run, the parents get Hilfeplan letters citing § 36 SGB VIII and no § 119/§ 121 SGB IX
letter, the youth office is not told about its own case, and the statement request reaches the
§ 35a Abs. 1a expert, never the adult SPDI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from notifications.policy import CaseView, resolve
from states.advance import advance, next_snapshot, open_case_decision
from states.agreement import load_agreement
from states.decision import CaseFacts, CaseSnapshot, Decision
from states.errors import InputError, TransitionRefused
from states.law import LAWS, SGB8, law_of
from states.routing import PersonFacts, route
from states.triggers import TRIGGERS

AGREEMENT = load_agreement()
RECEIVED = date(2026, 3, 2)
EXPERT = "kjp-sachverstaendige"
S6 = PersonFacts(
    birth_date=date(2014, 5, 17),
    municipality="Werne",
    disabilities=frozenset({"mental"}),
    benefit="school_assistant",
    school="in_school",
)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def opened(carrier: str = "jugendamt-werne") -> tuple[CaseSnapshot, Decision]:
    facts = CaseFacts(
        case_id="C-2026-000042",
        received_on=RECEIVED,
        carrier=carrier,
        municipality="werne",
        parties=(carrier,),
        is_minor=True,
        has_contact_email=True,
    )
    decision = open_case_decision(facts, at(RECEIVED), "fallmanagement", AGREEMENT)
    return next_snapshot(CaseSnapshot(facts=facts, processes={}), decision), decision


def step(snapshot: CaseSnapshot, trigger: str, day: date, **params: str):  # type: ignore[no-untyped-def]
    decision = advance(snapshot, trigger, params, at(day), "fallmanagement", AGREEMENT)
    return next_snapshot(snapshot, decision), decision


def letters(decision: Decision, snapshot: CaseSnapshot) -> list[tuple[str, str, str]]:
    """(event, party, template) of every notice the decision sends."""
    view = CaseView.of(snapshot.facts)
    return [
        (n.event, r.party, r.template_id)
        for n in decision.notifications
        for r in resolve(n.event, view, dict(n.context), AGREEMENT)
    ]


def assessed() -> CaseSnapshot:
    snapshot, _ = opened()
    snapshot, _ = step(snapshot, "accept_jurisdiction", date(2026, 3, 9))
    return snapshot


def test_s6_routing_gives_the_child_in_werne_to_the_youth_office_of_werne():
    result = route(S6, RECEIVED, AGREEMENT)
    assert result.carrier == "jugendamt-werne"
    assert result.parties == ("jugendamt-werne",)
    assert "§ 35a SGB VIII" in result.legal_basis


def test_a_case_carried_by_a_youth_office_runs_under_sgb_viii_and_others_under_sgb_ix():
    assert law_of(AGREEMENT, "jugendamt-werne").id == SGB8
    assert law_of(AGREEMENT, "lwl").id == "sgb9"


def test_the_section_14_periods_run_in_a_youth_office_case():
    """§ 6 Abs. 1 Nr. 6 SGB IX: the youth office is a rehabilitation carrier; § 14 applies."""
    _, decision = opened()
    due = {(d.rule, d.norm): d.due for d in decision.deadlines_open}
    assert due == {
        ("jurisdiction", "§ 14 Abs. 1 S. 1 SGB IX"): date(2026, 3, 16),
        ("decision", "§ 14 Abs. 2 S. 2 SGB IX"): date(2026, 3, 23),
    }


def test_s6_the_statement_request_reaches_the_section_35a_expert_not_the_spdi():
    snapshot, decision = step(assessed(), "request_statement", date(2026, 3, 16))
    (deadline,) = [d for d in decision.deadlines_open if d.rule == "statement"]
    assert (deadline.responsible_party, deadline.due) == (EXPERT, date(2026, 3, 30))
    sent = letters(decision, snapshot)
    assert ("statement_requested_sgb8", EXPERT, "statement_requested_sgb8") in sent
    assert all(party != "spdi" for _, party, _ in sent)


def test_while_the_experts_statement_is_awaited_the_section_14_s2_period_is_superseded():
    _, decision = step(assessed(), "request_statement", date(2026, 3, 16))
    assert [c.rule for c in decision.deadlines_close] == ["decision"]
    assert "§ 14 Abs. 2 S. 3 SGB IX" in decision.deadlines_close[0].reason


def test_a_request_to_an_expert_who_delivers_the_help_is_refused_citing_section_35a_1a_s4():
    with pytest.raises(TransitionRefused, match=r"§ 35a Abs\. 1a S\. 4 SGB VIII") as info:
        step(
            assessed(),
            "request_statement",
            date(2026, 3, 16),
            expert="kjp-dienst-leistungserbringer",
        )
    assert info.value.norm == "§ 35a Abs. 1a S. 4 SGB VIII"


def test_a_request_to_the_adult_spdi_in_a_youth_office_case_is_refused():
    with pytest.raises(TransitionRefused, match=r"Sachverständige nach § 35a Abs\. 1a S\. 1"):
        step(assessed(), "request_statement", date(2026, 3, 16), expert="spdi")


def test_an_adults_case_still_asks_the_spdi():
    snapshot, _ = opened("lwl")
    snapshot, _ = step(snapshot, "accept_jurisdiction", date(2026, 3, 9))
    snapshot, decision = step(snapshot, "request_statement", date(2026, 3, 16))
    assert ("statement_requested", "spdi", "statement_requested") in letters(decision, snapshot)


def test_the_expert_who_delivered_is_recorded_as_the_statements_author():
    snapshot, _ = step(assessed(), "request_statement", date(2026, 3, 16))
    snapshot, decision = step(snapshot, "deliver_statement", date(2026, 3, 27))
    assert snapshot.facts.statement_by == (EXPERT,)
    # § 14 Abs. 2 S. 3 SGB IX: two weeks after the statement arrived.
    (opened_again,) = [d for d in decision.deadlines_open if d.rule == "decision"]
    assert opened_again.due == date(2026, 4, 10)


def test_s6_the_parents_are_asked_to_take_part_in_the_hilfeplan_under_section_36_sgb_viii():
    snapshot, decision = step(assessed(), "request_consent", date(2026, 3, 16))
    sent = letters(decision, snapshot)
    assert sent == [("consent_requested_sgb8", "person", "consent_requested_sgb8_person")]
    assert decision.notifications[0].context["norm"] == "§ 36 Abs. 1 S. 1, Abs. 2 S. 2 SGB VIII"


def test_a_hilfeplangespraech_leaves_the_section_14_decision_period_as_it_is():
    """§ 120 Abs. 1 SGB IX binds the EGH carrier only: no two-month reading after the talk."""
    snapshot, _ = step(assessed(), "request_consent", date(2026, 3, 10))
    snapshot, _ = step(snapshot, "give_consent", date(2026, 3, 11))
    snapshot, decision = step(
        snapshot, "schedule_conference", date(2026, 3, 12), date="2026-03-19T10:00",
        location="Rathaus Werne",
    )  # fmt: skip
    assert not decision.deadlines_open
    assert {(d.rule, d.due) for d in snapshot.deadlines} == {("decision", date(2026, 3, 23))}
    sent = letters(decision, snapshot)
    assert ("conference_invitation_sgb8", "person", "conference_invitation_sgb8_person") in sent


def decided(outcome: str = "approval") -> tuple[CaseSnapshot, Decision]:
    snapshot, _ = step(assessed(), "determine_benefits", date(2026, 3, 16))
    snapshot, _ = step(snapshot, "draw_up_plan", date(2026, 3, 17), review="2026-08-31")
    return step(
        snapshot, "issue_decision", date(2026, 3, 18), outcome=outcome,
        approved_until="2027-03-31",
    )  # fmt: skip


def test_s6_the_bescheid_opens_the_agreed_hilfeplan_review_not_section_121():
    _, decision = decided()
    (review,) = [d for d in decision.deadlines_open if d.rule == "hilfeplan_review"]
    assert review.due == date(2026, 8, 31)
    assert review.norm.startswith("§ 36 Abs. 2 S. 2 SGB VIII")
    assert AGREEMENT.rule("hilfeplan_review").basis == "agreement_unconfirmed"
    assert not any(d.rule == "review" for d in decision.deadlines_open)


def test_s6_the_parents_get_no_section_121_letter_and_the_youth_office_no_section_120_notice():
    snapshot, decision = decided()
    assert letters(decision, snapshot) == [
        ("decision_issued_sgb8", "person", "decision_issued_sgb8_person")
    ]


def test_a_hilfeplan_review_date_beyond_the_agreed_period_is_bad_input():
    snapshot, _ = step(assessed(), "determine_benefits", date(2026, 3, 16))
    with pytest.raises(InputError, match=r"sechs Monate, § 36 Abs\. 2 S\. 2 SGB VIII"):
        step(snapshot, "draw_up_plan", date(2026, 3, 17), review="2027-03-01")


def test_a_refused_step_names_the_sgb_viii_norm_in_a_youth_office_case():
    snapshot, _ = opened()
    with pytest.raises(TransitionRefused, match=r"\(§ 36 Abs\. 2 S\. 1 SGB VIII\)"):
        step(snapshot, "determine_benefits", date(2026, 3, 9))


def test_the_law_table_names_only_known_triggers_and_events():
    from notifications.events import POLICY

    for law in LAWS.values():
        assert set(law.trigger_norms) <= set(TRIGGERS)
        assert set(law.events.values()) <= set(POLICY)
        assert AGREEMENT.rule(law.review_rule)


def test_the_youth_office_follows_the_parents_habitual_residence():
    """§ 86 Abs. 1 S. 1 SGB VIII (legal-review m8): the parents live in Unna, the child in Werne."""
    result = route(
        PersonFacts(**{**S6.__dict__, "parents_municipality": "Unna"}), RECEIVED, AGREEMENT
    )
    assert result.carrier == "jugendamt-unna"
    assert result.town == "werne"
    assert "§ 86 Abs. 1 S. 1 SGB VIII" in result.legal_basis
    assert "gewöhnlichen Aufenthalt der Eltern (§ 86 Abs. 1 S. 1 SGB VIII)" in result.reason


def test_without_the_parents_town_the_childs_town_decides_and_routing_says_so():
    result = route(S6, RECEIVED, AGREEMENT)
    assert "§ 86" not in result.legal_basis
    assert "Wohnort des Kindes" in result.reason


def test_a_personal_budget_is_routed_as_before_but_flagged_as_a_form_of_delivery():
    """m7: § 29 SGB IX."""
    facts = PersonFacts(
        birth_date=date(1990, 1, 10),
        municipality="Unna",
        disabilities=frozenset({"physical"}),
        benefit="personal_budget",
        school="finished",
    )
    result = route(facts, RECEIVED, AGREEMENT)
    assert result.carrier == "lwl"
    assert any(
        f.startswith("Persönliches Budget ist eine Form der Leistung (§ 29")
        for f in result.review_flags
    )
