"""Rendering: golden files pin every template; no health data ever reaches a message.

Regenerate the golden files after an intended wording change with
``GPV_UPDATE_GOLDEN=1 .venv/bin/pytest tests/notifications/test_rendering.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from notifications.policy import POLICY, Recipient, resolve, template_ids
from notifications.rendering import environment, render
from states.agreement import load_agreement
from tests.notifications.samples import CASE, CASES, CONTEXTS, ISSUED_AT

AGREEMENT = load_agreement()
GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("GPV_UPDATE_GOLDEN") == "1"


def _examples() -> dict[str, tuple[str, Recipient]]:
    """For every template id, the first (event, recipient) of the policy that uses it."""
    found: dict[str, tuple[str, Recipient]] = {}
    for event in POLICY:
        for recipient in resolve(event, CASES.get(event, CASE), CONTEXTS[event], AGREEMENT):
            found.setdefault(recipient.template_id, (event, recipient))
    return found


EXAMPLES = _examples()


def _render(template_id: str):
    event, recipient = EXAMPLES[template_id]
    return render(
        recipient, event, CASES.get(event, CASE), CONTEXTS[event], AGREEMENT,
        message_id="<outbox-41@gpv.lwl.example>", sender="gpv@lwl.example",
        recipient_address="empfang@example.org", carrier_contact="fallmanagement@lwl.example",
        issued_at=ISSUED_AT,
    )  # fmt: skip


def test_every_template_of_the_policy_has_an_example():
    assert sorted(EXAMPLES) == template_ids()


@pytest.mark.parametrize("template_id", template_ids())
def test_the_rendered_template_matches_its_golden_file(template_id: str):
    msg = _render(template_id)
    outputs = {
        f"{template_id}.txt": f"Betreff: {msg.subject}\n\n{msg.text}",
        f"{template_id}.html": msg.html,
    }
    for attachment in msg.attachments:
        outputs[f"{template_id}.{attachment.filename}"] = attachment.data.decode("utf-8")
    for name, content in outputs.items():
        path = GOLDEN / name
        if UPDATE:
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(content, encoding="utf-8", newline="")
        assert path.exists(), f"golden file {name} missing; run with GPV_UPDATE_GOLDEN=1"
        assert content == path.read_bytes().decode("utf-8"), name


@pytest.mark.parametrize("template_id", template_ids())
def test_every_message_names_the_case_reference_and_where_to_act(template_id: str):
    event, _ = EXAMPLES[template_id]
    msg = _render(template_id)
    case = CASES.get(event, CASE)
    assert case.case_id in msg.subject
    assert case.case_id in msg.text and case.case_id in msg.html
    if CONTEXTS[event].get("due") or CONTEXTS[event].get("review_due"):
        assert re.search(r"\d{1,2}\. \w+ 20\d\d", msg.text), "deadline missing"
        assert "§" in msg.text or "Kooperationsvereinbarung" in msg.text, "norm missing"
    assert any(word in msg.text for word in ("Bitte", "bitte", "melden Sie", "Rückfragen"))


def test_messages_to_the_person_use_short_sentences():
    for template_id in template_ids():
        if not template_id.endswith("_person"):
            continue
        body = _render(template_id).text.split("Ihr Zeichen bei uns")[0]
        # A sentence ends with . ? ! or a colon; each item of a list stands on its own.
        for sentence in re.split(r"(?<=[.?!:])\s+|\n(?=- )|\n\n", body):
            assert len(sentence.split()) <= 20, (template_id, sentence)


def test_html_escapes_context_values_and_text_keeps_them_verbatim():
    event = "conference_invitation"
    ctx = {**CONTEXTS[event], "location": "Raum <script>alert(1)</script> & Co"}
    recipient = resolve(event, CASE, ctx, AGREEMENT)[1]
    msg = render(recipient, event, CASE, ctx, AGREEMENT, message_id="<m@x>", issued_at=ISSUED_AT)
    assert "<script>" not in msg.html
    assert "&lt;script&gt;" in msg.html
    assert "Raum <script>alert(1)</script> & Co" in msg.text


def test_a_misspelt_template_variable_fails_instead_of_printing_nothing():
    with pytest.raises(UndefinedError):
        environment().from_string("{{ dew }}").render({"due": "x"})


def test_a_location_with_a_newline_cannot_break_the_subject():
    event = "conference_invitation"
    ctx = {**CONTEXTS[event], "location": "Unna\r\nBcc: x@evil.example"}
    recipient = resolve(event, CASE, ctx, AGREEMENT)[0]
    msg = render(recipient, event, CASE, ctx, AGREEMENT, message_id="<m@x>", issued_at=ISSUED_AT)
    assert "\n" not in msg.subject and "\r" not in msg.subject


def test_a_letter_carries_no_calendar_file():
    event = "conference_invitation"
    recipient = resolve(event, CASE, CONTEXTS[event], AGREEMENT)[0]
    msg = render(
        recipient, event, CASE, CONTEXTS[event], AGREEMENT, message_id="<m@x>",
        issued_at=ISSUED_AT, with_calendar=False,
    )  # fmt: skip
    assert msg.attachments == ()
    assert "Kalender" not in msg.text


# The engine's own alarm (workflows/orchestration/alerts.py) is no case notice and not in the
# policy: its variables are pinned here as workflows.orchestration.alerts.alert_variables builds
# them.
ENGINE_ALERT = {
    "recipient_name": "LWL – Teamleitung Fallmanagement",
    "run_name": "sweep-deadlines-quiet-otter",
    "run_id": "0f9b8d3c-1c2e-4a5b-9d7e-3f2a1b0c9d8e",
    "state": "Failed",
    "state_text": "ist fehlgeschlagen",
    "at": "Sonntag, 5. April 2026, 01:30 Uhr",
    "reason": "Fristenprüfung ausgefallen",
    "dashboard_url": "http://127.0.0.1:4200",
    "run_url": "http://127.0.0.1:4200/runs/flow-run/0f9b8d3c-1c2e-4a5b-9d7e-3f2a1b0c9d8e",
    "message_id": "<engine-alert-5d41402abc4b2a76@gpv.lwl.example>",
}


def test_the_engine_alert_matches_its_golden_file():
    from notifications.rendering import subjects

    env = environment()
    subject = env.from_string(subjects()["engine_alert"]).render(ENGINE_ALERT)
    outputs = {
        "engine_alert.txt": f"Betreff: {subject}\n\n"
        + env.get_template("engine_alert.txt.j2").render(ENGINE_ALERT),
        "engine_alert.html": env.get_template("engine_alert.html.j2").render(ENGINE_ALERT),
    }
    for name, content in outputs.items():
        path = GOLDEN / name
        if UPDATE:
            path.write_text(content, encoding="utf-8", newline="")
        assert path.exists(), f"golden file {name} missing; run with GPV_UPDATE_GOLDEN=1"
        assert content == path.read_bytes().decode("utf-8"), name


def test_the_engine_alert_needs_every_variable_it_names():
    incomplete = {k: v for k, v in ENGINE_ALERT.items() if k != "run_name"}
    with pytest.raises(UndefinedError):
        environment().get_template("engine_alert.txt.j2").render(incomplete)
