"""Correcting a mistaken entry: its own audited step with a reason, never an edit in place.

Two facts of the application can be corrected (issue 12):

* ``received_on``, the day the application arrived (§ 14 Abs. 1 SGB IX). The deadlines that hang
  on it are computed anew: every outstanding deadline anchored on the old day whose reading counts
  from the receipt (``anchor_event = "application_received"`` in the agreement file: the two weeks
  of § 14 Abs. 1 S. 1, the decision period of § 14 Abs. 2 S. 2 and its variants of § 15 Abs. 4
  SGB IX) is closed as *superseded* with the reason "berichtigt" and opened again on the new day,
  in the same reading. Deadlines already met or missed stay as they were: they record what was
  done. Refused once a Bescheid has been issued (its period ran from the old day and the Bescheid
  is final business; § 44 ff. SGB X decide then, not gpv), and when the new day lies after a step
  already recorded (an application cannot arrive after it was acted on).
* ``municipality``, the town: routing runs again and its advice is recorded; the carrier stays
  (it received the application, § 14 Abs. 1 SGB IX). That part needs the person's facts and lives
  in :mod:`workflows.corrections`; the rule here says what the decision deadline does when the
  involved parties change (:func:`with_parties`).

Pure: no clock, no I/O; the caller passes the recorded steps' days and ``today``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from states.agreement import Agreement
from states.deadlines import berlin_date, open_deadline
from states.decision import (
    AuditEntry,
    CaseSnapshot,
    CaseState,
    DeadlineClosure,
    DeadlineSpec,
    DeadlineStatus,
    Decision,
    Process,
)
from states.decision_deadline import UNDECIDED, reconcile
from states.errors import InputError, TransitionRefused
from states.processes.definition import StepContext
from states.processes.registry import SUB_PROCESSES

TRIGGER = "correct"
#: The facts a correction may change, with their German names.
FIELDS: dict[str, str] = {"received_on": "Antragseingang", "municipality": "Wohnort"}
REASON = "berichtigt"
RECEIPT_EVENT = "application_received"
NORM = "§ 14 Abs. 1 SGB IX"


def check_field(name: str) -> str:
    """The field's id, or InputError naming the choices."""
    field = (name or "").strip().replace("-", "_")
    if field not in FIELDS:
        choices = ", ".join(f"{key} ({label})" for key, label in FIELDS.items())
        raise InputError(
            f"Das Feld {name!r} lässt sich nicht berichtigen; möglich sind: {choices}."
        )
    return field


def check_reason(reason: str) -> str:
    """A correction says why (it is the audit's only account of it)."""
    text = (reason or "").strip()
    if not text:
        raise InputError(
            'Eine Berichtigung braucht einen Grund: --reason "…" (z. B. "Eingangsstempel '
            'falsch übertragen"); er steht im Verlauf.'
        )
    return text


def check_open(snapshot: CaseSnapshot, decided_on: date | None) -> None:
    """TransitionRefused once a Bescheid has been issued (or the case ended without one)."""
    state = snapshot.state_of(Process.CASE)
    if decided_on is not None or state not in UNDECIDED:
        when = f" am {decided_on.isoformat()}" if decided_on else ""
        raise TransitionRefused(
            f"Der Fall {snapshot.facts.case_id} ist im Zustand {state!r}"
            + (f"; der Bescheid erging{when}" if decided_on or state == CaseState.DECIDED else "")
            + ": Eine Berichtigung von Antragseingang oder Wohnort ändert nichts mehr an "
            "Zuständigkeit und Fristen. Bitte den Bescheid nach §§ 44 ff. SGB X korrigieren; "
            f"der Fall bleibt unverändert ({NORM}).",
            norm=NORM,
        )


def _check_new_receipt(
    snapshot: CaseSnapshot, new: date, step_days: Iterable[date], today: date
) -> None:
    old = snapshot.facts.received_on
    if new == old:
        raise InputError(f"Der Antragseingang ist bereits der {new.isoformat()}; nichts zu ändern.")
    if new > today:
        raise InputError(
            f"Der Antragseingang {new.isoformat()} liegt nach dem heutigen Tag "
            f"({today.isoformat()})."
        )
    later = sorted(day for day in step_days if day < new)
    if later:
        raise TransitionRefused(
            f"Der neue Antragseingang {new.isoformat()} liegt nach einem schon erfassten Schritt "
            f"(am {later[0].isoformat()}); ein Antrag kann nicht nach seiner Bearbeitung "
            f"eingehen. Bitte das Datum prüfen; der Fall bleibt unverändert ({NORM}).",
            norm=NORM,
        )


def _re_anchored(
    snapshot: CaseSnapshot, new: date, agreement: Agreement, why: str
) -> tuple[list[DeadlineClosure], list[DeadlineSpec]]:
    """Close and reopen every outstanding deadline that counts from the receipt."""
    closes: list[DeadlineClosure] = []
    opens: list[DeadlineSpec] = []
    old = snapshot.facts.received_on
    for deadline in snapshot.deadlines:
        rule = agreement.rules.get(deadline.rule)
        if rule is None or deadline.anchor_date != old:
            continue
        if rule.variant(deadline.variant).anchor_event != RECEIPT_EVENT:
            continue
        party = agreement.party_for(rule.responsible, snapshot.facts.carrier)
        closes.append(DeadlineClosure(deadline.rule, DeadlineStatus.SUPERSEDED, why))
        opens.append(
            open_deadline(
                agreement,
                deadline.rule,
                new,
                responsible_party=party,
                variant=deadline.variant,
                variant_reason=why,
            )
        )
    return closes, opens


def _audit(snapshot: CaseSnapshot, params: dict[str, str], at: datetime, by: str) -> AuditEntry:
    state = snapshot.state_of(Process.CASE) or ""
    return AuditEntry(TRIGGER, Process.CASE, state, state, at, by, params)


def correct_receipt(
    snapshot: CaseSnapshot,
    new: date,
    *,
    reason: str,
    decided_on: date | None,
    step_days: Iterable[date],
    at: datetime,
    by: str,
    agreement: Agreement,
) -> Decision:
    """The decision that moves the receipt to ``new`` and re-computes what counts from it.

    ``step_days`` are the days (Europe/Berlin) of the steps recorded after the case was opened;
    ``decided_on`` the day of the last Bescheid, if any. InputError for a blank reason, the same
    day or a day after ``at``; TransitionRefused after a Bescheid or before a recorded step."""
    text = check_reason(reason)
    check_open(snapshot, decided_on)
    _check_new_receipt(snapshot, new, step_days, berlin_date(at))
    old = snapshot.facts.received_on
    why = f"{REASON}: Antragseingang {new.isoformat()} statt {old.isoformat()}"
    closes, opens = _re_anchored(snapshot, new, agreement, why)
    params = {"field": "received_on", "old": old.isoformat(), "new": new.isoformat()}
    return Decision(
        trigger=TRIGGER,
        updates=(),
        deadlines_open=tuple(opens),
        deadlines_close=tuple(closes),
        facts_update={"received_on": new},
        audit=_audit(snapshot, {**params, "reason": text}, at, by),
    )


def with_parties(
    snapshot: CaseSnapshot,
    parties: tuple[str, ...],
    municipality: str,
    *,
    reason: str,
    decided_on: date | None,
    at: datetime,
    by: str,
    agreement: Agreement,
) -> Decision:
    """The decision that records the corrected town and the parties routing now names; when the
    parties change the reading of the decision deadline (§ 15 Abs. 4 S. 1 SGB IX: other
    rehabilitation carriers involved), :func:`states.decision_deadline.reconcile` supersedes and
    reopens it as after any step."""
    text = check_reason(reason)
    check_open(snapshot, decided_on)
    old = snapshot.facts.municipality
    if municipality == old:
        raise InputError(f"Der Wohnort ist bereits {municipality!r}; nichts zu ändern.")
    params = {"field": "municipality", "old": old, "new": municipality, "reason": text}
    decision = Decision(
        trigger=TRIGGER,
        updates=(),
        facts_update={"municipality": municipality, "parties": parties},
        audit=_audit(snapshot, params, at, by),
    )
    ctx = StepContext(
        snapshot=snapshot, trigger=TRIGGER, params={}, at=at, today=berlin_date(at), by=by,
        agreement=agreement, sub_processes=tuple(SUB_PROCESSES),
    )  # fmt: skip
    after = replace(
        snapshot, facts=replace(snapshot.facts, municipality=municipality, parties=parties)
    )
    return reconcile(ctx, decision, after)
