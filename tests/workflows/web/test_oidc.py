"""The OpenID Connect login against a real OpenID Provider on loopback (node-oidc-provider, see
``tests/workflows/web/oidc/``), not a fake: the browser's part is driven with httpx (the
provider's login and consent forms are submitted), gpv is the real application in a TestClient,
and gpv's server-side calls (discovery, token endpoint, JWKS, userinfo) go over the network to
the provider.

Skipped without node/npm, failing instead when ``GPV_REQUIRE_OIDC=1`` (CI).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.workflows.conftest import berlin
from tests.workflows.web.conftest import World, login, settings
from tests.workflows.web.oidc.harness import (
    ACCOUNTS,
    CLIENT_ID,
    CLIENT_SECRET,
    Provider,
    installed_provider,
    run_provider,
)
from workflows.users import disable_user
from workflows.web import oidc
from workflows.web.app import create_app

FORM_RE = re.compile(r'<form method="post" action="([^"]+)"')
BUTTON = "Mit Keycloak anmelden"


@pytest.fixture(scope="module")
def provider_folder() -> Path:
    return installed_provider()


@pytest.fixture(scope="module")
def provider(provider_folder: Path) -> Iterator[Provider]:
    yield from run_provider(provider_folder)


def _configure(monkeypatch: pytest.MonkeyPatch, issuer: str, client_id: str = CLIENT_ID) -> None:
    monkeypatch.setenv(oidc.ISSUER_ENV, issuer)
    monkeypatch.setenv(oidc.CLIENT_ID_ENV, client_id)
    monkeypatch.setenv(oidc.CLIENT_SECRET_ENV, CLIENT_SECRET)
    monkeypatch.delenv(oidc.USER_CLAIM_ENV, raising=False)
    monkeypatch.delenv(oidc.REDIRECT_URI_ENV, raising=False)


@pytest.fixture
def gpv(world: World, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """gpv with the OIDC login configured for the test provider."""
    _configure(monkeypatch, provider.issuer)
    with TestClient(
        create_app(world.engine, settings(), clock=world.clock), follow_redirects=False
    ) as client:
        yield client


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """The browser's side at the provider (its own cookie jar)."""
    with httpx.Client(timeout=30) as client:
        yield client


def _at_provider(browser: httpx.Client, response: httpx.Response, issuer: str) -> httpx.Response:
    """Follow redirects while they stay at the provider."""
    while response.is_redirect:
        target = urljoin(str(response.url), response.headers["location"])
        if not target.startswith(issuer):
            return response
        response = browser.get(target)
    return response


def _submit(
    browser: httpx.Client, page: httpx.Response, data: dict[str, str], issuer: str
) -> httpx.Response:
    found = FORM_RE.search(page.text)
    assert found, f"no form on the provider's page: {page.text[:300]}"
    return _at_provider(
        browser, browser.post(urljoin(str(page.url), found.group(1)), data=data), issuer
    )


def start(gpv: TestClient, browser: httpx.Client, issuer: str, next: str = "") -> httpx.Response:
    """Click "Mit Keycloak anmelden" on gpv's login page; the provider's login form."""
    page = gpv.get("/anmelden" + (f"?next={next}" if next else ""))
    assert BUTTON in page.text
    href = re.search(r'id="oidc-login" href="([^"]+)"', page.text)
    assert href
    sent = gpv.get(href.group(1).replace("&amp;", "&"))
    assert sent.status_code == 302, sent.text
    location = sent.headers["location"]
    assert location.startswith(f"{issuer}/auth?")
    assert "code_challenge_method=S256" in location and "nonce=" in location
    return _at_provider(browser, browser.get(location), issuer)


def provider_login(
    browser: httpx.Client, form: httpx.Response, issuer: str, account: str, password: str
) -> httpx.Response:
    """Sign in and consent at the provider; the redirect back to gpv (or the provider's page)."""
    answer = _submit(browser, form, {"login": account, "password": password}, issuer)
    if answer.status_code == 200 and "Zugriff erlauben" in answer.text:
        answer = _submit(browser, answer, {}, issuer)
    return answer


def callback_path(answer: httpx.Response) -> str:
    assert answer.is_redirect, answer.text[:500]
    location = urlsplit(answer.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == "http://testserver/auth/callback"
    )
    return f"{location.path}?{location.query}"


def sign_in(
    gpv: TestClient, browser: httpx.Client, issuer: str, account: str, next: str = ""
) -> object:
    form = start(gpv, browser, issuer, next)
    back = provider_login(browser, form, issuer, account, ACCOUNTS[account])
    return gpv.get(callback_path(back))


def test_member_signs_in_through_the_provider(
    gpv: TestClient, browser: httpx.Client, provider: Provider
) -> None:
    answer = sign_in(gpv, browser, provider.issuer, "spdi.arzt")
    assert answer.status_code == 303 and answer.headers["location"] == "/aufgaben"
    tasks = gpv.get("/aufgaben")
    assert tasks.status_code == 200
    assert "Angemeldet: spdi.arzt" in tasks.text  # party and role from gpv's users table
    assert (
        gpv.get("/faelle").status_code == 403
    )  # a member is no case manager, whatever the token says


def test_the_page_asked_for_follows_the_sign_in(
    gpv: TestClient, browser: httpx.Client, provider: Provider, world: World
) -> None:
    page = f"/aufgaben/{world.asked}"
    answer = sign_in(gpv, browser, provider.issuer, "spdi.arzt", next=page)
    assert answer.headers["location"] == page
    assert gpv.get(page).status_code == 200


def test_case_manager_gets_the_case_managers_pages(
    gpv: TestClient, browser: httpx.Client, provider: Provider
) -> None:
    answer = sign_in(gpv, browser, provider.issuer, "fm.lwl")
    assert answer.headers["location"] == "/faelle"
    assert gpv.get("/faelle").status_code == 200


def test_a_name_gpv_does_not_know_is_refused(
    gpv: TestClient, browser: httpx.Client, provider: Provider
) -> None:
    answer = sign_in(gpv, browser, provider.issuer, "fremd")
    assert answer.status_code == 403
    assert "„fremd“ ist in gpv kein aktiver Benutzer" in answer.text
    assert gpv.get("/aufgaben").status_code == 303  # not signed in


def test_a_disabled_user_is_refused(
    gpv: TestClient, browser: httpx.Client, provider: Provider, world: World
) -> None:
    disable_user(world.engine, "ja.unna", at=berlin("2026-03-04T09:00"), by="admin")
    answer = sign_in(gpv, browser, provider.issuer, "ja.unna")
    assert answer.status_code == 403 and "unbekannt oder gesperrt" in answer.text
    assert gpv.get("/aufgaben").status_code == 303


def test_disabling_ends_a_session_begun_through_the_provider(
    gpv: TestClient, browser: httpx.Client, provider: Provider, world: World
) -> None:
    sign_in(gpv, browser, provider.issuer, "spdi.arzt")
    disable_user(world.engine, "spdi.arzt", at=berlin("2026-03-04T09:00"), by="admin")
    assert gpv.get("/aufgaben").status_code == 303


def test_a_wrong_password_stays_at_the_provider(
    gpv: TestClient, browser: httpx.Client, provider: Provider
) -> None:
    form = start(gpv, browser, provider.issuer)
    answer = provider_login(browser, form, provider.issuer, "spdi.arzt", "falsch")
    assert answer.status_code == 401 and "Benutzer oder Passwort falsch" in answer.text


def test_a_callback_from_another_browser_is_refused(
    gpv: TestClient, browser: httpx.Client, provider: Provider, world: World
) -> None:
    """Login CSRF: the code of someone else's flow signs no one in (state bound to the session)."""
    form = start(gpv, browser, provider.issuer)
    path = callback_path(provider_login(browser, form, provider.issuer, "fremd", ACCOUNTS["fremd"]))
    with TestClient(
        create_app(world.engine, settings(), clock=world.clock), follow_redirects=False
    ) as other:
        bounce = other.get(path)  # no session cookie: repeated from gpv's own page first
        assert bounce.status_code == 200 and 'http-equiv="refresh"' in bounce.text
        assert "set-cookie" not in bounce.headers  # the browser's cookie with the flow stays
        again = re.search(r'href="([^"]+)" id="continue"', bounce.text)
        assert again
        refused = other.get(again.group(1).replace("&amp;", "&"))
        assert refused.status_code == 401
        assert "ließ sich nicht bestätigen" in refused.text
        assert other.get("/aufgaben").status_code == 303


def test_a_callback_is_used_once(
    gpv: TestClient, browser: httpx.Client, provider: Provider
) -> None:
    form = start(gpv, browser, provider.issuer)
    path = callback_path(
        provider_login(browser, form, provider.issuer, "spdi.arzt", ACCOUNTS["spdi.arzt"])
    )
    assert gpv.get(path).status_code == 303
    replay = gpv.get(path + "&gpv_same_site=1")
    assert replay.status_code == 401


def test_password_login_works_beside_it(gpv: TestClient) -> None:
    answer = login(gpv, "fm.lwl")
    assert answer.status_code == 303 and answer.headers["location"] == "/faelle"


def await_metadata(login_: oidc.OidcLogin) -> dict[str, object]:
    return dict(asyncio.run(login_.metadata()))


def test_id_token_checks_on_the_providers_own_token(
    gpv: TestClient, browser: httpx.Client, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ID token from the provider, recorded on its way: Authlib refuses it with another
    nonce, another audience, or a changed signature (the checks the callback relies on)."""
    import base64
    import json

    from joserfc.errors import BadSignatureError, InvalidClaimError

    login_ = gpv.app.state.oidc  # type: ignore[attr-defined]
    tokens: list[dict[str, object]] = []
    fetch = login_.client.fetch_access_token

    async def recording(**kwargs: object) -> dict[str, object]:
        token: dict[str, object] = await fetch(**kwargs)
        tokens.append(dict(token))
        return token

    monkeypatch.setattr(login_.client, "fetch_access_token", recording)
    assert sign_in(gpv, browser, provider.issuer, "spdi.arzt").status_code == 303
    token = tokens[0]
    client = login_.client
    options = login_.claims_options
    with pytest.raises(InvalidClaimError, match="nonce"):
        asyncio.run(
            client.parse_id_token(token, nonce="eine-andere-nonce", claims_options=options())
        )
    head, body, signature = str(token["id_token"]).split(".")
    nonce = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["nonce"]
    assert (
        asyncio.run(client.parse_id_token(token, nonce=nonce, claims_options=options()))["sub"]
        == "konto-spdi.arzt"
    )
    forged = {**token, "id_token": f"{head}.{body}.{signature[:-4]}AAAA"}
    with pytest.raises(BadSignatureError):
        asyncio.run(client.parse_id_token(forged, nonce=nonce, claims_options=options()))
    other = oidc.OidcLogin(replace(login_.settings, client_id="ein-anderer-client"))
    with pytest.raises(InvalidClaimError, match="aud"):
        asyncio.run(
            other.client.parse_id_token(token, nonce=nonce, claims_options=other.claims_options())
        )
    wrong_issuer = oidc.OidcLogin(replace(login_.settings, issuer="http://127.0.0.1:1"))
    wrong_issuer.client.server_metadata.update(await_metadata(login_))
    with pytest.raises(InvalidClaimError, match="iss"):
        asyncio.run(
            wrong_issuer.client.parse_id_token(
                token, nonce=nonce, claims_options=wrong_issuer.claims_options()
            )
        )


def test_an_issuer_that_names_itself_otherwise_is_refused(
    world: World, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, provider.issuer.replace("127.0.0.1", "localhost"))
    with TestClient(
        create_app(world.engine, settings(), clock=world.clock), follow_redirects=False
    ) as gpv:
        answer = gpv.get("/auth/login")
    assert answer.status_code == 502
    assert "bitte GPV_OIDC_ISSUER auf genau diesen Aussteller setzen" in answer.text


def test_an_unreachable_provider_is_a_german_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _configure(monkeypatch, f"http://127.0.0.1:{port}")
    with TestClient(
        create_app(world.engine, settings(), clock=world.clock), follow_redirects=False
    ) as gpv:
        answer = gpv.get("/auth/login")
    assert answer.status_code == 502
    assert (
        "ist gerade nicht möglich" in answer.text and "mit Benutzername und Passwort" in answer.text
    )


def test_without_configuration_there_is_no_button(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(oidc.ISSUER_ENV, raising=False)
    with TestClient(
        create_app(world.engine, settings(), clock=world.clock), follow_redirects=False
    ) as gpv:
        assert BUTTON not in gpv.get("/anmelden").text
        assert gpv.get("/auth/login").status_code == 404
        assert gpv.get("/auth/callback?code=x&state=y").status_code == 404


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(oidc.ISSUER_ENV, raising=False)
    assert oidc.oidc_settings() is None
    _configure(monkeypatch, "https://sso.kreis-unna.example/realms/gpv/")
    found = oidc.oidc_settings()
    assert found is not None
    assert found.issuer == "https://sso.kreis-unna.example/realms/gpv"
    assert found.user_claim == "preferred_username" and found.redirect_uri is None
    assert CLIENT_SECRET not in repr(found)
    monkeypatch.setenv(oidc.USER_CLAIM_ENV, "email")
    assert oidc.oidc_settings().user_claim == "email"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("issuer", "unset", "message"),
    [
        ("https://sso.example/realms/gpv", oidc.CLIENT_ID_ENV, "GPV_OIDC_CLIENT_ID fehlt"),
        ("https://sso.example/realms/gpv", oidc.CLIENT_SECRET_ENV, "GPV_OIDC_CLIENT_SECRET fehlt"),
        ("http://sso.example/realms/gpv", None, "muss über https erreichbar sein"),
    ],
)
def test_an_incomplete_configuration_is_a_german_error(
    monkeypatch: pytest.MonkeyPatch, issuer: str, unset: str | None, message: str
) -> None:
    from states.errors import ConfigError

    _configure(monkeypatch, issuer)
    if unset:
        monkeypatch.delenv(unset)
    with pytest.raises(ConfigError, match=message) as raised:
        oidc.oidc_settings()
    assert raised.value.exit_code == 2


def test_a_claim_only_in_userinfo_is_fetched_from_there(
    world: World, provider_folder: Path, browser: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that puts ``preferred_username`` only into the userinfo answer (the ID token
    carries ``sub`` alone): gpv asks the userinfo endpoint, with the same ``sub``."""
    for provider in run_provider(provider_folder, userinfo_only=True):
        _configure(monkeypatch, provider.issuer)
        app = create_app(world.engine, settings(), clock=world.clock)
        with TestClient(app, follow_redirects=False) as gpv:
            answer = sign_in(gpv, browser, provider.issuer, "spdi.arzt")
            assert answer.status_code == 303 and answer.headers["location"] == "/aufgaben"
