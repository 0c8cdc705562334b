"""Command group 'run': ``gpv run [--demo] [--port 4200] [--host 127.0.0.1] [--web-port 8400]``,
the main job: the Prefect server and dashboard, the served flows and the web front end."""

from __future__ import annotations

from collections.abc import Callable

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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""

    @app.command("run")
    def run_command(
        demo: bool = typer.Option(
            False, "--demo", help="Zuerst einen Demobestand anlegen (rund 40 Fälle, alle Städte)."
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
            run(host=host, port=port, demo=demo, echo=typer.echo, expose=expose)
        finally:
            stop_web()
