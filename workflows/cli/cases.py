"""Command group 'cases': the case manager's commands on the case store.

``gpv case open|show|list|update``, ``gpv fire``, ``gpv tasks``, ``gpv sweep`` and
``gpv audit verify``; each with ``--json`` (one object, or a list for listings). Exit codes: 0 done;
2 bad input (unknown case or trigger, malformed value, missing school status); 3 refused by the
rules (wrong state, failed guard, undecided routing, a benefit outside the SGB IX, concurrent
change), with the reason on stderr. ``gpv audit verify`` exits
1 when the chain is broken. A refused or failed command writes nothing.

Times: ``--at``/``--now`` take ``2026-03-20`` (that day, 12:00 Europe/Berlin),
``2026-03-20T08:00`` (Europe/Berlin wall time) or a time with zone; the default is now. ``--by``
defaults to ``$GPV_USER`` or the login name. Every command opens the database
(``$GPV_DATABASE_URL`` or the SQLite file in ``$GPV_DATA_DIR``) and applies pending migrations
first.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from states.errors import InputError
from workflows.cli.options import (
    MAX_LIMIT,
    BenefitOpt,
    BenefitStartOpt,
    BirthDateOpt,
    ByOpt,
    DisabilityOpt,
    JsonOpt,
    MunicipalityOpt,
    ParentsMunicipalityOpt,
    SchoolFinishedOpt,
    SchoolOpt,
    default_user,
    engine,
    parse_date,
    parse_settings,
    parse_when,
)
from workflows.cli.output import emit_json

EXIT_CHAIN_BROKEN = 1

case_app = typer.Typer(help="Fälle anlegen, anzeigen, auflisten und ändern.", no_args_is_help=True)
audit_app = typer.Typer(help="Die Verlaufskette (Audit) prüfen.", no_args_is_help=True)


# --------------------------------------------------------------------------------------------------
# Human output


def _party(party_id: str | None) -> str:
    """A party's name as the agreement gives it (the id when it names none)."""
    from states.agreement import load_agreement

    parties = load_agreement().parties
    return parties[party_id].name if party_id in parties else str(party_id or "–")


def _town(slug: str) -> str:
    from states.agreement import load_agreement

    towns = load_agreement().towns
    return towns[slug].name if slug in towns else slug


def _rule(rule: str) -> str:
    """A deadline rule's German title (agreement file), e.g. „Entscheidung über den Antrag“."""
    from states.agreement import load_agreement

    found = load_agreement().rules.get(rule)
    return found.title if found is not None else rule


def _processes(case: dict[str, Any]) -> str:
    from states.glossary import process_title, state_label

    return ", ".join(
        f"{process_title(name)}: {state_label(name, state) if state else '–'}"
        for name, state in case["processes"].items()
    )


def _status_line(case: dict[str, Any]) -> str:
    from states.glossary import state_label

    status = state_label("case", case["status"])
    return f"{case['id']}: {status} ({_processes(case)}; Version {case['version']})"


def _print_deadlines(deadlines: list[dict[str, Any]]) -> None:
    from states.glossary import DEADLINE_STATUS_LABELS

    typer.echo("Fristen:")
    for d in deadlines:
        why = f"  ({d['variant_reason']})" if d.get("variant_reason") else ""
        # An internal target before the legal latest date shows both (§ 121 Abs. 2 S. 2).
        latest = f" (spätestens {d['latest']})" if d.get("latest", d["due"]) > d["due"] else ""
        status = DEADLINE_STATUS_LABELS.get(d["status"], d["status"])
        typer.echo(f"  {_rule(d['rule'])}: fällig {d['due']}{latest}  {status}  {d['norm']}{why}")


def _print_history(history: list[dict[str, Any]]) -> None:
    from states.glossary import state_label, trigger_label
    from states.triggers import TRIGGER_SPECS

    typer.echo("Verlauf:")
    for h in history:
        spec = TRIGGER_SPECS.get(h["trigger"])
        process = str(spec.process) if spec is not None else "case"
        before = state_label(process, h["from"]) if h["from"] else "–"
        typer.echo(
            f"  {h['at']}  {trigger_label(h['trigger'])}: {before} → "
            f"{state_label(process, h['to'])}  ({h['by']})"
        )


def _print_case(case: dict[str, Any]) -> None:
    from states.glossary import state_label

    carrier = _party(case["carrier"])
    typer.echo(
        f"Fall {case['id']}  Status: {state_label('case', case['status'])}  Träger: {carrier}  "
        f"Ort: {_town(case['municipality'])}  Version: {case['version']}"
    )
    if case.get("received_on"):
        typer.echo(f"Eingang: {case['received_on']} bei {carrier} (§ 14 Abs. 1 SGB IX)")
    if case.get("forwarded_from"):
        typer.echo(f"Weitergeleitet von: {case['forwarded_from']} (§ 14 Abs. 2 S. 4 SGB IX)")
    if case.get("forwarded_to"):
        typer.echo(f"Weitergeleitet an: {case['forwarded_to']} (§ 14 Abs. 1 S. 2 SGB IX)")
    routing = case.get("routing") or {}
    if routing.get("reason"):
        _print_routing(routing)
    typer.echo(f"Prozesse: {_processes(case)}")
    if case["deadlines"]:
        _print_deadlines(case["deadlines"])
    if case["history"]:
        _print_history(case["history"])


def _print_routing(routing: dict[str, Any]) -> None:
    advice = _party(routing["carrier"]) if routing.get("carrier") else "nicht eindeutig"
    typer.echo(
        f"Zuständigkeit laut Regeln: {advice}: {routing['reason']} ({routing['legal_basis']})"
    )
    for flag in routing["review_flags"]:
        typer.echo(f"Prüfhinweis: {flag}")


# --------------------------------------------------------------------------------------------------
# Commands


@case_app.command("open")
def case_open(
    received: Annotated[str, typer.Option("--received", help="Antragseingang, JJJJ-MM-TT.")],
    birth_date: BirthDateOpt,
    municipality: MunicipalityOpt,
    disability: DisabilityOpt,
    benefit: BenefitOpt,
    school: SchoolOpt = None,
    school_finished: SchoolFinishedOpt = None,
    benefit_start: BenefitStartOpt = None,
    parents_municipality: ParentsMunicipalityOpt = None,
    person_ref: Annotated[
        str | None, typer.Option("--person-ref", help="Eigenes Aktenzeichen des Trägers.")
    ] = None,
    contact_email: Annotated[
        str | None,
        typer.Option("--contact-email", help="E-Mail der Person oder ihrer rechtlichen Betreuung."),
    ] = None,
    received_by: Annotated[
        str | None,
        typer.Option(
            "--received-by",
            metavar="PARTEI",
            help="Träger, bei dem der Antrag einging (Partei-ID, z. B. lwl); dort läuft die Frist "
            "des § 14 Abs. 1 SGB IX. Standard: GPV_RECEIVED_BY, sonst der Träger laut Regeln.",
        ),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="Zeitpunkt der Erfassung.")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fall anlegen: Zuständigkeit prüfen, Fristen nach § 14 SGB IX eröffnen. Letzte Zeile: die
    Fall-ID. Prüfhinweise der Zuständigkeitsprüfung stehen davor.

    Hilfe zur Pflege und Hilfen nach §§ 67 ff. SGB XII sind keine Leistungen nach dem SGB IX: kein
    Fall, Exit-Code 3 mit dem Grund und der Stelle, zu der der Antrag gehört."""
    from workflows import service

    case = service.open_case(
        engine(create=True),
        received=parse_date(received, "--received"),
        birth_date=parse_date(birth_date, "--birth-date"),
        municipality=municipality,
        disabilities=disability,
        benefit=benefit,
        school_finished=parse_date(school_finished, "--school-finished")
        if school_finished
        else None,
        school=school,
        benefit_start=parse_date(benefit_start, "--benefit-start") if benefit_start else None,
        person_ref=person_ref,
        contact_email=contact_email,
        received_by=received_by,
        parents_municipality=parents_municipality,
        at=parse_when(at, "--at"),
        by=default_user(by),
    )
    if as_json:
        emit_json(case)
        return
    _print_case(case)
    typer.echo(case["id"])


@case_app.command("show")
def case_show(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID, z. B. C-2026-000017.")],
    as_json: JsonOpt = False,
) -> None:
    """Einen Fall mit Prozessen, Fristen und Verlauf zeigen."""
    from workflows import service

    case = service.show_case(engine(), case_id)
    if as_json:
        emit_json(case)
    else:
        _print_case(case)


@case_app.command("list")
def case_list(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Nur Fälle in diesem Status (ID oder deutsch, z. B. Bedarfsermittlung).",
        ),
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Nur Fälle mit überschrittener Frist.")
    ] = False,
    municipality: Annotated[
        str | None, typer.Option("--municipality", help="Nur Fälle dieser Stadt/Gemeinde.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=MAX_LIMIT, help="Höchstens so viele.")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Stichzeitpunkt (Standard: jetzt).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fälle auflisten (neuester Eingang zuerst)."""
    from states.glossary import state_label, status_id
    from workflows import service

    cases = service.list_cases(
        engine(),
        status=(status_id(status) or status) if status is not None else None,
        overdue=overdue,
        municipality=municipality,
        now=parse_when(now, "--now"),
        limit=limit,
    )
    if as_json:
        emit_json(cases)
        return
    for c in cases:
        flag = "  ÜBERFÄLLIG" if c["overdue"] else ""
        typer.echo(
            f"{c['id']}  {state_label('case', c['status']):<24} {_party(c['carrier']):<28} "
            f"{_town(c['municipality']):<13} Eingang {c['received_on']}  "
            f"nächste Frist {c['next_due'] or '–'}{flag}"
        )
    typer.echo(f"{len(cases)} Fälle")


@case_app.command("update")
def case_update(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID.")],
    contact_email: Annotated[
        str,
        typer.Option(
            "--contact-email",
            help="Neue E-Mail der Person oder ihrer Betreuung (leer: Adresse entfernen).",
        ),
    ],
    at: Annotated[str | None, typer.Option("--at", help="Zeitpunkt der Änderung.")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Kontaktadresse eines Falls ändern (im Verlauf festgehalten)."""
    from workflows import service

    case = service.update_contact(
        engine(), case_id, contact_email, at=parse_when(at, "--at"), by=default_user(by)
    )
    if as_json:
        emit_json(case)
    else:
        typer.echo(_status_line(case))


@case_app.command("correct")
def case_correct(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID.")],
    field: Annotated[
        str,
        typer.Option(
            "--field",
            metavar="FELD",
            help="received_on (Antragseingang) oder municipality (Wohnort).",
        ),
    ],
    value: Annotated[
        str,
        typer.Option(
            "--value", metavar="WERT", help="Der richtige Wert: JJJJ-MM-TT bzw. die Stadt."
        ),
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Warum berichtigt wird (steht im Verlauf).")
    ],
    at: Annotated[str | None, typer.Option("--at", help="Zeitpunkt der Berichtigung.")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Einen falsch erfassten Antragseingang oder Wohnort berichtigen: ein eigener Schritt im
    Verlauf mit Grund, nie eine stille Änderung.

    Ein neuer Antragseingang berechnet die Fristen neu, die an ihm hängen (§ 14 Abs. 1 S. 1,
    § 14 Abs. 2 SGB IX; die alten stehen als „ersetzt“ im Verlauf). Ein neuer Wohnort prüft die
    Zuständigkeit neu; der Träger bleibt, eine andere Antwort steht als „Zuständigkeit prüfen“
    beim Fall. Nach dem Bescheid oder vor einem schon erfassten Schritt: abgelehnt (Exit-Code 3)."""
    from workflows.corrections import correct_case

    case = correct_case(
        engine(),
        case_id,
        field=field,
        value=value,
        reason=reason,
        at=parse_when(at, "--at"),
        by=default_user(by),
    )
    if as_json:
        emit_json(case)
    else:
        _print_case(case)


FIRE_HELP = """Einen Schritt auf einen Fall anwenden; gibt die neue Statuszeile aus.

Der Schritt läuft über den Prefect-Server, den gpv run für diesen Datenordner gestartet hat
(oder GPV_PREFECT_URL), als Lauf der Bereitstellung „fire-trigger“; ohne Server derselbe Code
direkt in der Datenbank. Welcher Weg, steht auf stderr. Ein Zeitpunkt nach jetzt wird
abgelehnt (--allow-future für eigene Schritte im Voraus); was erst geschehen muss (Konferenz
durchgeführt, Stellungnahme eingegangen, Bescheid erlassen …), nie.
"""


def fire_help() -> str:
    """The help of ``gpv fire``: :data:`FIRE_HELP` and every trigger with its German label and
    parameters (``--set name=format``), from the process definitions."""
    from states.glossary import PARAMETER_FORMATS
    from states.triggers import TRIGGER_SPECS

    lines = [FIRE_HELP, "\b\nAuslöser:"]
    for name, spec in TRIGGER_SPECS.items():
        params = [f"--set {p}=…" for p in spec.required]
        params += [f"[--set {p}=…]" for p in spec.optional]
        lines.append(f"  {name:<28} {spec.label}" + (f"  {' '.join(params)}" if params else ""))
    lines.append("\b\nParameter:")
    lines += [f"  {name:<15} {form}" for name, form in PARAMETER_FORMATS.items()]
    return "\n".join(lines)


def _check_required(trigger: str, params: dict[str, str]) -> None:
    """A missing parameter named with the ``--set key=value`` form and its format, before the
    step goes anywhere (the rules check again, ``states.advance``)."""
    from states.glossary import set_form
    from states.triggers import TRIGGER_SPECS

    spec = TRIGGER_SPECS.get(trigger)
    if spec is None:
        return
    missing = [name for name in spec.required if not params.get(name, "").strip()]
    if missing:
        raise InputError(
            f"Für „{spec.label}“ ({trigger}) fehlt "
            + " und ".join(set_form(name) for name in missing)
            + f"; z. B. gpv fire FALL {trigger} "
            + " ".join(f"--set {name}=…" for name in spec.required)
            + "."
        )


def fire_command(
    case_id: Annotated[str, typer.Argument(metavar="ID", help="Fall-ID.")],
    trigger: Annotated[
        str,
        typer.Argument(metavar="TRIGGER", help="Auslöser, z. B. request_statement (Liste unten)."),
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="Wirksamer Zeitpunkt (JJJJ-MM-TT = 12:00 Uhr).")
    ] = None,
    by: ByOpt = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Parameter Schlüssel=Wert (mehrfach möglich)."),
    ] = None,
    allow_future: Annotated[
        bool,
        typer.Option(
            "--allow-future",
            help="Einen eigenen Schritt mit Zeitpunkt nach jetzt erfassen (nicht für Schritte, "
            "die festhalten, was geschehen ist).",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", hidden=True, help="Stichzeitpunkt statt der Uhr (Nachbildungen, Tests)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from workflows.orchestration.submit import run_step

    params = parse_settings(settings)
    _check_required(trigger, params)
    case = run_step(
        case_id,
        trigger,
        params,
        parse_when(at, "--at"),
        default_user(by),
        allow_future=allow_future,
        now=parse_when(now, "--now") if now else None,
    )
    if as_json:
        emit_json(case)
    else:
        typer.echo(_status_line(case))


def tasks_command(
    party: Annotated[
        str | None, typer.Option("--party", help="Nur Aufgaben dieser Partei.")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="Stichzeitpunkt (Standard: jetzt).")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, max=MAX_LIMIT, help="Höchstens so viele (früheste zuerst)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Offene Aufgaben je Partei, früheste Frist zuerst."""
    from workflows import service

    items = service.tasks(engine(), party=party, now=parse_when(now, "--now"), limit=limit)
    if as_json:
        emit_json(items)
        return
    from states.glossary import process_title

    for t in items:
        flag = "  ÜBERFÄLLIG" if t["overdue"] else ""
        typer.echo(
            f"{t['due']}  {_party(t['party']):<28} {t['case_id']}  "
            f"{process_title(t['process']):<22} {t['expected']} ({t['norm']}){flag}"
        )
    typer.echo(f"{len(items)} offene Aufgaben")


def sweep_command(
    now: Annotated[
        str | None, typer.Option("--now", help="Zeitpunkt des Laufs (Standard: jetzt).")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=0,
            max=MAX_LIMIT,
            help="Höchstens so viele überfällige Fristen auflisten, die ältesten zuerst "
            "(gezählt werden alle).",
        ),
    ] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Fristen prüfen: fällige Erinnerungen und Eskalationen in den Postausgang schreiben."""
    from workflows.sweep import overdue_report, run_sweep

    when = parse_when(now, "--now")
    db = engine()
    result: dict[str, Any] = {**run_sweep(db, when), **overdue_report(db, when, limit)}
    if as_json:
        emit_json(result)
        return
    for o in result["overdue"]:
        typer.echo(
            f"überfällig: {o['case_id']}  {o['rule']:<13} fällig {o['due']} "
            f"(seit {o['days_overdue']} Tagen)  {o['responsible_party']}  {o['norm']}"
        )
    total, shown = result["overdue_total"], len(result["overdue"])
    more = f" (die {shown} ältesten aufgelistet)" if shown < total else ""
    typer.echo(
        f"Erinnerungen: {result['reminders']}, Eskalationen: {result['escalations']}, "
        f"überfällig insgesamt: {total}{more}"
    )


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False) -> None:
    """Den Verlauf prüfen: die Hash-Kette, ihren Anker außerhalb der Datenbank und jeden Fall gegen
    seine Einträge; nennt die erste Abweichung (Exit-Code 1). Hinweise (z. B. Anker fehlt)
    ändern den Exit-Code nicht."""
    from workflows import service

    result = service.audit_verify(engine())
    if as_json:
        emit_json(result)
    elif result["ok"]:
        typer.echo(
            f"Verlauf unversehrt: {result['checked']} Einträge und {result['cases_checked']} "
            f"Fälle geprüft, {result['anchored']} verankerte Stände bestätigt "
            f"(Anker: {result['anchor']})."
        )
    else:
        where = f" bei Eintrag {result['first_broken_id']}" if result["first_broken_id"] else ""
        typer.echo(f"Verlauf gebrochen{where}: {result['problem']}", err=True)
    if not as_json:
        for warning in result["warnings"]:
            typer.echo(f"Hinweis: {warning}", err=True)
    if not result["ok"]:
        raise typer.Exit(EXIT_CHAIN_BROKEN)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(case_app, name="case")
    app.command("fire", help=fire_help())(fire_command)
    app.command("tasks")(tasks_command)
    app.command("sweep")(sweep_command)
    app.add_typer(audit_app, name="audit")
