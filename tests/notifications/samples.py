"""Sample notices for every event, shaped as the processes and the sweep emit them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from notifications.policy import CaseView

#: A minor in Kamen (so the youth office is told), LWL as carrier, job centre involved.
CASE = CaseView(
    case_id="C-2026-000017",
    carrier="lwl",
    municipality="kamen",
    parties=("lwl", "jobcenter-kreis-unna"),
    is_minor=True,
    has_contact_email=True,
    # The custodians agreed to involve the youth office and the Jobcenter (gpv case consent).
    consented=("jugendamt-kamen", "jobcenter-kreis-unna"),
)
ISSUED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_CONF = {
    "scheduled_at": "2026-04-16T10:00:00+02:00",
    "location": "Kreishaus Unna, Friedrich-Ebert-Str. 17, Raum 2.014",
    "sequence": 0,
    "uid": "conference-C-2026-000017-1@gpv",
}


def _deadline(rule: str, due: str, norm: str, title: str, party: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "norm": norm,
        "due": due,
        "title": title,
        "responsible_party": party,
        "days_overdue": 0,
    }


STATEMENT = ("statement", "Fachärztliche Stellungnahme abgeben")
STATEMENT_NORM = "Kooperationsvereinbarung LWL – Kreis Unna, in Anlehnung an § 17 Abs. 2 SGB IX"
HOUSING_NORM = "Kooperationsvereinbarung LWL – Kreis Unna (Wohnen)"
HOUSING_TITLE = "Anfrage zur Unterstützung der Wohnungssuche bestätigen"

CONTEXTS: dict[str, dict[str, Any]] = {
    "statement_requested": {"due": "2026-03-16", "norm": STATEMENT_NORM},
    "statement_reminder": _deadline(
        "statement", "2026-03-16", STATEMENT_NORM, STATEMENT[1], "spdi"
    ),
    "statement_overdue": _deadline("statement", "2026-03-16", STATEMENT_NORM, STATEMENT[1], "spdi"),
    "objection_notice": {},
    "proposal_refused": {
        "norm": "§ 119 Abs. 1 S. 3 SGB IX",
        "ground": "Wir können alles Wichtige auch schriftlich klären",
    },
    "statement_delivered": {"decision_due": "2026-03-30", "norm": "§ 14 Abs. 2 S. 3 SGB IX"},
    "statement_declined": {},
    "statement_cancelled": {},
    "consent_requested": {"norm": "§ 119 Abs. 1 SGB IX"},
    "conference_invitation": dict(_CONF),
    "conference_rescheduled": {**_CONF, "scheduled_at": "2026-04-23T09:30:00+02:00", "sequence": 1},
    "conference_cancelled": {**_CONF, "sequence": 2},
    "housing_requested": {"due": "2026-03-16", "norm": HOUSING_NORM},
    "housing_reminder": _deadline(
        "housing_ack", "2026-03-16", HOUSING_NORM, HOUSING_TITLE, "kreis-unna-wohnen"
    ),
    "housing_lapsed": _deadline(
        "housing_ack", "2026-03-16", HOUSING_NORM, HOUSING_TITLE, "kreis-unna-wohnen"
    ),
    "housing_overdue": _deadline(
        "housing_ack", "2026-03-16", HOUSING_NORM, HOUSING_TITLE, "kreis-unna-wohnen"
    ),
    "case_forwarded": {
        "to": "kreis-unna",
        "to_name": "Kreis Unna – Eingliederungshilfe (Schulzeit)",
        "forwarded_on": "2026-03-13",
    },
    "decision_issued": {"review_due": "2028-03-30", "norm": "§ 121 Abs. 2 S. 2 SGB IX"},
    "approval_ending": _deadline(
        "approval_end",
        "2027-12-31",
        "§ 120 Abs. 2 SGB IX (Bewilligungszeitraum des Bescheids)",
        "Weiterbewilligung klären: Bewilligungszeitraum endet",
        "lwl",
    ),
    "review_due": _deadline(
        "review",
        "2028-03-30",
        "§ 121 Abs. 2 S. 2 SGB IX",
        "Gesamtplan überprüfen und fortschreiben",
        "lwl",
    ),
    "jurisdiction_check": {"due": "2026-03-16", "norm": "§ 14 Abs. 1 S. 1 SGB IX"},
    "jurisdiction_reminder": _deadline(
        "jurisdiction", "2026-03-16", "§ 14 Abs. 1 S. 1 SGB IX", "Zuständigkeit klären", "lwl"
    ),
    "decision_reminder": _deadline(
        "decision", "2026-03-23", "§ 14 Abs. 2 S. 2 SGB IX", "Über den Antrag entscheiden", "lwl"
    ),
    "deadline_missed": _deadline(
        "decision", "2026-03-23", "§ 14 Abs. 2 S. 2 SGB IX", "Über den Antrag entscheiden", "lwl"
    ),
    "delivery_failed": {
        "failed": {
            "outbox_id": 41,
            "event": "statement_requested",
            "party": "spdi",
            "channel": "email",
            "attempts": 5,
            "error": "SMTP 550: 5.1.1 mailbox unavailable",
        }
    },
}

#: A youth office's case (§ 35a SGB VIII; legal-review C4): a child in Werne, carried by the
#: Jugendamt der Stadt Werne, whose statement came from the § 35a Abs. 1a expert.
YOUTH_CASE = CaseView(
    case_id="C-2026-000042",
    carrier="jugendamt-werne",
    municipality="werne",
    parties=("jugendamt-werne",),
    is_minor=True,
    has_contact_email=True,
    statement_by=("kjp-sachverstaendige",),
)
EXPERT = "kjp-sachverstaendige"
HILFEPLAN_NORM = "§ 36 Abs. 2 S. 2 SGB VIII (regelmäßige Überprüfung des Hilfeplans)"
PARTICIPATION_NORM = "§ 36 Abs. 1 S. 1, Abs. 2 S. 2 SGB VIII"
CONTEXTS.update(
    {
        "statement_requested_sgb8": {
            "due": "2026-03-30",
            "norm": STATEMENT_NORM,
            "responsible_party": EXPERT,
        },
        "statement_cancelled_sgb8": {"responsible_party": EXPERT},
        "consent_requested_sgb8": {"norm": PARTICIPATION_NORM},
        "conference_invitation_sgb8": dict(CONTEXTS["conference_invitation"]),
        "conference_rescheduled_sgb8": dict(CONTEXTS["conference_rescheduled"]),
        "conference_cancelled_sgb8": dict(CONTEXTS["conference_cancelled"]),
        "decision_issued_sgb8": {"review_due": "2026-10-16", "norm": HILFEPLAN_NORM},
        "review_due_sgb8": _deadline(
            "hilfeplan_review",
            "2026-10-16",
            HILFEPLAN_NORM,
            "Hilfeplan überprüfen und fortschreiben",
            "jugendamt-werne",
        ),
    }
)
#: The case each event is rendered for: a youth office's case for its own notices.
CASES: dict[str, CaseView] = {event: YOUTH_CASE for event in CONTEXTS if event.endswith("_sgb8")}
