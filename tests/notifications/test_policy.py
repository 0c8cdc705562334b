"""Who is told what: the policy table and the recipient resolution."""

from __future__ import annotations

from dataclasses import replace

import pytest

from notifications.events import EVENTS, Event, check_events
from notifications.policy import (
    ESCALATIONS,
    POLICY,
    CaseView,
    Role,
    Rule,
    resolve,
    template_ids,
)
from states.agreement import load_agreement
from states.errors import InputError
from tests.notifications.samples import CASE, CONTEXTS

AGREEMENT = load_agreement()
REQUIRED_EVENTS = {
    "statement_requested", "statement_reminder", "statement_overdue", "statement_delivered",
    "statement_declined", "statement_cancelled", "consent_requested", "conference_invitation",
    "conference_rescheduled", "conference_cancelled", "housing_requested", "housing_reminder",
    "housing_overdue", "case_forwarded", "decision_issued", "review_due", "jurisdiction_reminder",
    "decision_reminder", "deadline_missed", "delivery_failed",
}  # fmt: skip


def parties(event: str, case: CaseView = CASE, **context: object) -> list[tuple[str, str]]:
    ctx = {**CONTEXTS[event], **context}
    return [(r.party, r.template_id) for r in resolve(event, case, ctx, AGREEMENT)]


def test_the_policy_covers_every_event_the_issue_names():
    assert set(POLICY) >= REQUIRED_EVENTS


def test_every_event_resolves_to_known_parties_only():
    for event in POLICY:
        for recipient in resolve(event, CASE, CONTEXTS[event], AGREEMENT):
            assert recipient.party == "person" or recipient.party in AGREEMENT.parties


def test_a_statement_request_goes_to_the_spdi():
    assert parties("statement_requested") == [("spdi", "statement_requested")]


def test_an_overdue_statement_reaches_the_spdi_the_carrier_and_both_supervisors():
    assert parties("statement_overdue") == [
        ("spdi", "statement_overdue"),
        ("lwl", "statement_overdue_carrier"),
        ("lwl-leitung", "statement_overdue_supervisor"),
        ("kreis-unna-leitung", "statement_overdue_supervisor"),
    ]


def test_every_escalation_reaches_the_responsible_party_and_the_supervisor():
    for event in ESCALATIONS:
        got = dict(parties(event))
        assert CONTEXTS[event]["responsible_party"] in got
        assert AGREEMENT.supervisor_of(CASE.carrier) in got
        assert got[AGREEMENT.supervisor_of(CASE.carrier)].endswith("_supervisor")


def test_a_missed_deadline_of_the_carrier_names_its_supervisor_once():
    assert parties("deadline_missed") == [
        ("lwl", "deadline_missed"),
        ("lwl-leitung", "deadline_missed_supervisor"),
    ]


def test_the_person_gets_the_plain_language_invitation_and_is_told_once():
    got = parties("conference_invitation")
    assert got[0] == ("person", "conference_invitation_person")
    assert [p for p, _ in got].count("person") == 1
    assert [p for p, _ in got].count("lwl") == 1  # carrier and involved party: one message
    assert ("jobcenter-kreis-unna", "conference_invitation") in got


def test_the_youth_office_of_the_persons_town_is_told_for_minors_only():
    assert ("jugendamt-kamen", "conference_invitation") in parties("conference_invitation")
    adult = replace(CASE, is_minor=False)
    assert all(p != "jugendamt-kamen" for p, _ in parties("conference_invitation", adult))
    boenen = replace(CASE, municipality="boenen", consented=("jugendamt-kreis-unna",))
    assert ("jugendamt-kreis-unna", "consent_requested_youth_office") in parties(
        "consent_requested", boenen
    )


def test_the_youth_office_hears_nothing_before_the_custodians_agree():
    """§ 117 Abs. 6 SGB IX [U], legal-review M3: not even the case reference."""
    asked_nobody = replace(CASE, consented=())
    for event in POLICY:
        assert all(p != "jugendamt-kamen" for p, _ in parties(event, asked_nobody)), event


def test_the_conference_invites_only_parties_with_consent_and_the_statements_author():
    """legal-review M4: the Jobcenter (§ 22 Abs. 4 SGB IX) and the SPDI are not invited
    automatically; the SPDI comes as the author of a statement it delivered."""
    adult = replace(CASE, is_minor=False, parties=("lwl", "spdi", "jobcenter-kreis-unna"))
    nobody = replace(adult, consented=())
    assert [p for p, _ in parties("conference_invitation", nobody)] == ["person", "lwl"]
    author = replace(nobody, statement_by=("spdi",))
    assert [p for p, _ in parties("conference_invitation", author)] == ["person", "lwl", "spdi"]
    agreed = replace(author, consented=("jobcenter-kreis-unna",))
    assert [p for p, _ in parties("conference_invitation", agreed)] == [
        "person",
        "lwl",
        "spdi",
        "jobcenter-kreis-unna",
    ]


def test_a_forwarded_case_tells_the_person_and_the_receiving_carrier():
    got = parties("case_forwarded", replace(CASE, is_minor=False))
    assert got == [("person", "case_forwarded_person"), ("kreis-unna", "case_forwarded")]


def test_housing_support_goes_to_the_agreements_housing_contact():
    assert parties("housing_requested") == [("kreis-unna-wohnen", "housing_requested")]


def test_a_reminder_without_a_responsible_party_falls_back_instead_of_getting_lost():
    got = resolve("statement_reminder", CASE, {"due": "2026-03-16"}, AGREEMENT)
    assert [(r.party, r.template_id) for r in got] == [("spdi", "statement_reminder")]


def test_a_delivery_failure_alerts_the_carriers_supervisor():
    kreis = replace(CASE, carrier="kreis-unna")
    assert parties("delivery_failed", kreis) == [
        ("kreis-unna-leitung", "delivery_failed_supervisor")
    ]


def test_an_unknown_event_is_refused():
    with pytest.raises(InputError, match="Unbekanntes Benachrichtigungsereignis"):
        resolve("statement_lost", CASE, {}, AGREEMENT)


def test_a_party_not_in_the_agreement_is_refused():
    with pytest.raises(InputError, match="nicht in der Kooperationsvereinbarung"):
        resolve("case_forwarded", CASE, {"to": "lvr"}, AGREEMENT)


def _broken(name: str, **change: object) -> list[Event]:
    return [replace(event, **change) if event.name == name else event for event in EVENTS]


def test_an_event_whose_participants_lack_a_person_template_fails_the_check():
    rules = (Rule(Role.PARTICIPANTS, "conference_invitation"),)
    with pytest.raises(ValueError, match="conference_invitation: participants need"):
        check_events(_broken("conference_invitation", rules=rules))


def test_an_escalation_without_a_supervisor_fails_the_check():
    rules = (Rule(Role.RESPONSIBLE, "deadline_missed"),)
    with pytest.raises(ValueError, match="deadline_missed: an escalation must reach"):
        check_events(_broken("deadline_missed", rules=rules))


def test_an_event_whose_template_file_is_missing_fails_the_check():
    rules = (Rule(Role.CARRIER, "statement_delivered_by_pigeon"),)
    with pytest.raises(ValueError, match=r"statement_delivered_by_pigeon\.txt\.j2 is missing"):
        check_events(_broken("statement_delivered", rules=rules))


def test_an_event_listed_twice_fails_the_check():
    with pytest.raises(ValueError, match="'review_due' is listed twice"):
        check_events([*EVENTS, next(e for e in EVENTS if e.name == "review_due")])


def test_an_event_without_recipients_fails_the_check():
    with pytest.raises(ValueError, match="review_due: has no recipients"):
        check_events(_broken("review_due", rules=()))


def test_the_policy_titles_rules_and_calendar_views_derive_from_the_one_event_table():
    from notifications.events import CONFERENCE_EVENTS, EVENT_RULES, EVENT_TITLES

    assert list(POLICY) == [e.name for e in EVENTS] == list(EVENT_TITLES)
    assert {"statement_overdue", "housing_overdue", "deadline_missed"} == ESCALATIONS
    assert set(CONFERENCE_EVENTS) == {e.name for e in EVENTS if e.name.startswith("conference_")}
    assert EVENT_RULES["statement_requested"] == "statement"
    assert "statement_declined" not in EVENT_RULES


def test_the_case_view_reads_only_non_health_fields():
    class Row:
        id = "C-2026-000001"
        carrier = "lwl"
        municipality = "unna"
        parties = ("lwl",)
        is_minor = False
        contact_email = None
        consented = ("jobcenter-kreis-unna",)
        statement_by = ("spdi",)
        data_transfer_objection = False

        def __getattr__(self, name: str) -> object:
            if name in {"case_id", "has_contact_email"}:  # optional alternatives, looked up
                raise AttributeError(name)
            raise AssertionError(f"notifications read {name!r}")

    view = CaseView.of(Row())
    assert view == CaseView(
        "C-2026-000001", "lwl", "unna", ("lwl",), False, False, ("jobcenter-kreis-unna",), ("spdi",)
    )


def test_every_template_id_has_a_text_and_an_html_file():
    from notifications.rendering import TEMPLATE_DIR, subjects

    for template_id in template_ids():
        assert (TEMPLATE_DIR / f"{template_id}.txt.j2").is_file()
        assert (TEMPLATE_DIR / f"{template_id}.html.j2").is_file()
        assert template_id in subjects()
