"""The application API of the consent register and the § 76 SGB X objection (issue 10).

Each function is one unit of work: load the case, let :mod:`states.involvement` check the change,
write it with the case's version check, one audit entry (the case's state unchanged) and, for a
consent, one row of the register (``consents``, scope ``involvement:<party>``). Errors come from
the one error tree (exit 2 bad input, exit 3 refused); a refused call writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from states.deadlines import berlin_date
from states.decision import Process
from states.errors import InputError
from states.permissions import check_may_record
from workflows.store import cases
from workflows.store.db import read_session, write_session
from workflows.store.models import CaseRow, ConsentRow
from workflows.users import acting_user, audit_params

CONSENT_SCOPE = "involvement:{party}"


def _checked_actor(at: datetime, by: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"Der Zeitpunkt {at.isoformat()} braucht eine Zeitzone.")
    if not by or not by.strip():
        raise InputError("Es fehlt, wer die Änderung vornimmt (--by).")


def record_consent(
    engine: Engine, case_id: str, party: str, status: str, *, at: datetime, by: str
) -> dict[str, Any]:
    """Record the person's decision on involving ``party`` (given, refused, revoked): audited as
    ``record_consent`` with party, status and norm; returns the case as ``gpv case show``."""
    from states.agreement import load_agreement
    from states.involvement import consent_change, parse_status

    _checked_actor(at, by)
    decision = parse_status(status)
    user = acting_user(engine, by)
    agreement = load_agreement()
    with read_session(engine) as session:
        loaded = cases.load_snapshot(session, case_id)
    snapshot = loaded.snapshot
    check_may_record(user, "record_consent", snapshot.facts, agreement)
    state = snapshot.state_of(Process.CASE)
    change = consent_change(snapshot.facts, state, party, decision, agreement)
    with write_session(engine) as session:
        cases.record_change(
            session,
            case_id,
            loaded.version,
            trigger="record_consent",
            changes={"consented": list(change.consented), "parties": list(change.parties)},
            params=audit_params(
                user, {"party": change.party, "status": change.status.value, "norm": change.norm}
            ),
            at=at,
            by=user.name,
        )
        session.add(
            ConsentRow(
                case_id=case_id,
                scope=CONSENT_SCOPE.format(party=change.party),
                status=change.status.value,
                norm=change.norm,
                at=at,
                recorded_by=user.name,
            )
        )
    return _show(engine, case_id)


def record_objection(
    engine: Engine, case_id: str, action: str, *, at: datetime, by: str
) -> dict[str, Any]:
    """Record the notice of the right to object, an objection or its withdrawal (§ 76 Abs. 2
    Nr. 1 SGB X): audited as ``record_objection``; returns the case as ``gpv case show``."""
    from states.involvement import NORM_OBJECTION, objection_values, parse_objection_action

    _checked_actor(at, by)
    what = parse_objection_action(action)

    def change(case: CaseRow) -> tuple[dict[str, Any], dict[str, Any]]:
        values = objection_values(what, bool(case.data_transfer_objection), berlin_date(at))
        return values, {"action": what.value, "norm": NORM_OBJECTION}

    return record_case_fact(engine, case_id, "record_objection", change, at=at, by=by)


#: § 119 Abs. 4 SGB IX: with a parent's consent, the conference is held before the benefits are
#: determined (``states.processes.case.has_parent_conference_unless_refused``).
NORM_PARENT = "§ 119 Abs. 4 SGB IX"
_YES = frozenset({"ja", "yes", "true"})
_NO = frozenset({"nein", "no", "false"})


def record_parent(
    engine: Engine, case_id: str, answer: str, *, at: datetime, by: str
) -> dict[str, Any]:
    """Record whether the person is the mother or father of a child (``ja``/``nein``): audited as
    ``record_parent``; returns the case as ``gpv case show``."""
    _checked_actor(at, by)
    word = (answer or "").strip().lower()
    if word not in _YES | _NO:
        raise InputError(f"Angabe {answer!r}: erwartet wird ja oder nein ({NORM_PARENT}).")
    parent = word in _YES
    return record_case_fact(
        engine,
        case_id,
        "record_parent",
        lambda case: ({"is_parent": parent}, {"parent": parent, "norm": NORM_PARENT}),
        at=at,
        by=by,
    )


#: From the case row as it stands: the columns to set and the audit entry's params (no free
#: text that must stay erasable, e.g. an address).
FactChange = Callable[[CaseRow], tuple[dict[str, Any], dict[str, Any]]]


def record_case_fact(
    engine: Engine, case_id: str, what: str, change: FactChange, *, at: datetime, by: str
) -> dict[str, Any]:
    """A change of case data outside the process rules (``what``: a key of
    :data:`states.permissions.RECORD_LABELS`): who acts (:func:`acting_user`), whether they may
    (the carrier's case manager), then the new values with the version check and one audit entry
    with the acting party; returns the case as ``gpv case show``."""
    from states.agreement import load_agreement

    user = acting_user(engine, by)
    with read_session(engine) as session:
        case: CaseRow = cases.get_case(session, case_id)
        version = case.version
        check_may_record(user, what, cases.case_facts(case), load_agreement())
        changes, params = change(case)
    with write_session(engine) as session:
        cases.record_change(
            session,
            case_id,
            version,
            trigger=what,
            changes=changes,
            params=audit_params(user, params),
            at=at,
            by=user.name,
        )
    return _show(engine, case_id)


def _show(engine: Engine, case_id: str) -> dict[str, Any]:
    with read_session(engine) as session:
        return cases.case_view(session, case_id)
