"""The case page's correction forms (issue 12): a case manager corrects a receipt date or a
town as its own audited step with a reason; CSRF, roles and the rules guard it as every form."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tests.workflows.web.conftest import PASSWORD, csrf_of, login, post_form
from workflows import service
from workflows.store.models import AuditRow
from workflows.users import add_user

REASON = "Eingangsstempel übersehen"


def _path(world) -> str:
    return f"/faelle/{world.other}/berichtigung"


def _correct(client, world, **data: str):
    token = csrf_of(client.get(f"/faelle/{world.other}").text)
    return client.post(_path(world), data={**data, "csrf_token": token})


def _entries(world) -> list[AuditRow]:
    with Session(world.engine) as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.case_id == world.other)))


def _deadline(world, rule: str) -> str:
    case = service.show_case(world.engine, world.other)
    return next(d["due"] for d in case["deadlines"] if d["rule"] == rule and d["status"] == "open")


def test_the_case_page_offers_both_corrections_with_labels_and_a_required_reason(client, world):
    login(client, "fm.lwl")
    page = client.get(f"/faelle/{world.other}").text
    assert "Eintrag berichtigen" in page
    assert f'action="/faelle/{world.other}/berichtigung"' in page
    assert '<input id="correct-received_on-value" name="value" type="date" value="2026-03-02"' in (
        page
    )
    assert '<select id="correct-municipality-value" name="value" required>' in page
    assert '<option value="kamen">Kamen</option>' in page
    assert '<label for="correct-received_on-reason">' in page
    assert '<textarea id="correct-municipality-reason" name="reason" rows="2" required>' in page


def test_a_wrong_receipt_date_is_corrected_and_its_deadline_recomputed(client, world):
    login(client, "fm.lwl")
    before = _deadline(world, "jurisdiction")
    answer = _correct(client, world, field="received_on", value="2026-02-27", reason=REASON)
    assert answer.status_code == 303 and answer.headers["location"] == f"/faelle/{world.other}"
    case = service.show_case(world.engine, world.other)
    assert case["received_on"] == "2026-02-27"
    assert _deadline(world, "jurisdiction") < before
    entry = _entries(world)[-1]
    assert (entry.trigger, entry.by, entry.params["acting_party"]) == ("correct", "fm.lwl", "lwl")
    assert entry.params["reason"] == REASON
    page = client.get(f"/faelle/{world.other}").text
    assert "Gespeichert: Antragseingang berichtigt." in page


def test_a_wrong_town_is_corrected_from_the_list(client, world):
    login(client, "fm.lwl")
    answer = _correct(client, world, field="municipality", value="kamen", reason="Tippfehler")
    assert answer.status_code == 303
    assert service.show_case(world.engine, world.other)["municipality"] == "kamen"


def test_a_correction_without_a_reason_or_with_a_bad_value_shows_the_message_and_changes_nothing(
    client, world
):
    login(client, "fm.lwl")
    before = (service.show_case(world.engine, world.other), len(_entries(world)))
    for data, status in (
        ({"field": "received_on", "value": "2026-02-27", "reason": " "}, 400),
        ({"field": "received_on", "value": "27.02.", "reason": REASON}, 400),
        ({"field": "municipality", "value": "Atlantis", "reason": REASON}, 400),
        ({"field": "birth_date", "value": "2001-01-01", "reason": REASON}, 400),
        ({"field": "received_on", "value": "2026-03-02", "reason": REASON}, 400),  # the same
        ({"field": "received_on", "value": "2026-03-10", "reason": REASON}, 400),  # after now
    ):
        answer = _correct(client, world, **data)
        assert answer.status_code == status, (data, answer.status_code)
        assert 'role="alert"' in answer.text
    assert (service.show_case(world.engine, world.other), len(_entries(world))) == before


def test_a_correction_without_the_csrf_token_is_refused(client, world):
    login(client, "fm.lwl")
    before = service.show_case(world.engine, world.other)["version"]
    data = {"field": "received_on", "value": "2026-02-27", "reason": REASON}
    assert client.post(_path(world), data=data).status_code == 403
    assert client.post(_path(world), data={**data, "csrf_token": "x"}).status_code == 403
    assert service.show_case(world.engine, world.other)["version"] == before


def test_only_the_carriers_case_manager_may_correct(client, world):
    add_user(world.engine, "fm.kreis", party="kreis-unna", role="case_manager",
             password=PASSWORD, at=world.now, by="admin")  # fmt: skip
    before = service.show_case(world.engine, world.other)["version"]
    data = {"field": "received_on", "value": "2026-02-27", "reason": REASON}
    login(client, "leitung.lwl")  # a supervisor reads the page, without the forms
    page = client.get(f"/faelle/{world.other}").text
    assert "berichtigung" not in page
    assert post_form(client, f"/faelle/{world.other}", {}).status_code == 403
    token = csrf_of(page)
    assert client.post(_path(world), data={**data, "csrf_token": token}).status_code == 403
    login(client, "spdi.arzt")  # a member: not a case manager's page
    token = csrf_of(client.get("/aufgaben").text)
    assert client.post(_path(world), data={**data, "csrf_token": token}).status_code == 403
    login(client, "fm.kreis")  # another carrier's case manager: the case does not exist for him
    token = csrf_of(client.get("/faelle").text)
    assert client.post(_path(world), data={**data, "csrf_token": token}).status_code == 404
    assert service.show_case(world.engine, world.other)["version"] == before


def test_a_receipt_after_a_recorded_step_is_refused_by_the_rules_with_409(client, world):
    login(client, "fm.lwl")
    before = service.show_case(world.engine, world.asked)
    token = csrf_of(client.get(f"/faelle/{world.asked}").text)
    answer = client.post(
        f"/faelle/{world.asked}/berichtigung",
        data={"field": "received_on", "value": "2026-03-04", "reason": REASON, "csrf_token": token},
    )
    assert answer.status_code == 409 and 'role="alert"' in answer.text
    assert service.show_case(world.engine, world.asked) == before
