"""The application API of the case store, used by the command line and the Prefect flows.

Each function is one unit of work with its own transaction(s) and takes the engine, ids and plain
values; it returns plain dicts (what ``--json`` prints). Errors come from the one error tree:
:class:`states.errors.InputError` (bad input, unknown case: exit code 2) and
:class:`states.errors.RefusedError` (the rules say no, or a concurrent change: exit code 3). A
refused or failed call writes nothing.

``fire`` follows the architecture's shape: load (read transaction) → decide (pure
``states.advance``) → persist (one write transaction with the version check).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from notifications.addresses import check_address
from states.agreement import Agreement, load_agreement
from states.deadlines import berlin_date, is_overdue
from states.errors import InputError, RefusedError
from states.permissions import User, check_may_fire, check_may_record
from workflows.store import audit, cases
from workflows.store.db import read_session, write_session
from workflows.store.models import CaseRow, DeadlineRow
from workflows.store.rows import CASE_CARRIER_KINDS, OUTSTANDING, forwarded_case_values
from workflows.users import acting_user, acting_user_in, audit_params

if TYPE_CHECKING:
    from states.decision import Decision
    from states.routing import PersonFacts, RoutingResult


def _check_email(value: str | None) -> str | None:
    """The contact address as it will be stored and sent (the one rule of
    :mod:`notifications.addresses`: an umlaut domain IDNA-encoded, an umlaut before the @
    refused), or None for none; surrounding blanks are forgiven."""
    if value is None or not value.strip():
        return None
    return check_address(value.strip())


def _check_aware(at: datetime, name: str = "at") -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"Der Zeitpunkt {name}={at.isoformat()} braucht eine Zeitzone.")


@dataclass(frozen=True)
class _Application:
    """What the application says, checked: the person as routing sees them, and the contacts."""

    received: date
    person: PersonFacts
    person_ref: str | None
    email: str | None


def _checked_application(
    *,
    received: date,
    birth_date: date,
    municipality: str,
    disabilities: str,
    benefit: str,
    school_finished: date | None,
    school: str | None,
    benefit_start: date | None,
    person_ref: str | None,
    contact_email: str | None,
    at: datetime,
    parents_municipality: str | None = None,
) -> _Application:
    """The inputs of ``open_case``, checked in this order (the first problem is reported); routing
    checks the school status against the age and the school-end date."""
    from states.routing import PersonFacts, parse_benefit, parse_disabilities, parse_school

    kinds = parse_disabilities(disabilities)
    benefit_kind = parse_benefit(benefit)
    school_status = parse_school(school) if school is not None else None
    email = _check_email(contact_email)
    if received > berlin_date(at):
        raise InputError(
            f"Das Eingangsdatum {received.isoformat()} liegt nach dem Tag der Erfassung "
            f"({berlin_date(at).isoformat()})."
        )
    if school_finished is not None and school_finished < birth_date:
        raise InputError("Das Ende der Schulausbildung liegt vor dem Geburtsdatum.")
    person = PersonFacts(
        birth_date=birth_date,
        municipality=municipality,
        disabilities=kinds,
        benefit=benefit_kind,
        school_finished=school_finished,
        school=school_status,
        benefit_start=benefit_start,
        parents_municipality=(parents_municipality or "").strip() or None,
    )
    return _Application(received, person, (person_ref or "").strip() or None, email)


CHECK_JURISDICTION = "Zuständigkeit prüfen"


@dataclass(frozen=True)
class _Opening:
    """Where the case opens and what routing advises: ``carrier`` received the application (the
    § 14 Abs. 1 SGB IX clock runs there); ``flags`` are the notes to check, "Zuständigkeit
    prüfen" first when routing names another carrier or none."""

    carrier: str
    parties: tuple[str, ...]
    flags: tuple[str, ...]
    result: RoutingResult

    @property
    def check_jurisdiction(self) -> bool:
        return bool(self.flags) and self.flags[0].startswith(CHECK_JURISDICTION)


def _refuse_outside_sgb_ix(result: RoutingResult) -> None:
    """C3: Hilfe zur Pflege and §§ 67 ff. SGB XII are no SGB IX cases (§ 6 Abs. 1 SGB IX)."""
    if result.outcome == "not_sgb_ix":
        raise RefusedError(
            f"Der Fall wird nicht angelegt: {result.reason} ({result.legal_basis})",
            norm=result.legal_basis,
        )


def _receiving_carrier(result: RoutingResult, received_by: str | None, agreement: Agreement) -> str:
    """The carrier that received the application: ``--received-by``, else ``$GPV_RECEIVED_BY``,
    else the routed carrier. It must run Gesamtplanverfahren in gpv."""
    from workflows.settings import RECEIVED_BY_ENV, default_receiving_carrier

    given = received_by or default_receiving_carrier()
    receiving = given or result.carrier
    if receiving is None:
        raise InputError(
            f"Die Zuständigkeit ist nach den Regeln nicht eindeutig ({result.legal_basis}). Bitte "
            f"mit --received-by (oder {RECEIVED_BY_ENV}) angeben, bei welchem Träger der Antrag "
            "einging: Dort läuft die Frist des § 14 Abs. 1 SGB IX, und der Fall wird mit dem "
            f"Hinweis „{CHECK_JURISDICTION}“ angelegt."
        )
    party = agreement.party(receiving)
    if party.kind in CASE_CARRIER_KINDS:
        return party.id
    if given is not None:
        raise InputError(
            f"„{party.name}“ ({party.id}) führt in gpv kein Gesamtplanverfahren; --received-by "
            "nennt den Träger der Eingliederungshilfe oder das Jugendamt, bei dem der Antrag "
            "einging."
        )
    raise RefusedError(
        f"Der Fall wird nicht angelegt: {result.reason} Das Gesamtplanverfahren in gpv führt "
        "nur der Träger der Eingliederungshilfe (§ 117 Abs. 1 SGB IX); den Antrag "
        f"unverzüglich, spätestens zwei Wochen nach Eingang, an {party.name} weiterleiten "
        "(§ 14 Abs. 1 S. 1 und 2 SGB IX), oder mit --received-by den Träger angeben, bei dem er "
        f"einging, um die Frist dort zu führen. ({result.legal_basis})",
        norm=result.legal_basis,
    )


def _jurisdiction_note(result: RoutingResult, receiving: str, agreement: Agreement) -> str | None:
    """The "Zuständigkeit prüfen" note when routing names another carrier or none (C5)."""
    here = agreement.party(receiving).name
    clock = (
        f"Die Frist des § 14 Abs. 1 S. 1 SGB IX läuft bei {here}: binnen zwei Wochen nach Eingang "
        "die Zuständigkeit feststellen oder den Antrag weiterleiten (forward), sonst ist "
        f"{here} leistender Träger (§ 14 Abs. 2 S. 1 SGB IX)."
    )
    if result.carrier is None:
        return f"{CHECK_JURISDICTION}: {result.reason} ({result.legal_basis}). {clock}"
    if result.carrier != receiving:
        routed = agreement.party(result.carrier).name
        return (
            f"{CHECK_JURISDICTION}: Nach den Zuständigkeitsregeln ist {routed} zuständig "
            f"({result.legal_basis}). {clock}"
        )
    return None


def _routed(
    application: _Application, agreement: Agreement, received_by: str | None = None
) -> _Opening:
    """Routing on the day of receipt, as advice to the receiving carrier (legal-review C5): the
    case opens where the application arrived, with "Zuständigkeit prüfen" when routing names
    another carrier or is undecided. Refused (nothing written): a benefit outside the SGB IX, and
    an application whose receiving carrier is unknown."""
    from states.routing import route

    result = route(application.person, on=application.received, agreement=agreement)
    _refuse_outside_sgb_ix(result)
    receiving = _receiving_carrier(result, received_by, agreement)
    note = _jurisdiction_note(result, receiving, agreement)
    others = [p for p in result.parties if p not in (receiving, result.carrier)]
    parties = (receiving, *others) if note else result.parties
    flags = ((note,) if note else ()) + tuple(result.review_flags)
    return _Opening(receiving, tuple(parties), flags, result)


def _case_row(case_id: str, application: _Application, opening: _Opening) -> CaseRow:
    person, result, now = application.person, opening.result, datetime.now(UTC)
    return CaseRow(
        id=case_id,
        status="",  # set from the decision's case process update
        carrier=opening.carrier,
        municipality=result.town,
        received_on=application.received,
        parties=list(opening.parties),
        is_minor=result.is_minor,
        version=1,
        contact_email=application.email,
        person_ref=application.person_ref,
        birth_date=person.birth_date,
        disabilities=",".join(sorted(person.disabilities)),
        benefit=person.benefit,
        school_finished=person.school_finished,
        routed_carrier=result.carrier,
        routing_basis=result.legal_basis,
        routing_reason=result.reason,
        routing_flags=list(opening.flags),
        school_status=person.school,
        benefit_start=person.benefit_start,
        created_at=now,
        updated_at=now,
    )


def open_case(
    engine: Engine,
    *,
    received: date,
    birth_date: date,
    municipality: str,
    disabilities: str,
    benefit: str,
    school_finished: date | None = None,
    school: str | None = None,
    benefit_start: date | None = None,
    person_ref: str | None = None,
    contact_email: str | None = None,
    received_by: str | None = None,
    parents_municipality: str | None = None,
    at: datetime,
    by: str,
) -> dict[str, Any]:
    """Route and open a case in ``received`` at the carrier that received the application
    (``received_by``, else ``$GPV_RECEIVED_BY``, else the routed carrier); returns the case as
    :func:`show_case` does, with ``routing`` (carrier, legal_basis, reason, review_flags).

    Routing (AG-SGB IX NRW § 1, § 10 Abs. 4 SGB VIII) runs on the day of receipt with the school
    status (``in_school``, ``finished``, ``none``; required for ages 5–25, InputError otherwise)
    and the benefit's planned start (default: the day of receipt); a minor's youth office follows
    ``parents_municipality``, the parents' habitual residence, when given (§ 86 Abs. 1 S. 1
    SGB VIII; it is kept only as the case's carrier or involved party). A benefit outside the SGB IX
    (Hilfe zur Pflege, §§ 67 ff. SGB XII) is refused with the reason (RefusedError); nothing is
    written and no case number is used. Routing is advice: when it names another carrier or none,
    the case opens anyway with "Zuständigkeit prüfen" and the receiving carrier is told that it
    must check within the § 14 Abs. 1 period (the notice names no health data). The case id
    (``C-<year of receipt>-<number>``) is allocated in the same transaction as the case.

    ``by`` (:func:`workflows.users.acting_user`): once users are set up, a case manager of the
    receiving carrier, else RefusedError naming the rule before anything is written.
    """
    from states.advance import open_case_decision

    _check_aware(at)
    agreement = load_agreement()
    application = _checked_application(
        received=received, birth_date=birth_date, municipality=municipality,
        disabilities=disabilities, benefit=benefit, school_finished=school_finished,
        school=school, benefit_start=benefit_start, person_ref=person_ref,
        contact_email=contact_email, at=at, parents_municipality=parents_municipality,
    )  # fmt: skip
    opening = _routed(application, agreement, received_by)
    # Only the receiving carrier's case management opens its case (§ 35 Abs. 1 S. 2 SGB I):
    # checked before a case number is taken, so a refusal writes nothing.
    user = acting_user(engine, by)
    unnumbered = cases.case_facts(_case_row("", application, opening))
    check_may_record(user, "open_case", unnumbered, agreement)
    by = user.name
    with write_session(engine) as session:
        (case_id,) = cases.allocate_case_ids(session, received.year)
        case = _case_row(case_id, application, opening)
        decision = open_case_decision(
            cases.case_facts(case), at, by, agreement,
            check_jurisdiction=opening.check_jurisdiction,
        )  # fmt: skip
        session.add(case)
        session.flush()
        decision = _attributed(decision, user)
        cases.apply_decision(session, case, decision, at=at, by=by, agreement=agreement)
        return cases.case_view(session, case_id)  # as just written, in the same transaction


def fire(
    engine: Engine,
    case_id: str,
    trigger: str,
    params: dict[str, str],
    *,
    at: datetime,
    by: str,
    allow_future: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply one trigger of the engine's vocabulary to a case; returns the case as in show.

    Raises InputError for an unknown trigger or case or a malformed parameter, or a step dated
    after ``now`` (default: the clock; ``allow_future`` lets the carrier's own steps through, never
    one that records what happened, :mod:`states.step_time`), TransitionRefused when the rules say
    no, ConflictError when the case changed between load and persist.

    ``by`` names who acts (:func:`workflows.users.acting_user_in`): once users are set up, a known,
    enabled user whose role and party may fire the trigger on this case
    (:func:`states.permissions.check_may_fire`), else RefusedError naming the rule, before the
    rules are asked. The audit entry's ``by`` is the user's name, its params carry the user's
    party as ``acting_party`` (the embedded user's entries stay as they were).
    """
    from states.advance import advance
    from states.step_time import check_step_time
    from states.triggers import TRIGGERS

    if trigger not in TRIGGERS:
        raise InputError(f"Unbekannter Auslöser {trigger!r}; bekannt sind: {', '.join(TRIGGERS)}.")
    _check_aware(at)
    check_step_time(trigger, at, now or datetime.now(UTC), allow_future=allow_future)
    agreement = load_agreement()
    # One write transaction (issue 11): who acts, the case, the rules' decision and what it
    # writes. On SQLite it holds the write lock from its first read (BEGIN IMMEDIATE), so the
    # version check cannot fail; on PostgreSQL it still catches a concurrent step.
    with write_session(engine) as session:
        user = acting_user_in(session, by)
        loaded = cases.load_snapshot(session, case_id)
        check_may_fire(user, trigger, loaded.snapshot, agreement)
        by = user.name
        decision = _attributed(advance(loaded.snapshot, trigger, params, at, by, agreement), user)
        shown = cases.persist_step(
            session, case_id, loaded, decision, at=at, by=by, agreement=agreement
        )
        if trigger == "forward":
            _open_forwarded(
                session, case_id, params["to"].strip(), at=at, by=by, agreement=agreement
            )
            shown = cases.case_view(session, case_id)
        return shown  # the case as just written, read in the same transaction


def _attributed(decision: Decision, user: User) -> Decision:
    """The decision with the acting user's party in its audit entry's params."""
    entry = decision.audit
    if entry is None or user.is_embedded:
        return decision
    return replace(decision, audit=replace(entry, params=audit_params(user, dict(entry.params))))


def _open_forwarded(
    session: Session, case_id: str, target: str, *, at: datetime, by: str, agreement: Agreement
) -> str | None:
    """§ 14 Abs. 2 S. 4 SGB IX: the application goes on at the carrier it was forwarded to, as a
    case of its own linked both ways, in the transaction of the forwarding. Its receipt is the day
    of the forwarding (gpv hands it over at once); after a second forwarding by agreement (§ 14
    Abs. 3) the periods already running go on, so the receipt stays the one at the second carrier.
    A carrier that runs no Gesamtplanverfahren in gpv (e.g. the Agentur für Arbeit) gets the
    notice only. Returns the new case id, or None."""
    from states.advance import open_case_decision

    if agreement.party(target).kind not in CASE_CARRIER_KINDS:
        return None
    first = cases.get_case(session, case_id)
    received = first.received_on if first.forwarded_from else berlin_date(at)
    (new_id,) = cases.allocate_case_ids(session, received.year)
    source = agreement.party(first.carrier).name
    table = CaseRow.__table__  # type: ignore[attr-defined]
    columns = {c.name: getattr(first, c.name) for c in table.columns}
    case = CaseRow(
        **forwarded_case_values(columns, new_id, target, received, source, datetime.now(UTC))
    )
    first.forwarded_to = new_id
    session.add(case)
    session.flush()
    decision = open_case_decision(cases.case_facts(case), at, by, agreement)
    cases.apply_decision(session, case, decision, at=at, by=by, agreement=agreement)
    return new_id


def show_case(engine: Engine, case_id: str) -> dict[str, Any]:
    """Keys: id, status, carrier, municipality, received_on, forwarded_from, forwarded_to,
    processes, routing, involvement, deadlines, history, version
    (``workflows.store.cases.case_view``)."""
    with read_session(engine) as session:
        return cases.case_view(session, case_id)


def update_contact(
    engine: Engine, case_id: str, contact_email: str | None, *, at: datetime, by: str
) -> dict[str, Any]:
    """Record (or, with an empty value, remove) the person's or guardian's e-mail address.

    Audited as ``update_contact``; the audit entry says whether an address was set or removed but
    does not keep the address itself (the history is permanent; the address must stay erasable,
    Art. 17 DSGVO / § 84 SGB X).
    """
    from workflows.involvement import record_case_fact

    _check_aware(at)
    email = _check_email(contact_email)
    if not by or not by.strip():
        raise InputError("Es fehlt, wer die Änderung vornimmt (--by).")
    params = {"contact_email": "gesetzt" if email else "entfernt"}
    return record_case_fact(
        engine,
        case_id,
        "update_contact",
        lambda _: ({"contact_email": email}, params),
        at=at,
        by=by,
    )


def _checked_status(status: str | None) -> None:
    from states.decision import CaseState

    if status is not None and status not in {s.value for s in CaseState}:
        raise InputError(
            f"Unbekannter Status {status!r}; möglich sind: {', '.join(s.value for s in CaseState)}."
        )


def _next_due() -> Subquery:
    """Per case, the earliest due day of its outstanding deadlines."""
    return (
        select(col(DeadlineRow.case_id), func.min(col(DeadlineRow.due)).label("next_due"))
        .where(*cases.where(OUTSTANDING))
        .group_by(col(DeadlineRow.case_id))
        .subquery()
    )


def _cases_query(
    *, status: str | None, town: str | None, overdue_before: date | None, limit: int | None
) -> Select[Any]:
    outstanding = _next_due()
    stmt = select(CaseRow, outstanding.c.next_due).outerjoin(
        outstanding, outstanding.c.case_id == col(CaseRow.id)
    )
    if status is not None:
        stmt = stmt.where(col(CaseRow.status) == status)
    if town is not None:
        stmt = stmt.where(col(CaseRow.municipality) == town)
    if overdue_before is not None:
        stmt = stmt.where(outstanding.c.next_due < overdue_before)
    stmt = stmt.order_by(col(CaseRow.received_on).desc(), col(CaseRow.id).desc())
    return stmt.limit(limit) if limit is not None else stmt


def list_cases(
    engine: Engine,
    *,
    status: str | None = None,
    overdue: bool = False,
    municipality: str | None = None,
    now: datetime,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Cases, newest receipt first: id, status, carrier, municipality, received_on, next_due
    (earliest outstanding deadline), overdue (one of them is past its due day)."""
    _check_aware(now, "now")
    _checked_status(status)
    town = load_agreement().town(municipality).slug if municipality else None
    stmt = _cases_query(
        status=status, town=town, overdue_before=berlin_date(now) if overdue else None, limit=limit
    )
    with read_session(engine) as session:
        rows = session.execute(stmt).all()
    return [
        {
            "id": case.id,
            "status": case.status,
            "carrier": case.carrier,
            "municipality": case.municipality,
            "received_on": case.received_on.isoformat(),
            "next_due": next_due.isoformat() if next_due else None,
            "overdue": bool(next_due and is_overdue(next_due, now)),
        }
        for case, next_due in rows
    ]


def tasks(
    engine: Engine, *, party: str | None = None, now: datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    """Open work per party, earliest due first: every deadline whose step is outstanding
    (the first ``limit`` of them when given).

    Keys: party, process, case_id, rule, expected (what must happen), norm, due, overdue.
    """
    _check_aware(now, "now")
    agreement = load_agreement()
    if party is not None:
        party = agreement.party(party.strip()).id
    stmt = select(DeadlineRow).where(*cases.where(OUTSTANDING))
    if party is not None:
        stmt = stmt.where(col(DeadlineRow.responsible_party) == party)
    stmt = stmt.order_by(col(DeadlineRow.due), col(DeadlineRow.id))
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit {limit}: erwartet wird eine Zahl ab 1.")
        stmt = stmt.limit(limit)
    with read_session(engine) as session:
        rows = session.scalars(stmt).all()
    result = []
    for d in rows:
        rule = agreement.rules.get(d.rule)
        result.append(
            {
                "party": d.responsible_party,
                "process": d.process,
                "case_id": d.case_id,
                "rule": d.rule,
                "expected": rule.title if rule else d.rule,
                "norm": d.norm,
                "due": d.due.isoformat(),
                "overdue": is_overdue(d.due, now),
            }
        )
    return result


def audit_verify(engine: Engine) -> dict[str, Any]:
    """Check the audit chain against its anchor outside the database and every case against its
    entries (``workflows.store.audit.verify``); keys ok, checked, first_broken_id, problem,
    case_id, cases_checked, anchored, anchor, warnings."""
    from workflows.store import anchor

    anchored = anchor.read(engine.url)  # before the snapshot: every line read is in it
    with read_session(engine) as session:
        return audit.verify(session, anchored=anchored).as_dict()
