"""Command group 'run': ``gpv run [--demo] [--port 4200] [--host 127.0.0.1]``, the main job."""

from __future__ import annotations

import typer


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
        check_delivery()
        # Imported here: `import prefect` is slow and other commands do not need it.
        from workflows.orchestration.serve import run

        run(host=host, port=port, demo=demo, echo=typer.echo, expose=expose)
