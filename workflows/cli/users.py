"""``gpv user``: who may act (issue 12, legal-review M9; § 35 Abs. 1 S. 2 SGB I).

``gpv user add NAME --party PARTY --role case-manager|member|supervisor [--password-stdin]`` adds
a user (the German words fallmanagement, mitglied, aufsicht work too); ``gpv user list [--json]``
lists them; ``gpv user disable NAME`` disables one for good. While no user exists the command line
acts as the operating-system user in the role of the case's case manager (``workflows.users``).
Exit 2 for bad input (unknown party or role, a name taken, a short password).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated

import typer

from workflows.cli.options import ByOpt, JsonOpt, default_user, engine, parse_when
from workflows.cli.output import emit_json

user_app = typer.Typer(
    help="Benutzer von gpv: Partei, Rolle und wer welche Schritte auslösen darf.",
    no_args_is_help=True,
)

AtOpt = Annotated[
    str | None, typer.Option("--at", help="Zeitpunkt der Änderung (Standard: jetzt).")
]


def _password_from_stdin() -> str:
    """The first line of stdin, without its line end (``printf '%s\\n' "$PW" | gpv user add …``)."""
    from states.errors import InputError

    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):  # stdin closed or not readable (no terminal, no pipe)
        line = ""
    if not line:
        raise InputError(
            "--password-stdin: auf der Standardeingabe kam kein Passwort; bitte z. B. "
            "`printf '%s\\n' \"$PASSWORT\" | gpv user add …` verwenden."
        )
    return line.rstrip("\r\n")


def add_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Benutzername, z. B. fm.mueller.")],
    party: Annotated[
        str, typer.Option("--party", help="Partei-ID aus der Vereinbarung, z. B. lwl, spdi.")
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="case-manager (Fallmanagement eines Trägers), member (Mitglied einer Partei) "
            "oder supervisor (Aufsicht, liest nur); deutsch: fallmanagement, mitglied, aufsicht.",
        ),
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Passwort (mindestens 12 Zeichen) aus der ersten Zeile der Standardeingabe lesen; "
            "ohne diese Option hat der Benutzer kein Passwort (nur Kommandozeile oder OpenID "
            "Connect).",
        ),
    ] = False,
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Einen Benutzer einrichten (Partei und Rolle; das Passwort wird nur als Argon2-Hash
    gespeichert)."""
    from workflows.users import add_user

    password = _password_from_stdin() if password_stdin else None
    user = add_user(
        engine(),
        name,
        party=party,
        role=role,
        password=password,
        at=parse_when(at, "--at"),
        by=default_user(by),
    )
    if as_json:
        emit_json(asdict(user))
    else:
        typer.echo(f"Benutzer {user.label()} eingerichtet.")


def list_command(as_json: JsonOpt = False) -> None:
    """Alle Benutzer mit Partei, Rolle und Status."""
    from workflows.users import list_users

    users = list_users(engine())
    if as_json:
        emit_json([asdict(u) for u in users])
        return
    if not users:
        typer.echo(
            "Keine Benutzer eingerichtet: Die Kommandozeile handelt als Fallmanagement des "
            "Trägers, der den Fall führt (gpv user add richtet Benutzer ein)."
        )
        return
    for u in users:
        typer.echo(f"{u.label()}{'' if u.enabled else '  deaktiviert'}")


def disable_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Benutzername.")],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Einen Benutzer deaktivieren (er löst nichts mehr aus; sein Name bleibt im Verlauf)."""
    from workflows.users import disable_user

    user = disable_user(engine(), name, at=parse_when(at, "--at"), by=default_user(by))
    if as_json:
        emit_json(asdict(user))
    else:
        typer.echo(f"Benutzer {user.label()} deaktiviert.")


def register(app: typer.Typer) -> None:
    """Add ``gpv user`` to the app."""
    user_app.command("add")(add_command)
    user_app.command("list")(list_command)
    user_app.command("disable")(disable_command)
    app.add_typer(user_app, name="user")
