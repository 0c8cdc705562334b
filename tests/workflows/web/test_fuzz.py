"""Fuzz over the web front end (issue 12's acceptance: 0 server errors).

Hypothesis drives every route of the application (read from ``app.routes``, so a page added later
is fuzzed too) and every form field the pages and triggers know, as each role's signed-in user
(and as no one), with the session's valid CSRF token most of the time and hostile values
everywhere: case references that are not, query strings, dates that do not exist, NUL bytes,
markup, SQL, very long text. The properties, per request:

- no answer is a server error (5xx) and none shows a traceback;
- an answer 4xx leaves the store as it was (every table but ``case_reads``, which records a read
  of a page actually shown, e.g. a form shown again with the rules' message);
- a GET changes nothing either (beyond ``case_reads``).

The sessions are Starlette's signed cookies: each user signs in once, and the cookie is put back
before every request (a fuzzed logout or login does not leak into the next example).

Why not schemathesis: the application serves no OpenAPI schema (``openapi_url=None``) and its
forms are read from ``request.form()``, so a schema would name neither the fields nor the CSRF
token; Hypothesis over the real forms reaches the code behind them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from states.processes.registry import TRIGGER_SPECS
from tests.workflows.web.conftest import USERS, World, build_world
from tests.workflows.web.conftest import settings as web_settings
from tests.workflows.web.sessions import ANONYMOUS, Sessions, copy_world, sign_in
from workflows.web.app import create_app

UNTRACKED_TABLES = {"case_reads", "alembic_version"}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/|\bsqlalchemy\.exc\b")
TEMPLATE_FIELD = re.compile(r'name="([a-z_]+)"')
TEMPLATES = Path(__file__).resolve().parents[3] / "workflows" / "web" / "templates"

HOSTILE = (
    "", " ", "\x00", "\t\n", "%", "_", "%_%", "'", '"', "\\", "'; DROP TABLE cases;--",
    "<script>alert(1)</script>", "{{ 7*7 }}", "../../etc/passwd", "//evil.example/",
    "/anmelden", "https://evil.example", "C-2026-000001", "C-2026-999999", "c-2026-", "AZ-4711",
    "ja", "nein", "on", "true", "0", "-1", "1e309", "NaN", "9999999999999999999999",
    "2026-02-30", "2026-03-04", "2026-03-04T10:00", "2026-03-04T25:61", "0000-00-00",
    "9999-12-31", "9999-12-31T23:59", "0001-01-01T00:00", "2026-03-04T10:00+14:00",
    "04.03.2026", "lwl", "spdi", "kreis-unna", "jugendamt-unna", "irgendwer", "ä" * 3000,
    "x" * 70000, "\u202e", "\ufeff", "😀", "received_on", "municipality", "Unna", "Selm",
    "Bergkamen", "birth_date", "status",
)  # fmt: skip


def _form_fields() -> list[str]:
    """Every field a form of the front end can carry: the templates' and the triggers'."""
    names = {"trigger", "csrf_token", "next", "name", "password", "q"}
    for template in TEMPLATES.glob("*.j2"):
        names.update(TEMPLATE_FIELD.findall(template.read_text(encoding="utf-8")))
    for spec in TRIGGER_SPECS.values():
        names.update(spec.params)
    return sorted(names - {"viewport"})


FIELDS = _form_fields()
values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.from_regex(r"\A(19|20|99)\d\d-[01]\d-[0-3]\d(T[0-2]\d:[0-5]\d)?\Z"),
)


#: In a URL (path, query): what a browser could send; httpx refuses URLs beyond 64 kB.
url_values = values.map(lambda v: v[:2000])


@dataclass
class Fuzzed:
    """The application on its own copy of the web test world, and each role's session."""

    world: World
    sessions: Sessions
    routes: list[tuple[str, str]]
    case_ids: list[str]


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The application's page routes; FastAPI ≥ 0.130 keeps an included router as one entry
    (``original_router``; the front end's routers have no prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _routes(app: Any) -> list[tuple[str, str]]:
    found = [
        (method, route.path)
        for route in _api_routes(app.routes)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]
    return [*found, ("GET", "/static/{path}")]


@pytest.fixture(scope="module")
def fuzzed(
    world_template: tuple[Path, World], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    from workflows.store.db import dispose_engines

    world = copy_world(world_template, tmp_path_factory.mktemp("web-fuzz"))
    app = create_app(world.engine, web_settings(), clock=world.clock)
    with TestClient(app, follow_redirects=False) as client:
        case_ids = [world.asked, world.other, "C-2026-999999"]
        yield Fuzzed(world, sign_in(client, USERS), _routes(app), case_ids)
    dispose_engines()


def fingerprint(engine: Engine) -> str:
    """A digest of every row of every table the front end must not change by a refused request."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in sorted(set(inspect(connection).get_table_names()) - UNTRACKED_TABLES):
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            digest.update(table.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()


@st.composite
def requests(draw: st.DrawFn, fuzzed: Fuzzed) -> dict[str, Any]:
    """One request: who sends it, the method, the path with its parameters, a query, a form."""
    who = draw(st.sampled_from([*USERS, ANONYMOUS]))
    method, path = draw(st.sampled_from(fuzzed.routes))
    case_id = draw(st.one_of(st.sampled_from(fuzzed.case_ids), url_values))
    segment = quote(draw(url_values), safe="") or "x"  # as a browser sends it
    path = path.replace("{case_id}", quote(case_id, safe="")).replace("{path}", segment)
    query = draw(
        st.dictionaries(st.sampled_from(["q", "next", "sortierung", "richtung"]), url_values)
    )
    form = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
    form["trigger"] = draw(st.one_of(st.sampled_from(sorted(TRIGGER_SPECS)), values))
    csrf = draw(st.sampled_from(["valid", "valid", "valid", "missing", "wrong"]))
    form.pop("csrf_token", None)
    if csrf == "valid":
        form["csrf_token"] = fuzzed.sessions.tokens[who]
    elif csrf == "wrong":
        form["csrf_token"] = draw(values)
    return {"who": who, "method": method, "path": path, "query": query, "form": form}


def _send(fuzzed: Fuzzed, request: dict[str, Any]) -> Any:
    client = fuzzed.sessions.use(request["who"])
    if request["method"] == "GET":
        return client.get(request["path"], params=request["query"])
    return client.request(
        request["method"], request["path"], params=request["query"], data=request["form"]
    )


def check(fuzzed: Fuzzed, request: dict[str, Any]) -> None:
    """Send ``request`` and check the properties of the module's docstring."""
    before = fingerprint(fuzzed.world.engine)
    answer = _send(fuzzed, request)
    event(f"{request['method']} {answer.status_code}")  # --hypothesis-show-statistics
    assert answer.status_code < 500, (answer.status_code, request, answer.text[:2000])
    assert not TRACEBACK.search(answer.text), (request, answer.text[:2000])
    if answer.status_code >= 400 or request["method"] == "GET":
        assert fingerprint(fuzzed.world.engine) == before, (answer.status_code, request)


FAST = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    database=None,
)


def fuzz(fuzzed: Fuzzed, examples: int) -> None:
    """``examples`` requests drawn by :func:`requests`, each checked by :func:`check`."""

    @settings(FAST, max_examples=examples)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        check(fuzzed, data.draw(requests(fuzzed)))

    run()


def test_no_request_of_anyone_is_a_server_error_or_changes_the_store_when_refused(fuzzed):
    fuzz(fuzzed, 250)


@pytest.fixture
def fuzzed_on_postgres(postgres_url: str) -> Iterator[Fuzzed]:
    """The same on PostgreSQL, which refuses what SQLite takes (a NUL byte in a text)."""
    from workflows.store.db import dispose_engines, get_engine, migrate

    engine = get_engine(postgres_url)
    migrate(engine)
    world = build_world(engine)
    app = create_app(engine, web_settings(), clock=world.clock)
    try:
        with TestClient(app, follow_redirects=False) as client:
            case_ids = [world.asked, world.other, "C-2026-999999"]
            yield Fuzzed(world, sign_in(client, USERS), _routes(app), case_ids)
    finally:
        dispose_engines()


@pytest.mark.postgres
def test_on_postgresql_too_no_request_is_a_server_error(fuzzed_on_postgres):
    fuzz(fuzzed_on_postgres, 150)


@pytest.mark.parametrize(
    ("who", "path", "form"),
    [
        ("fm.lwl", "/faelle?q=C-%00", None),
        ("anonym", "/anmelden", {"name": "fm\x00lwl", "password": "richtig-langes-passwort"}),
    ],
)
@pytest.mark.postgres
def test_a_nul_byte_found_by_the_fuzz_is_no_server_error_on_postgresql(
    fuzzed_on_postgres, who, path, form
):
    """Found by the fuzz on PostgreSQL: a NUL byte in the search or the login name was a 500."""
    client = fuzzed_on_postgres.sessions.use(who)
    if form is None:
        assert client.get(path).status_code == 200
    else:
        data = {**form, "csrf_token": fuzzed_on_postgres.sessions.tokens[who]}
        answer = client.post(path, data=data)
        assert answer.status_code == 401 and "Name oder Passwort stimmt nicht" in answer.text


@pytest.mark.slow
def test_many_more_requests_keep_the_properties(fuzzed):
    fuzz(fuzzed, 1500)


def test_the_fuzz_reaches_every_route_and_every_step_field(fuzzed):
    """The route list is the application's own, so a new page is fuzzed without a change here."""
    paths = {path for _, path in fuzzed.routes}
    assert {"/anmelden", "/aufgaben/{case_id}", "/faelle/{case_id}", "/aufsicht"} <= paths
    assert ("POST", "/faelle/{case_id}") in fuzzed.routes
    for spec in TRIGGER_SPECS.values():
        assert set(spec.params) <= set(FIELDS)
