"""Command group 'notify': the outbox, the dispatcher and the delivery configuration.

``gpv outbox [--status pending|sent|failed] [--json]`` lists the notices (never their content),
``gpv dispatch [--now …] [--json]`` sends what is due once, in this process (the Prefect deployment
``dispatch-notifications`` calls the same code; JSON keys ``sent``, ``retrying``, ``failed``),
``gpv config show [--json]`` prints the effective delivery configuration with secrets masked,
``gpv config check [--json]`` whether every party of the agreement can be reached (exit 2 naming
the parties without an address and the key to set).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from states.errors import InputError
from workflows.cli.options import MAX_ID, JsonOpt, engine, parse_when
from workflows.cli.output import emit_json

STATUSES = ("pending", "sent", "failed")
_STATUS_DE = {"pending": "offen", "sent": "gesendet", "failed": "fehlgeschlagen"}

config_app = typer.Typer(
    help="Versandkonfiguration (gpv.toml) anzeigen und prüfen.", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="Die Benachrichtigungen der Outbox auflisten (ohne Inhalt); `retry` für fehlgeschlagene.",
    invoke_without_command=True,
)


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="[ID ...]", min=1, max=MAX_ID, help="Nur diese Nachrichten (Standard: alle)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fehlgeschlagene Nachrichten erneut versenden lassen (nach behobener Adresse oder Störung):
    sie gehen mit dem nächsten `gpv dispatch` hinaus, mit derselben Message-ID."""
    from workflows.store.outbox import retry_failed

    reset = retry_failed(engine(), ids or ())
    if as_json:
        emit_json({"reset": reset})
        return
    typer.echo(f"Erneut versandbereit: {len(reset)} Nachricht(en). Weiter mit gpv dispatch.")


@outbox_app.callback()
def outbox_command(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Nur Nachrichten mit diesem Status: pending, sent, failed."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Die Benachrichtigungen der Outbox auflisten (ohne Inhalt)."""
    from workflows.store.outbox import outbox_rows

    if ctx.invoked_subcommand is not None:
        return
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
    from notifications.transport import PermanentDeliveryError
    from workflows.delivery.dispatch import dispatch
    from workflows.store.outbox import undeliverable_alerts

    when = parse_when(now, "--now")
    db = engine()
    _warn_unreachable()
    result = dispatch(db, now=when)
    if as_json:
        emit_json(result)
    else:
        typer.echo(
            f"Gesendet: {result['sent']}, erneuter Versuch später: {result['retrying']}, "
            f"fehlgeschlagen: {result['failed']}."
        )
    lost = undeliverable_alerts(db)
    if lost:
        # Nobody was told that a notice did not arrive: a deadline may be lost (exit 1).
        raise PermanentDeliveryError(
            f"{lost} Meldung(en) an die Leitung über nicht zugestellte Nachrichten sind selbst "
            "nicht zustellbar (gpv outbox --status failed). Bitte die Adressen in gpv.toml "
            "([parties.<id>] email) oder den Mailserver prüfen, dann gpv outbox retry."
        )


def _warn_unreachable() -> None:
    """Before a dispatch: name the parties a message cannot reach (stderr), then send anyway:
    what can go out should, and an alert that fails ends the command with exit 1."""
    from states.agreement import load_agreement
    from workflows.delivery.config import load_config
    from workflows.delivery.reachability import startup_check

    warning = startup_check(load_config(), load_agreement(), refuse_alerts=False)
    if warning:
        typer.echo(warning, err=True)


@config_app.command("check")
def config_check(as_json: JsonOpt = False) -> None:
    """Prüfen, ob jede Partei der Kooperationsvereinbarung erreichbar ist (Exit 2, wenn nicht)."""
    from states.agreement import load_agreement
    from workflows.delivery.config import load_config
    from workflows.delivery.reachability import check_reachable, reachability

    config = load_config()
    agreement = load_agreement()
    rows = reachability(config, agreement)
    if as_json:
        emit_json({"transport": config.transport.value, "parties": [r.as_dict() for r in rows]})
    else:
        typer.echo(f"Versand: {config.transport.value}")
        for r in rows:
            typer.echo(f"  {r.party:<26} {r.email or '–':<40} {_reach_note(r)}")
    check_reachable(config, agreement)
    if not as_json:
        typer.echo("Alle Parteien sind erreichbar.")


def _reach_note(reach: Any) -> str:
    if not reach.is_reachable:
        state = "NICHT erreichbar"
    elif reach.is_default:
        state = "erreichbar (Datei, Standardadresse)"
    else:
        state = "erreichbar"
    return f"{state}, erhält Alarme" if reach.receives_alerts else state


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
    app.add_typer(outbox_app, name="outbox")
    app.command("dispatch")(dispatch_command)
    app.add_typer(config_app, name="config")
