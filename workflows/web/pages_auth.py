"""Login, logout and the start page (which sends each role to its own page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from workflows.web.context import USER_KEY, current_user, flash, render, web
from workflows.web.security import (
    RATE_LIMIT_MESSAGE,
    check_csrf,
    client_address,
    csrf_token,
)

router = APIRouter()

#: Where each role starts.
HOME = {"member": "/aufgaben", "case_manager": "/faelle", "supervisor": "/aufsicht"}


def safe_next(target: object) -> str | None:
    """A local path to return to after login, or None (no open redirect to another site)."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or target.startswith("/anmelden"):
        return None
    return target


@router.get("/")
def start(request: Request) -> Response:
    user = current_user(request)
    return RedirectResponse(HOME.get(user.role, "/anmelden"), status_code=303)


@router.get("/anmelden")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html.j2", next=safe_next(next) or "", name="", error=None)


@router.post("/anmelden")
async def login(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(form.get("next"))
    context = web(request)
    address, now = client_address(request), context.clock()
    if context.limiter.is_blocked(name, address, now):
        return render(
            request, "login.html.j2", 429, next=target or "", name=name, error=RATE_LIMIT_MESSAGE
        )
    from workflows.users import authenticate

    user = await run_in_threadpool(authenticate, context.engine, name, password)
    if user is None or not user.enabled:
        context.limiter.record_failure(name, address, now)
        return render(
            request,
            "login.html.j2",
            401,
            next=target or "",
            name=name,
            error="Name oder Passwort stimmt nicht, oder das Konto ist gesperrt.",
        )
    context.limiter.reset(name, address)
    request.session.clear()  # a fresh session: no token of before the login survives it
    request.session[USER_KEY] = {"name": user.name, "party": user.party, "role": user.role}
    csrf_token(request)
    return RedirectResponse(target or HOME.get(user.role, "/"), status_code=303)


@router.post("/abmelden")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    request.session.clear()
    flash(request, "Sie sind abgemeldet.")
    return RedirectResponse("/anmelden", status_code=303)
