"""Command group 'run': ``gpv run [--demo] [--port 4200] [--host 127.0.0.1]``, the main job."""

from __future__ import annotations

import typer


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
    ) -> None:
        """Prefect-Server und Dashboard starten und die Abläufe bedienen, bis Strg+C."""
        # Imported here: `import prefect` is slow and other commands do not need it.
        from workflows.orchestration.serve import run

        run(host=host, port=port, demo=demo, echo=typer.echo, expose=expose)
