"""The OIDC login in headless Chromium, across sites: the provider (node-oidc-provider) is
``http://localhost:…``, gpv (uvicorn) is ``http://127.0.0.1:…`` — two sites for the browser, as
Keycloak and gpv may be in production. The browser then withholds gpv's ``SameSite=Strict``
session cookie on the provider's redirect back; the callback's page repeats the request from
gpv's own page and the sign-in completes. Also checks that gpv's ``form-action 'self'`` policy
does not block the way to the provider (the button is a link, not a form).

Needs Chromium (``GPV_REQUIRE_BROWSER``) and node/npm (``GPV_REQUIRE_OIDC``), else skipped.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.workflows.web import test_browser as chromium
from tests.workflows.web.conftest import World, settings
from tests.workflows.web.oidc.harness import (
    ACCOUNTS,
    CLIENT_ID,
    CLIENT_SECRET,
    installed_provider,
    run_provider,
)
from workflows.web import oidc
from workflows.web.server import build_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
browser = chromium.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sites(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """gpv on 127.0.0.1 (the server ``gpv web`` runs) and the provider on localhost; yields
    gpv's base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    for provider in run_provider(
        installed_provider(), host="localhost", redirect_uri=f"{base}/auth/callback"
    ):
        monkeypatch.setenv(oidc.ISSUER_ENV, provider.issuer)
        monkeypatch.setenv(oidc.CLIENT_ID_ENV, CLIENT_ID)
        monkeypatch.setenv(oidc.CLIENT_SECRET_ENV, CLIENT_SECRET)
        web = replace(settings(), port=port)
        running = build_server(web, database_url=str(world.engine.url))
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        while not running.started and thread.is_alive():
            time.sleep(0.05)
        yield base
        running.should_exit = True
        thread.join(timeout=10)


def test_sign_in_through_a_provider_on_another_site(browser: Any, sites: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    driver.get(f"{sites}/anmelden")
    driver.find_element(By.ID, "oidc-login").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith("http://localhost:"))
    driver.find_element(By.ID, "login").send_keys("spdi.arzt")
    driver.find_element(By.ID, "password").send_keys(ACCOUNTS["spdi.arzt"])
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 10).until(lambda d: "Zugriff erlauben" in d.page_source)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url == f"{sites}/aufgaben")
    assert "Angemeldet: spdi.arzt" in driver.page_source
