"""The decision procedure's record checked before the meeting, as JSON (R-CHECK-5, docs/minutes.md): open
it with its checkers, change them, approve or reject it.

The body's people read it; the body's secretary or chair opens it and chooses its checkers; only those
checkers review it (minutes.procedure_check). Anyone else gets 404, as for a meeting that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import LOCAL, rfc3339
from core.errors import NotFound
from core.text import translatable
from meetings.access import Viewer
from minutes.access import access_procedure_check, check_chooser
from minutes.models import ProcedureCheck
from minutes.procedure_check import (
    do_choose_procedure_checkers,
    do_open_procedure_check,
    do_review_procedure_check,
    reviews_of_check,
)
from web.guards import principal_of, signed_in
from web.http import Req
from web.schemas import Id, ReviewIn

NOT_OPENED = translatable("No decision-procedure record has been opened for this meeting.")


class CheckersIn(msgspec.Struct, forbid_unknown_fields=True):
    checkers: Annotated[list[Id], msgspec.Meta(max_length=2)]


class ReviewOut(msgspec.Struct):
    checker: int
    approved: bool
    comment: str
    at: str


class ProcedureCheckOut(msgspec.Struct):
    id: int
    meeting: int
    state: str  # checking, checked or rejected
    opened_by: int
    checkers: list[int]
    sections: list[int]  # the §s it covers
    created_at: str
    checked_at: str | None  # the moment the last checker approved
    checked_on: str | None  # that day in Finland: what the minutes say (R-CHECK-5)
    reviews: list[ReviewOut]
    items: list[dict[str, Any]]  # the sections as the minutes draft them (docs/minutes.md, the JSON format)
    people: list[dict[str, Any]]


async def check_out(session: AsyncSession, check: ProcedureCheck) -> ProcedureCheckOut:
    checked = check.checked_at
    return ProcedureCheckOut(
        id=check.id,
        meeting=check.meeting_id,
        state=check.state,
        opened_by=check.opened_by,
        checkers=[int(c) for c in check.checkers],
        sections=[int(s) for s in check.sections],
        created_at=rfc3339(check.created_at),
        checked_at=rfc3339(checked) if checked else None,
        checked_on=checked.astimezone(LOCAL).date().isoformat() if checked else None,
        reviews=[
            ReviewOut(r.checker_id, r.approved, r.comment, rfc3339(r.at))
            for r in await reviews_of_check(session, check)
        ],
        items=list(check.content.get("items", [])),  # type: ignore[call-overload]
        people=list(check.content.get("people", [])),  # type: ignore[call-overload]
    )


async def _opened(session: AsyncSession, viewer: Viewer, meeting_id: int) -> ProcedureCheck:
    check, _, _ = await access_procedure_check(session, viewer, meeting_id)
    if check is None:
        raise NotFound(NOT_OPENED)
    return check


@get("/api/meetings/{meeting_id:int}/procedure-check", guards=[signed_in])
async def get_check(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], meeting_id: FromPath[int]
) -> ProcedureCheckOut:
    return await check_out(session, await _opened(session, viewer, meeting_id))


@post("/api/meetings/{meeting_id:int}/procedure-check", guards=[signed_in], status_code=201)
async def open_check(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[CheckersIn],
) -> ProcedureCheckOut:
    """The secretary or the chair opens the record with its two checkers (idempotent)."""
    _, meeting, body = await access_procedure_check(session, viewer, meeting_id)
    check_chooser(viewer, body)
    principal = principal_of(request)
    check = await do_open_procedure_check(
        session, meeting=meeting, checkers=data.checkers, user_id=principal.user_id, actor=principal.actor
    )
    return await check_out(session, check)


@put("/api/meetings/{meeting_id:int}/procedure-check/checkers", guards=[signed_in])
async def choose_checkers(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[CheckersIn],
) -> ProcedureCheckOut:
    check, meeting, body = await access_procedure_check(session, viewer, meeting_id)
    check_chooser(viewer, body)
    if check is None:
        raise NotFound(NOT_OPENED)
    actor = principal_of(request).actor
    await do_choose_procedure_checkers(
        session, check=check, meeting=meeting, checkers=data.checkers, actor=actor
    )
    return await check_out(session, check)


@post("/api/meetings/{meeting_id:int}/procedure-check/reviews", guards=[signed_in], status_code=201)
async def review(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[ReviewIn],
) -> ProcedureCheckOut:
    """A chosen checker approves, or rejects with a comment (R-CHECK-2)."""
    check = await _opened(session, viewer, meeting_id)
    principal = principal_of(request)
    await do_review_procedure_check(
        session,
        check=check,
        user_id=principal.user_id,
        approve=data.approve,
        comment=data.comment,
        actor=principal.actor,
    )
    return await check_out(session, check)


procedure_check_api = Router(
    path="/", route_handlers=[get_check, open_check, choose_checkers, review], tags=["minutes"]
)
