"""The public front page, the home page after sign-in with its providers of what waits, and the search over
public items (Finnish and Swedish stems; never a confidential item, R-PUB-2, R-PUB-7)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from core.clock import LOCAL, FixedClock
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.models import Body, Meeting
from meetings.search import fts_query, search_public, stemmed, stems, sync_public_search
from tests.factories import enrol_totp
from tests.web.pages.test_admin import browser_login
from tests.web.public_world import _body, _call, _item, person
from web import waiting
from web.context import AppContext


async def _meeting(context: AppContext, body: Body, clock: FixedClock, *, days: int, public: bool) -> Meeting:
    starts = (
        (clock() + timedelta(days=days)).astimezone(LOCAL).replace(hour=16, minute=0, second=0, microsecond=0)
    )
    async with context.db.write() as session:
        spec = MeetingSpec(starts_at=starts, place="Valtuustosali", mode="in_person", is_public=public)
        return await do_create_meeting(session, body=body, spec=spec, actor="system:test")


@pytest.fixture
async def world(context: AppContext, clock: FixedClock) -> dict[str, int]:
    body = await _body(context)
    _, secretary = await person(context, body, "sakari", "Sakari Sihteeri", "secretary")
    await person(context, body, "maija", "Maija Meikäläinen", "member")
    actor = f"user:{secretary}"
    public = await _meeting(context, body, clock, days=12, public=True)
    closed = await _meeting(context, body, clock, days=13, public=False)
    draft = await _meeting(context, body, clock, days=20, public=True)
    found = await _item(
        context, public, actor, title="Asemakaavan muutos", description="Keskustan kaava muutetaan."
    )
    secret = await _item(
        context,
        public,
        actor,
        title="Salainen kaava",
        description="Kaava, joka ei ole julkinen.",
        publicity="confidential",
        confidentiality_basis="JulkL 24 § 1 mom 20 k",
    )
    partly = await _item(
        context,
        public,
        actor,
        title="Osin salainen kaava",
        description="Kaava, liikesalaisuus.",
        publicity="partly_confidential",
        confidentiality_basis="JulkL 24 § 1 mom 20 k",
        public_summary="Kunta vuokraa tontin.",
    )
    closed_item = await _item(context, closed, actor, title="Kaava suljetussa kokouksessa")
    draft_item = await _item(context, draft, actor, title="Kaava luonnoksessa")
    await _call(context, public, actor)
    await _call(context, closed, actor)
    return {
        "public": public.id,
        "draft": draft.id,
        "found": found,
        "secret": secret,
        "partly": partly,
        "closed_item": closed_item,
        "draft_item": draft_item,
        "secretary": secretary,
    }


def test_inflected_words_share_their_stems() -> None:
    assert stems("kaavan") & stems("kaava")
    assert stems("planen") & stems("plan")
    assert "kaava" in stemmed("Kaavan muutos").split()
    assert fts_query('kaavan "x') == '("kaava" OR "kaavan") AND ("x")'


async def test_kaavan_finds_kaava_and_never_a_confidential_item(
    client: httpx.AsyncClient, context: AppContext, world: dict[str, int]
) -> None:
    page = await client.get("/search", params={"q": "kaavan"})
    assert page.status_code == 200
    assert "Asemakaavan muutos" in page.text
    assert f"#item-{world['found']}-title" in page.text
    assert "Keskustan <" not in page.text  # the excerpt is text, escaped
    for hidden in (
        "Salainen kaava",
        "Osin salainen",
        "suljetussa kokouksessa",
        "luonnoksessa",
        "liikesalaisuus",
    ):
        assert hidden not in page.text
    async with context.db.read() as session:
        hits = await search_public(session, "kaava")
    assert [h.item_id for h in hits] == [world["found"]]


async def test_the_index_follows_what_is_published(
    client: httpx.AsyncClient, context: AppContext, world: dict[str, int]
) -> None:
    assert "Asemakaavan" in (await client.get("/search", params={"q": "kaava"})).text
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world["public"])
        assert meeting is not None
        meeting.is_public = False  # as a decision to close it would
        meeting.agenda_version += 1
    gone = await client.get("/search", params={"q": "kaava"})
    assert "Asemakaavan" not in gone.text
    async with context.db.write() as session:
        assert await sync_public_search(session) == 0  # up to date: nothing to do


async def test_an_empty_or_odd_query_finds_nothing_politely(
    client: httpx.AsyncClient, world: dict[str, int]
) -> None:
    for query in ("", "   ", '"', "*", "AND OR NOT", "x" * 500):
        page = await client.get("/search", params={"q": query})
        assert page.status_code == 200, query


async def test_the_front_page_lists_upcoming_meetings_and_latest_agendas(
    client: httpx.AsyncClient, world: dict[str, int]
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert f'href="/meetings/{world["public"]}"' in page.text
    assert f'href="/meetings/{world["draft"]}"' not in page.text  # a draft is nobody's business yet
    assert 'action="/search"' in page.text
    assert "Sivistyslautakunta" in page.text


async def test_home_shows_next_meetings_and_what_waits(
    client: httpx.AsyncClient,
    context: AppContext,
    clock: FixedClock,
    world: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def stances(session: object, viewer: object, now: datetime) -> list[waiting.Waiting]:
        return [waiting.Waiting("Signed in", "A stance to give", "/somewhere", now + timedelta(days=1))]

    async def broken(session: object, viewer: object, now: datetime) -> list[waiting.Waiting]:
        raise RuntimeError("a provider that fails")

    monkeypatch.setattr(waiting, "PROVIDERS", [*waiting.PROVIDERS, stances, broken])
    secret = await enrol_totp(context, "sakari")
    await browser_login(client, "sakari", secret, clock)
    page = await client.get("/")
    assert page.status_code == 200
    assert "Sakari Sihteeri" in page.text
    assert "A stance to give" in page.text  # another feature's provider
    assert f'href="/meetings/{world["draft"]}/edit"' in page.text  # the draft to prepare
    assert f'href="/meetings/{world["public"]}"' in page.text  # the next meeting
