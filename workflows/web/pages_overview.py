"""The supervisor's overview: overdue deadlines by party and rule, sortable, and as CSV.

The CSV is UTF-8 with a byte order mark and semicolons between the fields, as German Excel opens
it by double-click (a comma is the decimal separator there); dates are ISO (JJJJ-MM-TT), so any
other program reads them too.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from states.agreement import Agreement
from states.calendar import BERLIN
from workflows.web import labels
from workflows.web.context import current_user, render, visible_cases, web
from workflows.web.pages_cases import prefect_runs_url
from workflows.web.queries import overdue

router = APIRouter()
ROLE = "supervisor"
CSV_HEADER = ("Fall", "Frist", "Norm", "fällig am", "Tage überfällig", "verantwortlich")

Row = Mapping[str, Any]
#: sort key (query ``sortierung``) → (column heading, key function).
SORTS: Mapping[str, tuple[str, Callable[[Row], Any]]] = MappingProxyType(
    {
        "fall": ("Fall", lambda r: r["case_id"]),
        "frist": ("Frist", lambda r: r["rule_title"]),
        "faellig": ("fällig am", lambda r: r["due"]),
        "tage": ("Tage überfällig", lambda r: r["days_overdue"]),
        "stelle": ("verantwortlich", lambda r: r["party_name"]),
    }
)
DEFAULT_SORT = "tage"


def overdue_rows(
    rows: list[dict[str, Any]], agreement: Agreement, sort: str, descending: bool
) -> list[dict[str, Any]]:
    """The rows with German names, sorted by ``sort`` (then by case and rule)."""
    named = [
        {
            **r,
            "rule_title": labels.rule_title(agreement, r["rule"]),
            "party_name": labels.party_name(agreement, r["party"]),
        }
        for r in rows
    ]
    key = SORTS.get(sort, SORTS[DEFAULT_SORT])[1]
    named.sort(key=lambda r: (r["case_id"], r["rule"]))
    named.sort(key=key, reverse=descending)
    return named


def _sorted_overdue(request: Request, sort: str, order: str) -> tuple[list[dict[str, Any]], bool]:
    user = current_user(request, ROLE)
    context = web(request)
    descending = order != "auf"
    rows = overdue(context.engine, context.clock(), visible_cases(request, user))
    return overdue_rows(rows, context.agreement, sort, descending), descending


def _summary(rows: list[dict[str, Any]], key: str) -> list[tuple[str, int]]:
    return sorted(Counter(r[key] for r in rows).items(), key=lambda kv: (-kv[1], kv[0]))


@router.get("/aufsicht")
def overview(request: Request, sortierung: str = DEFAULT_SORT, richtung: str = "ab") -> Response:
    rows, descending = _sorted_overdue(request, sortierung, richtung)
    base = web(request).settings.prefect_url
    for row in rows:
        row["prefect_url"] = prefect_runs_url(base, row["case_id"])
    stand = web(request).clock().astimezone(BERLIN)
    return render(
        request,
        "overview.html.j2",
        rows=rows,
        sorts=SORTS,
        sort=sortierung if sortierung in SORTS else DEFAULT_SORT,
        descending=descending,
        by_party=_summary(rows, "party_name"),
        by_rule=_summary(rows, "rule_title"),
        stand=stand,
    )


def overdue_csv(rows: list[dict[str, Any]]) -> str:
    """The table as CSV text: BOM, header, one line per overdue deadline, ``;`` between fields."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            (r["case_id"], r["rule_title"], r["norm"], r["due"], r["days_overdue"], r["party_name"])
        )
    return out.getvalue()


@router.get("/aufsicht/ueberfaellig.csv")
def overview_csv(
    request: Request, sortierung: str = DEFAULT_SORT, richtung: str = "ab"
) -> Response:
    rows, _ = _sorted_overdue(request, sortierung, richtung)
    day = web(request).clock().astimezone(BERLIN).date().isoformat()
    return Response(
        overdue_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ueberfaellige-fristen-{day}.csv"'},
    )
