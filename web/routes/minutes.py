"""The minutes: the secretary's draft, the checkers' review, the signatures, the published copy, and a page
where anyone can check a copy (DESIGN.md §8, docs/minutes.md).

Who may do what (docs/minutes.md, minutes.workflow): the body's secretary opens the draft; the minutes'
secretary edits, sends to the checkers, countersigns and publishes; the checkers chosen in the meeting check;
the chair who chaired signs. Everyone with a role in the body reads the minutes in every state, and their
signed originals; the public reads only the published public copy (R-PUB-1 … R-PUB-4). Drafts, other
bodies' minutes and minutes not yet public are hidden (404) as if they did not exist.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Response, Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actions import do_use_step_up
from auth.models import StepUp, User
from core.clock import LOCAL, rfc3339
from core.errors import Forbidden, KokousError, NotFound, ValidationFailed
from core.text import translatable
from meetings.access import Hidden, Viewer, access_meeting_and_body
from meetings.live.models import LiveMeeting
from meetings.models import Body, Meeting, MemberRole
from minutes.document import MinutesDocument
from minutes.drafting import TEXT_MAX, ItemWording, Wording, uid
from minutes.models import MinutesRecord, MinutesState
from minutes.queries import (
    Change,
    cache_key,
    document_from_json,
    is_public,
    minutes_of_meeting,
    public_document,
    published_for_body,
    reviews_with,
    signatures_of,
    version_changes,
    version_of,
    versions_of,
)
from minutes.render import render_html, render_pdf
from minutes.serialise import document_json
from minutes.verify import TrustAnchors, Verification, verify_bytes
from minutes.workflow import (
    current_version,
    do_edit_wording,
    do_open_draft,
    do_publish,
    do_review,
    do_send_for_checking,
    do_sign,
)
from web.errors import STATUS
from web.guards import principal_of, recent_step_up, signed_in
from web.http import Req
from web.limits import LONG_TEXT_BODY, MiB
from web.openapi import download
from web.pages.context import body_by_slug
from web.rendering import render
from web.security import app_context, client_address, session_cookies
from web.uploads import Collected, multipart_boundary, read_upload
from web.viewer import current_viewer

NO_MINUTES = translatable("No such minutes.")
NOT_SECRETARY = translatable("Only the body's secretary opens its minutes.")
NO_FILE = translatable("Choose the PDF or JSON file of the minutes to check.")
VERIFY_MAX = 20 * MiB  # a signed council meeting's PDF is a few MiB (bench/minutes.py)
VERIFY_BODY = VERIFY_MAX + 64 * 1024  # room for the multipart envelope
PUBLIC_PDFS: OrderedDict[tuple[int, str, datetime], bytes] = OrderedDict()  # rendered public copies
PUBLIC_PDFS_KEPT = 16
# The minutes page carries its styles inline (minutes/templates, the same page the PDF is made from) and no
# script: it may use inline styles and nothing else.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
Comment = Annotated[str, msgspec.Meta(max_length=5000)]


# ---- access ---------------------------------------------------------------------------------------


async def minutes_for(
    session: AsyncSession, viewer: Viewer, minutes_id: int
) -> tuple[MinutesRecord, Meeting, Body]:
    """Minutes for the body's people only: anyone else gets the same 404 as for minutes that do not exist."""
    minutes = await session.get(MinutesRecord, minutes_id)
    if minutes is None:
        raise NotFound(NO_MINUTES)
    meeting, body = await access_meeting_and_body(session, viewer, minutes.meeting_id)
    if not viewer.reads(body.id):
        raise Hidden(NO_MINUTES)
    return minutes, meeting, body


async def public_minutes(session: AsyncSession, minutes_id: int, now: datetime) -> MinutesRecord:
    """Published minutes whose time has come; drafts and everything else are not found (R-PUB-1)."""
    minutes = await session.get(MinutesRecord, minutes_id)
    if minutes is None or not is_public(minutes, now):
        raise NotFound(NO_MINUTES)
    return minutes


def _opener(viewer: Viewer, body: Body) -> None:
    if MemberRole.SECRETARY not in viewer.roles_in(body.id):
        raise Forbidden(NOT_SECRETARY)


def _now(request: Req) -> datetime:
    return app_context(request).db.clock()


# ---- JSON -----------------------------------------------------------------------------------------


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


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    approve: bool
    comment: Comment = ""


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
    _opener(viewer, body)
    principal = principal_of(request)
    minutes = await do_open_draft(
        session, meeting=meeting, secretary_id=principal.user_id, actor=principal.actor
    )
    return await minutes_out(session, minutes)


@get("/api/minutes/{minutes_id:int}", guards=[signed_in])
async def get_minutes(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], minutes_id: FromPath[int]
) -> dict[str, Any]:
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    return await minutes_out(session, minutes)


async def _changes(session: AsyncSession, minutes: MinutesRecord, number: int) -> list[Change]:
    after = await version_of(session, minutes, number)
    if after is None:
        raise NotFound(translatable("No such version."))
    before = await version_of(session, minutes, number - 1)
    return version_changes(before.content if before else {}, after.content)


@get("/api/minutes/{minutes_id:int}/versions/{number:int}/changes", guards=[signed_in])
async def get_changes(
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    number: FromPath[int],
) -> list[dict[str, Any]]:
    """What version `number` changed from the one before it."""
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    return [
        {"path": c.path, "before": c.before, "after": c.after}
        for c in await _changes(session, minutes, number)
    ]


@put("/api/minutes/{minutes_id:int}/wording", guards=[signed_in], request_max_body_size=LONG_TEXT_BODY)
async def put_wording(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    data: JSONBody[WordingIn],
) -> dict[str, Any]:
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
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
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
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
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
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


async def _name(session: AsyncSession, user_id: int) -> str:
    user = await session.get(User, user_id)
    return user.display_name if user else uid(user_id)


@post("/api/minutes/{minutes_id:int}/signatures", guards=[signed_in, recent_step_up], status_code=201)
async def sign(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> dict[str, Any]:
    """The chair signs, then the secretary countersigns; each needs an unused step-up (docs/security.md)."""
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    principal = principal_of(request)
    name = await _name(session, principal.user_id)
    await do_sign(session, minutes=minutes, user_id=principal.user_id, name=name, actor=principal.actor)
    return await minutes_out(session, minutes)


@post("/api/minutes/{minutes_id:int}/publish", guards=[signed_in], status_code=200)
async def publish(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> dict[str, Any]:
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
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
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    return _original(minutes, "pdf")


@get("/api/minutes/{minutes_id:int}/signed.json", guards=[signed_in])
async def signed_json(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The signed original JSON with its signatures, unredacted: for the body only (R-PUB-4)."""
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    return _original(minutes, "json")


# ---- the public copy --------------------------------------------------------------------------------


def _public(minutes: MinutesRecord, now: datetime) -> MinutesDocument:
    document = public_document(minutes, now)
    if document is None:
        raise NotFound(NO_MINUTES)
    return document


@get("/api/public/minutes/{minutes_id:int}")
async def public_json(
    request: Req, session: NamedDependency[AsyncSession], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The public copy as JSON (R-PUB-1 … R-PUB-4): never the originals, never a confidential text."""
    now = _now(request)
    minutes = await public_minutes(session, minutes_id, now)
    body = json.dumps(document_json(_public(minutes, now)), ensure_ascii=False, sort_keys=True).encode()
    return Response(body, media_type=MediaType.JSON)


@get("/public/minutes/{minutes_id:int}", media_type=MediaType.HTML)
async def public_page(
    request: Req, session: NamedDependency[AsyncSession], minutes_id: FromPath[int]
) -> Response[str]:
    now = _now(request)
    minutes = await public_minutes(session, minutes_id, now)
    page = render_html(_public(minutes, now))
    return Response(page, media_type=MediaType.HTML, headers={"content-security-policy": DOCUMENT_CSP})


@get("/public/minutes/{minutes_id:int}/minutes.pdf", opt=download("application/pdf"))
async def public_pdf(
    request: Req, session: NamedDependency[AsyncSession], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The public copy as PDF/A, rendered once per copy (a copy changes when the period ends)."""
    now = _now(request)
    minutes = await public_minutes(session, minutes_id, now)
    key = cache_key(minutes, now)
    pdf = PUBLIC_PDFS.get(key)
    if pdf is None:
        pdf = render_pdf(_public(minutes, now))
        PUBLIC_PDFS[key] = pdf
        while len(PUBLIC_PDFS) > PUBLIC_PDFS_KEPT:
            PUBLIC_PDFS.popitem(last=False)
    return Response(pdf, media_type="application/pdf")


@get("/bodies/{slug:str}/minutes", media_type=MediaType.HTML)
async def body_minutes_page(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], slug: FromPath[str]
) -> Response[str]:
    body = await body_by_slug(session, viewer, slug)
    entries = await published_for_body(session, body, _now(request))
    return render(request, "minutes_list.html", {"body": body, "entries": entries, "local": _local})


@get("/bodies/{slug:str}/minutes.atom", opt=download("application/atom+xml"))
async def body_minutes_feed(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], slug: FromPath[str]
) -> Response[bytes]:
    """The body's published minutes as an Atom feed (RFC 4287)."""
    body = await body_by_slug(session, viewer, slug)
    entries = await published_for_body(session, body, _now(request))
    base = app_context(request).settings.base_url.rstrip("/")
    atom = "http://www.w3.org/2005/Atom"
    feed = ET.Element("feed", xmlns=atom)
    ET.SubElement(feed, "id").text = f"{base}/bodies/{body.slug}/minutes"
    ET.SubElement(feed, "title").text = f"{body.name}: pöytäkirjat"
    updated = max((e.publish_at for e in entries), default=body.created_at)
    ET.SubElement(feed, "updated").text = rfc3339(updated)
    ET.SubElement(feed, "link", rel="self", href=f"{base}/bodies/{body.slug}/minutes.atom")
    for entry in entries:
        item = ET.SubElement(feed, "entry")
        ET.SubElement(item, "id").text = f"{base}/public/minutes/{entry.minutes_id}"
        ET.SubElement(item, "title").text = f"{body.name} {entry.number}/{entry.year}"
        ET.SubElement(item, "updated").text = rfc3339(entry.publish_at)
        ET.SubElement(
            item, "link", rel="alternate", type="text/html", href=f"{base}/public/minutes/{entry.minutes_id}"
        )
    return Response(
        ET.tostring(feed, encoding="utf-8", xml_declaration=True), media_type="application/atom+xml"
    )


def _local(moment: datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.day}.{local.month}.{local.year} {local:%H.%M}"


# ---- checking a copy --------------------------------------------------------------------------------


async def _uploaded(request: Req) -> bytes:
    media_type, options = request.content_type
    if media_type != "multipart/form-data":
        return await request.body()
    collected = Collected()  # at most VERIFY_BODY bytes (web.limits)
    form = await read_upload(request.stream(), multipart_boundary(options), collected, fields=frozenset())
    if form.filename is None or not collected.data:
        raise ValidationFailed(NO_FILE, field="file")
    return bytes(collected.data)


async def _verify(request: Req, data: bytes) -> Verification:
    if not data.strip():
        raise ValidationFailed(NO_FILE, field="file")
    anchors = TrustAnchors.load(ca=None, vkey=None, data_dir=app_context(request).settings.data_dir)
    return await verify_bytes(data, anchors)


def verification_out(found: Verification) -> dict[str, Any]:
    return {
        "kind": found.kind,
        "verdict": found.verdict.name.lower(),
        "modified": found.verdict.name == "MODIFIED",
        "signatures": [
            {
                "role": s.role,
                "signer": s.signer,
                "signed_at": rfc3339(s.signed_at) if s.signed_at else None,
                "intact": s.intact,
                "trusted": s.trusted,
                "checkpoint": {"verified": s.checkpoint.verified, "description": s.checkpoint.description},
                "problems": list(s.problems),
            }
            for s in found.signatures
        ],
        "problems": list(found.problems),
    }


@post("/api/verify", request_max_body_size=VERIFY_BODY, status_code=200)
async def verify_api(request: Req) -> dict[str, Any]:
    """Anyone: who signed the file, when, and whether a byte changed (the file as the body, or as `file`)."""
    return verification_out(await _verify(request, await _uploaded(request)))


@get("/verify", media_type=MediaType.HTML)
async def verify_page(request: Req) -> Response[str]:
    return render(request, "minutes_verify.html", {"result": None, "limit": VERIFY_MAX // MiB})


@post("/verify", media_type=MediaType.HTML, request_max_body_size=VERIFY_BODY)
async def verify_form(request: Req) -> Response[str]:
    try:
        found = verification_out(await _verify(request, await _uploaded(request)))
    except ValidationFailed as exc:
        return render(
            request,
            "minutes_verify.html",
            {"result": None, "error": exc, "limit": VERIFY_MAX // MiB},
            status_code=400,
        )
    return render(
        request, "minutes_verify.html", {"result": found, "limit": VERIFY_MAX // MiB, "local": _local_text}
    )


def _local_text(value: str | None) -> str:
    return _local(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else "?"


# ---- the workspace pages --------------------------------------------------------------------------


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(sorted(ids))))
    return {int(row[0]): str(row[1]) for row in rows.all()}


async def _workspace_page(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    minutes_id: int,
    *,
    error: KokousError | None = None,
    done: str = "",
) -> Response[str]:
    minutes, meeting, body = await minutes_for(session, viewer, minutes_id)
    version = await current_version(session, minutes)
    live = await session.get(LiveMeeting, minutes.meeting_id)
    checkers = [int(c) for c in live.checkers] if live else []
    reviews = await reviews_with(session, minutes)
    signatures = await signatures_of(session, minutes)
    versions = await versions_of(session, minutes)
    user_id = viewer.user_id or 0
    names = await _names(
        session,
        {minutes.secretary_id, minutes.chair_id, *checkers, *(r.checker_id for r in reviews)},
    )
    state = MinutesState(minutes.state)
    reviewed = {r.checker_id for r in reviews if r.version == minutes.version}
    context = {
        "minutes": minutes,
        "meeting": meeting,
        "body": body,
        "document": document_from_json(dict(version.content)),
        "wording": Wording.from_json(dict(version.wording)),
        "versions": versions,
        "reviews": reviews,
        "signatures": signatures,
        "checkers": checkers,
        "names": names,
        "local": _local,
        "local_input": lambda moment: f"{moment.astimezone(LOCAL):%Y-%m-%dT%H:%M}",
        "error": error,
        "done": done,
        "may_edit": user_id == minutes.secretary_id and state in (MinutesState.DRAFT, MinutesState.REJECTED),
        "may_send": user_id == minutes.secretary_id and state in (MinutesState.DRAFT, MinutesState.REJECTED),
        "may_review": user_id in checkers and state == MinutesState.CHECKING and user_id not in reviewed,
        "may_sign": (user_id == minutes.chair_id and state == MinutesState.CHECKED)
        or (user_id == minutes.secretary_id and state == MinutesState.SIGNING),
        "may_publish": user_id == minutes.secretary_id and state == MinutesState.SIGNED,
    }
    status = STATUS.get(type(error), 400) if error else 200
    return render(request, "minutes.html", context, status_code=status)


@get("/minutes/{minutes_id:int}", media_type=MediaType.HTML, guards=[signed_in])
async def workspace(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    done: FromQuery[str] = "",
) -> Response[str]:
    return await _workspace_page(request, session, viewer, minutes_id, done=done[:40])


@get("/minutes/{minutes_id:int}/document", media_type=MediaType.HTML, guards=[signed_in])
async def draft_document(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], minutes_id: FromPath[int]
) -> Response[str]:
    """The current version as the minutes will look (the body only)."""
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    version = await current_version(session, minutes)
    page = render_html(document_from_json(dict(version.content)))
    return Response(page, media_type=MediaType.HTML, headers={"content-security-policy": DOCUMENT_CSP})


@get("/minutes/{minutes_id:int}/versions/{number:int}", media_type=MediaType.HTML, guards=[signed_in])
async def version_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
    number: FromPath[int],
) -> Response[str]:
    minutes, meeting, body = await minutes_for(session, viewer, minutes_id)
    changes = await _changes(session, minutes, number)
    return render(
        request,
        "minutes_changes.html",
        {"minutes": minutes, "meeting": meeting, "body": body, "number": number, "changes": changes},
    )


@get("/meetings/{meeting_id:int}/minutes", media_type=MediaType.HTML, guards=[signed_in])
async def meeting_minutes(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> Response[Any]:
    """The meeting's minutes, or the button that opens their draft."""
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    if not viewer.reads(body.id):
        raise Hidden(NO_MINUTES)
    found = await minutes_of_meeting(session, meeting.id)
    if found is not None:
        return Redirect(f"/minutes/{found.id}", status_code=303)
    may_open = MemberRole.SECRETARY in viewer.roles_in(body.id)
    return render(request, "minutes_open.html", {"meeting": meeting, "body": body, "may_open": may_open})


@post("/meetings/{meeting_id:int}/minutes", media_type=MediaType.HTML, guards=[signed_in])
async def open_draft_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
) -> Response[Any]:
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    _opener(viewer, body)
    principal = principal_of(request)
    try:
        async with session.begin_nested():
            minutes = await do_open_draft(
                session, meeting=meeting, secretary_id=principal.user_id, actor=principal.actor
            )
    except KokousError as exc:
        context = {"meeting": meeting, "body": body, "may_open": True, "error": exc}
        return render(request, "minutes_open.html", context, status_code=STATUS.get(type(exc), 400))
    return Redirect(f"/minutes/{minutes.id}", status_code=303)


@get("/minutes", media_type=MediaType.HTML, guards=[signed_in])
async def my_minutes(
    request: Req, session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> Response[str]:
    """Minutes of the bodies one has a role in, newest first."""
    bodies = sorted(viewer.body_roles)
    rows = await session.execute(
        select(MinutesRecord, Meeting, Body)
        .join(Meeting, Meeting.id == MinutesRecord.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .where(Meeting.body_id.in_(bodies))
        .order_by(Meeting.starts_at.desc())
        .limit(200)
    )
    return render(request, "minutes_mine.html", {"rows": list(rows.tuples()), "local": _local})


async def _form(request: Req) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


async def _page_action(
    request: Req, session: AsyncSession, viewer: Viewer, minutes_id: int, done: str, work: Any
) -> Response[Any]:
    minutes, _, _ = await minutes_for(session, viewer, minutes_id)
    try:
        async with session.begin_nested():
            await work(minutes, principal_of(request))
    except KokousError as exc:
        return await _workspace_page(request, session, viewer, minutes_id, error=exc)
    return Redirect(f"/minutes/{minutes_id}?done={done}", status_code=303)


def wording_from_form(form: dict[str, str], sections: list[int]) -> Wording:
    items = {}
    for section in sections:
        words = ItemWording(
            description=form.get(f"description_{section}", "").strip(),
            decision=form.get(f"decision_{section}", "").strip(),
            public_description=form.get(f"public_description_{section}", "").strip(),
            personal_data=form.get(f"personal_data_{section}") == "on",
            depersonalised=form.get(f"depersonalised_{section}", "").strip(),
        )
        if words != ItemWording():
            items[section] = words
    return Wording(items, form.get("checking_note", "").strip(), form.get("convening_statement", "").strip())


BAD_MOMENT = translatable("Give the moment of publication as a date and a time.")


def publication_from_form(value: str) -> datetime | None:
    """The datetime-local field, in Helsinki time; empty keeps the planned moment."""
    if not value.strip():
        return None
    try:
        return datetime.strptime(value.strip()[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=LOCAL)
    except ValueError:
        raise ValidationFailed(BAD_MOMENT, field="publish_at") from None


@post(
    "/minutes/{minutes_id:int}/wording",
    media_type=MediaType.HTML,
    guards=[signed_in],
    request_max_body_size=LONG_TEXT_BODY,
)
async def wording_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> Response[Any]:
    form = await _form(request)

    async def work(minutes: MinutesRecord, principal: Any) -> None:
        version = await current_version(session, minutes)
        sections = [int(i["section"]) for i in list(version.content["items"])]  # type: ignore[call-overload]
        await do_edit_wording(
            session,
            minutes=minutes,
            user_id=principal.user_id,
            wording=wording_from_form(form, sections),
            note=form.get("note", "")[:500],
            publish_at=publication_from_form(form.get("publish_at", "")),
            actor=principal.actor,
        )

    return await _page_action(request, session, viewer, minutes_id, "saved", work)


@post("/minutes/{minutes_id:int}/send", media_type=MediaType.HTML, guards=[signed_in])
async def send_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> Response[Any]:
    async def work(minutes: MinutesRecord, principal: Any) -> None:
        await do_send_for_checking(session, minutes=minutes, user_id=principal.user_id, actor=principal.actor)

    return await _page_action(request, session, viewer, minutes_id, "sent", work)


@post("/minutes/{minutes_id:int}/review", media_type=MediaType.HTML, guards=[signed_in])
async def review_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> Response[Any]:
    form = await _form(request)

    async def work(minutes: MinutesRecord, principal: Any) -> None:
        await do_review(
            session,
            minutes=minutes,
            user_id=principal.user_id,
            approve=form.get("decision") == "approve",
            comment=form.get("comment", "")[:5000],
            actor=principal.actor,
        )

    return await _page_action(request, session, viewer, minutes_id, "reviewed", work)


@post("/minutes/{minutes_id:int}/publish", media_type=MediaType.HTML, guards=[signed_in])
async def publish_form(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    minutes_id: FromPath[int],
) -> Response[Any]:
    async def work(minutes: MinutesRecord, principal: Any) -> None:
        await do_publish(session, minutes=minutes, user_id=principal.user_id, actor=principal.actor)

    return await _page_action(request, session, viewer, minutes_id, "published", work)


@post("/minutes/{minutes_id:int}/sign", media_type=MediaType.HTML, guards=[signed_in])
async def sign_form(request: Req, minutes_id: FromPath[int]) -> Response[Any]:
    """Sign after step-up: password and second factor again, then the signature in one transaction that
    spends the step-up. Runs in its own transactions (as the account pages do), so it takes no request
    transaction; the step-up re-issues the session's tokens, which the browser gets back as cookies."""
    context = app_context(request)
    principal = principal_of(request)
    form = await _form(request)
    async with context.db.read() as session:
        viewer = await _viewer(request, session)
        await minutes_for(session, viewer, minutes_id)
    try:
        tokens = await context.credentials.step_up(
            principal,
            password=form.get("password", "")[:1024],
            code=form.get("code", "")[:64],
            address=client_address(request),
        )
        async with context.db.write() as session:
            nonce = (
                await session.execute(
                    select(StepUp.nonce)
                    .where(
                        StepUp.user_id == principal.user_id,
                        StepUp.family == principal.session_family,
                        StepUp.used_at.is_(None),
                    )
                    .order_by(StepUp.granted_at.desc())
                    .limit(1)
                )
            ).scalar_one()
            await do_use_step_up(
                session, nonce=nonce, user_id=principal.user_id, family=principal.session_family
            )
            minutes = await session.get(MinutesRecord, minutes_id)
            if minutes is None:
                raise NotFound(NO_MINUTES)
            name = await _name(session, principal.user_id)
            await do_sign(
                session, minutes=minutes, user_id=principal.user_id, name=name, actor=principal.actor
            )
    except KokousError as exc:
        async with context.db.read() as session:
            viewer = await _viewer(request, session)
            return await _workspace_page(request, session, viewer, minutes_id, error=exc)
    cookies = session_cookies(
        context.settings.https,
        access=tokens.access_token,
        refresh=tokens.refresh_token,
        csrf=tokens.csrf_token,
        refresh_days=context.settings.refresh_token_days,
    )
    return Redirect(f"/minutes/{minutes_id}?done=signed", status_code=303, cookies=cookies)


async def _viewer(request: Req, session: AsyncSession) -> Viewer:
    return await current_viewer(request, session)


minutes_router = Router(
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
        public_page,
        public_pdf,
        body_minutes_page,
        body_minutes_feed,
        verify_api,
        verify_page,
        verify_form,
        workspace,
        draft_document,
        version_page,
        meeting_minutes,
        open_draft_form,
        my_minutes,
        wording_form,
        send_form,
        review_form,
        publish_form,
        sign_form,
    ],
    tags=["minutes"],
)
