"""The application factory: routes, session cookie, security headers, error pages.

``create_app(engine, settings)`` builds one FastAPI application around a migrated store. Every
page is server-rendered HTML; the only other resources are the stylesheet under ``/static``.
Errors become German pages: no one signed in → the login form (then back to the page asked
for), a role's page not for this user → 403, a POST without the CSRF token → 403, an unknown
case → 404; a database that cannot be used → 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from states.errors import StoreUnavailableError
from workflows.web import oidc, pages_auth, pages_cases, pages_overview, pages_tasks
from workflows.web.config import SESSION_SECONDS, WebSettings
from workflows.web.context import WebContext, render
from workflows.web.security import CsrfError, Forbidden, LoginRequired

STATIC_DIR = Path(__file__).with_name("static")
SESSION_COOKIE = "gpv_session"
#: Sent with every answer: no framing, no foreign sources, no sniffing, no caching of case data.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/anmelden?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return render(request, "forbidden.html.j2", 403)


async def _csrf(request: Request, exc: Exception) -> Response:
    return render(request, "csrf.html.j2", 403)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    message = exc.message if isinstance(exc, StoreUnavailableError) else ""
    return render(request, "error.html.j2", 503, message=message)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return render(request, "not_found.html.j2", 404)
    return render(request, "error.html.j2", status, message="")


def create_app(
    engine: Engine, settings: WebSettings, *, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """The front end on ``engine`` (migrated); ``clock`` replaces ``datetime.now(UTC)`` in tests."""
    app = FastAPI(title="gpv", docs_url=None, redoc_url=None, openapi_url=None)
    context = WebContext(engine=engine, settings=settings)
    if clock is not None:
        context.clock = clock
    app.state.web = context
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="strict",
        https_only=settings.secure_cookie,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_exception_handler(StoreUnavailableError, _store_unavailable)
    app.add_exception_handler(HTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (pages_auth, pages_tasks, pages_cases, pages_overview):
        app.include_router(module.router)
    oidc.install(app)  # the OpenID Connect login when GPV_OIDC_ISSUER is set
    return app
