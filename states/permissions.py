"""Who may fire which step of a case (legal-review M9). Pure: no database, no clock.

Only the competent carrier issues the Verwaltungsakt (§ 120 Abs. 2 SGB IX), and social data are
open to authorised staff only (§ 35 Abs. 1 S. 2 SGB I). A step's ``actor`` is declared with the
trigger in its process module (``TriggerSpec.actor``: ``carrier``, ``statement_expert`` or a party
kind); which user role may act as which actor is data in the agreement file (``[permissions]``,
:data:`states.agreement.DEFAULT_PERMISSIONS`). A user may fire a trigger when

- the user is enabled,
- the user's role lists the trigger's actor, and
- the user's party is the party acting so in this case: the case's carrier for ``carrier``; the
  expert the statement request names (else the one the agreement names) for ``statement_expert``;
  the one party of the kind otherwise. A member's party acts only where it has that task: the
  trigger's process runs in the case.

Supervisors read; the default table lets them fire nothing. The embedded user (no user set up yet,
:data:`EMBEDDED_PARTY`) is the case manager of whichever carrier leads the case and records every
step as it reaches the carrier, as gpv did before users existed.
"""

from __future__ import annotations

from dataclasses import dataclass

from states.agreement import CARRIER, STATEMENT_EXPERT, USER_ROLES, Agreement
from states.decision import CaseFacts, CaseSnapshot, Process
from states.errors import InputError, RefusedError
from states.processes.definition import TriggerSpec

CASE_MANAGER, MEMBER, SUPERVISOR = USER_ROLES
#: The party of the embedded user: whichever carrier leads the case (no party id is "carrier").
EMBEDDED_PARTY = CARRIER
NORM_CARRIER = "§ 120 Abs. 2 SGB IX"
NORM_ACCESS = "§ 35 Abs. 1 S. 2 SGB I"
#: German names of the roles, as a person reads them (and types them: ``--role mitglied``).
ROLE_LABELS: dict[str, str] = {
    CASE_MANAGER: "Fallmanagement",
    MEMBER: "Mitglied",
    SUPERVISOR: "Aufsicht",
}
_ROLE_WORDS: dict[str, str] = {
    **{role: role for role in USER_ROLES},
    **{role.replace("_", "-"): role for role in USER_ROLES},
    **{label.casefold(): role for role, label in ROLE_LABELS.items()},
    "fallmanager": CASE_MANAGER,
    "fallmanagerin": CASE_MANAGER,
}
#: Who fires a step of each actor, in the words of a refusal (never naming the case's parties).
_WHO: dict[str, str] = {
    CARRIER: "das Fallmanagement des Trägers, der den Fall führt",
    STATEMENT_EXPERT: "die Stelle, die in diesem Fall um die Stellungnahme gebeten ist",
}


@dataclass(frozen=True)
class User:
    """Who acts: a user of gpv's ``users`` table, or the embedded user (``party`` is
    :data:`EMBEDDED_PARTY`). ``role`` is one of :data:`states.agreement.USER_ROLES`."""

    name: str
    party: str
    role: str
    enabled: bool

    @property
    def is_embedded(self) -> bool:
        return self.party == EMBEDDED_PARTY

    def label(self) -> str:
        """ "fm.mueller (Fallmanagement, lwl)", as a refusal names the user."""
        return f"{self.name} ({ROLE_LABELS.get(self.role, self.role)}, {self.party})"


def parse_role(text: str) -> str:
    """A role from its id, its dashed form or its German word (``fallmanagement``, ``mitglied``,
    ``aufsicht``); InputError naming the choices otherwise."""
    role = _ROLE_WORDS.get((text or "").strip().casefold())
    if role is None:
        raise InputError(
            f"Unbekannte Rolle {text!r}; möglich sind case-manager (Fallmanagement), member "
            "(Mitglied) und supervisor (Aufsicht)."
        )
    return role


def acting_party(spec: TriggerSpec, case: CaseSnapshot, agreement: Agreement) -> str | None:
    """The party that performs ``spec`` in this case, or None when it has no such task here (a
    step of another party whose process does not run in the case)."""
    carrier = case.facts.carrier
    if spec.actor == CARRIER:
        return carrier
    instance = case.processes.get(spec.process)
    if instance is None:
        return None
    if spec.actor == STATEMENT_EXPERT and instance.data.get("expert"):
        return str(instance.data["expert"])
    return agreement.party_for(spec.actor, carrier)


def may_fire(user: User, spec: TriggerSpec, case: CaseSnapshot, agreement: Agreement) -> bool:
    """Whether ``user`` may fire ``spec`` on ``case`` (the rule of this module's docstring)."""
    if not user.enabled:
        return False
    if user.is_embedded:
        return True
    if spec.actor not in agreement.permissions.get(user.role, ()):
        return False
    return acting_party(spec, case, agreement) == user.party


def check_may_fire(
    user: User, trigger: str, case: CaseSnapshot | CaseFacts, agreement: Agreement
) -> None:
    """Raise :class:`RefusedError` (exit 3) naming the rule unless ``user`` may fire ``trigger``
    on ``case`` (a snapshot, or the bare facts for a change of case data that only the carrier
    records: consent, objection, contact). An unknown trigger is an InputError."""
    from states.triggers import TRIGGER_SPECS

    spec = TRIGGER_SPECS.get(trigger)
    if spec is None:
        raise InputError(f"Unbekannter Auslöser {trigger!r}.")
    snapshot = case if isinstance(case, CaseSnapshot) else CaseSnapshot(case, {})
    if may_fire(user, spec, snapshot, agreement):
        return
    raise RefusedError(_refusal(user, spec, agreement), norm=_norm(spec))


#: The changes of case data outside the process rules, with their German labels.
RECORD_LABELS: dict[str, str] = {
    "record_consent": "Zustimmung erfassen",
    "record_objection": "Widerspruch erfassen",
    "update_contact": "Kontaktadresse ändern",
    "record_parent": "Elternschaft erfassen",
    "open_case": "Fall anlegen",
    "correct": "Eintrag berichtigen",
}


def check_may_record(user: User, what: str, case: CaseFacts, agreement: Agreement) -> None:
    """A change of case data outside the process rules (``what``: a key of
    :data:`RECORD_LABELS`) is recorded by the case's carrier: the rule of a carrier step."""
    spec = TriggerSpec(what, RECORD_LABELS[what], NORM_CARRIER, owner=Process.CASE)
    if not may_fire(user, spec, CaseSnapshot(case, {}), agreement):
        raise RefusedError(_refusal(user, spec, agreement), norm=_norm(spec))


def disabled_message(name: str) -> str:
    """Why a disabled user is refused, and the fix."""
    return (
        f"Der Benutzer {name} ist deaktiviert und darf nichts mehr auslösen; nur befugte "
        f"Beschäftigte haben Zugriff ({NORM_ACCESS}). Bitte als aktiver Benutzer handeln (--by)."
    )


def _norm(spec: TriggerSpec) -> str:
    return f"{NORM_CARRIER}; {NORM_ACCESS}" if spec.actor == CARRIER else NORM_ACCESS


def _refusal(user: User, spec: TriggerSpec, agreement: Agreement) -> str:
    """The refusal a user reads: who they are, what the step needs, the rule, the fix. It names
    none of the case's parties: whoever is refused may have no right to know them."""
    step = f"„{spec.label}“ ({spec.name})"
    if not user.enabled:
        return disabled_message(user.name)
    if user.role == SUPERVISOR and not agreement.permissions.get(SUPERVISOR):
        reason = "Die Aufsicht liest Fälle und Fristen, sie löst keine Schritte aus"
    else:
        default = f"die Partei der Art {spec.actor}, die diese Aufgabe im Fall hat"
        who = _WHO.get(spec.actor, default)
        reason = f"Diesen Schritt erfasst nur {who}"
    law = (
        f"Nur der zuständige Träger entscheidet und erlässt den Bescheid ({NORM_CARRIER}); "
        if spec.actor == CARRIER
        else ""
    )
    return (
        f"{user.label()} darf {step} in diesem Fall nicht auslösen. {reason}. {law}Zugriff nur "
        f"für befugte Beschäftigte ({NORM_ACCESS}). Bitte als befugter Benutzer handeln (--by; "
        "gpv user list zeigt, wer welche Rolle hat)."
    )
