"""The web front end's test world: a store with users of every role and two cases, a client.

Case ``asked`` (an adult in Unna, carrier LWL) has the SPDI's statement requested; case
``other`` (same carrier) has no statement, so the SPDI has nothing to do with it. The clock is
mutable (``world.now``): the pages read it instead of the wall clock.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.workflows.conftest import berlin, open_case
from workflows import service
from workflows.users import add_user
from workflows.web.app import create_app
from workflows.web.config import WebSettings

PASSWORD = "richtig-langes-passwort"
#: name → (party, role)
USERS = {
    "fm.lwl": ("lwl", "case_manager"),
    "spdi.arzt": ("spdi", "member"),
    "ja.unna": ("jugendamt-unna", "member"),
    "leitung.lwl": ("lwl-leitung", "supervisor"),
}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    engine: Engine
    asked: str
    other: str
    now: datetime = field(default_factory=lambda: berlin("2026-03-04T10:00"))

    def clock(self) -> datetime:
        return self.now


def build_world(engine: Engine) -> World:
    at = berlin("2026-03-02T09:00")
    for name, (party, role) in USERS.items():
        add_user(engine, name, party=party, role=role, password=PASSWORD, at=at, by="admin")
    asked = open_case(engine, "2026-03-02", by="fm.lwl", person_ref="AZ-4711")
    other = open_case(engine, "2026-03-02", by="fm.lwl", person_ref="AZ-0815")
    fire = service.fire
    fire(engine, asked, "accept_jurisdiction", {}, at=berlin("2026-03-03T09:00"), by="fm.lwl")
    fire(engine, asked, "request_statement", {}, at=berlin("2026-03-03T09:30"), by="fm.lwl")
    return World(engine, asked, other)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    """The world built once (hashing four passwords is slow on purpose), kept as a file."""
    from workflows.store.db import dispose_engines, get_engine, migrate

    path = tmp_path_factory.mktemp("web-world") / "gpv.db"
    engine = get_engine(f"sqlite:///{path}")
    migrate(engine)
    built = build_world(engine)
    dispose_engines()  # checkpoints the WAL: the file alone is the whole store
    return path, built


@pytest.fixture
def world(world_template: tuple[Path, World], tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the world for each test."""
    from workflows.store.db import dispose_engines, get_engine, migrate

    template, built = world_template
    shutil.copyfile(template, tmp_path / "gpv.db")
    engine = get_engine(f"sqlite:///{tmp_path / 'gpv.db'}")
    migrate(engine)
    yield World(engine, built.asked, built.other)
    dispose_engines()


def settings() -> WebSettings:
    return WebSettings(secret="s" * 40, prefect_url="http://127.0.0.1:4200")


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.engine, settings(), clock=world.clock)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def csrf_of(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> object:
    token = csrf_of(client.get("/anmelden").text)
    return client.post("/anmelden", data={"name": name, "password": password, "csrf_token": token})


def post_form(client: TestClient, path: str, data: dict[str, str]) -> object:
    """POST ``data`` with the CSRF token of the page at ``path``."""
    token = csrf_of(client.get(path).text)
    return client.post(path, data={**data, "csrf_token": token})
