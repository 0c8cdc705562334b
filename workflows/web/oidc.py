"""Sign-in through OpenID Connect (Keycloak, the authorities' usual identity provider), beside
the password login.

The identity provider decides *who* signs in; gpv decides *what they may do*: the configured
claim of the validated ID token (default ``preferred_username``) must name an enabled user of
gpv's ``users`` table (:func:`workflows.users.get_user`), whose party and role apply. A Keycloak
group or role grants nothing in gpv (§ 35 Abs. 1 S. 2 SGB I: social data only for the staff gpv
authorises; § 120 Abs. 2 SGB IX: the carrier decides who issues the Bescheid).

The flow is the authorization code flow with PKCE (S256), scope ``openid profile``, through
Authlib's Starlette client (``authlib.integrations.starlette_client``): Authlib keeps state,
nonce and code verifier in the signed session cookie and validates the ID token (signature from
the provider's JWKS, issuer, audience = client id, expiry, nonce); this module also requires
that the discovery document names the configured issuer (OpenID Connect Discovery 1.0 § 4.3).

=========================  =====================================================================
``GPV_OIDC_ISSUER``        the issuer, e.g. ``https://sso.example/realms/gpv`` (discovery at
                           ``<issuer>/.well-known/openid-configuration``); unset: no OIDC login
``GPV_OIDC_CLIENT_ID``     the confidential client's id (e.g. ``gpv-web``)
``GPV_OIDC_CLIENT_SECRET`` its secret
``GPV_OIDC_USER_CLAIM``    the claim that names the gpv user (default ``preferred_username``)
``GPV_OIDC_REDIRECT_URI``  optional: the callback URL registered at the provider, when gpv cannot
                           derive it from the request (default ``<gpv URL>/auth/callback``)
=========================  =====================================================================

The session cookie is ``SameSite=Strict``: a browser does not send it with the provider's
redirect back to gpv when the provider is another site. The callback then answers with a page
that repeats the same request from gpv's own page (``<meta http-equiv="refresh">``, no script),
which the browser sends with the cookie.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from states.errors import ConfigError
from workflows.web.context import USER_KEY, environment, render, web
from workflows.web.pages_auth import HOME, safe_next
from workflows.web.security import csrf_token

ISSUER_ENV = "GPV_OIDC_ISSUER"
CLIENT_ID_ENV = "GPV_OIDC_CLIENT_ID"
CLIENT_SECRET_ENV = "GPV_OIDC_CLIENT_SECRET"
USER_CLAIM_ENV = "GPV_OIDC_USER_CLAIM"
REDIRECT_URI_ENV = "GPV_OIDC_REDIRECT_URI"
DEFAULT_USER_CLAIM = "preferred_username"
#: The name under which Authlib keeps the flow's state in the session.
CLIENT_NAME = "keycloak"
NEXT_KEY = "oidc_next"
#: Marks the callback repeated from gpv's own page (the session cookie is then sent).
SAME_SITE_PARAM = "gpv_same_site"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}

router = APIRouter()


@dataclass(frozen=True)
class OidcSettings:
    """Where the provider is, who gpv is there, and which claim names the gpv user."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    user_claim: str = DEFAULT_USER_CLAIM
    redirect_uri: str | None = None


def oidc_settings() -> OidcSettings | None:
    """The settings from ``GPV_OIDC_*``; None when ``GPV_OIDC_ISSUER`` is not set.

    ConfigError (exit 2) when the issuer is set but the client is incomplete, or the issuer is
    not https on a host beyond loopback."""
    issuer = os.environ.get(ISSUER_ENV, "").strip().rstrip("/")
    if not issuer:
        return None
    client_id = os.environ.get(CLIENT_ID_ENV, "").strip()
    secret = os.environ.get(CLIENT_SECRET_ENV, "").strip()
    missing = [
        name
        for name, value in ((CLIENT_ID_ENV, client_id), (CLIENT_SECRET_ENV, secret))
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{ISSUER_ENV} ist gesetzt, aber {' und '.join(missing)} "
            f"{'fehlen' if len(missing) > 1 else 'fehlt'}; bitte die Client-ID "
            "und das Client-Secret des vertraulichen Clients angeben (docs/authentication.md)."
        )
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    ):
        raise ConfigError(
            f"{ISSUER_ENV}={issuer!r}: der Anmeldedienst muss über https erreichbar sein "
            "(http nur auf 127.0.0.1/localhost zum Testen)."
        )
    claim = os.environ.get(USER_CLAIM_ENV, "").strip() or DEFAULT_USER_CLAIM
    redirect = os.environ.get(REDIRECT_URI_ENV, "").strip() or None
    return OidcSettings(issuer, client_id, secret, claim, redirect)


class OidcLogin:
    """The registered Authlib client for one provider."""

    def __init__(self, settings: OidcSettings) -> None:
        from authlib.integrations.starlette_client import OAuth

        self.settings = settings
        oauth = OAuth()
        self.client: Any = oauth.register(
            CLIENT_NAME,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
        )

    def claims_options(self) -> dict[str, Any]:
        """What the ID token must carry: this issuer, and this client among its audience
        (OpenID Connect Core § 3.1.3.7; Authlib checks ``aud`` only when told)."""
        return {
            "iss": {"essential": True, "values": [self.settings.issuer]},
            "aud": {"essential": True, "values": [self.settings.client_id]},
        }

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document; ProviderError unless it names the issuer."""
        found: dict[str, Any] = await self.client.load_server_metadata()
        if str(found.get("issuer", "")).rstrip("/") != self.settings.issuer:
            raise ProviderError(
                f"Der Anmeldedienst unter {self.settings.issuer} nennt sich "
                f"{found.get('issuer')!r}; bitte {ISSUER_ENV} auf genau diesen Aussteller setzen."
            )
        return found


class ProviderError(Exception):
    """The provider cannot be used (unreachable, wrong issuer, a token that does not validate)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def install(app: FastAPI, settings: OidcSettings | None = None) -> None:
    """Add the OIDC routes to ``app`` when configured (``settings`` or ``GPV_OIDC_*``).

    ``app.state.oidc`` is the :class:`OidcLogin` or None; the login page shows the button then."""
    resolved = settings if settings is not None else oidc_settings()
    app.state.oidc = OidcLogin(resolved) if resolved is not None else None
    if resolved is not None:
        app.include_router(router)


def _login(request: Request) -> OidcLogin:
    login: OidcLogin | None = getattr(request.app.state, "oidc", None)
    if login is None:
        raise HTTPException(404)
    return login


def _refused(request: Request, status: int, message: str) -> Response:
    return render(request, "login.html.j2", status, next="", name="", error=message)


def _provider_errors() -> tuple[type[Exception], ...]:
    import httpx
    from authlib.common.errors import AuthlibBaseError
    from joserfc.errors import JoseError

    return (AuthlibBaseError, JoseError, httpx.HTTPError, ValueError, KeyError)


def _unavailable(issuer: str, exc: Exception) -> str:
    return (
        f"Die Anmeldung über {issuer} ist gerade nicht möglich ({type(exc).__name__}: {exc}). "
        "Bitte später erneut versuchen oder mit Benutzername und Passwort anmelden."
    )


@router.get("/auth/login")
async def oidc_start(request: Request, next: str | None = None) -> Response:
    """Send the browser to the provider (state, nonce and PKCE verifier kept in the session)."""
    login = _login(request)
    try:
        await login.metadata()
        redirect_uri = login.settings.redirect_uri or str(request.url_for("oidc_callback"))
        response: Response = await login.client.authorize_redirect(request, redirect_uri)
    except ProviderError as exc:
        return _refused(request, 502, exc.message)
    except _provider_errors() as exc:
        return _refused(request, 502, _unavailable(login.settings.issuer, exc))
    target = safe_next(next)
    if target:
        request.session[NEXT_KEY] = target
    else:
        request.session.pop(NEXT_KEY, None)
    return response


def _has_flow(request: Request) -> bool:
    prefix = f"_state_{CLIENT_NAME}_"
    return any(key.startswith(prefix) for key in request.session)


@router.get("/auth/callback", name="oidc_callback")
async def oidc_callback(request: Request) -> Response:
    """The provider's answer: validate, map the claim to a gpv user, sign in."""
    login = _login(request)
    if not _has_flow(request) and SAME_SITE_PARAM not in request.query_params:
        # Arrived from another site without the Strict cookie: repeat from gpv's own page.
        # The session is left alone: a new cookie now would replace the one holding the flow.
        again = request.url.include_query_params(**{SAME_SITE_PARAM: "1"})
        page = environment().get_template("oidc_continue.html.j2")
        return HTMLResponse(page.render(again=f"{again.path}?{again.query}"))
    try:
        claims = await _validated_claims(login, request)
    except ProviderError as exc:
        return _refused(request, 401, exc.message)
    except _provider_errors() as exc:
        return _refused(
            request,
            401,
            "Die Antwort des Anmeldedienstes ließ sich nicht bestätigen "
            f"({type(exc).__name__}: {exc}). Bitte die Anmeldung neu beginnen.",
        )
    return await _sign_in(request, login, claims)


async def _validated_claims(login: OidcLogin, request: Request) -> dict[str, Any]:
    """The ID token's claims (Authlib validates it), completed from the userinfo endpoint when
    the user claim is only there (same ``sub`` required, OpenID Connect Core § 5.3.2)."""
    await login.metadata()
    token = await login.client.authorize_access_token(
        request, claims_options=login.claims_options()
    )
    claims = token.get("userinfo")
    if not claims:
        raise ProviderError(
            "Der Anmeldedienst hat kein ID-Token geschickt; ohne es ist die Anmeldung nicht "
            "bestätigt. Bitte im Client den Scope „openid“ erlauben."
        )
    found = dict(claims)
    if login.settings.user_claim not in found:
        info = await login.client.userinfo(token=token)
        if info.get("sub") != found.get("sub"):
            raise ProviderError(
                "Die Benutzerinformation gehört nicht zum ID-Token („sub“ weicht ab)."
            )
        found = {**dict(info), **found}
    return found


async def _sign_in(request: Request, login: OidcLogin, claims: dict[str, Any]) -> Response:
    from workflows.users import get_user

    claim = login.settings.user_claim
    name = claims.get(claim)
    if not isinstance(name, str) or not name.strip():
        return _refused(
            request,
            403,
            f"Das ID-Token enthält den Anspruch „{claim}“ nicht; bitte im Anmeldedienst einen "
            f"Mapper für „{claim}“ einrichten oder {USER_CLAIM_ENV} anpassen.",
        )
    user = await run_in_threadpool(get_user, web(request).engine, name.strip())
    if user is None or not user.enabled:
        request.session.clear()
        return _refused(
            request,
            403,
            f"Die Anmeldung als „{name}“ ist bestätigt, aber „{name}“ ist in gpv kein aktiver "
            "Benutzer (unbekannt oder gesperrt). Bitte die Leitung bitten, den Benutzer mit "
            "„gpv user add NAME --party PARTEI --role ROLLE“ anzulegen.",
        )
    target = request.session.get(NEXT_KEY)
    request.session.clear()  # a fresh session: nothing of before the login survives it
    request.session[USER_KEY] = {"name": user.name, "party": user.party, "role": user.role}
    csrf_token(request)
    return RedirectResponse(target or HOME.get(user.role, "/"), status_code=303)
