"""A first user on a fresh machine: ``gpv run --demo`` (``make run``) adds the demo's users with
one-time passwords shown once on the terminal, never stored in plain text, never in a file; without
``--demo`` nothing is added (README: ``gpv user add … --password-stdin``).

``gpv run`` is called in-process with the Prefect part (``serve.run``) and the web thread replaced,
so the test sees exactly what the command writes and stores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.workflows.conftest import open_case
from tests.workflows.web.conftest import csrf_of
from tests.workflows.web.conftest import settings as web_settings
from workflows.seeding.demo import DEMO_USERS, seed_demo

REAL_SEED = seed_demo
LINE = re.compile(r"^  (\S+)\s+(\S+)\s+\((.+)\)$", re.MULTILINE)


def one_demo_case(engine: Engine, now: datetime, copies: int = 2) -> int:
    """The demo's seeding cut to one case, as :func:`seed_demo` records it (by ``demo``): the
    whole demo (40 cases) is seeded by the test that signs in to the web pages."""
    from workflows import service
    from workflows.seeding.demo import BY

    if service.tasks(engine, now=now):
        return 0
    open_case(engine, "2026-03-02", by=BY, at=now)
    return 1


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data folder, ``gpv run`` without Prefect and web thread, stdout a terminal."""
    from workflows.cli import run as run_module
    from workflows.orchestration import serve
    from workflows.seeding import demo
    from workflows.store.db import dispose_engines

    monkeypatch.setenv("GPV_DATA_DIR", str(tmp_path))
    for name in ("GPV_DATABASE_URL", "GPV_PREFECT_URL", "PREFECT_API_URL", "GPV_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(serve, "run", lambda **kwargs: 0)
    monkeypatch.setattr(run_module, "start_web", lambda *args, **kwargs: lambda: None)
    monkeypatch.setattr(run_module, "is_terminal", lambda: True)
    monkeypatch.setattr(demo, "seed_demo", one_demo_case)
    yield tmp_path
    dispose_engines()


def gpv(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    from workflows.cli import main

    try:
        main(list(args))
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return out.out


def engine_of(data_dir: Path) -> Engine:
    from workflows.store.db import get_engine

    return get_engine(f"sqlite:///{data_dir / 'gpv.db'}")


def test_run_demo_adds_one_user_of_each_kind_and_shows_each_password_once(data_dir, capsys):
    from workflows.users import authenticate, list_users

    out = gpv(capsys, "run", "--demo")
    shown = {m.group(1): (m.group(2), m.group(3)) for m in LINE.finditer(out)}
    assert set(shown) == set(DEMO_USERS) == {"fm.lwl", "spdi.arzt", "jugendamt.unna", "leitung.lwl"}
    assert "Fallmanagement, LWL-Inklusionsamt" in shown["fm.lwl"][1]
    assert "Sozialpsychiatrischer Dienst" in shown["spdi.arzt"][1]
    assert "Jugendamt der Kreisstadt Unna" in shown["jugendamt.unna"][1]
    assert "LWL – Teamleitung" in shown["leitung.lwl"][1]
    passwords = {name: pw for name, (pw, _) in shown.items()}
    assert len(set(passwords.values())) == 4 and all(len(p) >= 20 for p in passwords.values())
    for password in passwords.values():
        assert out.count(password) == 1
    engine = engine_of(data_dir)
    users = {u.name: (u.party, u.role) for u in list_users(engine)}
    assert users == dict(DEMO_USERS)
    for name, password in passwords.items():
        assert authenticate(engine, name, password) is not None
        assert authenticate(engine, name, password + "x") is None
    assert "1 Fälle angelegt" in out


def test_the_passwords_are_nowhere_in_the_data_folder(data_dir, capsys):
    from workflows.store.db import dispose_engines

    out = gpv(capsys, "run", "--demo")
    passwords = [m.group(2) for m in LINE.finditer(out)]
    dispose_engines()  # checkpoints the WAL into gpv.db
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "gpv.db" for p in files)
    for path in files:
        content = path.read_bytes()
        for password in passwords:
            assert password.encode() not in content, path


def test_a_demo_user_signs_in_to_the_web_pages_with_the_printed_password(
    data_dir, capsys, monkeypatch
):
    from workflows.seeding import demo
    from workflows.web.app import create_app

    monkeypatch.setattr(demo, "seed_demo", REAL_SEED)  # the whole demo: the SPDI has tasks

    out = gpv(capsys, "run", "--demo")
    passwords = {m.group(1): m.group(2) for m in LINE.finditer(out)}
    app = create_app(engine_of(data_dir), web_settings())
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_of(client.get("/anmelden").text)
        answer = client.post(
            "/anmelden",
            data={"name": "spdi.arzt", "password": passwords["spdi.arzt"], "csrf_token": token},
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/aufgaben")
        assert "C-20" in client.get("/aufgaben").text  # the demo's statement requests


def test_a_second_run_adds_no_user_and_shows_no_password(data_dir, capsys):
    gpv(capsys, "run", "--demo")
    again = gpv(capsys, "run", "--demo")
    assert not LINE.search(again)
    assert "es gibt schon Benutzer" in again and "es gibt schon Fälle" in again


def test_without_demo_nothing_is_created(data_dir, capsys):
    from workflows.store.db import ready_engine
    from workflows.users import list_users

    out = gpv(capsys, "run")
    assert "Demo" not in out
    assert list_users(ready_engine()) == []


def test_not_on_a_terminal_no_user_is_added_and_the_way_to_add_one_is_named(
    data_dir, capsys, monkeypatch
):
    from workflows.cli import run as run_module
    from workflows.users import list_users

    monkeypatch.setattr(run_module, "is_terminal", lambda: False)
    out = gpv(capsys, "run", "--demo")
    assert "kein Terminal" in out and "gpv user add" in out and "--password-stdin" in out
    assert not LINE.search(out)
    assert list_users(engine_of(data_dir)) == []
    assert "1 Fälle angelegt" in out  # the cases are there all the same


def test_users_set_up_before_the_demo_keep_the_store_without_demo_cases(data_dir, capsys):
    from datetime import UTC, datetime

    from workflows.store.db import ready_engine
    from workflows.users import add_user, list_users

    engine = ready_engine()
    add_user(
        engine, "m.schulz", party="lwl", role="case_manager", password="x" * 16,
        at=datetime.now(UTC), by="admin",
    )  # fmt: skip
    out = gpv(capsys, "run", "--demo")
    assert "keine Fälle; Demofälle werden nicht angelegt" in out
    assert [u.name for u in list_users(engine)] == ["m.schulz"]
