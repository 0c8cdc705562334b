"""The letters' wording against the legal review (`legal-review.md` § 4 and § 7): one test per
finding, each rendered through the project's templates with the real agreement."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from notifications.events import TEMPLATE_DIR
from notifications.policy import CaseView, resolve
from notifications.rendering import RenderedMessage, render
from states.agreement import load_agreement
from states.processes.case import DEFINITION as CASE_PROCESS
from states.processes.conference import DEFINITION as CONFERENCE_PROCESS
from tests.notifications.samples import CASE, CONTEXTS, ISSUED_AT

AGREEMENT = load_agreement()
ADULT = dataclasses.replace(CASE, is_minor=False, parties=("lwl", "spdi"))


def _letter(
    event: str,
    template_id: str,
    *,
    case: CaseView = CASE,
    context: Mapping[str, Any] | None = None,
) -> RenderedMessage:
    ctx = CONTEXTS[event] if context is None else context
    recipients = resolve(event, case, ctx, AGREEMENT)
    recipient = next(r for r in recipients if r.template_id == template_id)
    return render(
        recipient, event, case, ctx, AGREEMENT, message_id="<outbox-7@gpv>", issued_at=ISSUED_AT
    )


def _both(message: RenderedMessage) -> str:
    return message.text + message.html


# m1: after the two weeks the carrier becomes leistender Träger (§ 14 Abs. 2 S. 1, § 16 Abs. 4)


def test_the_jurisdiction_reminder_says_the_carrier_becomes_the_leistender_traeger():
    text = _both(_letter("jurisdiction_reminder", "jurisdiction_reminder"))
    assert "leistender Rehabilitationsträger (§ 14 Abs. 2 S. 1 SGB IX)" in text
    assert "§ 16 Abs. 4 SGB IX" in text
    assert "bleiben Sie zuständig" not in text


# m2: § 35 SGB I binds the carriers; recipients are bound by § 78 SGB X


def test_the_conference_invitation_names_the_social_secrecy_of_the_bodies_not_of_everyone():
    text = _both(_letter("conference_invitation", "conference_invitation"))
    assert "Die beteiligten Stellen wahren das Sozialgeheimnis (§ 35 SGB I, § 78 SGB X)." in text
    assert "Verschwiegenheit verpflichtet" not in text


# m3: an assumed period of the agreement is no "Rechtsgrundlage"


@pytest.mark.parametrize(
    ("event", "template_id"),
    [("statement_requested", "statement_requested"), ("housing_requested", "housing_requested")],
)
def test_an_unconfirmed_period_of_the_agreement_is_never_called_a_rechtsgrundlage(
    event: str, template_id: str
):
    context = {**CONTEXTS[event], "norm": AGREEMENT.rule(_rule_of(event)).norm}
    text = _both(_letter(event, template_id, context=context))
    assert "vereinbarte Bearbeitungsfrist, noch nicht bestätigt" in text
    assert "Rechtsgrundlage" not in text


def _rule_of(event: str) -> str:
    return {"statement_requested": "statement", "housing_requested": "housing_ack"}[event]


def test_the_agreement_file_marks_the_statement_and_housing_periods_as_unconfirmed():
    assert AGREEMENT.rule("statement").basis == "agreement_unconfirmed"
    assert AGREEMENT.rule("housing_ack").basis == "agreement_unconfirmed"
    assert AGREEMENT.rule("jurisdiction").basis == "statute"
    assert "§ 17 Abs. 2 SGB IX (" not in AGREEMENT.rule("statement").norm


def test_a_statutory_period_keeps_its_rechtsgrundlage():
    text = _letter("jurisdiction_reminder", "jurisdiction_reminder").text
    assert "Rechtsgrundlage: § 14 Abs. 1 S. 1 SGB IX" in text


# m4: norms to the sentence; the § 119 consent is a Zustimmung


def test_the_statement_request_cites_the_health_office_of_section_121_to_the_letter():
    text = _both(_letter("statement_requested", "statement_requested"))
    assert "(§ 121 Abs. 3 Nr. 3 Buchst. b SGB IX)" in text


def test_the_person_reads_that_forwarding_is_section_14_paragraph_1_sentence_2():
    assert "§ 14 Abs. 1 S. 2 SGB IX" in _letter("case_forwarded", "case_forwarded_person").text


def test_no_template_calls_the_conference_consent_an_einwilligung():
    for path in TEMPLATE_DIR.iterdir():
        assert "Einwilligung" not in path.read_text(encoding="utf-8"), path.name


def test_closing_withdrawing_and_revoking_cite_their_own_norms():
    norms = {t.name: t.norm for t in (*CASE_PROCESS.triggers, *CONFERENCE_PROCESS.triggers)}
    assert "§ 121" not in norms["close"]
    assert "§ 46 SGB I" in norms["withdraw"]
    assert norms["revoke_consent"] == "§ 119 Abs. 1 S. 1 SGB IX"


# m5: plain language, rights explained, the custodian addressed about the child


def test_the_consent_request_says_no_has_no_disadvantage_and_points_to_the_eutb():
    text = _both(_letter("consent_requested", "consent_requested_person", case=ADULT))
    assert "Wenn Sie Nein sagen, hat das keine Nachteile für den Antrag." in text
    assert "Ergänzende unabhängige Teilhabeberatung (EUTB)" in text


def test_the_consent_request_names_exactly_who_the_conference_would_invite():
    text = _letter("consent_requested", "consent_requested_person", case=ADULT).text
    invited = resolve("conference_invitation", ADULT, CONTEXTS["conference_invitation"], AGREEMENT)
    names = [AGREEMENT.parties[r.party].name for r in invited if not r.is_person]
    assert names, "the sample case invites parties"
    for name in names:
        assert f"- {name}\n" in text


def test_the_decision_notice_explains_widerspruch_in_plain_words():
    text = _both(_letter("decision_issued", "decision_issued_person"))
    plain = "Das heißt: Sie schreiben uns, dass Sie mit dem Bescheid nicht einverstanden sind."
    assert plain in text


def test_the_forwarding_notice_tells_the_person_the_day_it_was_sent_on():
    text = _letter("case_forwarded", "case_forwarded_person").text
    assert "Wir haben den Antrag am Freitag, 13. März 2026 dorthin geschickt." in text


@pytest.mark.parametrize(
    ("event", "template_id"),
    [
        ("decision_issued", "decision_issued_person"),
        ("case_forwarded", "case_forwarded_person"),
        ("consent_requested", "consent_requested_person"),
        ("conference_invitation", "conference_invitation_person"),
        ("review_due", "review_due_person"),
    ],
)
def test_a_custodian_reads_about_the_child_and_an_adult_about_themselves(
    event: str, template_id: str
):
    for_custodian = _both(_letter(event, template_id, case=CASE))
    for_adult = _both(_letter(event, template_id, case=ADULT))
    assert "Ihr Kind" in for_custodian or "Ihres Kindes" in for_custodian
    assert "Kind" not in for_adult
    assert "Ihre Hilfen" not in for_custodian and "Ihren Antrag" not in for_custodian


# m6 and C6: the review date is an internal target; a refusal promises no review


def test_the_review_date_is_never_presented_as_what_the_law_says():
    for event, template_id in (
        ("decision_issued", "decision_issued_person"),
        ("review_due", "review_due_person"),
    ):
        text = _letter(event, template_id).text
        assert "Geplant ist das bis zum Donnerstag, 30. März 2028." in text
        assert "spätestens nach zwei Jahren (§ 121 Abs. 2 S. 2 SGB IX)" in text
        assert "Das steht im Gesetz" not in text


def test_a_refusal_letter_has_no_review_sentence():
    text = _both(
        _letter("decision_issued", "decision_issued_person", context={"outcome": "refusal"})
    )
    assert "Gesamtplan" not in text
    assert "Widerspruch" in text
