"""The minutes' pages: the secretary's workspace (draft, wording, versions), the checkers' review, signing
after step-up, publication; the public copy, each body's published minutes and their feed, and the page where
anyone checks a copy (DESIGN.md §8, docs/minutes.md). Forms refuse, never cut (web.minutes_forms).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import OrderedDict
from datetime import datetime
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actions import do_use_step_up
from auth.models import StepUp, User
from core.clock import LOCAL, rfc3339
from core.errors import KokousError, NotFound, ValidationFailed
from meetings.access import Hidden, Viewer, access_meeting_and_body
from meetings.live.models import LiveMeeting
from meetings.models import Body, Meeting, MemberRole
from minutes.access import NO_MINUTES, access_minutes, access_public_copy, check_opener
from minutes.drafting import Wording
from minutes.models import MinutesRecord, MinutesState
from minutes.queries import (
    cache_key,
    changes_of,
    document_from_json,
    minutes_of_meeting,
    published_for_body,
    reviews_with,
    signatures_of,
    versions_of,
)
from minutes.render import render_html, render_pdf
from minutes.workflow import (
    current_version,
    do_edit_wording,
    do_open_draft,
    do_publish,
    do_review,
    do_send_for_checking,
    do_sign,
)
from web.errors import status_of
from web.guards import principal_of, signed_in
from web.http import Req
from web.limits import LONG_TEXT_BODY, MiB
from web.minutes_forms import form_text, publication_from_form, wording_from_form
from web.minutes_signing import rendering_for, signer_name
from web.minutes_verification import VERIFY_BODY, VERIFY_MAX, uploaded_copy, verified
from web.openapi import download
from web.pages.context import body_by_slug
from web.rendering import render
from web.security import app_context, client_address, session_cookies
from web.viewer import current_viewer

PUBLIC_PDFS: OrderedDict[tuple[int, str, datetime], bytes] = OrderedDict()  # rendered public copies
PUBLIC_PDFS_KEPT = 16
# The minutes page carries its styles inline (minutes/templates, the same page the PDF is made from) and no
# script: it may use inline styles and nothing else.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _now(request: Req) -> datetime:
    return app_context(request).db.clock()


def _local(moment: datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.day}.{local.month}.{local.year} {local:%H.%M}"


# ---- the public copy and the body's list -------------------------------------------------------------


@get("/public/minutes/{minutes_id:int}", media_type=MediaType.HTML)
async def public_page(
    request: Req, session: NamedDependency[AsyncSession], minutes_id: FromPath[int]
) -> Response[str]:
    _, document = await access_public_copy(session, minutes_id, _now(request))
    page = render_html(document)
    return Response(page, media_type=MediaType.HTML, headers={"content-security-policy": DOCUMENT_CSP})


@get("/public/minutes/{minutes_id:int}/minutes.pdf", opt=download("application/pdf"))
async def public_pdf(
    request: Req, session: NamedDependency[AsyncSession], minutes_id: FromPath[int]
) -> Response[bytes]:
    """The public copy as PDF/A, rendered once per copy (a copy changes when the period ends)."""
    now = _now(request)
    minutes, document = await access_public_copy(session, minutes_id, now)
    key = cache_key(minutes, now)
    pdf = PUBLIC_PDFS.get(key)
    if pdf is None:
        pdf = render_pdf(document)
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


@get("/verify", media_type=MediaType.HTML)
async def verify_page(request: Req) -> Response[str]:
    return render(request, "minutes_verify.html", {"result": None, "limit": VERIFY_MAX // MiB})


@post("/verify", media_type=MediaType.HTML, request_max_body_size=VERIFY_BODY)
async def verify_form(request: Req) -> Response[str]:
    try:
        found = await verified(request, await uploaded_copy(request))
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
    minutes, meeting, body = await access_minutes(session, viewer, minutes_id)
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
    document = document_from_json(dict(version.content))
    early = document.meeting.checking.decision_procedure_checked_on  # R-CHECK-5
    context = {
        "minutes": minutes,
        "meeting": meeting,
        "body": body,
        "document": document,
        "early_sections": list(document.meeting.checking.decision_procedure_sections) if early else [],
        "early_day": f"{early.day}.{early.month}.{early.year}" if early else "",
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
    status = status_of(error) if error else 200
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
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
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
    minutes, meeting, body = await access_minutes(session, viewer, minutes_id)
    changes = await changes_of(session, minutes, number)
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
    check_opener(viewer, body)
    principal = principal_of(request)
    try:
        async with session.begin_nested():
            minutes = await do_open_draft(
                session, meeting=meeting, secretary_id=principal.user_id, actor=principal.actor
            )
    except KokousError as exc:
        context = {"meeting": meeting, "body": body, "may_open": True, "error": exc}
        return render(request, "minutes_open.html", context, status_code=status_of(exc))
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
    minutes, _, _ = await access_minutes(session, viewer, minutes_id)
    try:
        async with session.begin_nested():
            await work(minutes, principal_of(request))
    except KokousError as exc:
        return await _workspace_page(request, session, viewer, minutes_id, error=exc)
    return Redirect(f"/minutes/{minutes_id}?done={done}", status_code=303)


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
            note=form_text(form, "note"),
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
            comment=form_text(form, "comment"),
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
        await access_minutes(session, viewer, minutes_id)
    try:
        tokens = await context.credentials.step_up(
            principal,
            password=form_text(form, "password"),
            code=form_text(form, "code"),
            address=client_address(request),
        )
        rendering = await rendering_for(request, minutes_id, principal.user_id)
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
            name = await signer_name(session, principal.user_id)
            await do_sign(
                session,
                minutes=minutes,
                user_id=principal.user_id,
                name=name,
                actor=principal.actor,
                rendering=rendering,
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


minutes_pages = Router(
    path="/",
    route_handlers=[
        public_page,
        public_pdf,
        body_minutes_page,
        body_minutes_feed,
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
