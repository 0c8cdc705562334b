"""Commands on who may hear of a case: ``gpv case consent`` and ``gpv case objection``.

``gpv case consent ID --party PARTY --status erteilt|verweigert|widerrufen`` records the person's
(a minor's custodians') decision on involving a party (§ 117 Abs. 3-6, § 22 Abs. 4-5 SGB IX; which
parties need it is the agreement's ``[involvement]`` table). ``gpv case objection ID
hinweis|widerspruch|zuruecknahme`` records the notice of the right to object, the objection to
passing a statement on, or its withdrawal (§ 76 Abs. 2 Nr. 1 SGB X). Both are audited; exit 2 for
bad input, 3 when the rules refuse (an ended case, revoking what was never given).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workflows.cli.options import ByOpt, JsonOpt, default_user, engine, parse_when
from workflows.cli.output import emit_json

AtOpt = Annotated[str | None, typer.Option("--at", help="Zeitpunkt der Erklärung.")]


def _echo(case: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(case)
        return
    involvement = case["involvement"]
    typer.echo(
        f"{case['id']}: Zustimmung erteilt für: {', '.join(involvement['consented']) or '–'}; "
        f"Widerspruch nach § 76 Abs. 2 Nr. 1 SGB X: {'ja' if involvement['objection'] else 'nein'}"
    )


def consent_command(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID.")],
    party: Annotated[
        str, typer.Option("--party", help="Stelle, z. B. jobcenter-kreis-unna, jugendamt-werne.")
    ],
    status: Annotated[str, typer.Option("--status", help="erteilt, verweigert oder widerrufen.")],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Zustimmung der Person zur Beteiligung einer Stelle erfassen (§ 117 Abs. 3–6 SGB IX)."""
    from workflows.involvement import record_consent

    case = record_consent(
        engine(), case_id, party, status, at=parse_when(at, "--at"), by=default_user(by)
    )
    _echo(case, as_json)


def objection_command(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID.")],
    action: Annotated[
        str,
        typer.Argument(
            metavar="WAS", help="hinweis (Hinweis gegeben), widerspruch oder zuruecknahme."
        ),
    ],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Widerspruch gegen die Weitergabe der Stellungnahme erfassen (§ 76 Abs. 2 Nr. 1 SGB X)."""
    from workflows.involvement import record_objection

    case = record_objection(
        engine(), case_id, action, at=parse_when(at, "--at"), by=default_user(by)
    )
    _echo(case, as_json)


def parent_command(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID.")],
    answer: Annotated[
        str, typer.Argument(metavar="JA|NEIN", help="Ist die Person Mutter oder Vater?")
    ],
    at: AtOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erfassen, ob die Person Mutter oder Vater eines Kindes ist (§ 119 Abs. 4 SGB IX)."""
    from workflows.involvement import record_parent

    case = record_parent(engine(), case_id, answer, at=parse_when(at, "--at"), by=default_user(by))
    _echo(case, as_json)


def register(app: typer.Typer) -> None:
    """Add the commands to ``gpv case``."""
    from workflows.cli.cases import case_app

    case_app.command("consent")(consent_command)
    case_app.command("objection")(objection_command)
    case_app.command("parent")(parent_command)
