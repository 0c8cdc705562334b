"""Command group 'rules': ``gpv deadline`` and ``gpv route``, thin shells over ``states``.

Exit codes: 0 done; 2 bad input (impossible date, unknown town/benefit/disability, malformed
period, ``--period`` and ``--rule`` both or neither, missing school status); 3 ``route`` could not
decide (the rules refuse to guess) or the benefit is no SGB IX benefit.
The last line of human output is the answer (due date, carrier id) so scripts can ``tail -n1``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from states.errors import InputError
from workflows.cli.options import (
    BenefitOpt,
    BenefitStartOpt,
    BirthDateOpt,
    DisabilityOpt,
    MunicipalityOpt,
    ParentsMunicipalityOpt,
    SchoolFinishedOpt,
    SchoolOpt,
    parse_date,
)
from workflows.cli.output import emit_json

if TYPE_CHECKING:
    from states.routing import RoutingResult

EXIT_UNDECIDED = 3


def _today_berlin() -> date:
    from datetime import UTC

    from states.deadlines import berlin_date

    return berlin_date(datetime.now(UTC))


def deadline(
    start: Annotated[
        str,
        typer.Option("--from", help="Tag des Ereignisses (Tag 0, zählt nicht mit), JJJJ-MM-TT."),
    ],
    period: Annotated[
        str | None,
        typer.Option("--period", help="Frist: Nd, Nw, Nm oder Ny (z. B. 2w, 3m, 2y)."),
    ] = None,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule",
            help="Benannte Fristregel der Vereinbarung statt --period "
            "(jurisdiction, decision, statement, review, housing_ack), auch eine ihrer "
            "Varianten als REGEL:VARIANTE (decision:after_statement, decision:other_carriers, "
            "decision:conference).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ein JSON-Objekt ausgeben.")] = False,
) -> None:
    """Fristende nach § 26 SGB X mit §§ 187–193 BGB (NRW-Feiertage) berechnen.

    Die letzte Zeile ist das Fristende (Tag, an dem die Frist um 24:00 Uhr endet). Genau eine von
    --period und --rule ist anzugeben. Exit-Code 2 bei fehlerhafter Eingabe.
    """
    from states.agreement import load_agreement
    from states.calendar import compute_period, parse_period

    if (period is None) == (rule is None):
        raise InputError("Bitte genau eine der Optionen --period oder --rule angeben.")
    anchor = parse_date(start, "--from")
    agreement = load_agreement()
    norm: str | None = None
    if rule is not None:
        rule_id, _, variant = rule.partition(":")
        the_rule = agreement.rule(rule_id.strip())
        reading = the_rule.variant(variant.strip() or "standard")
        the_period, shift, norm = reading.period, the_rule.shift, reading.norm
    else:
        the_period, shift = parse_period(period or ""), "forward"
    end = compute_period(anchor, the_period, shift, region=agreement.holiday_region)

    if as_json:
        payload: dict[str, object] = {
            "from": end.start,
            "period": str(end.period),
            "nominal_end": end.nominal_end,
            "due": end.due,
            "skipped": [{"date": s.day, "reason": s.reason} for s in end.skipped],
        }
        if rule is not None:
            payload["rule"] = rule
            payload["norm"] = norm
            payload["shift"] = shift
        emit_json(payload)
        return
    if rule is not None:
        typer.echo(f"Regel: {rule} ({norm}), Frist {end.period}")
    typer.echo(f"rechnerisches Fristende: {end.nominal_end.isoformat()}")
    for skipped in end.skipped:
        typer.echo(f"übersprungen: {skipped.day.isoformat()}: {skipped.reason}")
    typer.echo(end.due.isoformat())


def route(
    birth_date: BirthDateOpt,
    municipality: MunicipalityOpt,
    disability: DisabilityOpt,
    benefit: BenefitOpt,
    school: SchoolOpt = None,
    school_finished: SchoolFinishedOpt = None,
    benefit_start: BenefitStartOpt = None,
    parents_municipality: ParentsMunicipalityOpt = None,
    on: Annotated[
        str | None,
        typer.Option("--on", help="Stichtag, JJJJ-MM-TT (Standard: heute, Europe/Berlin)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ein JSON-Objekt ausgeben.")] = False,
) -> None:
    """Zuständigen Träger und Beteiligte bestimmen (AG-SGB IX NRW § 1, § 10 Abs. 4 SGB VIII).

    Die letzte Zeile ist die ID des Trägers; Prüfhinweise stehen davor. Können die Regeln den Fall
    nicht entscheiden, lautet die letzte Zeile "unentschieden: <Grund>" (mit --json: "carrier":
    null) und der Exit-Code ist 3; ein Mensch entscheidet dann. Ist die Leistung keine nach dem
    SGB IX (Hilfe zur Pflege, §§ 67 ff. SGB XII), lautet sie "kein SGB IX: <Partei>" (Exit-Code 3).
    Exit-Code 2 bei fehlerhafter Eingabe, auch wenn der Schulstatus (--school) fehlt.
    """
    from states.agreement import load_agreement
    from states.routing import PersonFacts, parse_benefit, parse_disabilities
    from states.routing import route as decide

    facts = PersonFacts(
        birth_date=parse_date(birth_date, "--birth-date"),
        municipality=municipality,
        disabilities=parse_disabilities(disability),
        benefit=parse_benefit(benefit),
        school_finished=(
            parse_date(school_finished, "--school-finished") if school_finished else None
        ),
        school=school,
        benefit_start=parse_date(benefit_start, "--benefit-start") if benefit_start else None,
        parents_municipality=parents_municipality,
    )
    day = parse_date(on, "--on") if on else _today_berlin()
    result = decide(facts, day, load_agreement())

    if as_json:
        emit_json(
            {
                "carrier": result.carrier,
                "parties": list(result.parties),
                "legal_basis": result.legal_basis,
                "reason": result.reason,
                "town": result.town,
                "is_minor": result.is_minor,
                "on": day,
                "outcome": result.outcome,
                "belongs_to": result.belongs_to,
                "review_flags": list(result.review_flags),
            }
        )
    else:
        typer.echo(f"Rechtsgrundlage: {result.legal_basis}")
        typer.echo(f"Begründung: {result.reason}")
        typer.echo(f"Beteiligte: {', '.join(result.parties) or '–'}")
        for flag in result.review_flags:
            typer.echo(f"Prüfhinweis: {flag}")
        typer.echo(_answer(result))
    if not result.decided:
        raise typer.Exit(code=EXIT_UNDECIDED)


def _answer(result: RoutingResult) -> str:
    """The last line of ``gpv route``: the carrier, or why there is none."""
    if result.belongs_to is not None:
        return f"kein SGB IX: {result.belongs_to}"
    return result.carrier if result.carrier else f"unentschieden: {result.reason}"


def register(app: typer.Typer) -> None:
    """Add ``deadline`` and ``route`` to the app."""
    app.command("deadline")(deadline)
    app.command("route")(route)
