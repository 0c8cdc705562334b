"""The party member's pages: the party's open tasks, and one case's task page with its steps.

A member sees only the cases :func:`workflows.users.visible_case_ids` names for them (where the
party has a task or is involved); any other case answers 404, as one that does not exist. The
task page shows the case's reference and state, the party's deadlines in it and the steps the
party may take; no health data, no other party's details.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from states.errors import GpvError
from workflows import service
from workflows.store.case_reads import record_read
from workflows.web.context import current_user, may_see, render, web
from workflows.web.posting import post_step
from workflows.web.steps import offered_steps

router = APIRouter()
ROLE = "member"


def _not_found(request: Request) -> Response:
    return render(request, "not_found.html.j2", 404)


@router.get("/aufgaben")
def tasks(request: Request) -> Response:
    user = current_user(request, ROLE)
    context = web(request)
    rows = service.tasks(context.engine, party=user.party, now=context.clock())
    return render(request, "tasks.html.j2", tasks=rows)


def _task_page(
    request: Request, case_id: str, *, status_code: int = 200, error: str | None = None
) -> Response:
    user = current_user(request, ROLE)
    context = web(request)
    if not may_see(request, user, case_id):
        return _not_found(request)
    try:
        case = service.show_case(context.engine, case_id)
    except GpvError:
        return _not_found(request)
    now = context.clock()
    mine = service.tasks(context.engine, party=user.party, now=now)
    record_read(
        context.engine, case_id, user_name=user.name, party=user.party, role=user.role,
        page="task", at=now,
    )  # fmt: skip
    return render(
        request,
        "task.html.j2",
        status_code,
        case=case,
        tasks=[t for t in mine if t["case_id"] == case_id],
        steps=offered_steps(context.engine, user, case_id, context.agreement),
        error=error,
    )


@router.get("/aufgaben/{case_id}")
def task_page(request: Request, case_id: str) -> Response:
    return _task_page(request, case_id)


def _again(request: Request, case_id: str, status: int, error: str) -> Response:
    return _task_page(request, case_id, status_code=status, error=error)


@router.post("/aufgaben/{case_id}")
async def task_step(request: Request, case_id: str) -> Response:
    return await post_step(request, case_id, ROLE, f"/aufgaben/{case_id}", _again)
