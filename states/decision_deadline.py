"""Which reading of the decision deadline applies, chosen from recorded facts.

The carrier decides on an application within a period that depends on what the case involves
(legal-review C1, C2):

* § 14 Abs. 2 S. 2 SGB IX (``standard``): three weeks from receipt, while **no** Gutachten is
  needed;
* § 14 Abs. 2 S. 3 SGB IX (``after_statement``): two weeks after the Gutachten arrives. While a
  requested Gutachten is awaited no decision deadline runs: the S. 2 deadline is *superseded*, not
  missed. If the request is declined or cancelled, S. 2 returns with its original due date;
* § 15 Abs. 4 S. 1 SGB IX (``other_carriers``): six weeks from receipt when other rehabilitation
  carriers are involved (the party kinds are agreement data, ``section_15_kinds``);
* § 15 Abs. 4 S. 2, § 120 Abs. 1 SGB IX (``conference``): two months from receipt once a
  Gesamtplankonferenz is set (the reading for a conference without other carriers is the agreement
  key ``decision_deadline.gesamtplankonferenz_two_months``).

:data:`RULES` are tried in order (the longer, more specific period first); the first that applies
decides. :func:`reconcile` runs after every step: when the step changed the reading, it supersedes
the row the case holds and opens the new one, each with the fact that chose it.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from states.agreement import STANDARD, Agreement
from states.decision import (
    CaseSnapshot,
    CaseState,
    DeadlineClosure,
    DeadlineStatus,
    Decision,
    OpenDeadline,
    Process,
)
from states.law import law_of
from states.processes.conference import ConferenceState
from states.processes.definition import StepContext, open_rule
from states.processes.statement import OPEN_STATES, StatementState

RULE = "decision"
#: While the case is in one of these states the decision is still owed.
UNDECIDED = frozenset(
    {CaseState.RECEIVED, CaseState.ASSESSMENT, CaseState.DETERMINED, CaseState.PLANNED}
)
#: Notices that tell the carrier the decision's due date (``decision_due`` and ``norm``).
REPORTS_DUE = frozenset({"statement_delivered"})


@dataclass(frozen=True)
class Choice:
    """The reading that applies: ``variant`` None means no decision deadline runs (a requested
    Gutachten is awaited); ``anchor`` None means "the anchor the case already holds" (a delivered
    statement whose date was not recorded); ``reason`` is the fact, in German."""

    variant: str | None
    anchor: date | None
    reason: str
    #: The reading that replaces a superseded deadline when ``variant`` is None (its norm is named).
    pending: str | None = None


Rule = Callable[[CaseSnapshot, Agreement], Choice | None]


def _conference(snapshot: CaseSnapshot, agreement: Agreement) -> Choice | None:
    """§ 15 Abs. 4 S. 2 with § 120 Abs. 1 SGB IX: a Gesamtplankonferenz is set or held."""
    state = snapshot.state_of(Process.CONFERENCE)
    if not agreement.decision_deadline.gesamtplankonferenz_two_months:
        return None
    if not law_of(agreement, snapshot.facts.carrier).conference_sets_two_months:
        return None  # a youth office's Hilfeplangespräch: § 14 Abs. 2 S. 2/3 SGB IX stay
    if state not in (ConferenceState.SCHEDULED, ConferenceState.HELD):
        return None
    what = "abgehalten" if state == ConferenceState.HELD else "angesetzt"
    return Choice("conference", snapshot.facts.received_on, f"Gesamtplankonferenz {what}")


def _other_carriers(snapshot: CaseSnapshot, agreement: Agreement) -> Choice | None:
    """§ 15 Abs. 4 S. 1 SGB IX: other rehabilitation carriers (§ 6 Abs. 1) are involved."""
    kinds = agreement.decision_deadline.section_15_kinds
    facts = snapshot.facts
    others = [
        agreement.parties[p].name
        for p in facts.parties
        if p != facts.carrier and p in agreement.parties and agreement.parties[p].kind in kinds
    ]
    if not others:
        return None
    return Choice(
        "other_carriers",
        facts.received_on,
        f"weitere Rehabilitationsträger beteiligt: {', '.join(others)}",
    )


def _statement_awaited(snapshot: CaseSnapshot, agreement: Agreement) -> Choice | None:
    """§ 14 Abs. 2 S. 3 SGB IX: a requested Gutachten is awaited; the period starts on receipt."""
    if snapshot.state_of(Process.STATEMENT) not in OPEN_STATES:
        return None
    return Choice(
        None,
        None,
        "Gutachten (Stellungnahme) angefordert; die Frist beginnt mit dem Eingang",
        pending="after_statement",
    )


def _statement_delivered(snapshot: CaseSnapshot, agreement: Agreement) -> Choice | None:
    """§ 14 Abs. 2 S. 3 SGB IX: two weeks after the Gutachten arrived."""
    instance = snapshot.processes.get(Process.STATEMENT)
    if instance is None or instance.state != StatementState.DELIVERED:
        return None
    delivered = instance.data.get("delivered_on")
    anchor = date.fromisoformat(str(delivered)) if delivered else None
    when = f" am {anchor.isoformat()}" if anchor else ""
    return Choice("after_statement", anchor, f"Gutachten (Stellungnahme) eingegangen{when}")


def _standard(snapshot: CaseSnapshot, agreement: Agreement) -> Choice:
    """§ 14 Abs. 2 S. 2 SGB IX: no Gutachten needed, three weeks from receipt."""
    state = snapshot.state_of(Process.STATEMENT)
    if state in (StatementState.DECLINED, StatementState.CANCELLED):
        what = "abgelehnt" if state == StatementState.DECLINED else "zurückgezogen"
        reason = f"Gutachten-Anfrage {what}; es gilt wieder die Frist ab Antragseingang"
    else:
        reason = "kein Gutachten angefordert"
    return Choice(STANDARD, snapshot.facts.received_on, reason)


#: The readings, most specific first; :func:`_standard` always applies.
RULES: tuple[Rule, ...] = (_conference, _other_carriers, _statement_awaited, _statement_delivered)


def choose(snapshot: CaseSnapshot, agreement: Agreement) -> Choice:
    """The reading of the decision deadline for the case as ``snapshot`` shows it."""
    for rule in RULES:
        choice = rule(snapshot, agreement)
        if choice is not None:
            return choice
    return _standard(snapshot, agreement)


def _norm(agreement: Agreement, variant: str) -> str:
    return agreement.rule(RULE).variant(variant).norm


def _unchanged(current: OpenDeadline | None, choice: Choice) -> bool:
    if current is None:
        return choice.variant is None
    return current.variant == choice.variant and choice.anchor in (None, current.anchor_date)


def reconcile(ctx: StepContext, decision: Decision, after: CaseSnapshot) -> Decision:
    """``decision`` with the decision deadline brought in line with the facts after the step.

    A step that closes or opens the decision deadline itself (the Bescheid, a forwarding) is left
    as it is, and so is a case that is no longer waiting for a decision. Otherwise, when the
    reading changes, the outstanding row is closed as *superseded* (a missed one keeps its status)
    with the new norm and the fact, and the new reading is opened (none while a Gutachten is
    awaited). Notices reporting the decision's due date get the one that now applies.
    """
    if after.state_of(Process.CASE) not in UNDECIDED:
        return decision
    if any(c.rule == RULE for c in decision.deadlines_close) or any(
        s.rule == RULE for s in decision.deadlines_open
    ):
        return decision
    current = next((d for d in after.deadlines if d.rule == RULE), None)
    choice = choose(after, ctx.agreement)
    if choice == choose(ctx.snapshot, ctx.agreement) or _unchanged(current, choice):
        # The step changed no fact the reading depends on, or the case already holds it.
        return _with_due(decision, current, ctx.agreement)
    closes = list(decision.deadlines_close)
    opens = list(decision.deadlines_open)
    if current is not None:
        by = "ersetzt"
        if choice.variant or choice.pending:
            by = f"ersetzt durch {_norm(ctx.agreement, choice.variant or str(choice.pending))}"
        closes.append(DeadlineClosure(RULE, DeadlineStatus.SUPERSEDED, f"{by}: {choice.reason}"))
    if choice.variant is not None:
        anchor = choice.anchor or (current.anchor_date if current else after.facts.received_on)
        opens.append(open_rule(ctx, RULE, anchor, variant=choice.variant, reason=choice.reason))
    changed = dataclasses.replace(
        decision, deadlines_close=tuple(closes), deadlines_open=tuple(opens)
    )
    new = opens[-1] if choice.variant is not None else None
    effective = (
        OpenDeadline(RULE, new.anchor_date, new.due, new.process, new.variant) if new else None
    )
    return _with_due(changed, effective, ctx.agreement)


def _with_due(decision: Decision, deadline: OpenDeadline | None, agreement: Agreement) -> Decision:
    """Fill ``decision_due`` and ``norm`` of the notices in :data:`REPORTS_DUE`."""
    if deadline is None or not any(n.event in REPORTS_DUE for n in decision.notifications):
        return decision
    due = {"decision_due": deadline.due.isoformat(), "norm": _norm(agreement, deadline.variant)}
    notices = tuple(
        dataclasses.replace(n, context={**n.context, **due}) if n.event in REPORTS_DUE else n
        for n in decision.notifications
    )
    return dataclasses.replace(decision, notifications=notices)
