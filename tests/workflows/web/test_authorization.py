"""Every authorization rule of the web front end, allow and deny: each page × each role × a case
of the user's own party and one of another party (§ 35 Abs. 1 S. 2 SGB I; docs/web.md).

The rules under test:

- no one signed in: every page answers with the login form (303 to ``/anmelden?next=…``);
- a page of another role answers 403 (members: ``/aufgaben``; case managers and, read only,
  supervisors: ``/faelle``; supervisors: ``/aufsicht``);
- a case the user may not see (:func:`workflows.users.visible_case_ids`) answers 404, as one that
  does not exist; the lists (tasks, cases, overdue table, CSV) leave it out;
- a step is taken only by the role the page is for, on a case it sees; a refused POST changes
  nothing.

The world: the web test world (two cases of the LWL, ``asked`` with the SPDI's statement
requested, ``other`` without) plus a case of the Kreis Unna (a pupil) and the Kreis Unna's case
manager and supervisor. The table :data:`SEES` is the expectation, written out by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.workflows.conftest import berlin, open_case
from tests.workflows.web.conftest import PASSWORD, USERS, World
from tests.workflows.web.conftest import settings as web_settings
from tests.workflows.web.sessions import ANONYMOUS, Sessions, copy_world, sign_in
from workflows import service
from workflows.users import add_user
from workflows.web.app import create_app

#: The users beyond the web test world's: the Kreis Unna's case manager and supervisor.
MORE_USERS = {
    "fm.kreis": ("kreis-unna", "case_manager"),
    "leitung.kreis": ("kreis-unna-leitung", "supervisor"),
}
ALL_USERS = {**USERS, **MORE_USERS}
ROLE = {name: role for name, (_, role) in ALL_USERS.items()}
#: user → the cases (by the world's name) they see. The LWL's supervisor: the cases the LWL
#: leads; the Kreis Unna's: its own and those where a party it supervises (the SPDI) has a task.
SEES = {
    "fm.lwl": {"asked", "other"},
    "fm.kreis": {"kreis"},
    "spdi.arzt": {"asked"},
    "ja.unna": set(),
    "leitung.lwl": {"asked", "other"},
    "leitung.kreis": {"asked", "kreis"},
}
CASES = ("asked", "other", "kreis")
#: page (with {case}) → the role it is for; supervisors also read the case pages.
CASE_PAGES = {"/aufgaben/{case}": {"member"}, "/faelle/{case}": {"case_manager", "supervisor"}}
LIST_PAGES = {
    "/aufgaben": {"member"},
    "/faelle": {"case_manager", "supervisor"},
    "/aufsicht": {"supervisor"},
    "/aufsicht/ueberfaellig.csv": {"supervisor"},
}


@dataclass
class Authz:
    world: World
    kreis: str
    sessions: Sessions

    def case(self, name: str) -> str:
        return {"asked": self.world.asked, "other": self.world.other, "kreis": self.kreis}[name]

    def versions(self) -> dict[str, int]:
        return {n: service.show_case(self.world.engine, self.case(n))["version"] for n in CASES}


def add_the_kreis(world: World) -> str:
    """The Kreis Unna's case manager and supervisor, and a case it leads (a pupil); its id."""
    at = berlin("2026-03-02T09:00")
    for name, (party, role) in MORE_USERS.items():
        add_user(world.engine, name, party=party, role=role, password=PASSWORD, at=at, by="admin")
    return open_case(
        world.engine, "2026-03-02", by="fm.kreis", birth_date=date(2015, 6, 1),
        disabilities="physical", benefit="school_assistant", school="in_school",
    )  # fmt: skip


@pytest.fixture(scope="module")
def authz(
    world_template: tuple[Path, World], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Authz]:
    from workflows.store.db import dispose_engines

    world = copy_world(world_template, tmp_path_factory.mktemp("web-authz"))
    kreis = add_the_kreis(world)
    world.now = berlin("2026-03-20T10:00")  # the § 14 periods of the three cases ran out
    app = create_app(world.engine, web_settings(), clock=world.clock)
    with TestClient(app, follow_redirects=False) as client:
        yield Authz(world, kreis, sign_in(client, ALL_USERS))
    dispose_engines()


def test_the_table_of_who_sees_what_is_the_rule_of_visible_case_ids(authz):
    from workflows.users import get_user, visible_case_ids

    for name, expected in SEES.items():
        user = get_user(authz.world.engine, name)
        assert user is not None
        visible = visible_case_ids(authz.world.engine, user) or set()
        assert visible == {authz.case(c) for c in expected}, name


def _expected(who: str, page_roles: set[str], case: str | None) -> int:
    if who == ANONYMOUS:
        return 303
    if ROLE[who] not in page_roles:
        return 403
    if case is not None and case not in SEES[who]:
        return 404
    return 200


@pytest.mark.parametrize("who", [*ALL_USERS, ANONYMOUS])
@pytest.mark.parametrize("page", sorted(CASE_PAGES))
@pytest.mark.parametrize("case", CASES)
def test_each_case_page_for_each_role_and_party(authz, who, page, case):
    before = authz.versions()
    answer = authz.sessions.use(who).get(page.format(case=authz.case(case)))
    assert answer.status_code == _expected(who, CASE_PAGES[page], case)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/anmelden?next=")
    elif answer.status_code == 404:
        assert "Nicht gefunden" in answer.text and authz.case(case) not in answer.text
    elif answer.status_code == 403:
        assert authz.case(case) not in answer.text
    assert authz.versions() == before


@pytest.mark.parametrize("who", [*ALL_USERS, ANONYMOUS])
@pytest.mark.parametrize("page", sorted(LIST_PAGES))
def test_each_list_page_for_each_role_shows_only_the_cases_the_user_sees(authz, who, page):
    answer = authz.sessions.use(who).get(page)
    assert answer.status_code == _expected(who, LIST_PAGES[page], None)
    if answer.status_code != 200:
        return
    shown = {c for c in CASES if authz.case(c) in answer.text}
    if page == "/aufgaben":  # the party's open tasks
        assert shown == SEES[who]
    else:  # every visible case (all three are overdue on 20 March)
        assert shown == SEES[who], page


def test_the_start_page_sends_each_role_home_and_no_one_to_the_login(authz):
    home = {"case_manager": "/faelle", "member": "/aufgaben", "supervisor": "/aufsicht"}
    for who in ALL_USERS:
        answer = authz.sessions.use(who).get("/")
        assert (answer.status_code, answer.headers["location"]) == (303, home[ROLE[who]])
    assert authz.sessions.use(ANONYMOUS).get("/").headers["location"].startswith("/anmelden")


#: (page, trigger a rightful user of that page could take on each case)
STEP_OF = {
    "/faelle/{case}": {"asked": "cancel_statement", "other": "accept_jurisdiction",
                       "kreis": "accept_jurisdiction"},
    "/aufgaben/{case}": {"asked": "accept_statement_request", "other": "accept_jurisdiction",
                         "kreis": "accept_jurisdiction"},
}  # fmt: skip


#: page → the role that takes steps there (supervisors read case pages, take no step: 403).
POST_ROLES = {"/aufgaben/{case}": {"member"}, "/faelle/{case}": {"case_manager"}}


def _post_refused(who: str, page: str, case: str) -> int | None:
    """The status a POST of ``who`` on ``page`` for ``case`` is refused with, or None (allowed)."""
    expected = _expected(who, POST_ROLES[page], case)
    return None if expected == 200 else expected


@pytest.mark.parametrize("who", [*ALL_USERS, ANONYMOUS])
@pytest.mark.parametrize("page", sorted(STEP_OF))
@pytest.mark.parametrize("case", CASES)
def test_each_refused_step_post_for_each_role_and_party_changes_nothing(authz, who, page, case):
    refused = _post_refused(who, page, case)
    if refused is None:
        pytest.skip("allowed: test_each_allowed_step_post_… takes such a step")
    before = authz.versions()
    answer = authz.sessions.use(who).post(
        page.format(case=authz.case(case)),
        data={"trigger": STEP_OF[page][case], "csrf_token": authz.sessions.tokens[who]},
    )
    assert answer.status_code == refused
    assert authz.versions() == before


@pytest.mark.parametrize(
    ("who", "page", "case", "trigger", "process", "state"),
    [
        ("fm.lwl", "/faelle/{case}", "other", "accept_jurisdiction", "case", "assessment"),
        ("fm.kreis", "/faelle/{case}", "kreis", "accept_jurisdiction", "case", "assessment"),
        ("spdi.arzt", "/aufgaben/{case}", "asked", "accept_statement_request", "statement",
         "accepted"),
    ],
)  # fmt: skip
def test_each_allowed_step_post_takes_the_step_as_the_signed_in_user(
    world_template, tmp_path, who, page, case, trigger, process, state
):
    """On a fresh copy of the world (the module's stays unchanged for the other tests)."""
    from workflows.store.db import dispose_engines

    world = copy_world(world_template, tmp_path)
    kreis = add_the_kreis(world)
    case_id = {"asked": world.asked, "other": world.other, "kreis": kreis}[case]
    app = create_app(world.engine, web_settings(), clock=world.clock)
    try:
        with TestClient(app, follow_redirects=False) as client:
            sessions = sign_in(client, [who])
            answer = sessions.use(who).post(
                page.format(case=case_id),
                data={"trigger": trigger, "csrf_token": sessions.tokens[who]},
            )
            assert answer.status_code == 303
        shown = service.show_case(world.engine, case_id)
        assert shown["processes"][process] == state
        assert shown["history"][-1]["by"] == who
    finally:
        dispose_engines()
