"""The front end's protections: who is signed in, the CSRF token, the login rate limit.

- The session is Starlette's signed cookie (``SessionMiddleware``, HttpOnly, SameSite=Strict,
  Secure behind https): it holds the user's name, party and role and the CSRF token, nothing
  from a case.
- CSRF: one random token per session, in the session and in a hidden field of every form; a POST
  whose field does not match is refused with 403 before anything is read or written.
- Login rate limit: :data:`MAX_FAILURES` failed logins for one name from one address within
  :data:`WINDOW` refuse further attempts for that name and address with 429 until the oldest
  failure leaves the window (also with the right password). Kept in memory: a restart forgets.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request

CSRF_FIELD = "csrf_token"
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
RATE_LIMIT_MESSAGE = (
    "Zu viele fehlgeschlagene Anmeldeversuche für diesen Namen. Bitte in 15 Minuten erneut "
    "versuchen oder die Leitung bitten, das Passwort neu zu setzen."
)


class LoginRequired(Exception):
    """No one is signed in: the page answers with the login form, then comes back."""


class Forbidden(Exception):
    """Signed in, but this page is not for the user's role (403)."""


class CsrfError(Exception):
    """A POST without the session's CSRF token (403)."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, form: Any) -> None:
    """Raise :class:`CsrfError` unless the form's token equals the session's."""
    expected = request.session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD) if form is not None else None
    if not isinstance(expected, str) or not isinstance(given, str):
        raise CsrfError()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfError()


def client_address(request: Request) -> str:
    """The client's address (behind a proxy: as uvicorn's ``--forwarded-allow-ips`` resolves it)."""
    return request.client.host if request.client is not None else "unbekannt"


class LoginLimiter:
    """Failed logins per (name, address) within a sliding window; thread-safe."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    @staticmethod
    def _key(name: str, address: str) -> tuple[str, str]:
        return (name.strip().casefold(), address)

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def is_blocked(self, name: str, address: str, now: datetime) -> bool:
        with self._lock:
            return len(self._recent(self._key(name, address), now)) >= self.max_failures

    def record_failure(self, name: str, address: str, now: datetime) -> None:
        with self._lock:
            self._recent(self._key(name, address), now).append(now)

    def reset(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._key(name, address), None)
