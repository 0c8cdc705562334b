"""Command group 'web': ``gpv web [--web-host 127.0.0.1] [--web-port 8400]``, the front end alone.

``gpv run`` serves the same pages beside the Prefect dashboard; see ``docs/web.md``.
"""

from __future__ import annotations

import typer


def web_options_help() -> tuple[str, str]:
    return (
        "Adresse der Weboberfläche (Standard 127.0.0.1 oder GPV_WEB_HOST; außerhalb von "
        "127.0.0.1 nur mit GPV_WEB_SECRET, siehe docs/web.md).",
        "Port der Weboberfläche (Standard 8400 oder GPV_WEB_PORT).",
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    host_help, port_help = web_options_help()

    @app.command("web")
    def web_command(
        host: str | None = typer.Option(None, "--web-host", help=host_help),
        port: int | None = typer.Option(None, "--web-port", help=port_help),
    ) -> None:
        """Die Weboberfläche (Aufgaben, Fälle, Aufsicht) allein starten, bis Strg+C."""
        from workflows.web.config import web_settings
        from workflows.web.server import serve

        serve(web_settings(host=host, port=port), echo=typer.echo)
