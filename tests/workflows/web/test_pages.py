"""The web front end, rule by rule, through Starlette's TestClient on a real SQLite store."""

from __future__ import annotations

import csv
import io

from tests.workflows.conftest import berlin
from tests.workflows.web.conftest import login, post_form
from workflows import service
from workflows.store.case_reads import reads_of

# --------------------------------------------------------------------------------- login


def test_every_page_without_a_login_sends_to_the_login_form_and_back(client, world):
    for path in ("/", "/aufgaben", f"/aufgaben/{world.asked}", "/faelle", "/aufsicht"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/anmelden?next=")
    answer = client.get(f"/aufgaben/{world.asked}")
    token_page = client.get(answer.headers["location"])
    assert f'value="/aufgaben/{world.asked}"' in token_page.text
    from tests.workflows.web.conftest import PASSWORD, csrf_of

    back = client.post(
        "/anmelden",
        data={
            "name": "spdi.arzt",
            "password": PASSWORD,
            "next": f"/aufgaben/{world.asked}",
            "csrf_token": csrf_of(token_page.text),
        },
    )
    assert (back.status_code, back.headers["location"]) == (303, f"/aufgaben/{world.asked}")


def test_a_login_leads_each_role_to_its_own_page(client):
    expected = {"fm.lwl": "/faelle", "spdi.arzt": "/aufgaben", "leitung.lwl": "/aufsicht"}
    for name, home in expected.items():
        client.cookies.clear()
        answer = login(client, name)
        assert (answer.status_code, answer.headers["location"]) == (303, home)


def test_a_wrong_password_is_refused_in_german(client):
    answer = login(client, "fm.lwl", "falsch-falsch-falsch")
    assert answer.status_code == 401
    assert "Name oder Passwort stimmt nicht" in answer.text
    assert client.get("/faelle").status_code == 303  # still not signed in


def test_the_next_page_after_login_is_never_another_site(client):
    from tests.workflows.web.conftest import PASSWORD, csrf_of

    token = csrf_of(client.get("/anmelden").text)
    answer = client.post(
        "/anmelden",
        data={
            "name": "fm.lwl",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": token,
        },
    )
    assert answer.headers["location"] == "/faelle"


def test_five_failures_block_the_name_from_that_address_for_fifteen_minutes(client, world):
    for _ in range(5):
        assert login(client, "fm.lwl", "falsch-falsch-falsch").status_code == 401
    blocked = login(client, "fm.lwl")  # the right password no longer helps
    assert blocked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in blocked.text
    assert login(client, "spdi.arzt").status_code == 303  # another name is not blocked
    world.now = berlin("2026-03-04T10:16")
    client.cookies.clear()
    assert login(client, "fm.lwl").status_code == 303


def test_a_disabled_user_is_out_at_the_next_request(client, world):
    from workflows.users import disable_user

    login(client, "fm.lwl")
    assert client.get("/faelle").status_code == 200
    disable_user(world.engine, "fm.lwl", at=berlin("2026-03-04T10:00"), by="admin")
    assert client.get("/faelle").status_code == 303


def test_logout_ends_the_session(client):
    login(client, "fm.lwl")
    answer = post_form(client, "/faelle", {})  # any page carries the logout form's token
    assert answer.status_code in (200, 303, 405)
    token = client.get("/faelle").text.split('name="csrf_token" value="')[1].split('"')[0]
    out = client.post("/abmelden", data={"csrf_token": token})
    assert (out.status_code, out.headers["location"]) == (303, "/anmelden")
    assert client.get("/faelle").status_code == 303


def test_the_session_cookie_is_httponly_and_samesite_strict(client):
    answer = login(client, "fm.lwl")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http on loopback; GPV_WEB_SECURE_COOKIE=1 behind https


def test_behind_https_the_cookie_is_secure(world):
    from fastapi.testclient import TestClient

    from tests.workflows.web.conftest import settings
    from workflows.web.app import create_app

    secure = create_app(world.engine, settings().__class__(secret="s" * 40, secure_cookie=True))
    with TestClient(secure, base_url="https://testserver", follow_redirects=False) as c:
        assert "secure" in login(c, "fm.lwl").headers["set-cookie"].lower()


# ---------------------------------------------------------------------------------- CSRF


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, world):
    login(client, "spdi.arzt")
    before = service.show_case(world.engine, world.asked)["version"]
    answer = client.post(f"/aufgaben/{world.asked}", data={"trigger": "deliver_statement"})
    assert answer.status_code == 403
    assert "Formular abgelaufen" in answer.text
    wrong = client.post(
        f"/aufgaben/{world.asked}", data={"trigger": "deliver_statement", "csrf_token": "x"}
    )
    assert wrong.status_code == 403
    assert service.show_case(world.engine, world.asked)["version"] == before


def test_the_login_form_needs_its_csrf_token_too(client):
    from tests.workflows.web.conftest import PASSWORD

    answer = client.post("/anmelden", data={"name": "fm.lwl", "password": PASSWORD})
    assert answer.status_code == 403


# ------------------------------------------------------------------------- party members


def test_a_member_sees_exactly_the_tasks_of_their_party(client, world):
    login(client, "spdi.arzt")
    page = client.get("/aufgaben")
    assert page.status_code == 200
    assert world.asked in page.text and world.other not in page.text
    assert "§ 17 Abs. 2 SGB IX" in page.text and "17.03.2026" in page.text


def test_a_member_gets_404_for_a_case_of_no_concern_to_their_party(client, world):
    login(client, "spdi.arzt")
    assert client.get(f"/aufgaben/{world.other}").status_code == 404
    assert client.get("/aufgaben/C-2026-999999").status_code == 404
    client.cookies.clear()
    login(client, "ja.unna")
    assert client.get(f"/aufgaben/{world.asked}").status_code == 404
    assert world.asked not in client.get("/aufgaben").text


def test_a_member_cannot_open_the_case_managers_pages(client, world):
    login(client, "spdi.arzt")
    assert client.get("/faelle").status_code == 403
    assert client.get(f"/faelle/{world.asked}").status_code == 403
    assert client.get("/aufsicht").status_code == 403
    assert client.get("/aufsicht/ueberfaellig.csv").status_code == 403


def test_a_member_cannot_post_a_step_into_another_case(client, world):
    login(client, "spdi.arzt")
    token = client.get("/aufgaben").text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        f"/aufgaben/{world.other}", data={"trigger": "accept_jurisdiction", "csrf_token": token}
    )
    assert answer.status_code == 404
    assert service.show_case(world.engine, world.other)["status"] == "received"


def test_the_spdi_accepts_and_delivers_its_statement_through_the_task_page(client, world):
    login(client, "spdi.arzt")
    page = client.get(f"/aufgaben/{world.asked}").text
    assert "Anfrage annehmen" in page and "Stellungnahme abgeben" in page
    assert "Anfrage ablehnen" in page and 'id="decline_statement_request-reason"' in page
    assert "Stellungnahme anfordern" not in page  # the carrier's step is not offered
    accepted = post_form(
        client, f"/aufgaben/{world.asked}", {"trigger": "accept_statement_request"}
    )
    assert (accepted.status_code, accepted.headers["location"]) == (303, f"/aufgaben/{world.asked}")
    assert "Gespeichert: Anfrage annehmen." in client.get(f"/aufgaben/{world.asked}").text
    post_form(client, f"/aufgaben/{world.asked}", {"trigger": "deliver_statement"})
    case = service.show_case(world.engine, world.asked)
    assert case["processes"]["statement"] == "delivered"
    assert case["history"][-1]["by"] == "spdi.arzt"


def test_a_decline_without_a_reason_is_refused_with_the_rules_message(client, world):
    login(client, "spdi.arzt")
    answer = post_form(
        client, f"/aufgaben/{world.asked}", {"trigger": "decline_statement_request", "reason": " "}
    )
    assert answer.status_code == 400
    assert "reason" in answer.text and 'role="alert"' in answer.text
    assert service.show_case(world.engine, world.asked)["processes"]["statement"] == "requested"


def test_a_member_cannot_fire_the_carriers_step_by_a_forged_form(client, world):
    login(client, "spdi.arzt")
    answer = post_form(client, f"/aufgaben/{world.asked}", {"trigger": "cancel_statement"})
    assert answer.status_code == 400
    assert "nicht möglich oder nicht Ihre Aufgabe" in answer.text


# -------------------------------------------------------------------------- case managers


def test_the_case_list_searches_by_reference_and_own_file_number(client, world):
    login(client, "fm.lwl")
    everything = client.get("/faelle").text
    assert world.asked in everything and world.other in everything
    by_ref = client.get("/faelle", params={"q": "az-4711"}).text
    assert world.asked in by_ref and world.other not in by_ref
    by_id = client.get("/faelle", params={"q": world.other[-6:]}).text
    assert world.other in by_id and world.asked not in by_id


def test_the_case_page_shows_german_labels_parties_and_the_allowed_steps(client, world):
    login(client, "fm.lwl")
    page = client.get(f"/faelle/{world.asked}").text
    assert "Bedarfsermittlung" in page  # the case's state, not "assessment"
    assert "Über den Antrag entscheiden" in page  # the rule's title, not "decision"
    assert "Zuständigkeit annehmen" in page  # the history's step
    assert "Stellungnahme anfordern" not in page or "cancel_statement" in page
    assert 'id="step-cancel_statement"' in page and 'id="step-forward"' not in page
    assert "Abläufe dieses Falls im Prefect-Dashboard" in page
    assert "flowRuns.tags.name=case%3A" + world.asked in page
    assert 'lang="de"' in page


def test_the_case_manager_fires_a_step_with_its_parameters(client, world):
    login(client, "fm.lwl")
    page = client.get(f"/faelle/{world.other}").text
    assert '<label for="forward-to">' in page and '<select id="forward-to"' in page
    answer = post_form(client, f"/faelle/{world.other}", {"trigger": "accept_jurisdiction"})
    assert answer.status_code == 303
    assert service.show_case(world.engine, world.other)["status"] == "assessment"


def test_a_step_the_rules_refuse_shows_their_message_and_changes_nothing(client, world):
    login(client, "fm.lwl")
    answer = post_form(
        client,
        f"/faelle/{world.other}",
        {"trigger": "forward", "to": "lwl"},  # to itself: refused by the rules
    )
    assert answer.status_code in (400, 409)
    assert "bereits der Träger" in answer.text
    assert service.show_case(world.engine, world.other)["status"] == "received"


def test_every_read_of_a_case_page_is_recorded_outside_the_audit_chain(client, world):
    login(client, "fm.lwl")
    client.get(f"/faelle/{world.asked}")
    client.cookies.clear()
    login(client, "spdi.arzt")
    client.get(f"/aufgaben/{world.asked}")
    client.get(f"/aufgaben/{world.other}")  # refused: not a read
    reads = reads_of(world.engine, world.asked)
    assert [(r["user_name"], r["party"], r["page"]) for r in reads] == [
        ("fm.lwl", "lwl", "case"),
        ("spdi.arzt", "spdi", "task"),
    ]
    assert reads_of(world.engine, world.other) == []
    assert service.audit_verify(world.engine)["ok"]


# ----------------------------------------------------------------------------- supervisors


def test_the_supervisor_sees_overdue_deadlines_with_german_names_sorted(client, world):
    world.now = berlin("2026-03-20T10:00")
    login(client, "leitung.lwl")
    page = client.get("/aufsicht").text
    assert "Zuständigkeit klären" in page and world.other in page
    assert "LWL-Inklusionsamt Soziale Teilhabe" in page
    assert 'aria-sort="descending"' in page
    assert "flowRuns.tags.name=case%3A" + world.other in page
    ascending = client.get("/aufsicht", params={"sortierung": "fall", "richtung": "auf"}).text
    assert 'aria-sort="ascending"' in ascending


def test_the_csv_export_is_semicolon_separated_utf8_for_german_excel(client, world):
    world.now = berlin("2026-03-20T10:00")
    login(client, "leitung.lwl")
    answer = client.get("/aufsicht/ueberfaellig.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["Fall", "Frist", "Norm", "fällig am", "Tage überfällig", "verantwortlich"]
    assert [world.other, "Zuständigkeit klären", "§ 14 Abs. 1 S. 1 SGB IX", "2026-03-16", "4",
            "LWL-Inklusionsamt Soziale Teilhabe"] in rows  # fmt: skip


def test_the_supervisor_reads_case_pages_but_gets_no_step_form(client, world):
    login(client, "leitung.lwl")
    page = client.get(f"/faelle/{world.asked}")
    assert page.status_code == 200 and 'name="trigger"' not in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        f"/faelle/{world.asked}", data={"trigger": "cancel_statement", "csrf_token": token}
    )
    assert answer.status_code == 403


# ------------------------------------------------------------------------------- the pages


def test_every_page_is_german_with_labelled_inputs_and_strict_headers(client, world):
    login(client, "fm.lwl")
    answer = client.get(f"/faelle/{world.asked}")
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    import re

    page = answer.text
    ids = set(re.findall(r'<(?:input|select|textarea) id="([^"]+)"', page))
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    assert ids and ids <= labelled
    assert "http://" not in page.replace("http://127.0.0.1:4200", "")  # no external resource
