"""The electronic decision procedure's API (KL 100 §): a member's closed view and stance, the chair's
overview.

Every route is for the signed-in people of the item's body only (R-EDP-6): anyone else gets 404, exactly as
for an item that does not exist, and the refusal is audited (web.viewer.record_hidden). Pages are never
cached (web.security sends no-store) and no list, search or feed outside these routes names the items.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from core.bounds import EXPLANATION
from meetings.access import Capability, Viewer
from meetings.decision_procedure.actions import do_state_stance
from meetings.decision_procedure.queries import access_procedure, open_for, overview, procedure_view
from meetings.models import DisqualificationGround
from meetings.rules.decision_procedure import Stance
from web.guards import principal_of, signed_in
from web.http import Req
from web.security import app_context

Explanation = Annotated[str, msgspec.Meta(max_length=EXPLANATION)]


class StanceIn(msgspec.Struct, forbid_unknown_fields=True):
    stance: Stance
    ground: DisqualificationGround | None = None
    explanation: Explanation = ""


def _now(request: Req) -> Any:
    return app_context(request).db.clock()


async def _state(
    request: Req, session: AsyncSession, viewer: Viewer, procedure_id: int, data: StanceIn
) -> None:
    procedure, _, _ = await access_procedure(session, viewer, procedure_id)
    principal = principal_of(request)
    await do_state_stance(
        session,
        procedure=procedure,
        user_id=principal.user_id,
        stance=data.stance,
        ground=data.ground or None,
        explanation=data.explanation,
        base_url=app_context(request).settings.base_url,
        actor=principal.actor,
    )


@get("/", guards=[signed_in])
async def list_procedures(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> list[dict[str, Any]]:
    """The items in the procedure of the bodies where the caller has a role."""
    rows = await open_for(session, viewer, now=_now(request))
    return [
        {
            "id": p.id,
            "item_id": i.id,
            "section": i.section,
            "title": i.title,
            "body": b.slug,
            "state": p.state,
            "deadline_at": p.deadline_at,
        }
        for p, i, b in rows
    ]


@get("/{procedure_id:int}", guards=[signed_in])
async def get_procedure(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    procedure_id: FromPath[int],
) -> dict[str, Any]:
    """The item, its state and deadline, and the caller's own stance and history."""
    procedure, _, _ = await access_procedure(session, viewer, procedure_id)
    return asdict(await procedure_view(session, viewer, procedure, now=_now(request)))


@post("/{procedure_id:int}/stance", status_code=201, guards=[signed_in])
async def state_stance(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    procedure_id: FromPath[int],
    data: JSONBody[StanceIn],
) -> dict[str, Any]:
    """State or change one's own stance: accept, demand_meeting, or disqualified with a ground."""
    await _state(request, session, viewer, procedure_id, data)
    procedure, _, _ = await access_procedure(session, viewer, procedure_id)
    return asdict(await procedure_view(session, viewer, procedure, now=_now(request)))


@get("/{procedure_id:int}/overview", guards=[signed_in])
async def get_overview(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    procedure_id: FromPath[int],
) -> dict[str, Any]:
    """Who has answered, and what: the chair, the vice-chair and the secretary only."""
    procedure, _, _ = await access_procedure(session, viewer, procedure_id, need=Capability.FOLLOW_PROCEDURE)
    return asdict(await overview(session, viewer, procedure, now=_now(request)))


procedure_api = Router(
    path="/api/procedure",
    route_handlers=[list_procedures, get_procedure, state_stance, get_overview],
    tags=["procedure"],
)
