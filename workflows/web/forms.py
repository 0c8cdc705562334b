"""The form of one step: a field per parameter of its trigger, with a German label and an input
that fits (a list to choose from, a date picker, a text area for a reason).

Which input a parameter gets is the table :data:`WIDGETS`; the choices come from the agreement
(the carriers a case can be forwarded to, the experts who may give the statement). A parameter
the table does not know gets a one-line text field, so a new trigger works before it has a nicer
input. What the user types reaches :func:`workflows.service.fire` as it is: the rules check it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from states.agreement import Agreement
from states.processes.registry import TRIGGER_SPECS
from workflows.web.labels import OUTCOMES, PARAMS


@dataclass(frozen=True)
class Field:
    """One input: ``kind`` is text, textarea, date, datetime, select or checkbox."""

    name: str
    label: str
    kind: str
    required: bool
    options: tuple[tuple[str, str], ...] = ()


Choices = Callable[[Agreement, str], tuple[tuple[str, str], ...]]


def _forward_targets(agreement: Agreement, carrier: str) -> tuple[tuple[str, str], ...]:
    kinds = agreement.decision_deadline.rehabilitation_carrier_kinds
    return tuple(
        (p.id, p.name) for p in agreement.parties.values() if p.kind in kinds and p.id != carrier
    )


def _experts(agreement: Agreement, carrier: str) -> tuple[tuple[str, str], ...]:
    return tuple((p.id, p.name) for p in agreement.statement_experts(carrier))


def _outcomes(agreement: Agreement, carrier: str) -> tuple[tuple[str, str], ...]:
    return tuple(OUTCOMES.items())


#: parameter → (input kind, where a list's choices come from).
WIDGETS: Mapping[str, tuple[str, Choices | None]] = MappingProxyType(
    {
        "to": ("select", _forward_targets),
        "expert": ("select", _experts),
        "outcome": ("select", _outcomes),
        "reason": ("textarea", None),
        "review": ("date", None),
        "approved_until": ("date", None),
        "date": ("datetime", None),
        "agreed": ("checkbox", None),
    }
)


def fields_for(trigger: str, agreement: Agreement, carrier: str) -> tuple[Field, ...]:
    """The fields of ``trigger``'s form in a case of ``carrier``: required ones first."""
    spec = TRIGGER_SPECS[trigger]
    fields = []
    for name in spec.params:
        kind, choices = WIDGETS.get(name, ("text", None))
        fields.append(
            Field(
                name=name,
                label=PARAMS.get(name, name),
                kind=kind,
                required=name in spec.required,
                options=choices(agreement, carrier) if choices is not None else (),
            )
        )
    return tuple(fields)


def params_from(trigger: str, form: Mapping[str, object]) -> dict[str, str]:
    """The trigger's parameters from a submitted form: only its own, blanks left out (a checkbox
    that is ticked sends ``ja``)."""
    spec = TRIGGER_SPECS[trigger]
    params: dict[str, str] = {}
    for name in spec.params:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            params[name] = value.strip()
    return params
