"""The secretary's agenda editor and new-meeting form: plain HTML forms over the same actions as the API.

Each form posts to its own route, which runs one action inside a savepoint: success redirects back with a
notice (303); a refusal re-renders the editor with the error next to its field and the input kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import LOCAL
from core.errors import Conflict, Forbidden, KokousError, NotFound, ValidationFailed
from meetings.access import (
    NOT_CALLER,
    NOT_CANCELLER,
    Capability,
    Hidden,
    Viewer,
    access_attachment,
    access_item,
    access_meeting,
    may_cancel,
    parent_row,
)
from meetings.actions.agenda import ItemSpec, do_add_item, do_remove_item, do_reorder_items, do_update_item
from meetings.actions.attachments import do_add_attachment, do_update_attachment
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_cancel_meeting, do_create_meeting, do_update_meeting
from meetings.delivery import default_sender
from meetings.lawfulness import check_call
from meetings.models import AgendaItem, Body, DecisionMode, Meeting, MeetingMode, MeetingStatus, Publicity
from meetings.queries import AgendaView, agenda, body_members
from meetings.storage import TooLarge, UnsupportedType
from web.attachment_uploads import MAX_REQUEST_BYTES, may_upload, public_flag, store_upload
from web.errors import status_of
from web.formatting import Times
from web.forms import local_time, required_local_time
from web.guards import principal_of, signed_in
from web.http import Req
from web.limits import LONG_TEXT_BODY
from web.pages.context import body_by_slug, body_context, item_in, meeting_context
from web.rendering import render
from web.security import BOUNDED_READS, app_context
from web.viewer import current_viewer

Work = Callable[[], Awaitable[None]]
# What a person may type: the Finnish way (4.12.2026 16.00, "klo" allowed) or ISO 8601 (2026-12-04T16:00).


@dataclass
class MeetingForm:
    starts_at: str = ""
    ends_at: str = ""
    place: str = ""
    mode: str = MeetingMode.IN_PERSON.value
    is_public: str = ""
    csrf_token: str = ""


@dataclass
class ItemForm:
    title: str = ""
    presenter_id: str = ""
    preparer: str = ""
    preparer_contact: str = ""
    description: str = ""
    proposal: str = ""
    publicity: str = Publicity.PUBLIC.value
    confidentiality_basis: str = ""
    public_summary: str = ""
    decision_mode: str = DecisionMode.MEETING.value
    deadline_at: str = ""
    reason: str = ""  # required for changes after the call
    csrf_token: str = ""


@dataclass
class AttachmentForm:
    title: str = ""
    is_public: str = ""
    confidentiality_basis: str = ""
    csrf_token: str = ""


@dataclass
class MoveForm:
    direction: str = ""
    csrf_token: str = ""


@dataclass
class CallForm:
    confirm: str = ""  # the ticked box "yes": a call cannot be taken back
    csrf_token: str = ""


@dataclass
class CancelForm:
    reason: str = ""
    confirm: str = ""  # the ticked box "yes": a cancellation cannot be undone
    csrf_token: str = ""


def meeting_spec(form: MeetingForm) -> MeetingSpec:
    return MeetingSpec(
        starts_at=required_local_time(form.starts_at, "starts_at"),
        place=form.place,
        mode=form.mode,
        ends_at=local_time(form.ends_at, "ends_at"),
        is_public=form.is_public == "yes",
    )


def _presenter(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValidationFailed("No such presenter.", field="presenter_id")
    return int(value)


def item_spec(form: ItemForm) -> ItemSpec:
    procedure = form.decision_mode == DecisionMode.DECISION_PROCEDURE
    return ItemSpec(
        title=form.title.strip(),
        presenter_id=_presenter(form.presenter_id),
        preparer=form.preparer.strip(),
        preparer_contact=form.preparer_contact.strip(),
        description=form.description,
        proposal=form.proposal,
        publicity=form.publicity,
        confidentiality_basis=form.confidentiality_basis.strip(),
        public_summary=form.public_summary,
        decision_mode=form.decision_mode,
        deadline_at=local_time(form.deadline_at, "deadline_at") if procedure else None,
    )


def meeting_form(meeting: Meeting) -> MeetingForm:
    return MeetingForm(
        starts_at=Times.field(meeting.starts_at),
        ends_at=Times.field(meeting.ends_at),
        place=meeting.place,
        mode=meeting.mode,
        is_public="yes" if meeting.is_public else "",
    )


def item_form(item: AgendaItem) -> ItemForm:
    return ItemForm(
        title=item.title,
        presenter_id=str(item.presenter_id or ""),
        preparer=item.preparer,
        preparer_contact=item.preparer_contact,
        description=item.description,
        proposal=item.proposal,
        publicity=item.publicity,
        confidentiality_basis=item.confidentiality_basis,
        public_summary=item.public_summary,
        decision_mode=item.decision_mode,
        deadline_at=Times.field(item.deadline_at),
    )


async def presenters(
    session: AsyncSession, viewer: Viewer, meeting: Meeting, rows: list[AgendaItem], view: AgendaView
) -> list[tuple[str, str]]:
    """Everyone with a role in the body on the meeting day, and any item's presenter who no longer has one."""
    body = await parent_row(session, Body, meeting.body_id)
    members = await body_members(session, viewer, body, on=meeting.starts_at.astimezone(LOCAL).date())
    names = {i.id: i.presenter or "" for i in view.items}
    options = {(str(m.user_id), m.name) for m in members}
    options |= {(str(r.presenter_id), names[r.id]) for r in rows if r.presenter_id}
    return sorted(options, key=lambda option: option[1])


async def editor_context(
    request: Req, session: AsyncSession, viewer: Viewer, meeting: Meeting, **extra: Any
) -> dict[str, Any]:
    context = await meeting_context(request, session, viewer, meeting)
    rows = [
        (await access_item(session, viewer, i.id, need=Capability.SEE_DRAFTS))[0]
        for i in context["view"].items
    ]
    draft = meeting.status == MeetingStatus.DRAFT
    context.update(
        draft=draft,
        prepares=viewer.can(Capability.PREPARE, meeting.body_id),
        issues_call=viewer.can(Capability.SEND_CALL, meeting.body_id),
        cancels=may_cancel(viewer, meeting),
        call_form=CallForm(),
        cancelled=meeting.status == MeetingStatus.CANCELLED,
        cancel_reason=meeting.cancel_reason,
        cancel_form=CancelForm(),
        problems=await check_call(session, meeting) if draft else [],
        presenters=await presenters(session, viewer, meeting, rows, context["view"]),
        forms={row.id: item_form(row) for row in rows},
        details=meeting_form(meeting),
        new_item=ItemForm(),
        **extra,
    )
    return context


async def attempt(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    meeting_id: int,
    work: Work,
    *,
    failed: str,
    done: str | Callable[[], str],
    kept: dict[str, object] | None = None,
) -> Response[Any]:
    """Run one editor action in a savepoint; on refusal show the editor again with `kept` input in place.

    `done` names the notice shown after success; a function gives it from what the action did.
    """
    try:
        async with session.begin_nested():
            await work()
    except (ValidationFailed, Conflict) as exc:
        meeting = await access_meeting(session, viewer, meeting_id, need=Capability.SEE_DRAFTS)
        context = await editor_context(request, session, viewer, meeting, failed=failed, error=exc)
        context.update(kept or {})
        return render(request, "agenda_editor.html", context, status_code=status_of(exc))
    notice = done() if callable(done) else done
    return Redirect(f"/meetings/{meeting_id}/edit?done={notice}", status_code=303)


@post("/bodies/{slug:str}/meetings", guards=[signed_in])
async def create_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    slug: FromPath[str],
    data: URLEncodedBody[MeetingForm],
) -> Response[Any]:
    body = await body_by_slug(session, viewer, slug)
    if not viewer.can(Capability.PREPARE, body.id):
        raise Forbidden("Only the body's secretary plans its meetings.")
    try:
        async with session.begin_nested():
            spec = meeting_spec(data)
            meeting = await do_create_meeting(
                session, body=body, spec=spec, actor=principal_of(request).actor
            )
    except ValidationFailed as exc:
        context = await body_context(request, session, viewer, body, error=exc, new_meeting=data)
        return render(request, "body.html", context, status_code=422)
    return Redirect(f"/meetings/{meeting.id}/edit?done=meeting-created", status_code=303)


@get("/meetings/{meeting_id:int}/edit", media_type=MediaType.HTML, guards=[signed_in])
async def editor(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    done: FromQuery[str] = "",
) -> Response[str]:
    """Only the body's secretary; anyone else is told the meeting does not exist (404)."""
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.SEE_DRAFTS)
    context = await editor_context(request, session, viewer, meeting, done=done)
    return render(request, "agenda_editor.html", context)


@post("/meetings/{meeting_id:int}/edit", guards=[signed_in])
async def update_details(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[MeetingForm],
) -> Response[Any]:
    """After the call a new time, place or mode is e-mailed with an updated invitation, after the commit."""
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.PREPARE)
    context = app_context(request)
    actor = principal_of(request).actor

    async def work() -> None:
        await do_update_meeting(
            session,
            meeting=meeting,
            spec=meeting_spec(data),
            base_url=context.settings.base_url,
            sender=default_sender(context.settings),
            actor=actor,
        )

    return await attempt(
        request,
        session,
        viewer,
        meeting_id,
        work,
        failed="meeting",
        done="meeting-saved",
        kept={"details": data},
    )


@post("/meetings/{meeting_id:int}/edit/items", guards=[signed_in], request_max_body_size=LONG_TEXT_BODY)
async def add_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[ItemForm],
) -> Response[Any]:
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.PREPARE)
    actor = principal_of(request).actor

    async def work() -> None:
        await do_add_item(session, meeting=meeting, spec=item_spec(data), actor=actor)

    return await attempt(
        request,
        session,
        viewer,
        meeting_id,
        work,
        failed="new-item",
        done="item-added",
        kept={"new_item": data},
    )


@post(
    "/meetings/{meeting_id:int}/edit/items/{item_id:int}",
    guards=[signed_in],
    request_max_body_size=LONG_TEXT_BODY,
)
async def update_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[ItemForm],
) -> Response[Any]:
    item, meeting = await item_in(session, viewer, meeting_id, item_id, need=Capability.PREPARE)
    actor = principal_of(request).actor

    async def work() -> None:
        spec = item_spec(data)
        await do_update_item(
            session, item=item, meeting=meeting, spec=spec, reason=data.reason.strip(), actor=actor
        )

    failed = f"edit-{item_id}"
    return await attempt(
        request, session, viewer, meeting_id, work, failed=failed, done="item-saved", kept={"kept": data}
    )


@post("/meetings/{meeting_id:int}/edit/items/{item_id:int}/move", guards=[signed_in])
async def move_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[MoveForm],
) -> Response[Any]:
    _, meeting = await item_in(session, viewer, meeting_id, item_id, need=Capability.PREPARE)
    order = [i.id for i in (await agenda(session, viewer, meeting)).items]
    here = order.index(item_id)
    there = here - 1 if data.direction == "up" else here + 1
    if 0 <= there < len(order):
        order[here], order[there] = order[there], order[here]
    actor = principal_of(request).actor

    async def work() -> None:
        await do_reorder_items(session, meeting=meeting, order=order, actor=actor)

    return await attempt(request, session, viewer, meeting_id, work, failed="agenda", done="item-moved")


@post("/meetings/{meeting_id:int}/edit/items/{item_id:int}/remove", guards=[signed_in])
async def remove_item(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> Response[Any]:
    item, meeting = await item_in(session, viewer, meeting_id, item_id, need=Capability.PREPARE)
    actor = principal_of(request).actor

    async def work() -> None:
        await do_remove_item(session, item=item, meeting=meeting, actor=actor)

    return await attempt(request, session, viewer, meeting_id, work, failed="agenda", done="item-removed")


@post("/meetings/{meeting_id:int}/edit/call", guards=[signed_in])
async def send_call(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[CallForm],
) -> Response[Any]:
    """The chair issues the call (R-CALL-1/5) after ticking a box, since a call cannot be taken back. Refused
    with every broken rule and its id (R-CALL-*, R-EDP-*); the e-mail goes after the commit."""
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.SEE_DRAFTS)
    if not viewer.can(Capability.SEND_CALL, meeting.body_id):
        raise Forbidden(NOT_CALLER)
    context = app_context(request)
    actor = principal_of(request).actor

    async def work() -> None:
        if data.confirm != "yes":
            raise ValidationFailed("Tick the box to confirm that the call is sent.", field="confirm")
        await do_send_call(
            session,
            meeting=meeting,
            base_url=context.settings.base_url,
            sender=default_sender(context.settings),
            actor=actor,
        )

    return await attempt(request, session, viewer, meeting_id, work, failed="call", done="call-sent")


@post("/meetings/{meeting_id:int}/cancel", guards=[signed_in])
async def cancel_meeting(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    data: URLEncodedBody[CancelForm],
) -> Response[Any]:
    """The editor's cancel form, with a box to tick: the chair cancels a called meeting, the secretary also a
    draft (access.may_cancel); mail goes after commit."""
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.SEE_DRAFTS)
    if not may_cancel(viewer, meeting):
        raise Forbidden(NOT_CANCELLER)
    context = app_context(request)
    actor = principal_of(request).actor
    done = "meeting-cancelled"  # a draft: nobody was called, so nobody is told

    async def work() -> None:
        nonlocal done
        if data.confirm != "yes":
            raise ValidationFailed("Tick the box to confirm that the meeting is cancelled.", field="confirm")
        queued = await do_cancel_meeting(
            session,
            meeting=meeting,
            reason=data.reason,
            base_url=context.settings.base_url,
            sender=default_sender(context.settings),
            actor=actor,
        )
        if meeting.call_sent_at is not None:
            done = "meeting-cancelled-mailed" if queued else "meeting-cancelled-nobody-mailed"

    kept: dict[str, object] = {"cancel_form": data}
    return await attempt(
        request, session, viewer, meeting_id, work, failed="cancel", done=lambda: done, kept=kept
    )


@post(
    "/meetings/{meeting_id:int}/edit/items/{item_id:int}/attachments",
    guards=[signed_in],
    request_max_body_size=MAX_REQUEST_BYTES,
)
async def upload_attachment(
    request: Req, session: NamedDependency[AsyncSession], meeting_id: FromPath[int], item_id: FromPath[int]
) -> Response[Any]:
    """The editor's upload form: the same checks and storage as the API's, then back to the editor.

    Access is checked in a short read transaction before the body is read, and the request's write
    transaction starts only after the bytes are stored (as for the API upload).
    """
    item, meeting, limit = await may_upload(request, item_id)
    if meeting.id != meeting_id:
        raise NotFound("No such agenda item.")
    try:
        stored, fields = await store_upload(request, item, meeting, limit)
    except (ValidationFailed, TooLarge, UnsupportedType) as exc:
        return await _editor_with_error(request, session, meeting_id, f"attach-{item_id}", exc)
    viewer = await current_viewer(request, session)
    item, meeting = await item_in(session, viewer, meeting_id, item_id, need=Capability.PREPARE)
    await do_add_attachment(
        session,
        item=item,
        meeting=meeting,
        title=fields.title,
        filename=stored.filename,
        content_type=stored.media_type,
        sha256=stored.sha256,
        size=stored.size,
        is_public=fields.is_public,
        confidentiality_basis=fields.confidentiality_basis,
        actor=principal_of(request).actor,
    )
    return Redirect(f"/meetings/{meeting_id}/edit?done=attachment-added#item-{item_id}", status_code=303)


@post("/meetings/{meeting_id:int}/attachments/{attachment_id:int}", guards=[signed_in])
async def update_attachment(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    attachment_id: FromPath[int],
    data: URLEncodedBody[AttachmentForm],
) -> Response[Any]:
    """The editor's form for an attachment's title and publicity; anyone but the body's secretary gets 404."""
    attachment, _, meeting = await access_attachment(session, viewer, attachment_id)
    if meeting.id != meeting_id or not viewer.can(Capability.PREPARE, meeting.body_id):
        raise Hidden("No such attachment.")
    actor = principal_of(request).actor

    async def work() -> None:
        is_public = public_flag(data.is_public)
        await do_update_attachment(
            session,
            attachment=attachment,
            title=data.title,
            is_public=is_public,
            confidentiality_basis=data.confidentiality_basis,
            actor=actor,
        )

    # A removed attachment has no form on the page, so its refusal is shown above the agenda.
    failed = "agenda" if attachment.removed_at is not None else f"attachment-{attachment_id}"
    kept: dict[str, object] = {"kept_attachment": data}
    return await attempt(
        request, session, viewer, meeting_id, work, failed=failed, done="attachment-saved", kept=kept
    )


async def _editor_with_error(
    request: Req, session: AsyncSession, meeting_id: int, failed: str, error: KokousError
) -> Response[Any]:
    viewer = await current_viewer(request, session)
    meeting = await access_meeting(session, viewer, meeting_id, need=Capability.SEE_DRAFTS)
    context = await editor_context(request, session, viewer, meeting, failed=failed, error=error)
    return render(request, "agenda_editor.html", context, status_code=status_of(error))


meeting_pages_router = Router(
    path="/",
    opt=BOUNDED_READS,
    route_handlers=[
        create_meeting,
        editor,
        update_details,
        add_item,
        update_item,
        move_item,
        remove_item,
        send_call,
        cancel_meeting,
        upload_attachment,
        update_attachment,
    ],
)
