"""Command group 'run': ``gpv run [--demo] [--port 4200] [--host 127.0.0.1] [--web-port 8400]``,
the main job: the Prefect server and dashboard, the served flows and the web front end."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from workflows.cli.web import web_options_help


def check_delivery() -> None:
    """Before the server starts: refuse (exit 2) while an alert recipient has no address, warn
    (stderr) for any other party without one (:func:`workflows.delivery.reachability.
    startup_check`). The embedded default, the file transport, reaches every party."""
    from states.agreement import load_agreement
    from workflows.delivery.config import load_config
    from workflows.delivery.reachability import startup_check

    warning = startup_check(load_config(), load_agreement(), refuse_alerts=True)
    if warning:
        typer.echo(warning, err=True)


def start_web(
    web_host: str | None, web_port: int | None, *, host: str | None, port: int | None, expose: bool
) -> Callable[[], None]:
    """The web front end in a thread beside the Prefect server (docs/web.md); its links to the
    dashboard point at the server ``gpv run`` starts unless ``GPV_PREFECT_URL`` says otherwise."""
    from workflows.orchestration.server import server_config
    from workflows.web.config import web_settings
    from workflows.web.server import start_in_thread

    prefect = server_config(host=host, port=port, expose=expose).url
    settings = web_settings(host=web_host, port=web_port, prefect_url=prefect)
    stop = start_in_thread(settings)
    typer.echo(f"Weboberfläche: {settings.url}")
    return stop


NOT_A_TERMINAL = (
    "Demo-Benutzer: keine angelegt, weil die Ausgabe kein Terminal ist (ihre Einmalpasswörter "
    "werden nur auf dem Terminal gezeigt, nie in eine Datei geschrieben). Einen Benutzer "
    "einrichten: gpv user add NAME --party lwl --role fallmanagement --password-stdin"
)


def is_terminal() -> bool:
    """Whether standard output is a terminal (the one-time passwords are shown only there)."""
    return sys.stdout.isatty()


def _demo_cases(engine: Any, echo: Callable[[str], None]) -> None:
    from datetime import UTC, datetime

    from states.errors import RefusedError
    from workflows.seeding.demo import seed_demo

    try:
        created = seed_demo(engine, datetime.now(UTC))
    except RefusedError:  # users set up before any case: the demo's steps have no user of theirs
        echo("Demo: es gibt schon Benutzer, aber keine Fälle; Demofälle werden nicht angelegt.")
        return
    echo(
        f"Demo: {created} Fälle angelegt."
        if created
        else "Demo: es gibt schon Fälle, nichts angelegt."
    )


def seed_demo_store(echo: Callable[[str], None] = typer.echo) -> None:
    """``--demo``: the demo's cases, then its users (one per kind) when the store has none, each
    with a random one-time password shown here once: on the terminal only, never stored in plain
    text (the store keeps the Argon2 hash), never logged."""
    from datetime import UTC, datetime

    from states.agreement import load_agreement
    from states.permissions import ROLE_LABELS
    from workflows.seeding.demo import seed_demo_users
    from workflows.store.db import ready_engine
    from workflows.users import list_users

    engine = ready_engine()
    _demo_cases(engine, echo)
    if list_users(engine):
        echo("Demo-Benutzer: es gibt schon Benutzer (gpv user list), keine angelegt.")
        return
    if not is_terminal():
        echo(NOT_A_TERMINAL)
        return
    agreement = load_agreement()
    echo("Demo-Benutzer für die Weboberfläche, Passwörter nur jetzt angezeigt (bitte notieren):")
    for login in seed_demo_users(engine, datetime.now(UTC)):
        who = f"{ROLE_LABELS[login.role]}, {agreement.party(login.party).name}"
        echo(f"  {login.name:<16} {login.password}   ({who})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""

    @app.command("run")
    def run_command(
        demo: bool = typer.Option(
            False,
            "--demo",
            help="Zuerst einen Demobestand anlegen (rund 40 Fälle, alle Städte) und, solange es "
            "keine Benutzer gibt, vier Demo-Benutzer mit Einmalpasswörtern (nur auf dem Terminal).",
        ),
        port: int | None = typer.Option(
            None, "--port", help="Port des Prefect-Servers (Standard 4200 oder GPV_PREFECT_PORT)."
        ),
        host: str | None = typer.Option(
            None, "--host", help="Adresse des Prefect-Servers (Standard 127.0.0.1)."
        ),
        expose: bool = typer.Option(
            False,
            "--expose",
            help="Eine Adresse außerhalb von 127.0.0.1 erlauben; verlangt "
            "GPV_PREFECT_AUTH_STRING=benutzer:passwort (Anmeldung an der Prefect-API).",
        ),
        web_host: str | None = typer.Option(None, "--web-host", help=web_options_help()[0]),
        web_port: int | None = typer.Option(None, "--web-port", help=web_options_help()[1]),
    ) -> None:
        """Prefect-Server, Dashboard und Weboberfläche starten und die Abläufe bedienen, bis
        Strg+C."""
        check_delivery()
        stop_web = start_web(web_host, web_port, host=host, port=port, expose=expose)
        # Imported here: `import prefect` is slow and other commands do not need it.
        from workflows.orchestration.serve import run

        try:
            if demo:
                seed_demo_store()
            run(host=host, port=port, demo=False, echo=typer.echo, expose=expose)
        finally:
            stop_web()
