"""Command group 'diagram': the processes as Mermaid state diagrams, and the README's pictures."""

from __future__ import annotations

from pathlib import Path

import typer

from states.decision import Process
from states.errors import InputError

_NUMBER_WORDS = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun")


def _process_help() -> str:
    """``case, statement, conference oder housing; ohne Angabe alle vier.``, from :class:`Process`,
    so a new process shows up by itself."""
    names = [p.value for p in Process]
    count = _NUMBER_WORDS[len(names)] if len(names) < len(_NUMBER_WORDS) else str(len(names))
    listed = f"{', '.join(names[:-1])} oder {names[-1]}" if len(names) > 1 else names[0]
    return f"{listed}; ohne Angabe alle {count}."


def _process(name: str | None) -> Process | None:
    if name is None:
        return None
    try:
        return Process(name.strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Process)
        raise InputError(f"Unbekannter Prozess {name!r}; bekannt sind: {known}.") from None


def diagram(
    process: str | None = typer.Argument(None, help=_process_help()),
    write_readme: Path | None = typer.Option(
        None,
        "--write-readme",
        help="Die markierten Diagramme in dieser Datei (README.md) neu schreiben.",
    ),
) -> None:
    """Die Prozesse als Mermaid-Zustandsdiagramm ausgeben (aus den Übergangstabellen erzeugt)."""
    from states.diagram import all_diagrams, fenced, rewrite_readme

    if write_readme is not None:
        try:
            text = write_readme.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"{write_readme} kann nicht gelesen werden ({exc.strerror})."
            ) from None
        new = rewrite_readme(text)
        if new != text:
            write_readme.write_text(new, encoding="utf-8")
            typer.echo(f"{write_readme}: Diagramme aktualisiert.")
        else:
            typer.echo(f"{write_readme}: Diagramme sind aktuell.")
        return
    chosen = _process(process)
    if chosen is None:
        typer.echo(all_diagrams(), nl=False)
    else:
        typer.echo(fenced(chosen), nl=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("diagram")(diagram)
