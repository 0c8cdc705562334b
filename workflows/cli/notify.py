"""Command group 'notify': the outbox, the dispatcher and the delivery configuration.

``gpv outbox [--status pending|sent|failed] [--json]`` lists the notices (never their content),
``gpv dispatch [--now …] [--json]`` sends what is due once, in this process (the Prefect deployment
``dispatch-notifications`` calls the same code; JSON keys ``sent``, ``retrying``, ``failed``),
``gpv config show [--json]`` prints the effective delivery configuration with secrets masked.
"""

from __future__ import annotations

from typing import Annotated

import typer

from states.errors import InputError
from workflows.cli.options import JsonOpt, engine, parse_when
from workflows.cli.output import emit_json

STATUSES = ("pending", "sent", "failed")
_STATUS_DE = {"pending": "offen", "sent": "gesendet", "failed": "fehlgeschlagen"}

config_app = typer.Typer(help="Versandkonfiguration (gpv.toml) anzeigen.", no_args_is_help=True)


def outbox_command(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Nur Nachrichten mit diesem Status: pending, sent, failed."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Die Benachrichtigungen der Outbox auflisten (ohne Inhalt)."""
    from workflows.store.outbox import outbox_rows

    if status is not None and status not in STATUSES:
        raise InputError(
            f"Unbekannter Status {status!r} für --status; erlaubt sind: {', '.join(STATUSES)}."
        )
    rows = outbox_rows(engine(), status=status)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("Keine Nachrichten.")
        return
    for row in rows:
        channel = {"email": "E-Mail", "letter": "Brief"}.get(row["channel"] or "", "–")
        line = (
            f"{row['id']:>6}  {row['case_id']:<15} {row['event']:<24} "
            f"{row['recipient_party']:<22} {_STATUS_DE.get(row['status'], row['status']):<15} "
            f"{channel:<7} Versuche {row['attempts']}"
        )
        if row["status"] in {"failed", "sent"} and row["last_error"]:
            line += f"  ({row['last_error']})"
        elif row["status"] == "pending" and row["next_attempt_at"] is not None:
            line += f"  nächster Versuch {row['next_attempt_at'].isoformat()}"
        typer.echo(line)


def dispatch_command(
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Zeitpunkt des Laufs (Standard: jetzt), z. B. 2026-03-20T08:00."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fällige Benachrichtigungen einmal versenden (E-Mail oder Brief-Datei)."""
    from workflows.delivery.dispatch import dispatch

    when = parse_when(now, "--now")
    result = dispatch(engine(), now=when)
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"Gesendet: {result['sent']}, erneuter Versuch später: {result['retrying']}, "
        f"fehlgeschlagen: {result['failed']}."
    )


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """Die wirksame Konfiguration anzeigen; Passwörter maskiert."""
    from workflows.delivery.config import load_config, show

    shown = show(load_config())
    if as_json:
        emit_json(shown)
        return
    typer.echo(f"Datei: {shown['source'] or '(keine, Standardwerte)'}")
    if shown["overrides"]:
        typer.echo(f"Aus Umgebungsvariablen: {', '.join(shown['overrides'])}")
    typer.echo(f"Versand: {shown['transport']['kind']}")
    smtp = shown["smtp"]
    typer.echo(
        f"SMTP: {smtp['host']}:{smtp['port']} starttls={smtp['starttls']} tls={smtp['tls']} "
        f"user={smtp['user'] or '–'} password={smtp['password'] or '–'} from={smtp['from']}"
    )
    typer.echo("Parteien:")
    for party, entry in shown["parties"].items():
        note = f"  ({entry['note']})" if entry.get("note") else ""
        typer.echo(f"  {party:<24} {entry['email'] or '–'}{note}")


def register(app: typer.Typer) -> None:
    """Add ``outbox``, ``dispatch`` and ``config show`` to the app."""
    app.command("outbox")(outbox_command)
    app.command("dispatch")(dispatch_command)
    app.add_typer(config_app, name="config")
