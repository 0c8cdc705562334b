"""Housing-structure support as the seed describes it (legal-review M6, issue 10): the Kreis
supports "nur mit strukturellen Rahmenbedingungen", so a lapsed request reaches its supervisors
only where the agreement file says so."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from notifications.policy import resolve
from states.agreement import DEFAULT_PATH, load_agreement, parse_agreement
from tests.notifications.samples import CASE
from workflows.store.sweep_rule import DeadlineFacts, plan_escalation

LAPSED = DeadlineFacts(
    id=7,
    case_id=CASE.case_id,
    rule="housing_ack",
    norm="Kooperationsvereinbarung LWL – Kreis Unna (Wohnen)",
    process="housing",
    due=date(2026, 3, 16),
    responsible_party="kreis-unna-wohnen",
)


def _told(agreement) -> list[str]:
    notice = plan_escalation(agreement, LAPSED, date(2026, 3, 17))
    return [r.party for r in resolve(notice.event, CASE, notice.context, agreement)]


def test_a_lapsed_housing_request_reaches_the_contact_and_the_carrier_but_no_supervisor():
    agreement = load_agreement()
    assert _told(agreement) == ["kreis-unna-wohnen", "lwl"]
    assert agreement.rule("housing_ack").basis == "agreement_unconfirmed"


def test_the_agreement_file_may_escalate_a_lapsed_housing_request_to_the_supervisors():
    data = tomllib.loads(Path(DEFAULT_PATH).read_text(encoding="utf-8"))
    data["deadlines"]["housing_ack"]["overdue_event"] = "housing_overdue"
    escalating = parse_agreement(data, DEFAULT_PATH)
    told = _told(escalating)
    assert told[:2] == ["kreis-unna-wohnen", "lwl"]
    assert "kreis-unna-leitung" in told  # the housing contact's supervisor
