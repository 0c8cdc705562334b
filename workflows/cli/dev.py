"""Command group 'dev': tools for developers (seed data for benchmarks).

``gpv dev seed --cases N [--profile realistic|peak] [--now …] [--rng-seed 2026] [--json]`` adds N
synthetic cases to the application database (``$GPV_DATABASE_URL`` or the SQLite file in
``$GPV_DATA_DIR``), as of ``--now`` (default: now). ``--profile peak``: the busiest weeks, about
three open deadlines per case. See :mod:`workflows.seeding.seed` and :mod:`workflows.seeding.plans`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from states.errors import InputError

dev_app = typer.Typer(
    help="Werkzeuge für Entwickler (Testdaten für Lastmessungen).", no_args_is_help=True
)

#: Refuse absurd sizes early: case numbers are six digits per year of receipt.
MAX_CASES = 1_000_000


def _n(number: int) -> str:
    """German digit grouping: 100.000."""
    return f"{number:,}".replace(",", ".")


@dev_app.command("seed")
def seed_command(
    cases: Annotated[int, typer.Option("--cases", help="Wie viele Fälle angelegt werden.")],
    now: Annotated[
        str | None,
        typer.Option("--now", help="Stichtag der Daten, z. B. 2026-06-01T08:00 (Standard: jetzt)."),
    ] = None,
    rng_seed: Annotated[
        int, typer.Option("--rng-seed", help="Startwert des Zufallsgenerators.")
    ] = 2026,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help="Mischung der Verfahrensstände: realistic (alle Stände, ~1 offene Frist je Fall) "
            "oder peak (Hochlast: ~3 offene Fristen je Fall).",
        ),
    ] = "realistic",
    json_out: Annotated[bool, typer.Option("--json", help="JSON ausgeben.")] = False,
) -> None:
    """Synthetische Fälle über alle Städte und Verfahrensstände anlegen (nur Testdaten)."""
    from workflows.cli.options import parse_when
    from workflows.cli.output import emit_json
    from workflows.seeding.seed import seed
    from workflows.store.db import ready_engine

    if cases < 1 or cases > MAX_CASES:
        raise InputError(f"--cases muss zwischen 1 und {_n(MAX_CASES)} liegen, nicht {cases}.")
    when = parse_when(now, "--now")
    result = seed(ready_engine(), cases=cases, now=when, rng_seed=rng_seed, profile=profile)
    if json_out:
        emit_json(result)
        return
    typer.echo(
        f"{_n(result['cases'])} Testfälle angelegt ({result['first_id']} … {result['last_id']}) "
        f"in {result['seconds']} s: {_n(result['open_deadlines'])} offene Fristen "
        f"({_n(result['deadlines'])} insgesamt), {_n(result['audit_entries'])} Verlaufseinträge, "
        f"{_n(result['outbox'])} Benachrichtigungen (als versendet markiert)."
    )
    states = ", ".join(f"{k} {_n(v)}" for k, v in result["by_status"].items())
    typer.echo(f"Verfahrensstände: {states}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(dev_app, name="dev")
