"""What supervisors read on the dashboard: small read queries and the artifacts' text.

The queries read the store's tables (:mod:`workflows.store.models`) in one read transaction each and
return plain rows (lists of dicts) that become Prefect table artifacts; the renderers are pure.
Nothing here carries health data: cases appear by their pseudonymous id only, people not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from states.calendar import BERLIN
from states.decision import CaseState
from workflows.orchestration.alerts import EVENT_STATES
from workflows.orchestration.deployments import SWEEP_FLOW

WINDOW_DAYS = 30
#: The case's stages in process order (``states`` case process); unknown ones are appended.
STAGE_ORDER = tuple(stage.value for stage in CaseState)


def _town_names() -> dict[str, str]:
    from states.agreement import load_agreement

    return {slug: town.name for slug, town in load_agreement().towns.items()}


def _local_day(now: datetime) -> date:
    return now.astimezone(BERLIN).date()


# ----------------------------------------------------------------------------------- queries


def cases_per_stage(engine: Any, now: datetime) -> list[dict[str, Any]]:
    """One row per town (all ten, also those without cases), one column per stage, and a total."""
    from sqlalchemy import func, select

    from workflows.store.db import read_session
    from workflows.store.models import CaseRow

    c = CaseRow.__table__.c  # type: ignore[attr-defined]
    with read_session(engine) as session:
        counts = session.execute(
            select(c.municipality, c.status, func.count()).group_by(c.municipality, c.status)
        ).all()
    names = _town_names()
    stages = list(STAGE_ORDER) + sorted({s for _, s, _ in counts} - set(STAGE_ORDER))
    table: dict[str, dict[str, int]] = {slug: dict.fromkeys(stages, 0) for slug in names}
    for town, status, n in counts:
        table.setdefault(town, dict.fromkeys(stages, 0))[status] = int(n)
    return [
        {"Stadt": names.get(slug, slug), **row, "gesamt": sum(row.values())}
        for slug, row in sorted(table.items(), key=lambda kv: names.get(kv[0], kv[0]))
    ]


def _deadline_outcomes(engine: Any, now: datetime) -> list[tuple[str, str, str, str]]:
    """(rule, norm, party, met|missed) of deadlines met (closed) or missed (due) in the window."""
    from sqlalchemy import and_, or_, select

    from workflows.store.db import read_session
    from workflows.store.models import DeadlineRow as D

    today = _local_day(now)
    since_day = today - timedelta(days=WINDOW_DAYS)
    since = now - timedelta(days=WINDOW_DAYS)
    d = D.__table__.c  # type: ignore[attr-defined]
    with read_session(engine) as session:
        rows = session.execute(
            select(d.rule, d.norm, d.responsible_party, d.status).where(
                or_(
                    and_(d.status == "met", d.closed_at >= since, d.closed_at <= now),
                    and_(d.status == "missed", d.due > since_day, d.due < today),
                )
            )
        ).all()
    return [(r, n, p, s) for r, n, p, s in rows]


def _outcome_table(rows: Iterable[tuple[str, str]], label: str) -> list[dict[str, Any]]:
    tally: dict[str, dict[str, int]] = defaultdict(lambda: {"met": 0, "missed": 0})
    for key, status in rows:
        tally[key][status] += 1
    out = []
    for key in sorted(tally):
        met, missed = tally[key]["met"], tally[key]["missed"]
        share = f"{100 * met / (met + missed):.0f} %" if met + missed else "–"
        out.append({label: key, "eingehalten": met, "versäumt": missed, "Quote": share})
    return out


def deadlines_per_rule(engine: Any, now: datetime) -> list[dict[str, Any]]:
    """Deadlines met vs. missed in the last 30 days, per rule (with its norm)."""
    return _outcome_table(
        ((f"{r} ({n})", s) for r, n, _, s in _deadline_outcomes(engine, now)), "Frist"
    )


def deadlines_per_party(engine: Any, now: datetime) -> list[dict[str, Any]]:
    """Deadlines met vs. missed in the last 30 days, per responsible party."""
    return _outcome_table(((p, s) for _, _, p, s in _deadline_outcomes(engine, now)), "Beteiligte")


def open_escalations(engine: Any, now: datetime) -> list[dict[str, Any]]:
    """Missed deadlines whose step is still outstanding (not yet closed), oldest first."""
    from sqlalchemy import select

    from workflows.store.db import read_session
    from workflows.store.models import DeadlineRow as D

    d = D.__table__.c  # type: ignore[attr-defined]
    with read_session(engine) as session:
        rows = session.execute(
            select(d.case_id, d.rule, d.norm, d.due, d.responsible_party, d.escalated_at)
            .where(d.status == "missed", d.closed_at.is_(None))
            .order_by(d.due, d.case_id)
        ).all()
    today = _local_day(now)
    return [
        {
            "Fall": case_id,
            "Frist": rule,
            "Norm": norm,
            "fällig": due.isoformat(),
            "Tage überfällig": (today - due).days,
            "verantwortlich": party,
            "eskaliert am": escalated.astimezone(BERLIN).date().isoformat() if escalated else "",
        }
        for case_id, rule, norm, due, party, escalated in rows
    ]


@dataclass(frozen=True)
class Report:
    key: str
    description: str
    query: Callable[[Any, datetime], list[dict[str, Any]]]


#: The supervisor report's tables: name → artifact key, description and query.
REPORTS: Mapping[str, Report] = {
    "cases_per_stage": Report(
        "cases-per-stage", "Fälle je Stadt und Verfahrensstand", cases_per_stage
    ),
    "deadlines_per_rule": Report(
        "deadlines-per-rule",
        f"Fristen der letzten {WINDOW_DAYS} Tage je Regel: eingehalten / versäumt",
        deadlines_per_rule,
    ),
    "deadlines_per_party": Report(
        "deadlines-per-party",
        f"Fristen der letzten {WINDOW_DAYS} Tage je Beteiligtem: eingehalten / versäumt",
        deadlines_per_party,
    ),
    "open_escalations": Report(
        "open-escalations",
        "Offene Eskalationen: versäumte Fristen, Schritt noch offen",
        open_escalations,
    ),
}


# --------------------------------------------------------------------------------- renderers


def overdue_rows(overdue: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The overdue list of ``workflows.sweep.overdue_report`` as the ``overdue-deadlines`` table
    (case, rule, norm, due, days overdue, responsible party), most overdue first."""
    rows = [
        {
            "Fall": o["case_id"],
            "Frist": o["rule"],
            "Norm": o["norm"],
            "fällig": str(o["due"]),
            "Tage überfällig": int(o["days_overdue"]),
            "verantwortlich": o["responsible_party"],
        }
        for o in overdue
    ]
    rows.sort(key=lambda r: (-r["Tage überfällig"], r["Fall"], r["Frist"]))
    return rows


def overdue_description(now: datetime, *, shown: int, total: int) -> str:
    """The ``overdue-deadlines`` artifact's description: as of when, and how many of how many."""
    stand = f"Überfällige Fristen, Stand {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if shown >= total:
        return f"{stand}: {_count(total)} insgesamt"
    return f"{stand}: die {_count(shown)} am längsten überfälligen von {_count(total)} insgesamt"


def _count(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _md(text: Any) -> str:
    return str(text if text is not None else "–").replace("|", "\\|").replace("\n", " ")


def timeline_markdown(case: Mapping[str, Any]) -> str:
    """The timeline (``gpv case show`` as markdown): status, processes, deadlines, history.

    States, triggers, dates, norms and party ids only: never who took a step (a person's name) or
    a step's parameters, even when ``case`` carries them."""
    lines = [
        f"# Fall {case['id']}",
        "",
        f"**Stand:** {_md(case.get('status'))} · **Träger:** {_md(case.get('carrier'))} · "
        f"**Stadt:** {_md(case.get('municipality'))} · **Version:** {_md(case.get('version'))}",
        "",
    ]
    processes = case.get("processes") or {}
    if processes:
        lines += ["| Verfahren | Zustand |", "|---|---|"]
        lines += [f"| {_md(p)} | {_md(s)} |" for p, s in processes.items()]
        lines.append("")
    deadlines = case.get("deadlines") or []
    if deadlines:
        lines += [
            "## Fristen",
            "",
            "| Frist | Norm | fällig | spätestens | Status | weil |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_md(d.get('rule'))} | {_md(d.get('norm'))} | {_md(d.get('due'))} | "
            f"{_md(d.get('latest'))} | {_md(d.get('status'))} | "
            f"{_md(d.get('variant_reason') or None)} |"
            for d in deadlines
        ]
        lines.append("")
    # Who took a step is not shown: Prefect sees references and ids only (issue 13).
    lines += [
        "## Verlauf",
        "",
        "| Zeitpunkt | Schritt | von | nach |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {_md(h.get('at'))} | {_md(h.get('trigger'))} | {_md(h.get('from'))} | "
        f"{_md(h.get('to'))} |"
        for h in case.get("history") or []
    ]
    return "\n".join(lines) + "\n"


def alert_markdown(*, reason: str, run_name: str, run_id: str, event: str, at: datetime) -> str:
    """The supervisor's alert when the engine itself stumbles (a sweep run failed or is Late)."""
    what = EVENT_STATES[event][1] if event in EVENT_STATES else reason or "braucht Aufmerksamkeit"
    return (
        "# Alarm: die Fristenprüfung läuft nicht\n\n"
        f"Der Lauf **{_md(run_name or SWEEP_FLOW)}** {what}.\n\n"
        f"- Lauf-ID: `{_md(run_id)}`\n- Ereignis: `{_md(event or reason)}`\n"
        f"- gemeldet: {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        "Solange die Prüfung ruht, gehen keine Erinnerungen und Eskalationen hinaus. "
        "Bitte `gpv run` und das Protokoll des Laufs prüfen; die nächste erfolgreiche Prüfung "
        "holt alles Fällige nach.\n"
    )
