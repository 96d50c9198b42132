"""Cancelling a meeting through the API and the agenda editor's form, and what each reader sees afterwards."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from litestar import Litestar
from markupsafe import escape
from sqlalchemy import select

from core.clock import LOCAL, FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.models import Body, OutboxMessage
from tests.conftest import BASE_URL
from tests.factories import (
    PASSWORD,
    add_member,
    api_login,
    audit_entries,
    enrol_totp,
    make_body,
    make_person,
    make_user,
    next_code,
)
from web.context import AppContext
from web.i18n import translator

HTML = {"accept": "text/html"}
REASON = "Puheenjohtaja on estynyt, eikä varapuheenjohtajaa ole valittu."
SECRET_TITLE = "Virkasuhteen päättäminen"
fi = translator("fi")

Browser = Callable[[str], Awaitable[httpx.AsyncClient]]


def shown(text: str) -> str:
    return str(escape(fi(text)))


@dataclass
class World:
    body_id: int
    headers: dict[str, dict[str, str]]  # Bearer headers by username
    called: int  # a public meeting whose call was sent, with a confidential item
    draft: int


async def _plan(client: httpx.AsyncClient, world: World, secretary: dict[str, str], day: int) -> int:
    response = await client.post(
        f"/api/bodies/{world.body_id}/meetings",
        headers=secretary,
        json={"starts_at": f"2026-12-{day}T16:00:00+02:00", "place": "Kunnantalo", "is_public": True},
    )
    meeting = int(response.json()["meeting"]["id"])
    secret = {
        "title": SECRET_TITLE,
        "publicity": "confidential",
        "confidentiality_basis": "JulkL 24 § 1 mom 32 k",
    }
    for item in ({"title": "Talousarvio 2027"}, secret):
        added = await client.post(f"/api/meetings/{meeting}/items", headers=secretary, json=item)
        assert added.status_code == 201, added.text
    return meeting


@pytest.fixture
async def world(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> World:
    body_id = await make_body(context)
    for username, role in (("sihteeri", "secretary"), ("pj", "chair"), ("jasen", "member")):
        await make_person(context, username, body_id, role)
    headers = {}
    for username in ("sihteeri", "pj", "jasen"):
        secret = await enrol_totp(context, username) if username != "jasen" else None
        headers[username] = await api_login(client, username, secret=secret, clock=clock)
    world = World(body_id, headers, 0, 0)
    world.called = await _plan(client, world, headers["sihteeri"], 10)
    world.draft = await _plan(client, world, headers["sihteeri"], 17)
    sent = await client.post(f"/api/meetings/{world.called}/call", headers=headers["sihteeri"])
    assert sent.status_code == 200
    return world


@pytest.fixture
async def browser(app: Litestar, context: AppContext, clock: FixedClock) -> AsyncIterator[Browser]:
    """A signed-in browser per person: cookies, and the CSRF token as a form carries it."""
    opened: list[httpx.AsyncClient] = []

    async def sign_in(username: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.30", 50000))
        session = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        opened.append(session)
        secret = await enrol_totp(context, username)  # chairs and secretaries must have one; all may
        page = await session.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
        assert (await session.post("/login", data=form)).status_code == 303
        code = {"code": next_code(secret, clock), "csrf_token": token.group(1), "next": "/"}
        assert (await session.post("/login/code", data=code)).headers["location"] == "/"
        return session

    yield sign_in
    for session in opened:
        await session.aclose()


async def post_form(session: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    return await session.post(
        path, data={"csrf_token": session.cookies["kokous_csrf"], **fields}, headers=HTML
    )


async def _cancellations(context: AppContext) -> list[OutboxMessage]:
    async with context.db.read() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "meeting.cancelled")
        return list((await session.execute(query)).scalars())


# ---- the API ------------------------------------------------------------------------------------


async def test_chair_cancels_a_called_meeting(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    """The chair convenes, so the chair may also call the meeting off (R-CALL-1, R-CALL-5)."""
    response = await client.post(
        f"/api/meetings/{world.called}/cancel", headers=world.headers["pj"], json={"reason": REASON}
    )

    assert response.json() == {"status": "cancelled", "recipients": 3}
    assert len(await _cancellations(context)) == 3
    [entry] = await audit_entries(context, "meeting.cancelled")
    assert entry.actor.startswith("user:")
    assert json.loads(entry.data)["reason"] == REASON
    again = await client.post(
        f"/api/meetings/{world.called}/cancel", headers=world.headers["pj"], json={"reason": REASON}
    )
    assert again.status_code == 409
    assert again.json()["error"] == "The meeting has already been cancelled."


async def test_reason_is_required_after_the_call(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    response = await client.post(
        f"/api/meetings/{world.called}/cancel", headers=world.headers["sihteeri"], json={}
    )

    assert response.status_code == 422
    assert response.json()["field"] == "reason"
    agenda = (await client.get(f"/api/meetings/{world.called}", headers=world.headers["jasen"])).json()
    assert agenda["meeting"]["status"] == "called"
    assert await audit_entries(context, "meeting.cancelled") == []


async def test_cancelled_meeting_is_shown_as_cancelled_without_its_agenda(
    client: httpx.AsyncClient, world: World
) -> None:
    await client.post(
        f"/api/meetings/{world.called}/cancel", headers=world.headers["sihteeri"], json={"reason": REASON}
    )

    public = await client.get(f"/meetings/{world.called}", headers=HTML)
    assert shown("The meeting has been cancelled.") in public.text
    assert "Talousarvio 2027" not in public.text
    listed = (await client.get(f"/api/bodies/{world.body_id}/meetings")).json()
    assert {m["id"]: m["status"] for m in listed} == {world.called: "cancelled"}
    member = (await client.get(f"/api/meetings/{world.called}", headers=world.headers["jasen"])).json()
    assert member["meeting"]["status"] == "cancelled"
    assert len(member["items"]) == 2  # the body still reads what was on the agenda


async def test_cancelled_draft_stays_unknown_to_others(client: httpx.AsyncClient, world: World) -> None:
    cancelled = await client.post(
        f"/api/meetings/{world.draft}/cancel", headers=world.headers["sihteeri"], json={}
    )
    assert cancelled.json() == {"status": "cancelled", "recipients": 0}

    for headers in ({}, world.headers["jasen"]):
        assert (await client.get(f"/api/meetings/{world.draft}", headers=headers)).status_code == 404
        listed = (await client.get(f"/api/bodies/{world.body_id}/meetings", headers=headers)).json()
        assert world.draft not in {m["id"] for m in listed}
    mine = (
        await client.get(f"/api/bodies/{world.body_id}/meetings", headers=world.headers["sihteeri"])
    ).json()
    assert world.draft in {m["id"] for m in mine}


# ---- the agenda editor ----------------------------------------------------------------------------


async def test_editor_cancels_after_confirmation(context: AppContext, world: World, browser: Browser) -> None:
    secretary = await browser("sihteeri")
    path = f"/meetings/{world.called}/edit"
    editor = await secretary.get(path, headers=HTML)
    assert f'action="/meetings/{world.called}/cancel"' in editor.text
    assert 'name="confirm"' in editor.text

    unconfirmed = await post_form(secretary, f"/meetings/{world.called}/cancel", reason=REASON)
    assert unconfirmed.status_code == 422
    assert 'href="#cancel-confirm"' in unconfirmed.text
    assert escape(REASON) in unconfirmed.text  # the reason typed is kept
    no_reason = await post_form(secretary, f"/meetings/{world.called}/cancel", reason=" ", confirm="yes")
    assert no_reason.status_code == 422
    assert 'id="cancel-reason-error"' in no_reason.text
    assert await audit_entries(context, "meeting.cancelled") == []

    done = await post_form(secretary, f"/meetings/{world.called}/cancel", reason=REASON, confirm="yes")
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?done=meeting-cancelled-mailed"
    after = (await secretary.get(done.headers["location"], headers=HTML)).text
    assert shown("The meeting has been cancelled.") in after
    assert str(escape(REASON)) in after
    assert f'action="/meetings/{world.called}/cancel"' not in after
    assert f'action="/meetings/{world.called}/edit"' not in after  # nothing left to change
    assert len(await _cancellations(context)) == 3
    assert len(await audit_entries(context, "meeting.cancelled")) == 1


async def test_editor_says_so_when_nobody_could_be_told(context: AppContext, browser: Browser) -> None:
    """Nobody called to the meeting has an e-mail address: the notice must not claim that they are told."""
    body_id = await make_body(context, "ltk", kind="committee", name="Lautakunta")
    secretary = await make_user(context, "kirjuri")  # no e-mail address, and neither has the member
    await add_member(context, body_id, secretary.id, "secretary")
    await add_member(context, body_id, (await make_user(context, "jasen2")).id, "member")
    actor = f"user:{secretary.id}"
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        spec = MeetingSpec(starts_at=datetime(2026, 12, 10, 16, 0, tzinfo=LOCAL), place="Kunnantalo")
        meeting = await do_create_meeting(session, body=body, spec=spec, actor=actor)
        await do_add_item(session, meeting=meeting, spec=ItemSpec("Talousarvio"), actor=actor)
        sent = await do_send_call(
            session, meeting=meeting, base_url=BASE_URL, sender="kokous@kokous.test", actor=actor
        )
    assert sent == 0
    editor = await browser("kirjuri")

    done = await post_form(editor, f"/meetings/{meeting.id}/cancel", reason=REASON, confirm="yes")

    assert done.headers["location"] == f"/meetings/{meeting.id}/edit?done=meeting-cancelled-nobody-mailed"
    page = (await editor.get(done.headers["location"], headers=HTML)).text
    assert (
        shown(
            "The meeting was cancelled. Nobody was told by e-mail: no one called to it has an e-mail address."
        )
        in page
    )
    assert shown("The meeting was cancelled. Everyone who got the call is told by e-mail.") not in page
    assert await _cancellations(context) == []


async def test_draft_needs_no_reason_on_the_editor(world: World, browser: Browser) -> None:
    secretary = await browser("sihteeri")

    done = await post_form(secretary, f"/meetings/{world.draft}/cancel", confirm="yes")

    assert done.headers["location"] == f"/meetings/{world.draft}/edit?done=meeting-cancelled"


async def test_others_cannot_cancel_on_the_editor(
    client: httpx.AsyncClient, context: AppContext, world: World, browser: Browser
) -> None:
    member = await browser("jasen")
    refused = await post_form(member, f"/meetings/{world.called}/cancel", reason=REASON, confirm="yes")
    assert refused.status_code == 404
    secretary = await browser("sihteeri")
    forged = await secretary.post(
        f"/meetings/{world.called}/cancel", data={"reason": REASON, "confirm": "yes"}, headers=HTML
    )
    assert forged.status_code == 403  # no CSRF token
    anonymous = await client.post(f"/meetings/{world.called}/cancel", data={"confirm": "yes"}, headers=HTML)
    assert anonymous.headers["location"].startswith("/auth/refresh")  # to sign in first
    assert await audit_entries(context, "meeting.cancelled") == []
    agenda = (await client.get(f"/api/meetings/{world.called}")).json()
    assert agenda["meeting"]["status"] == "called"


async def test_the_body_reads_the_reason_and_the_public_does_not(
    client: httpx.AsyncClient, world: World
) -> None:
    """The reason went to the body by e-mail; the public learns only that the meeting is cancelled."""
    reason = "Puheenjohtaja on estynyt, uusi aika ilmoitetaan."
    secretary = world.headers["sihteeri"]
    path = f"/api/meetings/{world.called}"
    cancelled = await client.post(f"{path}/cancel", headers=secretary, json={"reason": reason})
    assert cancelled.status_code == 200
    inside = (await client.get(path, headers=world.headers["jasen"])).json()["meeting"]
    assert inside["status"] == "cancelled"
    assert inside["cancelled_at"] is not None
    assert inside["cancel_reason"] == reason
    member_page = await client.get(f"/meetings/{world.called}", headers={**world.headers["jasen"], **HTML})
    assert reason in member_page.text
    outside = (await client.get(path)).json()["meeting"]
    assert outside["cancelled_at"] is not None
    assert outside["cancel_reason"] is None
    public_page = await client.get(f"/meetings/{world.called}", headers=HTML)
    assert shown("The meeting has been cancelled.") in public_page.text
    assert reason not in public_page.text


async def test_a_cancelled_meeting_offers_no_declaration(client: httpx.AsyncClient, world: World) -> None:
    """R-DISQ-5 concerns items still to be handled: a cancelled meeting links to no declaration form."""
    secretary, member = world.headers["sihteeri"], world.headers["jasen"]
    page = f"/meetings/{world.called}"
    agenda = (await client.get(f"/api/meetings/{world.called}", headers=member)).json()
    item = agenda["items"][0]["id"]
    form = f"{page}/items/{item}/disqualification"
    assert f'href="{form}"' in (await client.get(page, headers={**member, **HTML})).text
    cancelled = await client.post(
        f"/api/meetings/{world.called}/cancel", headers=secretary, json={"reason": "Ei asioita."}
    )
    assert cancelled.status_code == 200
    assert f'href="{form}"' not in (await client.get(page, headers={**member, **HTML})).text
    refused = await client.get(form, headers={**member, **HTML})
    assert refused.status_code == 409
    assert (
        shown("The meeting has been cancelled: a disqualification can no longer be declared.") in refused.text
    )
