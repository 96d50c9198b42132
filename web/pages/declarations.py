"""A member's declaration of disqualification for one item in advance (R-DISQ-5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import (
    Capability,
    Viewer,
    parent_row,
)
from meetings.actions.disqualifications import do_declare_disqualification, do_withdraw_disqualification
from meetings.lifecycle import Operation
from meetings.models import (
    AgendaItem,
    Body,
    DisqualificationGround,
    Meeting,
)
from meetings.queries import (
    item_view,
)
from web.guards import principal_of, signed_in
from web.http import Req
from web.pages.context import (
    body_name,
    item_in,
    page_context,
)
from web.rendering import language_of, render
from web.security import BOUNDED_READS

GROUNDS = frozenset(DisqualificationGround)


@dataclass
class DeclarationForm:
    ground: str = ""
    explanation: str = ""
    csrf_token: str = ""


def _declarer(viewer: Viewer, meeting: Meeting) -> None:
    if not viewer.can(Capability.DECLARE, meeting.body_id):
        raise Forbidden("Only those who take part in handling the item declare a disqualification.")


async def declaration_page(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    item: AgendaItem,
    meeting: Meeting,
    *,
    form: DeclarationForm | None = None,
    error: ValidationFailed | None = None,
) -> Response[str]:
    body = await parent_row(session, Body, meeting.body_id)
    context = page_context(
        request,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        item=await item_view(session, viewer, meeting, item),
        grounds=[g.value for g in DisqualificationGround],  # HL 28 § 1 mom (R-DISQ-2)
        form=form,
        error=error,
    )
    return render(request, "declaration.html", context, status_code=422 if error else 200)


@get("/meetings/{meeting_id:int}/items/{item_id:int}/disqualification", guards=[signed_in])
async def declaration_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> Response[str]:
    """The form that declares a disqualification for one item in advance (R-DISQ-5)."""
    item, meeting = await item_in(session, viewer, meeting_id, item_id)
    _declarer(viewer, meeting)
    lifecycle.require(
        meeting.status,
        Operation.DECLARE,
        translatable("The meeting has been cancelled: a disqualification can no longer be declared."),
    )
    return await declaration_page(request, session, viewer, item, meeting)


@post("/meetings/{meeting_id:int}/items/{item_id:int}/disqualification", guards=[signed_in])
async def declare(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[DeclarationForm],
) -> Response[Any]:
    item, meeting = await item_in(session, viewer, meeting_id, item_id)
    _declarer(viewer, meeting)
    principal = principal_of(request)
    try:
        async with session.begin_nested():
            if data.ground not in GROUNDS:
                raise ValidationFailed("Choose the ground of the disqualification.", field="ground")
            await do_declare_disqualification(
                session,
                item=item,
                user_id=principal.user_id,
                ground=data.ground,
                explanation=data.explanation,
                actor=principal.actor,
            )
    except ValidationFailed as exc:
        return await declaration_page(request, session, viewer, item, meeting, form=data, error=exc)
    return Redirect(
        f"/meetings/{meeting_id}?done=declared&item={item_id}#item-{item_id}-mine", status_code=303
    )


@post("/meetings/{meeting_id:int}/items/{item_id:int}/disqualification/withdraw", guards=[signed_in])
async def withdraw(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> Response[Any]:
    item, meeting = await item_in(session, viewer, meeting_id, item_id)
    _declarer(viewer, meeting)
    principal = principal_of(request)
    await do_withdraw_disqualification(session, item=item, user_id=principal.user_id, actor=principal.actor)
    return Redirect(
        f"/meetings/{meeting_id}?done=withdrawn&item={item_id}#item-{item_id}-mine", status_code=303
    )


declarations_router = Router(
    path="/", opt=BOUNDED_READS, route_handlers=[declaration_form, declare, withdraw]
)
