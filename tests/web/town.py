"""The town of the page tests: a body with a public, a closed and a draft meeting whose items show every
kind of public fact and every kind of secret, and a signed-in browser per person (`town` and `login`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

import httpx
import pytest
from litestar import Litestar
from markupsafe import escape

from auth import actions as auth_actions
from core.clock import LOCAL, FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import AgendaItem, Attachment, Body, Meeting
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, enrol_totp, next_code
from web.context import AppContext
from web.i18n import translator

ATOM = "{http://www.w3.org/2005/Atom}"
HTML = {"accept": "text/html"}
fi = translator("fi")


def shown(text: str) -> str:
    """A catalogue text as it appears in a page's HTML."""
    return str(escape(fi(text)))


PUBLIC_TITLE = "Koulukuljetusten hankinta <2027> & ehdot"
PUBLIC_TEXT = "Hankinnan kuvaus, joka on julkinen."
SECRET_TITLE = "Oppilaan erityisen tuen päätös Matti Meikäläinen"
SECRET_TEXT = "Terveydentilaa koskeva kuvaus."
SECRET_BASIS = "JulkL 24 § 1 mom 30 k"
PARTLY_TITLE = "Tontin vuokraaminen"
PARTLY_SUMMARY = "Kunta vuokraa tontin yritykselle."
PARTLY_TEXT = "Yrityksen liikesalaisuuksia koskeva selvitys."
CONTACT = "puh. 040 123 4567"
PUBLIC_FILE = "hankintailmoitus.pdf"
SECRET_FILE = "oppilaan-lausunto.pdf"
CLOSED_TITLE = "Henkilöstöasia suljetussa kokouksessa"


@dataclass
class Town:
    body: Body
    other: Body
    public: int  # a public meeting whose call was sent: public, confidential and partly confidential items
    closed: int  # a closed meeting whose call was sent
    draft: int
    items: list[int]


Login = Callable[[str], Awaitable[httpx.AsyncClient]]


async def seat(context: AppContext, body: Body, username: str, *roles: str) -> int:
    async with context.db.write() as session:
        user = await auth_actions.do_create_user(
            session,
            username=username,
            display_name=username.title() + " Virtanen",
            password=PASSWORD,
            email=f"{username}@kunta.example",
            actor="system:test",
        )
        for role in roles:
            spec = MembershipSpec(user_id=user.id, role=role, term_start=date(2026, 1, 1))
            await do_add_membership(session, body=body, spec=spec, actor="system:test")
    return user.id


async def make_body(context: AppContext, slug: str, name: str) -> Body:
    async with context.db.write() as session:
        spec = BodySpec(slug=slug, name=name, kind="committee", seats=7, name_sv=name + " (sv)")
        return await do_create_body(session, spec=spec, actor="system:test")


async def make_meeting(context: AppContext, body: Body, *, public: bool, day: int = 10) -> Meeting:
    async with context.db.write() as session:
        spec = MeetingSpec(
            starts_at=datetime(2026, 12, day, 16, 0, tzinfo=LOCAL), place="Kunnantalo", is_public=public
        )
        return await do_create_meeting(session, body=body, spec=spec, actor="system:test")


async def add_item(context: AppContext, meeting: Meeting, actor: str, **values: object) -> AgendaItem:
    async with context.db.write() as session:
        row = await session.get(Meeting, meeting.id)
        assert row is not None
        spec = ItemSpec(**{"title": PUBLIC_TITLE, **values})  # type: ignore[arg-type]
        return await do_add_item(session, meeting=row, spec=spec, actor=actor)


async def attach(
    context: AppContext, item: AgendaItem, filename: str, uploader: int, *, public: bool
) -> None:
    """A row as the upload would leave it; the bytes themselves are not needed by these pages."""
    async with context.db.write() as session:
        session.add(
            Attachment(
                item_id=item.id,
                position=1,
                title=filename.removesuffix(".pdf").replace("-", " "),
                filename=filename,
                content_type="application/pdf",
                size=2048,
                sha256="0" * 64,
                is_public=public,
                confidentiality_basis="" if public else SECRET_BASIS,
                uploaded_at=context.db.clock(),
                uploaded_by=uploader,
            )
        )


async def send_call(context: AppContext, meeting: Meeting, actor: str) -> None:
    async with context.db.write() as session:
        row = await session.get(Meeting, meeting.id)
        assert row is not None
        await do_send_call(
            session, meeting=row, base_url=BASE_URL, sender="kokous@kunta.example", actor=actor
        )


@pytest.fixture
async def town(context: AppContext) -> Town:
    body = await make_body(context, "sivistys", "Sivistyslautakunta")
    other = await make_body(context, "tekninen", "Tekninen lautakunta")
    secretary = await seat(context, body, "sakari", "secretary")
    await seat(context, body, "helena", "chair", "member")
    await seat(context, body, "liisa", "member")
    await seat(context, other, "olli", "secretary")
    actor = f"user:{secretary}"
    public, closed = (
        await make_meeting(context, body, public=True),
        await make_meeting(context, body, public=False),
    )
    draft = await make_meeting(context, body, public=True, day=17)
    shown = await add_item(
        context, public, actor, description=PUBLIC_TEXT, proposal="Hyväksytään.", preparer_contact=CONTACT
    )
    secret = await add_item(
        context,
        public,
        actor,
        title=SECRET_TITLE,
        description=SECRET_TEXT,
        publicity="confidential",
        confidentiality_basis=SECRET_BASIS,
        preparer="Rehtori Rauni",
    )
    partly = await add_item(
        context,
        public,
        actor,
        title=PARTLY_TITLE,
        description=PARTLY_TEXT,
        publicity="partly_confidential",
        confidentiality_basis="JulkL 24 § 1 mom 20 k",
        public_summary=PARTLY_SUMMARY,
    )
    await attach(context, shown, PUBLIC_FILE, secretary, public=True)
    await attach(context, secret, SECRET_FILE, secretary, public=False)
    await add_item(context, closed, actor, title=CLOSED_TITLE)
    await add_item(context, draft, actor, title="Luonnoksen asia")
    for meeting in (public, closed):
        await send_call(context, meeting, actor)
    return Town(body, other, public.id, closed.id, draft.id, [shown.id, secret.id, partly.id])


@pytest.fixture
async def login(app: Litestar, context: AppContext, clock: FixedClock) -> AsyncIterator[Login]:
    """A signed-in browser per person (cookies and CSRF as a browser has them)."""
    opened: list[httpx.AsyncClient] = []

    async def sign_in(username: str) -> httpx.AsyncClient:
        browser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("192.0.2.20", 50000)), base_url=BASE_URL
        )
        opened.append(browser)
        secret = await enrol_totp(context, username)  # chairs and secretaries must have one; all may
        page = await browser.get("/login")
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf(page.text), "next": "/"}
        response = await browser.post("/login", data=form)
        assert response.headers["location"].startswith("/login/code")
        code = {"code": next_code(secret, clock), "csrf_token": form["csrf_token"], "next": "/"}
        response = await browser.post("/login/code", data=code)
        assert response.headers["location"] == "/", response.text
        return browser

    yield sign_in
    for browser in opened:
        await browser.aclose()


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def post_form(browser: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    return await browser.post(
        path, data={"csrf_token": browser.cookies["kokous_csrf"], **fields}, headers=HTML
    )
