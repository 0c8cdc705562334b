"""A real Prefect server (API and dashboard) as a child process of gpv.

``PrefectServer(config).start()`` runs ``python -m prefect server start --host H --port P`` with its
own environment, waits until ``GET /api/health`` answers, and ``stop()`` ends it again: SIGTERM to
its process group, SIGKILL after a grace period, so no orphan survives. A server that already
answers at the configured URL is reused and never stopped by us.

The server's settings (environment variables of the child; the defaults keep Prefect away from a
user's own ``~/.prefect`` and from any telemetry):

=====================================  =========================================================
``PREFECT_HOME``                       ``<data dir>/prefect`` (``GPV_DATA_DIR``, default ``.gpv``)
``PREFECT_SERVER_DATABASE_CONNECTION_  ``sqlite+aiosqlite:///<PREFECT_HOME>/prefect.db``; set
URL``                                  ``GPV_PREFECT_DATABASE_URL`` for another database, e.g.
                                       ``postgresql+asyncpg://user@host:5432/prefect``
``PREFECT_SERVER_API_HOST``/``PORT``   ``GPV_PREFECT_HOST`` (``127.0.0.1``), ``GPV_PREFECT_PORT``
                                       (``4200``), or ``gpv run --host/--port``
``PREFECT_API_URL``                    ``http://<host>:<port>/api`` (the server's own address)
``PREFECT_SERVER_ANALYTICS_ENABLED``   ``false``
``DO_NOT_TRACK``                       ``1``
=====================================  =========================================================

Nothing here imports Prefect: the server runs in the child, we only speak HTTP to it (stdlib).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Self

from states.errors import GpvError
from workflows.orchestration._process import signal_group, tail

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0


class PrefectServerError(GpvError):
    """The Prefect server could not be started or reached; the message says why and what to do.
    Exit code 1 (the error tree of :mod:`states.errors`)."""


#: Where the launcher records the server it started or reuses, in its Prefect home
#: (``<data>/prefect/server.json``), so that ``gpv fire`` in another terminal finds it (issue 12).
RECORD_FILE = "server.json"


@dataclass(frozen=True)
class ServerRecord:
    """A server a ``gpv run`` recorded: its API URL and the launcher's process id."""

    api_url: str
    pid: int
    path: Path

    @property
    def url(self) -> str:
        return self.api_url.removesuffix("/api")


def write_record(home: Path, api_url: str, pid: int) -> Path:
    """Record ``api_url`` as served by process ``pid`` (atomically: write, then rename)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / RECORD_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"url": api_url, "pid": pid}), encoding="utf-8")
    temporary.replace(path)
    return path


def read_record(home: Path) -> ServerRecord | None:
    """The recorded server, or None when there is no record or it cannot be read."""
    path = home / RECORD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerRecord(str(data["url"]).rstrip("/"), int(data["pid"]), path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_record(home: Path, pid: int | None = None) -> None:
    """Remove the record (only the one ``pid`` wrote, when given)."""
    record = read_record(home)
    if record is not None and (pid is None or record.pid == pid):
        record.path.unlink(missing_ok=True)


def is_running(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0 asks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    except (OverflowError, ValueError):
        return False
    return True


def _default_data_dir() -> Path:
    from workflows.settings import data_dir

    return Path(data_dir())


@dataclass(frozen=True)
class ServerConfig:
    """Where the server listens and where it keeps its data. Build it with :func:`server_config`."""

    home: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    #: ``user:password`` of Prefect's API authentication; required beyond loopback.
    auth_string: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'prefect.db'}"

    def client_environment(self) -> dict[str, str]:
        """Variables a Prefect *client* (the launcher, its runner, ``gpv fire``) needs."""
        env = {
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        if self.auth_string:
            env["PREFECT_API_AUTH_STRING"] = self.auth_string
        return env

    def server_environment(self) -> dict[str, str]:
        """The child's environment: ours, minus stray Prefect settings, plus the server's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(self.client_environment())
        env.update(
            {
                "PREFECT_SERVER_API_HOST": self.host,
                "PREFECT_SERVER_API_PORT": str(self.port),
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": self.effective_database_url,
                "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
                # The UI calls the API at this address from the browser.
                "PREFECT_SERVER_UI_API_URL": self.api_url,
            }
        )
        if self.auth_string:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        env.update(self.extra_env)
        return env


def server_config(
    *,
    data_dir: Path | str | None = None,
    host: str | None = None,
    port: int | None = None,
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    expose: bool = False,
) -> ServerConfig:
    """The configuration from arguments, then ``GPV_PREFECT_*`` variables, then defaults.

    The dashboard has no login of its own: an address beyond loopback is refused unless
    ``expose`` is given, and then needs ``GPV_PREFECT_AUTH_STRING`` (``user:password``), which
    turns on Prefect's API authentication for the server and its clients (issue 13, item 7)."""
    base = Path(data_dir) if data_dir is not None else _default_data_dir()
    env_port = os.environ.get("GPV_PREFECT_PORT")
    try:
        resolved_port = port if port is not None else int(env_port or DEFAULT_PORT)
    except ValueError:
        from states.errors import ConfigError

        raise ConfigError(
            f"GPV_PREFECT_PORT={env_port!r} ist keine Portnummer; bitte eine Zahl angeben."
        ) from None
    resolved_host = host or os.environ.get("GPV_PREFECT_HOST") or DEFAULT_HOST
    return ServerConfig(
        home=(base / "prefect").resolve(),
        host=resolved_host,
        port=resolved_port,
        database_url=database_url or os.environ.get("GPV_PREFECT_DATABASE_URL") or None,
        extra_env=dict(extra_env or {}),
        auth_string=_exposure(resolved_host, expose),
    )


AUTH_ENV = "GPV_PREFECT_AUTH_STRING"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _exposure(host: str, expose: bool) -> str | None:
    """The API auth string for ``host``: None on loopback; beyond it only with ``expose`` and
    ``GPV_PREFECT_AUTH_STRING``, else InputError/ConfigError with the reason."""
    from states.errors import ConfigError, InputError

    auth = os.environ.get(AUTH_ENV, "").strip() or None
    if is_loopback(host):
        return auth
    if not expose:
        raise InputError(
            f"--host {host} macht das Prefect-Dashboard über das Netz erreichbar, und es hat keine "
            "eigene Anmeldung: Falldaten-Verläufe wären für jeden im Netz sichtbar. Bitte auf "
            "127.0.0.1 bleiben (hinter einem Reverse Proxy mit Anmeldung) oder ausdrücklich "
            f"--expose angeben und {AUTH_ENV}=benutzer:passwort setzen."
        )
    if auth is None or ":" not in auth:
        raise ConfigError(
            f"--expose braucht {AUTH_ENV}=benutzer:passwort: damit verlangt der Prefect-Server "
            "eine Anmeldung (PREFECT_SERVER_API_AUTH_STRING)."
        )
    return auth


def dashboard_url() -> str:
    """The Prefect dashboard's address: ``PREFECT_UI_URL``, else the API URL a served run
    inherits from ``gpv run`` (without ``/api``), else the configured server address."""
    ui = os.environ.get("PREFECT_UI_URL", "").strip()
    if ui:
        return ui.rstrip("/")
    api = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    if api:
        return api.removesuffix("/api")
    return server_config().url


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when ``GET <api_url>/health`` answers 200 with ``true``."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as resp:
            return resp.status == 200 and json.loads(resp.read() or b"null") is True
    except (OSError, ValueError, urllib.error.URLError):
        return False


def is_port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: connections in TIME_WAIT do not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on right now (for tests and throw-away servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PrefectServer:
    """One Prefect server: started by us (and then stopped by us) or reused.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``stop`` is idempotent and does
    nothing for a reused server.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.reused = False
        self._log: IO[bytes] | None = None

    @property
    def api_url(self) -> str:
        return self.config.api_url

    @property
    def log_path(self) -> Path:
        return self.config.home / "server.log"

    def start(self, timeout: float = START_TIMEOUT_S) -> Self:
        """Start the server (or reuse one answering at the URL) and wait until it is healthy."""
        cfg = self.config
        began = time.monotonic()
        if is_healthy(cfg.api_url):
            self.reused = True
            write_record(cfg.home, cfg.api_url, os.getpid())
            return self
        if not is_port_free(cfg.host, cfg.port):
            raise PrefectServerError(
                f"Port {cfg.port} auf {cfg.host} ist belegt, aber dort antwortet kein "
                f"Prefect-Server ({cfg.api_url}/health). Bitte einen anderen Port wählen "
                "(gpv run --port N oder GPV_PREFECT_PORT)."
            )
        cfg.home.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        command = [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            cfg.host,
            "--port",
            str(cfg.port),
        ]
        self.process = subprocess.Popen(
            command,
            env=cfg.server_environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group, so stop() reaches uvicorn and anything it spawns.
            start_new_session=True,
        )
        try:
            self._wait_healthy(began + timeout, timeout)
        except BaseException:
            self.stop()
            raise
        write_record(cfg.home, cfg.api_url, os.getpid())
        return self

    def _wait_healthy(self, deadline: float, timeout: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectServerError(
                    f"Der Prefect-Server hat sich beim Start beendet (Exit-Code "
                    f"{self.process.returncode}). Letzte Zeilen aus {self.log_path}:\n"
                    f"{tail(self.log_path)}"
                )
            if is_healthy(self.config.api_url, timeout=1.0):
                return
            time.sleep(0.25)
        raise PrefectServerError(
            f"Der Prefect-Server antwortet nach {timeout:.0f} s nicht unter "
            f"{self.config.api_url}/health. Protokoll: {self.log_path}\n{tail(self.log_path)}"
        )

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``grace`` seconds; the record of
        :meth:`start` goes first, so no ``gpv fire`` picks a server on its way down."""
        remove_record(self.config.home, os.getpid())
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    signal_group(process.pid, signal.SIGKILL)
                    process.wait()
            # Anything left in the group (a worker uvicorn forked) goes too.
            signal_group(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
