"""The minutes' JSON API: open the draft, edit its wording, send it to the checkers, review, sign, publish;
the signed originals for the body, the public copy for everyone, and checking a copy (DESIGN.md §8,
docs/minutes.md).

Who may do what is the workflow's (minutes.workflow): the body's secretary opens the draft; the minutes'
secretary edits, sends to the checkers, countersigns and publishes; the checkers chosen in the meeting check;
the chair who chaired signs. The body's people read the minutes in every state (minutes.access); the public
reads only the published copy. Anything else is not found.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Response, Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import rfc3339
from core.errors import NotFound, ValidationFailed
from core.text import translatable
from meetings.access import Viewer, access_meeting_and_body
from meetings.live.models import LiveMeeting
from minutes.access import access_minutes, access_public_copy, check_opener
from minutes.drafting import TEXT_MAX, ItemWording, Wording
from minutes.models import MinutesRecord, MinutesState
from minutes.queries import changes_of, reviews_with, signatures_of, versions_of
from minutes.serialise import document_json
from minutes.workflow import (
    current_version,
    do_edit_wording,
    do_open_draft,
    do_publish,
    do_review,
    do_send_for_checking,
    do_sign,
)
from web.guards import principal_of, recent_step_up, signed_in, spend_step_up
from web.http import Req
from web.limits import LONG_TEXT_BODY
from web.minutes_signing import rendering_for, signer_name
from web.minutes_verification import VERIFY_BODY, uploaded_copy, verified
from web.openapi import download
from web.schemas import ReviewIn
from web.security import app_context
from web.viewer import current_viewer

Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
Comment = Annotated[str, msgspec.Meta(max_length=5000)]


async def minutes_out(session: AsyncSession, minutes: MinutesRecord) -> dict[str, Any]:
    live = await session.get(LiveMeeting, minutes.meeting_id)
    version = await current_version(session, minutes)
    return {
        "id": minutes.id,
        "meeting": minutes.meeting_id,
        "state": minutes.state,
        "version": minutes.version,
        "publish_at": rfc3339(minutes.publish_at),
        "published_at": rfc3339(minutes.published_at) if minutes.published_at else None,
        "personal_data_removed_at": (
            rfc3339(minutes.personal_data_removed_at) if minutes.personal_data_removed_at else None
        ),
        "secretary": minutes.secretary_id,
        "chair": minutes.chair_id,
        "checkers": list(live.checkers) if live else [],
        "versions": [
            {
                "number": v.number,
                "note": v.note,
                "created_at": rfc3339(v.created_at),
                "created_by": v.created_by,
            }
            for v in await versions_of(session, minutes)
        ],
        "reviews": [
            {
                "version": r.version,
                "checker": r.checker_id,
                "approved": r.approved,
                "comment": r.comment,
                "at": rfc3339(r.at),
            }
            for r in await reviews_with(session, minutes)
        ],
        "signatures": [
            {"role": s.role, "user": s.user_id, "version": s.version, "signed_at": rfc3339(s.signed_at)}
            for s in await signatures_of(session, minutes)
        ],
        "wording": version.wording,
        "document": version.content,
    }


class ItemWordingIn(msgspec.Struct, forbid_unknown_fields=True):
    description: Text = ""
    decision: Text = ""
    public_description: Text = ""
    personal_data: bool = False
    depersonalised: Text = ""


class WordingIn(msgspec.Struct, forbid_unknown_fields=True):
    items: dict[Annotated[str, msgspec.Meta(max_length=6)], ItemWordingIn] = {}
    checking_note: Comment = ""
    convening_statement: Comment = ""
    note: Note = ""
    publish_at: datetime | None = None


def wording_of(data: WordingIn) -> Wording:
    items: dict[int, ItemWording] = {}
    for section, words in data.items.items():
        if not section.isdigit():
            raise ValidationFailed(translatable("A § number is a number."), field="items")
        items[int(section)] = ItemWording(
            words.description,
            words.decision,
            words.public_description,
            words.personal_data,
            words.depersonalised,
        )
    return Wording(items, data.checking_note, data.convening_statement)


@post("/api/meetings/{meeting_id:int}/minutes", guards=[signed_in], status_code=201)
async def open_draft(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> dict[str, Any]:
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    check_opener(viewer, body)
    principal = principal_of(request)
    minutes = await do_open_draft(
        session, meeting=meeting, secretary_id=principal.user_id, actor=principal.actor
    )
    return await minutes_out(session, minutes)


@get("/api/minutes/{minutes_id:int}", guards=[signed_in])
async def get_minutes(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], minutes_id: FromPath[int]
) -> dict[str, Any]:
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    return await minutes_out(session, minutes)


@get("/api/minutes/{minutes_id:int}/versions/{number:int}/changes", guards=[signed_in])
async def get_changes(
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    number: FromPath[int],
) -> list[dict[str, Any]]:
    """What version `number` changed from the one before it."""
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    return [
        {"path": c.path, "before": c.before, "after": c.after}
        for c in await changes_of(session, minutes, number)
    ]


@put("/api/minutes/{minutes_id:int}/wording", guards=[signed_in], request_max_body_size=LONG_TEXT_BODY)
async def put_wording(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    data: JSONBody[WordingIn],
) -> dict[str, Any]:
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    principal = principal_of(request)
    await do_edit_wording(
        session,
        minutes=minutes,
        user_id=principal.user_id,
        wording=wording_of(data),
        note=data.note,
        publish_at=data.publish_at,
        actor=principal.actor,
    )
    return await minutes_out(session, minutes)


@post("/api/minutes/{minutes_id:int}/send", guards=[signed_in], status_code=200)
async def send(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> dict[str, Any]:
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    principal = principal_of(request)
    await do_send_for_checking(session, minutes=minutes, user_id=principal.user_id, actor=principal.actor)
    return await minutes_out(session, minutes)


@post("/api/minutes/{minutes_id:int}/reviews", guards=[signed_in], status_code=201)
async def review(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    data: JSONBody[ReviewIn],
) -> dict[str, Any]:
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    principal = principal_of(request)
    await do_review(
        session,
        minutes=minutes,
        user_id=principal.user_id,
        approve=data.approve,
        comment=data.comment,
        actor=principal.actor,
    )
    return await minutes_out(session, minutes)


# The step-up is spent in the handler's own write transaction, after the render (tests/web/test_step_up.py).
@post(
    "/api/minutes/{minutes_id:int}/signatures",
    guards=[signed_in, recent_step_up],
    status_code=201,
    opt={"spends_step_up": True},
)
async def sign(request: Req, minutes_id: FromPath[int]) -> dict[str, Any]:
    """The chair signs, then the secretary countersigns; each needs an unused step-up (docs/security.md).
    The PDF is rendered first; a short transaction then spends the step-up and signs."""
    principal = principal_of(request)
    rendering = await rendering_for(request, minutes_id, principal.user_id)
    async with app_context(request).db.write() as session:
        await spend_step_up(request, session)
        minutes, _, _ = await access_minutes(session, await current_viewer(request, session), minutes_id)
        name = await signer_name(session, principal.user_id)
        await do_sign(
            session,
            minutes=minutes,
            user_id=principal.user_id,
            name=name,
            actor=principal.actor,
            rendering=rendering,
        )
        return await minutes_out(session, minutes)


@post("/api/minutes/{minutes_id:int}/publish", guards=[signed_in], status_code=200)
async def publish(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> dict[str, Any]:
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    principal = principal_of(request)
    await do_publish(session, minutes=minutes, user_id=principal.user_id, actor=principal.actor)
    return await minutes_out(session, minutes)


def _original(minutes: MinutesRecord, kind: str) -> Response[bytes]:
    data = minutes.signed_pdf if kind == "pdf" else minutes.signed_json
    if data is None or minutes.state not in (MinutesState.SIGNED, MinutesState.PUBLISHED):
        raise NotFound(translatable("These minutes have not been signed yet."))
    media = "application/pdf" if kind == "pdf" else "application/json"
    name = f"poytakirja-{minutes.id}-allekirjoitettu.{kind}"
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@get("/api/minutes/{minutes_id:int}/signed.pdf", guards=[signed_in], opt=download("application/pdf"))
async def signed_pdf(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The signed original PDF, unredacted: for the body only (R-PUB-4)."""
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    return _original(minutes, "pdf")


@get("/api/minutes/{minutes_id:int}/signed.json", guards=[signed_in])
async def signed_json(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The signed original JSON with its signatures, unredacted: for the body only (R-PUB-4)."""
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    return _original(minutes, "json")


@get("/api/public/minutes/{minutes_id:int}")
async def public_json(
    request: Req, session: NamedDependency[AsyncSession], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The public copy as JSON (R-PUB-1 … R-PUB-4): never the originals, never a confidential text."""
    _, document = await access_public_copy(session, minutes_id, app_context(request).db.clock())
    body = json.dumps(document_json(document), ensure_ascii=False, sort_keys=True).encode()
    return Response(body, media_type=MediaType.JSON)


@post("/api/verify", request_max_body_size=VERIFY_BODY, status_code=200)
async def verify_api(request: Req) -> dict[str, Any]:
    """Anyone: who signed the file, when, and whether a byte changed (the file as the body, or as `file`)."""
    return await verified(request, await uploaded_copy(request))


minutes_api = Router(
    path="/",
    route_handlers=[
        open_draft,
        get_minutes,
        get_changes,
        put_wording,
        send,
        review,
        sign,
        publish,
        signed_pdf,
        signed_json,
        public_json,
        verify_api,
    ],
    tags=["minutes"],
)
