"""The steps a user may take on a case now, and taking one through :func:`workflows.service.fire`.

Offered are the triggers the machines allow from the case's snapshot
(:func:`states.next_steps.possible_triggers`) that :func:`workflows.users.check_may_fire` lets the
user fire; a party member is offered only the steps of its own tasks (those with an actor other
than the carrier). ``service.fire`` decides again when the form comes back: the page only spares
the user buttons that cannot work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from states.agreement import CARRIER, Agreement
from states.errors import GpvError, InputError, NotFoundError, RefusedError
from states.next_steps import possible_triggers
from states.processes.registry import TRIGGER_SPECS
from workflows import service
from workflows.store import cases
from workflows.store.db import read_session
from workflows.web.forms import Field, fields_for, params_from

if TYPE_CHECKING:
    from datetime import datetime

    from workflows.users import User


@dataclass(frozen=True)
class Step:
    """One offered step: its trigger, German label, norm and form fields."""

    trigger: str
    label: str
    norm: str
    fields: tuple[Field, ...]


def _may_fire(user: User, trigger: str, case: Any, agreement: Agreement) -> bool:
    from workflows.users import check_may_fire

    try:
        check_may_fire(user, trigger, case, agreement)
    except RefusedError:
        return False
    return True


def offered_steps(engine: Engine, user: User, case_id: str, agreement: Agreement) -> list[Step]:
    """The steps the user may take on the case now, in vocabulary order."""
    with read_session(engine) as session:
        loaded = cases.load_snapshot(session, case_id)
    snapshot = loaded.snapshot
    carrier = snapshot.facts.carrier
    steps = []
    for trigger in possible_triggers(snapshot):
        spec = TRIGGER_SPECS[trigger]
        if user.role == "member" and spec.actor == CARRIER:
            continue
        if not _may_fire(user, trigger, snapshot, agreement):
            continue
        steps.append(Step(trigger, spec.label, spec.norm, fields_for(trigger, agreement, carrier)))
    return steps


#: HTTP status of a refused step by the error's branch.
def error_status(exc: GpvError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, RefusedError):
        return 409
    return 400


def take_step(
    engine: Engine,
    user: User,
    case_id: str,
    form: Mapping[str, Any],
    agreement: Agreement,
    *,
    at: datetime,
) -> str:
    """Fire the form's step as ``user``; the German label of the step taken. Raises the error
    tree's errors: InputError for a step that is not offered, the service's errors otherwise."""
    trigger = form.get("trigger")
    offered = {s.trigger for s in offered_steps(engine, user, case_id, agreement)}
    if not isinstance(trigger, str) or trigger not in offered:
        raise InputError(
            "Dieser Schritt ist für diesen Fall jetzt nicht möglich oder nicht Ihre Aufgabe; "
            "bitte die Seite neu laden und einen der angebotenen Schritte wählen."
        )
    service.fire(engine, case_id, trigger, params_from(trigger, form), at=at, by=user.name)
    return TRIGGER_SPECS[trigger].label
