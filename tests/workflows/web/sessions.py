"""Signed-in sessions without signing in again: each user logs in once, the signed session cookie
is kept and put back before a request (the session lives only in the cookie), so a test can send
hundreds of requests as each role without hashing a password each time."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from tests.workflows.web.conftest import World, csrf_of, login

ANONYMOUS = "anonym"


@dataclass
class Sessions:
    """One client and each user's session cookie and CSRF token (``ANONYMOUS``: none signed in)."""

    client: TestClient
    cookies: dict[str, dict[str, str]]
    tokens: dict[str, str]

    def use(self, who: str) -> TestClient:
        """The client with ``who``'s session."""
        self.client.cookies.clear()
        for name, value in self.cookies[who].items():
            self.client.cookies.set(name, value)
        return self.client


def sign_in(client: TestClient, names: Iterable[str]) -> Sessions:
    cookies, tokens = {}, {}
    for name in [*names, ANONYMOUS]:
        client.cookies.clear()
        if name != ANONYMOUS:
            login(client, name)
        tokens[name] = csrf_of(client.get("/anmelden").text)
        cookies[name] = dict(client.cookies.items())
    return Sessions(client, cookies, tokens)


def copy_world(template: tuple[Path, World], folder: Path) -> World:
    """The web test world copied into ``folder``, migrated, on its own engine."""
    from workflows.store.db import get_engine, migrate

    path, built = template
    shutil.copyfile(path, folder / "gpv.db")
    engine = get_engine(f"sqlite:///{folder / 'gpv.db'}")
    migrate(engine)
    return World(engine, built.asked, built.other)
