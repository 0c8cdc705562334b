"""The case manager's pages: case list and search, the case page, the form of the next steps.

Supervisors may open the list and the case pages as well (read only: no step forms). Which cases
a user sees is :func:`workflows.users.visible_case_ids`; any other case answers 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from states.errors import GpvError
from workflows import service
from workflows.store.case_reads import record_read
from workflows.web.context import current_user, may_see, render, visible_cases, web
from workflows.web.correction import correct_from_form, correction_forms
from workflows.web.posting import post_step
from workflows.web.queries import search_cases
from workflows.web.steps import offered_steps

router = APIRouter()
READERS = ("case_manager", "supervisor")
MANAGER = "case_manager"


def prefect_runs_url(base: str | None, case_id: str) -> str | None:
    """The Prefect dashboard's run list filtered by the case's tag ``case:C-…``, or None."""
    if not base:
        return None
    return f"{base}/runs?flowRuns.tags.name={quote(f'case:{case_id}', safe='')}"


@router.get("/faelle")
def case_list(request: Request, q: str = "") -> Response:
    user = current_user(request, *READERS)
    context = web(request)
    rows = search_cases(context.engine, q, visible_cases(request, user))
    return render(request, "cases.html.j2", cases=rows, q=q)


def _involvement(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The parties beyond the carrier and whether the person consented to their involvement."""
    involvement = case["involvement"]
    consented = set(involvement["consented"])
    return [
        {"party": p, "consented": p in consented, "statement": p in involvement["statement_by"]}
        for p in involvement["proposed"]
    ]


def _case_page(
    request: Request, case_id: str, *, status_code: int = 200, error: str | None = None
) -> Response:
    user = current_user(request, *READERS)
    context = web(request)
    if not may_see(request, user, case_id):
        return render(request, "not_found.html.j2", 404)
    try:
        case = service.show_case(context.engine, case_id)
    except GpvError:
        return render(request, "not_found.html.j2", 404)
    record_read(
        context.engine, case_id, user_name=user.name, party=user.party, role=user.role,
        page="case", at=context.clock(),
    )  # fmt: skip
    manager = user.role == MANAGER
    steps = offered_steps(context.engine, user, case_id, context.agreement) if manager else []
    corrections = correction_forms(case, context.agreement) if manager else ()
    return render(
        request,
        "case.html.j2",
        status_code,
        case=case,
        involvement=_involvement(case),
        steps=steps,
        corrections=corrections,
        error=error,
        prefect_url=prefect_runs_url(context.settings.prefect_url, case_id),
    )


@router.get("/faelle/{case_id}")
def case_page(request: Request, case_id: str) -> Response:
    return _case_page(request, case_id)


def _again(request: Request, case_id: str, status: int, error: str) -> Response:
    return _case_page(request, case_id, status_code=status, error=error)


@router.post("/faelle/{case_id}")
async def case_step(request: Request, case_id: str) -> Response:
    return await post_step(request, case_id, MANAGER, f"/faelle/{case_id}", _again)


@router.post("/faelle/{case_id}/berichtigung")
async def case_correction(request: Request, case_id: str) -> Response:
    """A correction from the case page's forms (:mod:`workflows.web.correction`)."""
    return await post_step(
        request, case_id, MANAGER, f"/faelle/{case_id}", _again, take=correct_from_form
    )
