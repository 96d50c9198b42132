"""Meetings and agendas: secretaries build them and call; members read and declare; the public reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Response, Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.serialization import encode_json
from sqlalchemy.ext.asyncio import AsyncSession

from core.bounds import EXPLANATION, LONG_TEXT, length_of
from core.errors import Forbidden
from meetings.access import (
    NOT_CALLER,
    NOT_CANCELLER,
    Capability,
    Viewer,
    access_body,
    access_item,
    access_meeting,
    access_meeting_and_body,
    may_cancel,
)
from meetings.actions.agenda import (
    CHANGE_REASON,
    ITEM_TEXT,
    ItemSpec,
    do_add_item,
    do_remove_item,
    do_reorder_items,
    do_update_item,
)
from meetings.actions.call import do_send_call
from meetings.actions.disqualifications import do_declare_disqualification, do_withdraw_disqualification
from meetings.actions.meetings import (
    REASON_MAX,
    MeetingSpec,
    do_cancel_meeting,
    do_create_meeting,
    do_update_meeting,
)
from meetings.delivery import default_sender
from meetings.lawfulness import check_call as problems_of_call
from meetings.models import (
    DecisionMode,
    DisqualificationGround,
    Meeting,
    MeetingMode,
    MeetingStatus,
    Publicity,
)
from meetings.queries import (
    AgendaView,
    ItemView,
    MeetingView,
    agenda,
    body_meetings,
    item_versions,
    upcoming_for,
)
from web.cache import CachedPage, agenda_key
from web.guards import principal_of, signed_in
from web.http import Req
from web.limits import LONG_TEXT_BODY
from web.openapi import answers
from web.schemas import Id
from web.security import BOUNDED_READS, app_context

Place = Annotated[str, msgspec.Meta(max_length=length_of(Meeting.place))]
ItemTitle = Annotated[str, msgspec.Meta(max_length=ITEM_TEXT["title"])]
Line = Annotated[str, msgspec.Meta(max_length=ITEM_TEXT["preparer"])]  # 300, as the others below
Document = Annotated[str, msgspec.Meta(max_length=LONG_TEXT)]
Reason = Annotated[str, msgspec.Meta(max_length=CHANGE_REASON)]


class MeetingIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: datetime
    place: Place
    mode: MeetingMode = MeetingMode.IN_PERSON
    ends_at: datetime | None = None
    is_public: bool | None = None


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    title: ItemTitle
    presenter_id: Id | None = None
    preparer: Line = ""
    preparer_contact: Line = ""
    description: Document = ""
    proposal: Document = ""
    publicity: Publicity = Publicity.PUBLIC
    confidentiality_basis: Line = ""
    public_summary: Document = ""
    decision_mode: DecisionMode = DecisionMode.MEETING
    deadline_at: datetime | None = None
    reason: Reason = ""  # required for changes after the call


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    order: Annotated[list[Id], msgspec.Meta(max_length=1000)]


class DeclarationIn(msgspec.Struct, forbid_unknown_fields=True):
    ground: DisqualificationGround
    explanation: Annotated[str, msgspec.Meta(max_length=EXPLANATION)] = ""


class ProblemOut(msgspec.Struct):
    rule: str
    message: str
    section: int | None


class CallCheckOut(msgspec.Struct):
    ready: bool
    problems: list[ProblemOut]


class CallSentOut(msgspec.Struct):
    status: str
    recipients: int


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=REASON_MAX)] = ""  # required once called


class CancelledOut(msgspec.Struct):
    status: str
    recipients: int


class VersionOut(msgspec.Struct):
    version: int
    changed_at: datetime
    reason: str
    snapshot: dict[str, Any]


def as_dict(view: Any) -> dict[str, Any]:
    # msgspec converts the frozen views without deep-copying them as dataclasses.asdict does.
    result: dict[str, Any] = msgspec.to_builtins(view)
    return result


def agenda_out(view: AgendaView) -> dict[str, Any]:
    return {"meeting": as_dict(view.meeting), "items": [as_dict(i) for i in view.items]}


def item_spec(data: ItemIn) -> ItemSpec:
    values = msgspec.structs.asdict(data)
    values.pop("reason")
    return ItemSpec(**values)


@get("/bodies/{body_id:int}/meetings")
async def list_meetings(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], body_id: FromPath[int]
) -> list[dict[str, Any]]:
    body = await access_body(session, viewer, body_id)
    return [as_dict(m) for m in await body_meetings(session, viewer, body)]


@post("/bodies/{body_id:int}/meetings", status_code=201, guards=[signed_in])
async def create_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    body_id: FromPath[int],
    data: JSONBody[MeetingIn],
) -> dict[str, Any]:
    body = await access_body(session, viewer, body_id)
    if not viewer.can(Capability.PREPARE, body.id):
        raise Forbidden("Only the body's secretary plans its meetings.")
    meeting = await do_create_meeting(
        session,
        body=body,
        spec=MeetingSpec(**msgspec.structs.asdict(data)),
        actor=principal_of(request).actor,
    )
    return agenda_out(await agenda(session, viewer, meeting))


# The agenda is encoded once and cached (decision 0005), so the handler returns bytes: say they are an object.
AGENDA = {200: ResponseSpec(dict[str, Any], description="The agenda as this viewer may see it.")}


@get("/meetings/{meeting_id:int}", responses=AGENDA)
async def get_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> Response[bytes]:
    """The agenda as this viewer may see it: in full for the body, public items only for others.

    Encoded answers are cached like the meeting's page (decision 0005); drafts are not.
    """
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    if meeting.status == MeetingStatus.DRAFT:
        return Response(
            encode_json(agenda_out(await agenda(session, viewer, meeting))), media_type=MediaType.JSON
        )
    key = ("meeting-json", *await agenda_key(session, viewer, meeting, body))
    cache = app_context(request).pages
    found = cache.get(key)
    if found is None:
        found = CachedPage((encode_json(agenda_out(await agenda(session, viewer, meeting))),))
        cache[key] = found
    return Response(found.parts[0], media_type=MediaType.JSON)


@put("/meetings/{meeting_id:int}", guards=[signed_in])
async def update_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[MeetingIn],
) -> dict[str, Any]:
    """After the call a new time, place or mode is e-mailed with an updated invitation, after the commit."""
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.PREPARE)
    spec = MeetingSpec(**msgspec.structs.asdict(data))
    context = app_context(request)
    await do_update_meeting(
        session,
        meeting=meeting,
        spec=spec,
        base_url=context.settings.base_url,
        sender=default_sender(context.settings),
        actor=principal_of(request).actor,
    )
    return agenda_out(await agenda(session, viewer, meeting))


@post(
    "/meetings/{meeting_id:int}/items",
    status_code=201,
    guards=[signed_in],
    request_max_body_size=LONG_TEXT_BODY,
)
async def add_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[ItemIn],
) -> dict[str, Any]:
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.PREPARE)
    item = await do_add_item(
        session, meeting=meeting, spec=item_spec(data), actor=principal_of(request).actor
    )
    return as_dict(_one(await agenda(session, viewer, meeting), item.id))


def _one(view: AgendaView, item_id: int) -> ItemView:
    return next(i for i in view.items if i.id == item_id)


@put("/items/{item_id:int}", guards=[signed_in], request_max_body_size=LONG_TEXT_BODY)
async def update_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    item_id: FromPath[int],
    data: JSONBody[ItemIn],
) -> dict[str, Any]:
    item, meeting = await access_item(session, viewer, item_id, need=Capability.PREPARE)
    await do_update_item(
        session,
        item=item,
        meeting=meeting,
        spec=item_spec(data),
        reason=data.reason,
        actor=principal_of(request).actor,
    )
    return as_dict(_one(await agenda(session, viewer, meeting), item.id))


@delete("/items/{item_id:int}", status_code=204, guards=[signed_in])
async def remove_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    item_id: FromPath[int],
) -> None:
    item, meeting = await access_item(session, viewer, item_id, need=Capability.PREPARE)
    await do_remove_item(session, item=item, meeting=meeting, actor=principal_of(request).actor)


@put("/meetings/{meeting_id:int}/order", guards=[signed_in])
async def reorder(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[OrderIn],
) -> dict[str, Any]:
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.PREPARE)
    await do_reorder_items(session, meeting=meeting, order=data.order, actor=principal_of(request).actor)
    return agenda_out(await agenda(session, viewer, meeting))


@get("/items/{item_id:int}/versions", responses=answers(403))  # public items: only readers see versions
async def versions(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], item_id: FromPath[int]
) -> list[VersionOut]:
    """Earlier texts of an item changed after the call; the body's readers only (they may be confidential)."""
    item, meeting = await access_item(session, viewer, item_id)
    if not viewer.reads(meeting.body_id):
        raise Forbidden("Only the body's members see earlier versions of an item.")
    return [
        VersionOut(v.version, v.changed_at, v.reason, v.snapshot) for v in await item_versions(session, item)
    ]


@get("/meetings/{meeting_id:int}/call", guards=[signed_in])
async def check_call(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], meeting_id: FromPath[int]
) -> CallCheckOut:
    """Would the call go out now? Every problem with the rule it breaks (for the secretary and the chair)."""
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.SEE_DRAFTS)
    problems = await problems_of_call(session, meeting)
    return CallCheckOut(not problems, [ProblemOut(p.rule, p.message, p.section) for p in problems])


@post("/meetings/{meeting_id:int}/call", status_code=200, guards=[signed_in])
async def send_call(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> CallSentOut:
    meeting = await access_meeting(session, viewer, meeting_id)
    if not viewer.can(Capability.SEND_CALL, meeting.body_id):
        raise Forbidden(NOT_CALLER)
    settings = app_context(request).settings
    sent = await do_send_call(
        session,
        meeting=meeting,
        base_url=settings.base_url,
        sender=default_sender(settings),
        actor=principal_of(request).actor,
    )
    return CallSentOut(meeting.status, sent)


@post("/meetings/{meeting_id:int}/cancel", status_code=200, guards=[signed_in])
async def cancel_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: JSONBody[CancelIn],
) -> CancelledOut:
    """The body's chair or secretary, as for the call; the cancellation e-mail goes after the commit."""
    meeting = await access_meeting(session, viewer, meeting_id)
    if not may_cancel(viewer, meeting):
        raise Forbidden(NOT_CANCELLER)
    context = app_context(request)
    sent = await do_cancel_meeting(
        session,
        meeting=meeting,
        reason=data.reason,
        base_url=context.settings.base_url,
        sender=default_sender(context.settings),
        actor=principal_of(request).actor,
    )
    return CancelledOut(meeting.status, sent)


@get("/my/meetings", guards=[signed_in])
async def my_meetings(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> list[MeetingView]:
    return await upcoming_for(session, viewer, now=app_context(request).db.clock())


@post("/items/{item_id:int}/disqualification", status_code=201, guards=[signed_in])
async def declare(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    item_id: FromPath[int],
    data: JSONBody[DeclarationIn],
) -> dict[str, Any]:
    """A member, deputy, chair or presenter declares a disqualification in advance (R-DISQ-5)."""
    item, meeting = await access_item(session, viewer, item_id)
    if not viewer.can(Capability.DECLARE, meeting.body_id):
        raise Forbidden("Only those who take part in handling the item declare a disqualification.")
    principal = principal_of(request)
    await do_declare_disqualification(
        session,
        item=item,
        user_id=principal.user_id,
        ground=data.ground,
        explanation=data.explanation,
        actor=principal.actor,
    )
    return as_dict(_one(await agenda(session, viewer, meeting), item.id))


@delete("/items/{item_id:int}/disqualification", status_code=204, guards=[signed_in])
async def withdraw(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    item_id: FromPath[int],
) -> None:
    item, _ = await access_item(session, viewer, item_id)
    principal = principal_of(request)
    await do_withdraw_disqualification(session, item=item, user_id=principal.user_id, actor=principal.actor)


meetings_router = Router(
    path="/api",
    opt=BOUNDED_READS,
    route_handlers=[
        list_meetings,
        create_meeting,
        get_meeting,
        update_meeting,
        add_item,
        update_item,
        remove_item,
        reorder,
        versions,
        check_call,
        send_call,
        cancel_meeting,
        my_meetings,
        declare,
        withdraw,
    ],
    tags=["meetings"],
)
