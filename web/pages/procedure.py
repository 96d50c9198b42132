"""The electronic decision procedure's pages (KL 100 §): the items awaiting a stance, one item's closed view
with the member's stance form, and the chair's overview.

Every route is for the signed-in people of the item's body only (R-EDP-6): anyone else gets 404, exactly as
for an item that does not exist, and the refusal is audited (web.viewer.record_hidden). Pages are never
cached (web.security sends no-store) and no list, search or feed outside these routes names the items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from core.bounds import EXPLANATION
from core.errors import Conflict, ValidationFailed
from meetings.access import Viewer, parent_row
from meetings.decision_procedure.actions import do_state_stance
from meetings.decision_procedure.queries import access_procedure, open_for, overview, procedure_view
from meetings.models import Body, DisqualificationGround
from meetings.rules.decision_procedure import Stance
from minutes.procedure_check import decision_made
from web.guards import principal_of, signed_in
from web.http import Req
from web.pages.context import body_name, page_context
from web.rendering import language_of, render
from web.security import app_context


def _now(request: Req) -> Any:
    return app_context(request).db.clock()


async def _state(
    request: Req, session: AsyncSession, viewer: Viewer, procedure_id: int, data: StanceForm
) -> None:
    procedure, _, _ = await access_procedure(session, viewer, procedure_id)
    principal = principal_of(request)
    await do_state_stance(
        session,
        procedure=procedure,
        user_id=principal.user_id,
        stance=data.stance,
        ground=(data.ground or None) if data.stance == Stance.DISQUALIFIED else None,
        explanation=data.explanation if data.stance == Stance.DISQUALIFIED else "",
        base_url=app_context(request).settings.base_url,
        actor=principal.actor,
    )


@dataclass
class StanceForm:
    stance: str = ""
    ground: str = ""
    explanation: str = ""
    csrf_token: str = ""


async def _page(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    procedure_id: int,
    *,
    form: StanceForm | None = None,
    error: Exception | None = None,
    status_code: int = 200,
) -> Response[str]:
    procedure, _, meeting = await access_procedure(session, viewer, procedure_id)
    now = _now(request)
    body = await parent_row(session, Body, procedure.body_id)
    view = await procedure_view(session, viewer, procedure, now=now)
    context = page_context(
        request,
        view=view,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        overview=await overview(session, viewer, procedure, now=now) if view.follows else None,
        made=await decision_made(session, meeting.id, view.section) if view.state == "decided" else None,
        grounds=[g.value for g in DisqualificationGround],
        stances=[s.value for s in Stance],
        form=form or StanceForm(stance=view.mine.stance if view.mine else ""),
        error=error,
        done=request.query_params.get("done", ""),
    )
    return render(request, "procedure.html", context, status_code=status_code)


@get("/", media_type=MediaType.HTML, guards=[signed_in])
async def procedures_page(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> Response[str]:
    """The items awaiting the caller's bodies' stances, and those settled."""
    rows = await open_for(session, viewer, now=_now(request))
    language = language_of(request)
    listed = [(p, i, body_name(b, language)) for p, i, b in rows]
    return render(request, "procedure_list.html", page_context(request, rows=listed))


@get("/{procedure_id:int}", media_type=MediaType.HTML, guards=[signed_in])
async def procedure_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    procedure_id: FromPath[int],
) -> Response[str]:
    return await _page(request, session, viewer, procedure_id)


@post("/{procedure_id:int}/stance", media_type=MediaType.HTML, guards=[signed_in])
async def stance_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    procedure_id: FromPath[int],
    data: URLEncodedBody[StanceForm],
) -> Response[Any]:
    if len(data.explanation) > EXPLANATION:
        raise ValidationFailed("At most {max} characters fit here.", field="explanation", max=EXPLANATION)
    try:
        async with session.begin_nested():
            await _state(request, session, viewer, procedure_id, data)
    except (ValidationFailed, Conflict) as exc:
        status = 422 if isinstance(exc, ValidationFailed) else 409
        return await _page(request, session, viewer, procedure_id, form=data, error=exc, status_code=status)
    return Redirect(f"/procedure/{procedure_id}?done=stated", status_code=303)


procedure_pages = Router(path="/procedure", route_handlers=[procedures_page, procedure_page, stance_form])
