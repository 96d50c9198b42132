"""Bodies, meetings, agendas and the Atom feed as pages: what the public, members and secretaries see and do.

The public page and the feed must never show a confidential item's title or text, a confidential attachment
or the preparer's contact details (R-CALL-7, R-PUB-2, R-PUB-3, R-PUB-7); a closed meeting shows no items.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from markupsafe import escape
from sqlalchemy import select

from auth import actions as auth_actions
from core.clock import LOCAL, FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item, do_update_item
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import AgendaItem, Attachment, Body, Meeting, MeetingStatus
from tests import factories
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, audit_entries, enrol_totp, next_code
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


# ---- the public ---------------------------------------------------------------------------------


async def test_public_agenda_shows_only_what_the_public_may_see(
    client: httpx.AsyncClient, town: Town
) -> None:
    page = await client.get(f"/meetings/{town.public}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Koulukuljetusten hankinta &lt;2027&gt; &amp; ehdot" in text
    assert PUBLIC_TEXT in text
    assert PUBLIC_FILE in text
    assert "/api/attachments/" in text
    # A wholly confidential item: its § number and a mention, nothing else (R-PUB-2).
    secret_section = re.search(r"§ (\d+)</span> " + re.escape(fi("Confidential matter")), text)
    assert secret_section, "the confidential item is not mentioned"
    for hidden in (SECRET_TITLE, SECRET_TEXT, SECRET_BASIS, SECRET_FILE, "Rehtori Rauni", "Meikäläinen"):
        assert hidden not in text
    # A partly confidential item: its title and public summary, not the rest (JulkL 10 §).
    assert PARTLY_TITLE in text
    assert PARTLY_SUMMARY in text
    assert PARTLY_TEXT not in text
    # Personal data the public does not need (R-PUB-3).
    assert CONTACT not in text
    assert "@kunta.example" not in text
    assert shown("Members' view.") not in text


async def test_closed_meeting_shows_the_public_no_items(client: httpx.AsyncClient, town: Town) -> None:
    page = await client.get(f"/meetings/{town.closed}", headers=HTML)
    assert page.status_code == 200
    assert fi("The meeting is closed: its agenda is not published.") in page.text
    assert CLOSED_TITLE not in page.text
    assert "Kunnantalo" not in page.text
    assert 'class="agenda"' not in page.text


async def test_draft_is_hidden_from_the_public_and_other_bodies(
    client: httpx.AsyncClient, town: Town, login: Login, context: AppContext
) -> None:
    assert (await client.get(f"/meetings/{town.draft}", headers=HTML)).status_code == 404
    other_secretary = await login("olli")
    assert (await other_secretary.get(f"/meetings/{town.draft}", headers=HTML)).status_code == 404
    assert (await other_secretary.get(f"/meetings/{town.draft}/edit", headers=HTML)).status_code == 404
    body_page = await client.get("/bodies/sivistys", headers=HTML)
    assert f"/meetings/{town.draft}" not in body_page.text
    secretary = await login("sakari")
    assert (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).status_code == 200
    assert any("hidden" in str(e.data) for e in await audit_entries(context, "access.denied"))


async def test_the_draft_page_shows_each_change_at_once(
    town: Town, login: Login, context: AppContext
) -> None:
    """A draft's agenda version stays 0 while it is built, so its page is never served from the cache."""
    secretary = await login("sakari")
    assert "Uusi asia luonnokseen" not in (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).text
    async with context.db.write() as session:
        draft = await session.get(Meeting, town.draft)
        assert draft is not None
        await do_add_item(
            session, meeting=draft, spec=ItemSpec(title="Uusi asia luonnokseen"), actor="system:test"
        )
    assert "Uusi asia luonnokseen" in (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).text


async def test_bodies_and_body_page_list_public_facts_only(client: httpx.AsyncClient, town: Town) -> None:
    listing = await client.get("/bodies", headers=HTML)
    assert "Sivistyslautakunta" in listing.text
    assert 'href="/bodies/tekninen/feed.atom"' in listing.text
    page = await client.get("/bodies/sivistys", headers=HTML)
    assert page.status_code == 200
    assert "Helena Virtanen" in page.text
    assert fi("Chair") in page.text
    assert "@kunta.example" not in page.text
    assert f'href="/meetings/{town.public}"' in page.text
    assert 'type="application/atom+xml"' in page.text
    assert fi("New meeting") not in page.text
    swedish = await client.get("/bodies/sivistys", headers={**HTML, "accept-language": "sv"})
    assert "Sivistyslautakunta (sv)" in swedish.text
    assert (await client.get("/bodies/no-such-body", headers=HTML)).status_code == 404


# ---- members ------------------------------------------------------------------------------------


async def test_member_sees_everything_and_chair_sees_declarations(town: Town, login: Login) -> None:
    member = await login("liisa")
    page = await member.get(f"/meetings/{town.public}", headers=HTML)
    assert page.status_code == 200
    for text in (SECRET_TITLE, SECRET_TEXT, SECRET_BASIS, SECRET_FILE, PARTLY_TEXT, CONTACT):
        assert text in page.text
    assert shown("Members' view.") in page.text
    assert fi("Agenda editor") not in page.text
    assert f"/meetings/{town.public}/edit" not in page.text
    secret = town.items[1]
    declared = await post_form(
        member, f"/meetings/{town.public}/items/{secret}/disqualification", ground="party", explanation="Isä."
    )
    assert declared.status_code == 303
    assert (
        declared.headers["location"]
        == f"/meetings/{town.public}?done=declared&item={secret}#item-{secret}-mine"
    )
    after = await member.get(declared.headers["location"], headers=HTML)
    assert fi("Your disqualification was recorded.") in after.text
    assert fi("You have declared yourself disqualified:") in after.text

    chair = await login("helena")
    seen = await chair.get(f"/meetings/{town.public}", headers=HTML)
    assert "Liisa Virtanen" in seen.text
    assert fi("I or a person close to me is a party (HL 28 § 1 mom 1 k)") in seen.text

    withdrawn = await post_form(member, f"/meetings/{town.public}/items/{secret}/disqualification/withdraw")
    assert withdrawn.status_code == 303
    assert "Liisa Virtanen" not in (await chair.get(f"/meetings/{town.public}", headers=HTML)).text


async def test_declaration_error_keeps_the_input_and_names_the_field(town: Town, login: Login) -> None:
    member = await login("liisa")
    item = town.items[0]
    refused = await post_form(
        member, f"/meetings/{town.public}/items/{item}/disqualification", ground="other", explanation="  "
    )
    assert refused.status_code == 422
    field = "declare-explanation"
    assert f'id="{field}-error"' in refused.text
    assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-hint {field}-error"', refused.text)
    assert re.search(
        r'type="radio" value="other" checked', refused.text
    )  # radio buttons, which wrap on a phone
    unknown = await post_form(member, f"/meetings/{town.public}/items/{item}/disqualification", ground="")
    assert unknown.status_code == 422
    assert fi("Choose the ground of the disqualification.") in unknown.text


async def test_secretary_alone_cannot_declare_and_items_stay_under_their_meeting(
    town: Town, login: Login
) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.public}/items/{town.items[0]}/disqualification"
    assert (await post_form(secretary, path, ground="party")).status_code == 403
    assert (await secretary.get(path, headers=HTML)).status_code == 403
    member = await login("liisa")
    wrong = f"/meetings/{town.closed}/items/{town.items[0]}/disqualification"
    assert (await post_form(member, wrong, ground="party")).status_code == 404
    assert (await member.get(wrong, headers=HTML)).status_code == 404


async def test_the_member_declares_on_a_page_of_its_own(
    client: httpx.AsyncClient, town: Town, login: Login
) -> None:
    """R-DISQ-5: the agenda links to one form per item instead of carrying a form for every item."""
    member = await login("liisa")
    agenda = await member.get(f"/meetings/{town.public}", headers=HTML)
    secret = town.items[1]
    form_path = f"/meetings/{town.public}/items/{secret}/disqualification"
    assert f'href="{form_path}"' in agenda.text
    assert 'name="ground"' not in agenda.text
    form = await member.get(form_path, headers=HTML)
    assert form.status_code == 200
    assert SECRET_TITLE in form.text
    assert 'name="ground"' in form.text
    assert 'name="csrf_token"' in form.text
    assert fi("I or a person close to me is a party (HL 28 § 1 mom 1 k)") in form.text
    assert (await post_form(member, form_path, ground="party")).status_code == 303
    again = await member.get(form_path, headers=HTML)
    assert fi("You have declared yourself disqualified:") in again.text
    assert 'name="ground"' not in again.text
    outsider = await login("olli")  # the public agenda mentions the item, so it is refused, not hidden
    refused = await outsider.get(form_path, headers=HTML)
    assert refused.status_code == 403
    assert SECRET_TITLE not in refused.text
    anonymous = await client.get(form_path, headers=HTML)
    assert anonymous.status_code in (303, 401)


async def test_my_meetings_lists_the_members_upcoming_meetings(
    client: httpx.AsyncClient, town: Town, login: Login
) -> None:
    member = await login("liisa")
    page = await member.get("/my/meetings", headers=HTML)
    assert page.status_code == 200
    assert f'href="/meetings/{town.public}"' in page.text
    assert f'href="/meetings/{town.draft}"' not in page.text  # a draft belongs to the chair and secretary
    assert "Sivistyslautakunta" in page.text
    anonymous = await client.get("/my/meetings", headers=HTML)
    assert anonymous.status_code == 303


# ---- the feed -----------------------------------------------------------------------------------


async def test_feed_is_atom_with_public_titles_only(client: httpx.AsyncClient, town: Town) -> None:
    response = await client.get("/bodies/sivistys/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - our own feed, parsed to prove it well-formed
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    links = {e.find(f"{ATOM}link").get("href") for e in entries}  # type: ignore[union-attr]
    assert links == {f"{BASE_URL}/meetings/{town.public}", f"{BASE_URL}/meetings/{town.closed}"}
    for entry in entries:
        assert entry.findtext(f"{ATOM}id", "").startswith("tag:kokous.test,")
        assert entry.findtext(f"{ATOM}title", "").startswith("Sivistyslautakunta ")
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated", "").replace("Z", "+00:00"))
    summaries = " ".join(e.findtext(f"{ATOM}summary", "") for e in entries)
    assert "Koulukuljetusten hankinta &lt;2027&gt; &amp; ehdot" in summaries  # HTML inside, escaped once
    assert fi("Confidential matter") in summaries
    assert PARTLY_TITLE in summaries
    assert fi("The meeting is closed: its agenda is not published.") in summaries
    for hidden in (SECRET_TITLE, SECRET_TEXT, CLOSED_TITLE, "Luonnoksen asia", SECRET_FILE):
        assert hidden not in response.text
    closed = next(e for e in entries if e.find(f"{ATOM}link").get("href", "").endswith(f"/{town.closed}"))  # type: ignore[union-attr]
    assert "Kunnantalo" not in closed.findtext(f"{ATOM}summary", "")


# ---- the secretary's editor ---------------------------------------------------------------------


async def test_editor_builds_an_agenda_and_sends_the_call(
    town: Town, login: Login, context: AppContext
) -> None:
    secretary = await login("sakari")
    created = await post_form(
        secretary,
        "/bodies/sivistys/meetings",
        starts_at="2026-12-15T17:00",
        place="Valtuustosali",
        is_public="yes",
    )
    assert created.status_code == 303
    editor_path = created.headers["location"].split("?")[0]
    meeting_id = int(editor_path.split("/")[2])
    assert (await secretary.get(created.headers["location"], headers=HTML)).status_code == 200

    # A missing title: refused next to the field, with everything typed kept.
    refused = await post_form(secretary, f"{editor_path}/items", title=" ", description="Pitkä teksti\nrivit")
    assert refused.status_code == 422
    assert 'id="new-item-title-error"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "Pitkä teksti\nrivit</textarea>" in refused.text

    for title in ("Ensimmäinen asia", "Toinen asia"):
        added = await post_form(secretary, f"{editor_path}/items", title=title, publicity="public")
        assert added.status_code == 303
        assert added.headers["location"] == f"{editor_path}?done=item-added"
    async with context.db.read() as session:
        items = list(
            (await session.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))).scalars()
        )
    second = next(i for i in items if i.title == "Toinen asia")
    moved = await post_form(secretary, f"{editor_path}/items/{second.id}/move", direction="up")
    assert moved.status_code == 303
    page = (await secretary.get(editor_path, headers=HTML)).text
    assert page.index("Toinen asia") < page.index("Ensimmäinen asia")
    assert len(await audit_entries(context, "agenda.reordered")) == 1

    # The secretary prepares; the chair issues the call (R-CALL-1/5), after ticking the box.
    assert (await post_form(secretary, f"{editor_path}/call", confirm="yes")).status_code == 403
    chair = await login("helena")
    chair_view = (await chair.get(editor_path, headers=HTML)).text
    assert 'name="confirm"' in chair_view
    assert f'action="{editor_path}/items"' not in chair_view  # the chair does not write the agenda
    calls_before = len(await audit_entries(context, "meeting.call_sent"))
    unconfirmed = await post_form(chair, f"{editor_path}/call")
    assert unconfirmed.status_code == 422
    assert len(await audit_entries(context, "meeting.call_sent")) == calls_before
    sent = await post_form(chair, f"{editor_path}/call", confirm="yes")
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{editor_path}?done=call-sent"
    async with context.db.read() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        assert meeting.status == MeetingStatus.CALLED
    public = (await secretary.get(f"/meetings/{meeting_id}", headers=HTML)).text
    assert "Toinen asia" in public

    # After the call a change needs a reason; the members then see the version and the reason.
    change = {"title": "Toinen asia, korjattu", "publicity": "public", "decision_mode": "meeting"}
    no_reason = await post_form(secretary, f"{editor_path}/items/{second.id}", **change)
    assert no_reason.status_code == 422
    assert f'id="edit-{second.id}-reason-error"' in no_reason.text
    assert 'value="Toinen asia, korjattu"' in no_reason.text
    saved = await post_form(secretary, f"{editor_path}/items/{second.id}", **change, reason="Kirjoitusvirhe.")
    assert saved.status_code == 303
    member = await login("liisa")
    seen = (await member.get(f"/meetings/{meeting_id}", headers=HTML)).text
    assert "Kirjoitusvirhe." in seen
    assert "Toinen asia, korjattu" in seen


async def test_late_call_lists_every_problem_with_its_rule(
    town: Town, login: Login, context: AppContext
) -> None:
    secretary = await login("sakari")
    created = await post_form(
        secretary, "/bodies/sivistys/meetings", starts_at="30.11.2026 16.00", place="Sali"
    )
    editor_path = created.headers["location"].split("?")[0]
    check = await secretary.get(editor_path, headers=HTML)
    assert "(R-CALL-5)" in check.text  # too late for the body's call period
    assert "(R-CALL-3)" in check.text  # and nothing on the agenda
    chair = await login("helena")
    refused = await post_form(chair, f"{editor_path}/call", confirm="yes")
    assert refused.status_code == 422
    assert fi("The call was not sent.") in refused.text
    assert "(R-CALL-5)" in refused.text
    assert await audit_entries(context, "meeting.call_sent") != []  # only the fixture's two calls
    assert len(await audit_entries(context, "meeting.call_sent")) == 2


async def test_meeting_details_form_keeps_bad_input(town: Town, login: Login) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.draft}/edit"
    refused = await post_form(secretary, path, starts_at="huomenna", place="Kirjasto", mode="in_person")
    assert refused.status_code == 422
    assert 'id="meeting-starts-at-error"' in refused.text
    assert 'value="huomenna"' in refused.text
    assert 'value="Kirjasto"' in refused.text
    saved = await post_form(
        secretary, path, starts_at="17.12.2026 klo 18.30", place="Kirjasto", mode="in_person"
    )
    assert saved.status_code == 303
    page = (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).text
    assert "17.12.2026 klo 18.30" in page
    assert "Kirjasto" in page


async def test_remove_item_renumbers(town: Town, login: Login) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.draft}/edit"
    await post_form(secretary, f"{path}/items", title="Toinen luonnoksen asia")
    page = (await secretary.get(path, headers=HTML)).text
    first = int(re.findall(r'<li id="item-(\d+)"', page)[0])
    removed = await post_form(secretary, f"{path}/items/{first}/remove")
    assert removed.status_code == 303
    page = (await secretary.get(path, headers=HTML)).text
    assert "Luonnoksen asia<" not in page
    assert "Toinen luonnoksen asia" in page


async def test_wrong_roles_cannot_use_the_editor(client: httpx.AsyncClient, town: Town, login: Login) -> None:
    member = await login("liisa")
    assert (await member.get(f"/meetings/{town.public}/edit", headers=HTML)).status_code == 404
    added = await post_form(member, f"/meetings/{town.draft}/edit/items", title="Ei saa")
    assert added.status_code == 404
    assert (await post_form(member, f"/meetings/{town.draft}/edit/call")).status_code == 404
    new = await post_form(member, "/bodies/sivistys/meetings", starts_at="2026-12-20T10:00", place="X")
    assert new.status_code == 403
    other = await login("olli")
    assert (await other.get(f"/meetings/{town.public}/edit", headers=HTML)).status_code == 404
    assert (await client.get(f"/meetings/{town.public}/edit", headers=HTML)).status_code == 303
    forged = await member.post(f"/meetings/{town.public}/items/{town.items[0]}/disqualification", data={})
    assert forged.status_code == 403


async def test_cached_public_page_follows_every_change_after_the_call(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    """Anonymous readers share one rendering, but an edit after the call shows at once."""
    body_id = await factories.make_body(context, "kh2", kind="committee", name="Tekninen lautakunta")
    secretary = await factories.make_person(context, "sihteeri2", body_id, "secretary")
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        meeting = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=clock() + timedelta(days=10), place="Sali", is_public=True),
            actor=f"user:{secretary.id}",
        )
        item = await do_add_item(
            session,
            meeting=meeting,
            spec=ItemSpec(title="Katujen talvikunnossapito"),
            actor=f"user:{secretary.id}",
        )
        await do_send_call(
            session,
            meeting=meeting,
            base_url="https://kokous.test",
            sender="k@kokous.test",
            actor=f"user:{secretary.id}",
        )
        meeting_id, item_id = meeting.id, item.id
    first = await client.get(f"/meetings/{meeting_id}")
    again = await client.get(f"/meetings/{meeting_id}")
    assert first.text == again.text
    assert "Katujen talvikunnossapito" in first.text
    async with context.db.write() as session:
        stored = await session.get(AgendaItem, item_id)
        meeting_row = await session.get(Meeting, meeting_id)
        assert stored is not None
        assert meeting_row is not None
        await do_update_item(
            session,
            item=stored,
            meeting=meeting_row,
            spec=ItemSpec(title="Katujen auraus"),
            reason="Otsikko tarkennettu",
            actor=f"user:{secretary.id}",
        )
    changed = await client.get(f"/meetings/{meeting_id}")
    assert "Katujen auraus" in changed.text
    assert "Katujen talvikunnossapito" not in changed.text


async def test_cached_member_view_follows_declarations_and_keeps_each_browsers_token(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, app: Litestar
) -> None:
    body_id = await factories.make_body(context, "kh3", kind="committee", name="Rakennuslautakunta")
    secretary = await factories.make_person(context, "sihteeri3", body_id, "secretary")
    await factories.make_person(context, "jasen3", body_id, "member")
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        actor = f"user:{secretary.id}"
        meeting = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=clock() + timedelta(days=10), place="Sali", is_public=False),
            actor=actor,
        )
        item = await do_add_item(session, meeting=meeting, spec=ItemSpec(title="Poikkeamislupa"), actor=actor)
        await do_send_call(session, meeting=meeting, base_url=BASE_URL, sender="k@kokous.test", actor=actor)
        meeting_id, item_id = meeting.id, item.id
    headers = await factories.api_login(client, "jasen3")
    before = await client.get(f"/meetings/{meeting_id}", headers=headers)
    token = client.cookies["kokous_csrf"]
    assert f'value="{token}"' in before.text
    declared = await client.post(
        f"/api/items/{item_id}/disqualification",
        headers=headers,
        json={"ground": "party", "explanation": "Hakija on veljeni."},
    )
    assert declared.status_code == 201
    after = await client.get(f"/meetings/{meeting_id}", headers=headers)
    assert after.text != before.text
    assert "Hakija on veljeni." in after.text
    transport = httpx.ASGITransport(app=app, client=("192.0.2.11", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as other_browser:
        page = await other_browser.get(f"/meetings/{meeting_id}", headers=headers)
        other_token = other_browser.cookies["kokous_csrf"]
    assert other_token != token
    assert f'value="{other_token}"' in page.text
    assert f'value="{token}"' not in page.text


async def test_editor_uploads_an_attachment_and_explains_a_refusal(
    context: AppContext, town: Town, login: Login
) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.draft}/edit"
    page = (await secretary.get(path, headers=HTML)).text
    item = int(re.findall(r'<li id="item-(\d+)"', page)[0])
    # The upload form carries its token in its address, as a browser sends it, and not among its fields.
    action = f"{path}/items/{item}/attachments?csrf_token={csrf(page)}"
    assert f'action="{action}"' in page
    form = {"title": "Liitekartta", "is_public": "true", "confidentiality_basis": ""}
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    uploaded = await secretary.post(
        action,
        data=form,
        headers=HTML,
        files={"file": ("kartta.pdf", pdf, "application/pdf")},
    )
    assert uploaded.status_code == 303, uploaded.text
    assert uploaded.headers["location"] == f"{path}?done=attachment-added#item-{item}"
    assert "Liitekartta" in (await secretary.get(path, headers=HTML)).text
    assert len(await audit_entries(context, "attachment.added")) == 1
    refused = await secretary.post(
        action,
        data=form,
        headers=HTML,
        files={"file": ("ohjelma.pdf", b"MZ\x90\x00not a pdf", "application/pdf")},
    )
    assert refused.status_code == 415
    assert f'id="attach-{item}-error"' in refused.text
    member = await login("liisa")
    sneaky = await member.post(
        f"{path}/items/{item}/attachments",
        params={"csrf_token": member.cookies["kokous_csrf"]},
        headers=HTML,
        files={"file": ("x.pdf", pdf, "application/pdf")},
    )
    assert sneaky.status_code == 404


async def test_editor_changes_an_attachment_and_the_public_agenda_follows(
    client: httpx.AsyncClient, context: AppContext, town: Town, login: Login
) -> None:
    """R-PUB-7: an attachment made confidential leaves the (cached) public agenda and the public download."""
    assert PUBLIC_FILE in (await client.get(f"/meetings/{town.public}", headers=HTML)).text
    async with context.db.read() as session:
        query = select(Attachment.id).where(Attachment.filename == PUBLIC_FILE)
        attachment = (await session.execute(query)).scalar_one()
    secretary = await login("sakari")
    editor = (await secretary.get(f"/meetings/{town.public}/edit", headers=HTML)).text
    form_path = f"/meetings/{town.public}/attachments/{attachment}"
    assert f'action="{form_path}"' in editor
    fields = {"title": "Hankintailmoitus 2027", "is_public": "false"}

    refused = await post_form(secretary, form_path, confidentiality_basis="", **fields)

    assert refused.status_code == 422
    basis = f"attachment-{attachment}-confidentiality-basis"
    assert f'id="{basis}-error"' in refused.text
    assert 'value="Hankintailmoitus 2027"' in refused.text  # the input is kept
    assert '<option value="false" selected>' in refused.text
    assert await audit_entries(context, "attachment.updated") == []

    saved = await post_form(secretary, form_path, confidentiality_basis=SECRET_BASIS, **fields)

    assert saved.status_code == 303
    assert saved.headers["location"] == f"/meetings/{town.public}/edit?done=attachment-saved"
    notice = await secretary.get(saved.headers["location"], headers=HTML)
    assert shown("The attachment was saved.") in notice.text
    assert "Hankintailmoitus 2027" in notice.text
    [updated] = await audit_entries(context, "attachment.updated")
    assert json.loads(updated.data)["changed"] == ["confidentiality_basis", "is_public", "title"]
    public = await client.get(f"/meetings/{town.public}", headers=HTML)
    assert PUBLIC_FILE not in public.text
    assert f"/api/attachments/{attachment}" not in public.text
    assert (await client.get(f"/api/attachments/{attachment}")).status_code == 404
    member = await login("liisa")
    forged = await post_form(member, form_path, title="Ei saa", is_public="true", confidentiality_basis="")
    assert forged.status_code == 404
    assert len(await audit_entries(context, "attachment.updated")) == 1


async def test_cached_page_keeps_each_readers_navigation(
    client: httpx.AsyncClient, context: AppContext, town: Town, clock: FixedClock
) -> None:
    from auth.models import Role

    await factories.make_user(context, "tarkastaja", roles=(Role.AUDITOR,))
    await factories.make_user(context, "kuntalainen")
    auditor = await factories.api_login(
        client, "tarkastaja", secret=await enrol_totp(context, "tarkastaja"), clock=clock
    )
    resident = await factories.api_login(client, "kuntalainen")
    assert 'href="/audit"' in (await client.get(f"/meetings/{town.public}", headers=auditor)).text
    assert 'href="/audit"' not in (await client.get(f"/meetings/{town.public}", headers=resident)).text
    assert 'href="/audit"' not in (await client.get(f"/meetings/{town.public}")).text
