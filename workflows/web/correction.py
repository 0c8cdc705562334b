"""The correction forms of the case page (issue 12): a mistaken receipt date or town is corrected
as its own audited step with a reason (:func:`workflows.corrections.correct_case`), never edited
in place. A new receipt re-computes the deadlines that hang on it (§ 14 SGB IX); a new town
re-runs the routing as advice to the carrier (AG-SGB IX NRW § 1).

One small form per correctable entry, each posting ``field``, ``value`` and ``reason`` to
``/faelle/<id>/berichtigung``: the receipt with a date picker, the town from the agreement's
towns. The reason is free text: it stays in gpv's store (the correction runs in the web process),
nothing of it reaches Prefect. Who may correct is decided by ``correct_case`` (a case manager of
the case's carrier); the page offers the forms to case managers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from states.agreement import Agreement
from states.errors import InputError

if TYPE_CHECKING:
    from datetime import datetime

    from workflows.users import User

#: What a case manager may correct, with its German label (:mod:`states.correction`).
CORRECTABLE: dict[str, str] = {"received_on": "Antragseingang", "municipality": "Wohnort"}


@dataclass(frozen=True)
class CorrectionForm:
    """One correction form: the field, its label, the input (``date`` or ``select``), the value
    it starts with, and a select's choices."""

    field: str
    label: str
    kind: str
    current: str = ""
    options: tuple[tuple[str, str], ...] = ()


def correction_forms(case: Mapping[str, Any], agreement: Agreement) -> tuple[CorrectionForm, ...]:
    """The forms for ``case`` (as :func:`workflows.service.show_case` returns it)."""
    towns = tuple(sorted(((t.slug, t.name) for t in agreement.towns.values()), key=lambda t: t[1]))
    return (
        CorrectionForm("received_on", CORRECTABLE["received_on"], "date", str(case["received_on"])),
        CorrectionForm("municipality", CORRECTABLE["municipality"], "select", options=towns),
    )


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def correct_from_form(
    engine: Engine,
    user: User,
    case_id: str,
    form: Mapping[str, Any],
    agreement: Agreement,
    *,
    at: datetime,
) -> str:
    """Correct the case as ``user`` from the posted form (the signature of
    :func:`workflows.web.steps.take_step`; ``correct_case`` reads the agreement itself); what was
    done, in German. Raises the error tree's errors: ``correct_case`` decides, and writes nothing
    when it refuses."""
    from workflows.corrections import correct_case

    field = _text(form, "field")
    if field not in CORRECTABLE:
        raise InputError(
            "Berichtigt werden können der Antragseingang und der Wohnort; bitte die Seite neu "
            "laden und eines der Formulare verwenden."
        )
    correct_case(
        engine, case_id, field=field, value=_text(form, "value"), reason=_text(form, "reason"),
        at=at, by=user.name,
    )  # fmt: skip
    return f"{CORRECTABLE[field]} berichtigt"
