"""Serving the front end with uvicorn: in the foreground (``gpv web``) or in a thread beside
the Prefect server (``gpv run``).

uvicorn trusts ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only from the addresses in
``FORWARDED_ALLOW_IPS`` (default: loopback), i.e. from a reverse proxy on the same machine
(docs/web.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from workflows.web.config import WebSettings

if TYPE_CHECKING:
    import uvicorn


def build_server(settings: WebSettings, database_url: str | None = None) -> uvicorn.Server:
    """A configured ``uvicorn.Server`` on a migrated store."""
    import uvicorn

    from workflows.store.db import ready_engine
    from workflows.web.app import create_app

    app = create_app(ready_engine(database_url), settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        access_log=False,  # paths name case references; who read what is in case_reads
    )
    return uvicorn.Server(config)


def serve(settings: WebSettings, echo: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C (``gpv web``)."""
    server = build_server(settings)
    echo(f"Weboberfläche: {settings.url} (Beenden mit Strg+C)")
    server.run()


def start_in_thread(settings: WebSettings) -> Callable[[], None]:
    """Start serving in a daemon thread (``gpv run``); returns the function that stops it."""
    server = build_server(settings)
    thread = threading.Thread(target=server.run, name="gpv-web", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop
