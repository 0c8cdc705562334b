"""A step posted from a form, the same for every page that offers steps: CSRF first, then who
may act, then :func:`workflows.web.steps.take_step`; success redirects to the page with a notice,
an error shows the page again with the rules' message (nothing was changed)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from states.errors import GpvError
from workflows.web.context import current_user, flash, may_see, render, web
from workflows.web.security import check_csrf
from workflows.web.steps import error_status, take_step

#: Shows the page again: (request, case id, HTTP status, error message) → the answer.
PageAgain = Callable[[Request, str, int, str], Response]
#: Takes what the form asks for: (engine, user, case id, form, agreement, at=…) → what was done,
#: in German (:func:`workflows.web.steps.take_step`, or a correction).
TakeStep = Callable[..., str]


async def post_step(
    request: Request,
    case_id: str,
    role: str,
    page: str,
    again: PageAgain,
    take: TakeStep = take_step,
) -> Response:
    """Take the posted step on ``case_id`` as a user of ``role``; ``page`` is where to go back."""
    form = await request.form()
    check_csrf(request, form)
    user = current_user(request, role)
    context = web(request)
    if not await run_in_threadpool(may_see, request, user, case_id):
        return render(request, "not_found.html.j2", 404)
    try:
        label = await run_in_threadpool(
            take, context.engine, user, case_id, form, context.agreement, at=context.clock()
        )
    except GpvError as exc:
        status, message = error_status(exc), exc.message
        return await run_in_threadpool(again, request, case_id, status, message)
    flash(request, f"Gespeichert: {label}.")
    return RedirectResponse(page, status_code=303)
