"""The web front end's settings, from arguments, then ``GPV_WEB_*`` variables, then defaults.

=========================  =====================================================================
``GPV_WEB_HOST``           address to listen on (default ``127.0.0.1``; ``--web-host``)
``GPV_WEB_PORT``           port (default 8400; ``--web-port``)
``GPV_WEB_SECRET``         key that signs the session cookie; without it a random key is kept in
                           ``<data folder>/web-secret`` (mode 0600). Required beyond loopback.
``GPV_WEB_SECURE_COOKIE``  ``1``: the session cookie carries ``Secure`` (behind https)
``GPV_PREFECT_URL``        the Prefect server, for the links to a case's runs (default: the one
                           ``gpv run`` starts)
=========================  =====================================================================
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from states.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8400
HOST_ENV = "GPV_WEB_HOST"
PORT_ENV = "GPV_WEB_PORT"
SECRET_ENV = "GPV_WEB_SECRET"
SECURE_ENV = "GPV_WEB_SECURE_COOKIE"
PREFECT_URL_ENV = "GPV_PREFECT_URL"
SECRET_FILE = "web-secret"
#: A signed-in session lasts a working day.
SESSION_SECONDS = 8 * 60 * 60


@dataclass(frozen=True)
class WebSettings:
    """Where the front end listens, how it signs its cookie, where Prefect's dashboard is."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    secret: str = field(default="", repr=False)
    secure_cookie: bool = False
    prefect_url: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"


def _port(port: int | None) -> int:
    if port is not None:
        value, where = port, "--web-port"
    else:
        raw = os.environ.get(PORT_ENV) or str(DEFAULT_PORT)
        where = f"{PORT_ENV}={raw!r}"
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{where} ist keine Portnummer; bitte eine Zahl angeben.") from None
    if not 1 <= value <= 65535:
        raise ConfigError(f"{where}: ein Port liegt zwischen 1 und 65535.")
    return value


def _stored_secret() -> str:
    """The key in ``<data folder>/web-secret``, created on first use (readable by the owner)."""
    from workflows.settings import data_dir

    path = data_dir() / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


def _prefect_ui_url(given: str | None) -> str | None:
    """The dashboard's address: ``GPV_PREFECT_URL``, else ``given`` (an API URL loses ``/api``)."""
    url = (os.environ.get(PREFECT_URL_ENV) or given or "").strip().rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")]
    return url or None


def web_settings(
    *, host: str | None = None, port: int | None = None, prefect_url: str | None = None
) -> WebSettings:
    """The settings; a host beyond loopback needs ``GPV_WEB_SECRET`` (ConfigError otherwise)."""
    from workflows.orchestration.server import is_loopback

    resolved_host = host or os.environ.get(HOST_ENV) or DEFAULT_HOST
    secret = os.environ.get(SECRET_ENV, "").strip()
    if not secret:
        if not is_loopback(resolved_host):
            raise ConfigError(
                f"Die Weboberfläche soll auf {resolved_host} erreichbar sein; dafür muss "
                f"{SECRET_ENV} gesetzt sein (ein zufälliger Schlüssel von mindestens 32 Zeichen, "
                "gleich auf allen Instanzen), siehe docs/web.md."
            )
        secret = _stored_secret()
    if len(secret) < 32:
        raise ConfigError(f"{SECRET_ENV} ist zu kurz; bitte mindestens 32 zufällige Zeichen.")
    return WebSettings(
        host=resolved_host,
        port=_port(port),
        secret=secret,
        secure_cookie=os.environ.get(SECURE_ENV, "").strip().lower() in {"1", "true", "ja"},
        prefect_url=_prefect_ui_url(prefect_url),
    )
