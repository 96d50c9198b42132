"""Cached pages follow every change at once and keep each reader's own parts (navigation, tokens)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from litestar import Litestar

from core.clock import FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item, do_update_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.models import AgendaItem, Body, Meeting
from tests import factories
from tests.conftest import BASE_URL
from tests.factories import enrol_totp
from tests.web.town import (
    Town,
)
from web.context import AppContext


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
