"""Correcting a mistaken entry of a case (issue 12): the service behind ``gpv case correct`` and
the web form.

Load → decide (:mod:`states.correction`, pure) → persist, in one write transaction with the
version check of every step (:func:`workflows.store.cases.persist_decision`): the case's facts,
the deadlines superseded and reopened, the routing advice, and one audit entry ``correct`` whose
params hold the field, the old and the new value and the reason. The reason is free text and
stays in gpv's store: nothing of a correction goes to Prefect.

Routing runs again after either correction (it decides on the day of receipt and the town,
AG-SGB IX NRW § 1): its answer is recorded as advice, the carrier stays, and a different answer
flags "Zuständigkeit prüfen" as at opening (:func:`workflows.service._routed`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from states.agreement import Agreement, load_agreement
from states.correction import check_field, correct_receipt, with_parties
from states.deadlines import berlin_date
from states.decision import Decision
from states.errors import InputError
from states.permissions import check_may_record
from workflows.store import cases
from workflows.store.db import read_session, write_session
from workflows.store.models import AuditRow, CaseRow
from workflows.users import acting_user

#: Audit entries that are not steps on the application (the opening itself, the sweep's marks,
#: changes of case data): a new receipt may lie before them.
_NOT_STEPS = frozenset({"open_case", "miss_deadline", "update_contact", "correct"})


def _step_days(session: Session, case_id: str) -> list[date]:
    rows = session.scalars(
        select(col(AuditRow.at)).where(
            col(AuditRow.case_id) == case_id, col(AuditRow.trigger).not_in(_NOT_STEPS)
        )
    ).all()
    return [berlin_date(at) for at in rows]


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"--value {value!r}: erwartet wird der Tag des Antragseingangs als JJJJ-MM-TT, "
            "z. B. 2026-03-02."
        ) from None


def _rerouted(case: CaseRow, agreement: Agreement, *, received: date, town: str) -> Any:
    """Routing for the corrected facts, as advice to the case's carrier (``_Opening``)."""
    from states.routing import PersonFacts
    from workflows.service import _Application, _routed

    person = PersonFacts(
        birth_date=case.birth_date,
        municipality=town,
        disabilities=frozenset(filter(None, (case.disabilities or "").split(","))),
        benefit=case.benefit,
        school_finished=case.school_finished,
        school=case.school_status,
        benefit_start=case.benefit_start,
    )
    application = _Application(received, person, case.person_ref, case.contact_email)
    return _routed(application, agreement, received_by=case.carrier)


def _decide(
    session: Session, case_id: str, field: str, value: str, reason: str, at: datetime, by: str
) -> tuple[Decision, Any]:
    agreement = load_agreement()
    snapshot = cases.load_snapshot(session, case_id).snapshot
    case = cases.get_case(session, case_id)
    if field == "received_on":
        new = _parse_day(value)
        decision = correct_receipt(
            snapshot, new, reason=reason, decided_on=case.decided_on,
            step_days=_step_days(session, case_id), at=at, by=by, agreement=agreement,
        )  # fmt: skip
        return decision, _rerouted(case, agreement, received=new, town=case.municipality)
    town = agreement.town(value).slug  # InputError naming the towns
    opening = _rerouted(case, agreement, received=case.received_on, town=town)
    decision = with_parties(
        snapshot, tuple(opening.parties), town, reason=reason, decided_on=case.decided_on,
        at=at, by=by, agreement=agreement,
    )  # fmt: skip
    return decision, opening


def correct_case(
    engine: Engine,
    case_id: str,
    *,
    field: str,
    value: str,
    reason: str,
    at: datetime,
    by: str,
) -> dict[str, Any]:
    """Correct ``field`` (``received_on`` or ``municipality``) of a case to ``value`` for
    ``reason``; returns the case as :func:`workflows.service.show_case` does.

    InputError (exit 2): an unknown field or town, a malformed or future date, a blank reason or
    author, the same value. TransitionRefused (exit 3): a Bescheid was issued, or the new receipt
    lies after a recorded step. ConflictError (exit 3): the case changed meanwhile. RefusedError
    (exit 3): once users are set up, ``by`` is not a case manager of the case's carrier
    (:func:`workflows.users.acting_user`, § 35 Abs. 1 S. 2 SGB I). A refused or failed correction
    writes nothing."""
    from workflows.service import _attributed, _check_aware, show_case

    _check_aware(at)
    name = check_field(field)
    if not by or not by.strip():
        raise InputError("Es fehlt, wer die Berichtigung vornimmt (--by).")
    user = acting_user(engine, by)
    agreement = load_agreement()
    with read_session(engine) as session:
        case = cases.get_case(session, case_id)
        version = case.version
        check_may_record(user, "correct", cases.case_facts(case), agreement)
        decision, opening = _decide(session, case_id, name, value, reason, at, user.name)
    decision, by = _attributed(decision, user), user.name
    with write_session(engine) as session:
        cases.persist_decision(
            session, case_id, version, decision, at=at, by=by, agreement=agreement
        )
        case = cases.get_case(session, case_id)
        result = opening.result
        case.routed_carrier = result.carrier
        case.routing_basis = result.legal_basis
        case.routing_reason = result.reason
        case.routing_flags = list(opening.flags)
        session.flush()
    return show_case(engine, case_id)
