"""What every page shares: the application's context, the signed-in user, rendering.

The user is read from the session (name, party, role, set at login) and checked against the user
store on every request (:func:`workflows.users.get_user` when the store offers it), so a disabled
user is out at once, not only when the cookie expires.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from states.agreement import Agreement, load_agreement
from workflows.web import labels
from workflows.web.config import WebSettings
from workflows.web.security import CSRF_FIELD, Forbidden, LoginLimiter, LoginRequired, csrf_token

if TYPE_CHECKING:
    from workflows.users import User

TEMPLATE_DIR = Path(__file__).with_name("templates")
USER_KEY = "user"
FLASH_KEY = "flash"


@dataclass
class WebContext:
    """The application's state: the store, the settings, the login limiter and the clock."""

    engine: Engine
    settings: WebSettings
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def agreement(self) -> Agreement:
        return load_agreement()


def web(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The front end's Jinja2 environment (HTML only: autoescaping on, undefined names fail)."""
    from notifications.rendering import de_date, de_date_short, de_datetime

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(de_date=de_date, de_date_short=de_date_short, de_datetime=de_datetime)
    env.globals.update(
        state_label=labels.state_label,
        trigger_label=labels.trigger_label,
        trigger_norm=labels.trigger_norm,
        step_state=labels.step_state,
        process_title=labels.process_title,
        deadline_status=labels.deadline_status,
        role_label=labels.role_label,
        csrf_field=CSRF_FIELD,
    )
    return env


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """The page ``template`` with the user, the CSRF token, a one-time notice and ``values``."""
    agreement = web(request).agreement
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            user=request.session.get(USER_KEY),
            csrf_token=csrf_token(request),
            flash=request.session.pop(FLASH_KEY, None),
            rule_title=lambda rule: labels.rule_title(agreement, rule),
            party_name=lambda party: labels.party_name(agreement, party),
            **values,
        )
    )
    return HTMLResponse(page, status_code=status_code)


def flash(request: Request, message: str) -> None:
    """A notice for the next page (never free text a user typed: the cookie is only signed)."""
    request.session[FLASH_KEY] = message


def _lookup(engine: Engine, name: str) -> User | None:
    from workflows import users

    get_user = getattr(users, "get_user", None)
    if get_user is None:
        return None
    found: User | None = get_user(engine, name)
    return found


def current_user(request: Request, *roles: str) -> User:
    """The signed-in user (LoginRequired otherwise); Forbidden unless the role is in ``roles``
    (any role when none is given)."""
    from workflows.users import User

    stored = request.session.get(USER_KEY)
    if not isinstance(stored, dict) or not stored.get("name"):
        raise LoginRequired()
    user = _lookup(web(request).engine, stored["name"])
    if user is None:
        user = User(name=stored["name"], party=stored["party"], role=stored["role"], enabled=True)
    if not user.enabled:
        request.session.clear()
        raise LoginRequired()
    if roles and user.role not in roles:
        raise Forbidden()
    return user


def visible_cases(request: Request, user: User) -> Set[str] | None:
    from workflows.users import visible_case_ids

    return visible_case_ids(web(request).engine, user)


def may_see(request: Request, user: User, case_id: str) -> bool:
    visible = visible_cases(request, user)
    return visible is None or case_id in visible
