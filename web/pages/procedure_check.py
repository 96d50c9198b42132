"""The page of a meeting's decision-procedure record checked before the meeting (R-CHECK-5): what it holds,
the secretary's or chair's form that opens it and chooses its checkers, and the checkers' review.

For the body's people only: anyone else gets 404, as for a meeting that does not exist (R-EDP-6). A form
that is refused comes back with what was typed and the reason (web.pages.procedure_check.CheckForm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from core.bounds import EXPLANATION, MAX_ID
from core.clock import LOCAL
from core.errors import KokousError, NotFound, ValidationFailed
from core.text import translatable
from meetings.access import Capability, Viewer
from minutes.access import access_procedure_check, check_chooser
from minutes.models import ProcedureCheck
from minutes.procedure_check import (
    do_choose_procedure_checkers,
    do_open_procedure_check,
    do_review_procedure_check,
    eligible_checkers,
    last_chosen_checkers,
    minutes_opened,
    reviews_of_check,
    sections_to_check,
)
from web.errors import status_of
from web.guards import principal_of, signed_in
from web.http import Req
from web.pages.context import body_name, page_context
from web.rendering import language_of, render

NOT_OPENED = translatable("No decision-procedure record has been opened for this meeting.")
TOO_LONG = translatable("At most {max} characters fit here.")
CHOOSE_TWO = translatable("Choose two different members of the body as checkers.")
APPROVE_OR_REJECT = translatable("Choose whether you approve or reject the record.")


@dataclass
class CheckForm:
    """What a person typed into one of the page's forms."""

    checker_1: str = ""
    checker_2: str = ""
    decision: str = ""
    comment: str = ""
    csrf_token: str = ""

    def checkers(self) -> list[int]:
        chosen = [c for c in (self.checker_1, self.checker_2) if c]
        if len(chosen) != 2 or not all(c.isdigit() and 0 < int(c) <= MAX_ID for c in chosen):
            raise ValidationFailed(CHOOSE_TWO, field="checkers")
        return [int(c) for c in chosen]

    def approves(self) -> bool:
        if self.decision not in ("approve", "reject"):
            raise ValidationFailed(APPROVE_OR_REJECT, field="decision")
        return self.decision == "approve"


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(sorted(ids))))
    return {int(i): str(n) for i, n in rows.tuples()}


def _listed(check: ProcedureCheck | None, part: str) -> list[dict[str, Any]]:
    """The drafted sections or the people they name, as stored (minutes.serialise.plain)."""
    found = check.content.get(part, []) if check else []
    return [dict(p) for p in found] if isinstance(found, list) else []


async def _page(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    meeting_id: int,
    *,
    form: CheckForm | None = None,
    error: KokousError | None = None,
) -> Response[str]:
    check, meeting, body = await access_procedure_check(session, viewer, meeting_id)
    me = viewer.user_id or 0
    reviews = await reviews_of_check(session, check) if check else []
    chooses = viewer.can(Capability.CHOOSE_CHECKERS, body.id)
    current = [int(c) for c in check.checkers] if check else await last_chosen_checkers(session, body.id)
    if form is None:
        form = CheckForm(*(str(c) for c in current[:2]))
    eligible = await eligible_checkers(session, meeting) if chooses else []
    late = check is not None and check.state == "checking" and await minutes_opened(session, meeting.id)
    named = {r.checker_id for r in reviews} | set(current) | ({check.opened_by} if check else set())
    context = page_context(
        request,
        check=check,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        items=_listed(check, "items"),
        people={str(p["id"]): str(p["name"]) for p in _listed(check, "people")},
        to_check=[] if check else await sections_to_check(session, meeting.id),
        reviews=reviews,
        names=await _names(session, named),
        eligible=[(str(i), n) for i, n in eligible],
        may_open=chooses and check is None,
        may_choose=chooses and check is not None and check.state == "checking" and not reviews,
        minutes_opened=late,
        may_review=check is not None
        and not late
        and check.state == "checking"
        and me in check.checkers
        and me not in {r.checker_id for r in reviews},
        checked_on=check.checked_at.astimezone(LOCAL).date() if check and check.checked_at else None,
        form=form,
        error=error,
        done=request.query_params.get("done", "")[:40],
    )
    return render(request, "procedure_check.html", context, status_code=status_of(error) if error else 200)


@get("/meetings/{meeting_id:int}/procedure-check", media_type=MediaType.HTML, guards=[signed_in])
async def check_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> Response[str]:
    return await _page(request, session, viewer, meeting_id)


async def _act(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    meeting_id: int,
    form: CheckForm,
    done: str,
    work: Any,
) -> Response[Any]:
    await access_procedure_check(session, viewer, meeting_id)
    try:
        if len(form.comment) > EXPLANATION:
            raise ValidationFailed(TOO_LONG, field="comment", max=EXPLANATION)
        async with session.begin_nested():
            await work()
    except KokousError as exc:
        return await _page(request, session, viewer, meeting_id, form=form, error=exc)
    return Redirect(f"/meetings/{meeting_id}/procedure-check?done={done}", status_code=303)


@post("/meetings/{meeting_id:int}/procedure-check", media_type=MediaType.HTML, guards=[signed_in])
async def open_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[CheckForm],
) -> Response[Any]:
    async def work() -> None:
        _, meeting, body = await access_procedure_check(session, viewer, meeting_id)
        check_chooser(viewer, body)
        principal = principal_of(request)
        await do_open_procedure_check(
            session,
            meeting=meeting,
            checkers=data.checkers(),
            user_id=principal.user_id,
            actor=principal.actor,
        )

    return await _act(request, session, viewer, meeting_id, data, "opened", work)


@post("/meetings/{meeting_id:int}/procedure-check/checkers", media_type=MediaType.HTML, guards=[signed_in])
async def checkers_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[CheckForm],
) -> Response[Any]:
    async def work() -> None:
        check, meeting, body = await access_procedure_check(session, viewer, meeting_id)
        check_chooser(viewer, body)
        if check is None:
            raise NotFound(NOT_OPENED)
        await do_choose_procedure_checkers(
            session, check=check, meeting=meeting, checkers=data.checkers(), actor=principal_of(request).actor
        )

    return await _act(request, session, viewer, meeting_id, data, "chosen", work)


@post("/meetings/{meeting_id:int}/procedure-check/review", media_type=MediaType.HTML, guards=[signed_in])
async def review_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[CheckForm],
) -> Response[Any]:
    async def work() -> None:
        check, _, _ = await access_procedure_check(session, viewer, meeting_id)
        if check is None:
            raise NotFound(NOT_OPENED)
        principal = principal_of(request)
        await do_review_procedure_check(
            session,
            check=check,
            user_id=principal.user_id,
            approve=data.approves(),
            comment=data.comment,
            actor=principal.actor,
        )

    return await _act(request, session, viewer, meeting_id, data, "reviewed", work)


procedure_check_pages = Router(
    path="/", route_handlers=[check_page, open_form, checkers_form, review_form], tags=["minutes"]
)
