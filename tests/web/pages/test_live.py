"""The live meeting's pages: each role sees its own controls, forms run the domain's actions with their audit
entries, a wrong role is refused with a clear message, and the public never sees a confidential item."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from core.clock import LOCAL, FixedClock
from tests.factories import api_login, audit_entries, enrol_totp
from tests.meetings.live.world import SECRET_TITLE, Board, hold, make_board
from web.context import AppContext
from web.i18n import translator

en = translator("en")
HTML = {"accept": "text/html", "accept-language": "en"}


@dataclass
class People:
    board: Board
    chair: dict[str, str]
    secretary: dict[str, str]
    members: list[dict[str, str]]  # m2 … m5
    deputy: dict[str, str]  # d1


async def _people(client: httpx.AsyncClient, context: AppContext, clock: FixedClock, board: Board) -> People:
    chair_secret = await enrol_totp(context, "m1")
    secretary_secret = await enrol_totp(context, "sihteeri")
    chair = await api_login(client, "m1", secret=chair_secret, clock=clock) | HTML
    secretary = await api_login(client, "sihteeri", secret=secretary_secret, clock=clock) | HTML
    members = [await api_login(client, f"m{n}") | HTML for n in range(2, 6)]
    return People(board, chair, secretary, members, await api_login(client, "d1") | HTML)


@pytest.fixture
async def people(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> People:
    board = await make_board(context, clock, public=True)
    await hold(context, clock, board)
    return await _people(client, context, clock, board)


def url(board: Board, action: str = "") -> str:
    return f"/meetings/{board.meeting_id}/live" + (f"/{action}" if action else "")


async def act(
    client: httpx.AsyncClient, who: dict[str, str], board: Board, action: str, **fields: object
) -> httpx.Response:
    return await client.post(url(board, action), headers=who, data={k: str(v) for k, v in fields.items()})


async def ok(
    client: httpx.AsyncClient, who: dict[str, str], board: Board, action: str, **fields: object
) -> None:
    response = await act(client, who, board, action, **fields)
    assert response.status_code == 303, response.text[-2000:]
    assert response.headers["location"].startswith(f"{url(board)}?done={action}")


def forms(page: str) -> set[str]:
    """The actions whose forms the page offers."""
    return set(re.findall(r'action="/meetings/\d+/live/([a-z-]+)"', page))


CHAIR_ONLY = {"lawful", "checkers", "take-up", "suspend", "close"}
CLERK_ONLY = {"mark-arrival"}


async def test_each_role_sees_its_controls_and_no_other(client: httpx.AsyncClient, people: People) -> None:
    board = people.board
    chair = forms((await client.get(url(board), headers=people.chair)).text)
    assert chair >= CHAIR_ONLY | CLERK_ONLY | {"check-in"}  # the chair is also a member (m1)
    secretary = forms((await client.get(url(board), headers=people.secretary)).text)
    assert secretary >= CLERK_ONLY
    assert not secretary & CHAIR_ONLY
    assert "check-in" not in secretary  # the secretary has no seat to check into
    member_page = await client.get(url(board), headers=people.members[0])
    assert member_page.status_code == 200
    member = forms(member_page.text)
    assert member == {"check-in"}
    public = await client.get(url(board), headers={"accept": "text/html"})
    assert public.status_code == 200
    assert forms(public.text) == set()


async def test_a_meeting_run_through_the_page_forms(
    client: httpx.AsyncClient, context: AppContext, people: People
) -> None:
    board = people.board
    m1 = people.chair
    m2, m3, m4, m5 = people.members
    for person in board.members[:3]:
        await ok(client, people.secretary, board, "mark-arrival", person=person)
    await ok(client, m4, board, "check-in")
    await ok(client, m5, board, "check-in")
    assert len(await audit_entries(context, "arrival.recorded")) == 5
    await ok(client, m1, board, "lawful")
    await ok(client, m1, board, "checkers", first=board.members[1], second=board.members[2])
    await ok(client, m1, board, "take-up", item=board.items[0])
    await ok(client, m1, board, "floor-rules", minutes=3, replies="yes")
    await ok(client, m2, board, "ask-floor", item=board.items[0], kind="speech")
    page = (await client.get(url(board), headers=m1)).text
    request = re.search(r'name="request" value="(\d+)"', page)
    assert request
    await ok(client, m1, board, "grant", request=request.group(1))
    page = (await client.get(url(board), headers=m3)).text
    assert 'class="countdown"' in page
    assert "data-ends=" in page
    await ok(client, m1, board, "end-floor", item=board.items[0])
    await ok(
        client, m2, board, "propose", item=board.items[0], kind="counter", text="Talousarvio palautetaan."
    )
    proposal = re.search(
        r"#(\d+) " + re.escape(en("Counter-proposal")), (await client.get(url(board), headers=m3)).text
    )
    assert proposal
    await ok(client, m3, board, "second", proposal=proposal.group(1))
    await ok(client, m1, board, "close-discussion", item=board.items[0])
    order = re.search(r'id="order-draft" value="([\d ]+)"', (await client.get(url(board), headers=m1)).text)
    assert order
    await ok(client, m1, board, "approve-order", item=board.items[0], order=order.group(1))
    await ok(client, m1, board, "open-vote", item=board.items[0])
    page = (await client.get(url(board), headers=m2)).text
    vote = re.search(r'name="vote" value="(\d+)"', page)
    assert vote
    assert "ballot" in forms(page)
    # JAA is the base proposal, EI the counter-proposal: a tie 2–2 with one blank, and the chair voted JAA.
    for who, choice in ((m1, "jaa"), (m2, "ei"), (m3, "ei"), (m4, "jaa"), (m5, "tyhja")):
        await ok(client, who, board, "ballot", vote=vote.group(1), choice=choice)
    await ok(client, m5, board, "ballot", vote=vote.group(1), choice="jaa")  # changed until the close
    await ok(client, m5, board, "ballot", vote=vote.group(1), choice="tyhja")
    mine = (await client.get(url(board), headers=m5)).text
    assert re.search(r'value="tyhja" class="[^"]*chosen" aria-pressed="true"', mine)
    await ok(client, m1, board, "close-vote", vote=vote.group(1))
    result = (await client.get(url(board), headers={"accept": "text/html", "accept-language": "en"})).text
    assert "JAA 2 · EI 2 · TYHJÄ 1 · POISSA 0" in result
    assert "R-VOTE-2" in result, result[result.find("JAA 2") :][:600]
    assert [json.loads(e.data)["by_chair"] for e in await audit_entries(context, "vote.closed")] == [True]
    await ok(client, m2, board, "dissent", item=board.items[0], text="Palautus olisi ollut oikein.")
    assert len(await audit_entries(context, "dissent.registered")) == 1
    await ok(client, m1, board, "suspend", reason="Tauko")
    await ok(client, m1, board, "resume")
    await ok(client, m1, board, "close")
    for action in (
        "meeting.declared_lawful",
        "meeting.checkers_chosen",
        "item.taken_up",
        "floor.granted",
        "floor.ended",
        "floor.rules_set",
        "proposal.made",
        "proposal.seconded",
        "discussion.closed",
        "voting_order.approved",
        "vote.opened",
        "ballot.cast",
        "meeting.suspended",
        "meeting.resumed",
        "meeting.closed",
    ):
        assert await audit_entries(context, action), action


async def test_wrong_roles_are_refused_with_a_reason(client: httpx.AsyncClient, people: People) -> None:
    board = people.board
    refused = await act(client, people.members[0], board, "take-up", item=board.items[0])
    assert refused.status_code == 403
    assert en("Only the chair runs the meeting.") in refused.text
    refused = await act(client, people.members[0], board, "mark-arrival", person=board.members[2])
    assert refused.status_code == 403
    assert en("Only the secretary or the chair marks attendance in the room.") in refused.text
    anonymous = await client.post(url(board, "check-in"), headers={"accept": "text/html"})
    assert anonymous.status_code in (401, 403) or anonymous.headers["location"].startswith(
        ("/login", "/auth/refresh")
    )
    unknown = await act(client, people.chair, board, "explode")
    assert unknown.status_code == 404


async def test_the_domain_refusal_is_shown_at_the_top_of_the_page(
    client: httpx.AsyncClient, people: People
) -> None:
    board = people.board
    refused = await act(client, people.chair, board, "lawful")
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    assert "not quorate" in refused.text
    vote = await act(client, people.members[0], board, "ballot", vote=999999, choice="jaa")
    assert vote.status_code == 422


async def test_the_public_sees_that_a_closed_item_is_handled_and_nothing_of_it(
    client: httpx.AsyncClient, people: People
) -> None:
    board = people.board
    for person in board.members[:3]:
        await ok(client, people.secretary, board, "mark-arrival", person=person)
    await ok(client, people.chair, board, "take-up", item=board.items[1])
    insider = await client.get(url(board), headers=people.members[0])
    assert SECRET_TITLE in insider.text
    for path in (url(board), url(board, "panel")):
        public = await client.get(path, headers={"accept": "text/html", "accept-language": "en"})
        assert public.status_code == 200
        assert SECRET_TITLE not in public.text
        assert en("A confidential item is being handled") in public.text
        assert "Hallitus päättää virkasuhteesta." not in public.text


async def test_a_closed_meeting_is_not_followed_by_the_public(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    board = await make_board(context, clock, public=False)
    await hold(context, clock, board)
    assert (await client.get(url(board), headers={"accept": "text/html"})).status_code == 404
    assert (await client.get(url(board, "panel"), headers={"accept": "text/html"})).status_code == 404


async def test_the_panel_answers_not_modified_until_the_meeting_moves(
    client: httpx.AsyncClient, people: People
) -> None:
    board = people.board
    first = await client.get(url(board, "panel"), headers=people.members[0])
    assert first.status_code == 200
    assert 'id="live-panel"' in first.text
    assert "<html" not in first.text
    tag = first.headers["etag"]
    same = await client.get(url(board, "panel"), headers=people.members[0] | {"if-none-match": tag})
    assert same.status_code == 304
    await ok(client, people.secretary, board, "mark-arrival", person=board.members[0])
    moved = await client.get(url(board, "panel"), headers=people.members[0] | {"if-none-match": tag})
    assert moved.status_code == 200


async def test_the_chair_opens_a_called_meeting_from_the_page(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    board = await make_board(context, clock)
    people = await _people(client, context, clock, board)
    page = await client.get(url(board), headers=people.chair)
    assert "open" in forms(page.text)
    assert "open" not in forms((await client.get(url(board), headers=people.members[0])).text)
    early = await act(client, people.chair, board, "open")
    assert early.status_code == 409  # R-EMEET: only on its day
    clock.now = clock() + timedelta(days=5)
    chair = await api_login(client, "m1", secret=await enrol_totp(context, "m1"), clock=clock) | HTML
    await ok(client, chair, board, "open")
    assert len(await audit_entries(context, "meeting.opened")) == 1


async def test_the_demo_fills_every_seat_and_calls_a_meeting_for_today(
    context: AppContext, clock: FixedClock, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from audit.verify import verify_database
    from meetings.live.actions.sitting import do_open_meeting
    from meetings.live.seating import roster_of
    from meetings.models import AgendaItem, Body, Meeting
    from meetings.storage import attachment_store
    from web import demo

    async with context.db.write() as session:
        logins = await demo.seed(
            session,
            now=clock(),
            base_url="https://kokous.test",
            sender="k@kokous.test",
            store=attachment_store(tmp_path),
        )
    assert {"chair", "member", "jasen9", "vara1", "vara9", "johtaja"} <= {p.username for p, _ in logins}
    async with context.db.write() as session:
        bodies = {b.slug: b for b in (await session.execute(select(Body))).scalars()}
        called = select(Meeting).where(Meeting.status == "called")  # the minutes' demo meetings are closed
        today = (await session.execute(called.order_by(Meeting.id.desc()))).scalars().first()
        assert today is not None
        assert today.status == "called"
        assert today.body_id == bodies["kh"].id
        assert today.starts_at <= clock() < today.starts_at + timedelta(minutes=15)
        board = await roster_of(session, today, bodies["kh"])
        assert len(board.members) == 9
        assert all(m.deputy for m in board.members)  # R-DEP-2
        council = await roster_of(session, today, bodies["valtuusto"])
        assert len(council.members) == 27
        assert all(m.group for m in council.members)  # R-DEP-1
        assert {g.group for g in council.group_deputies} == {
            "Keskusta",
            "Kokoomus",
            "SDP",
            "Perussuomalaiset",
        }
        titles = (
            await session.execute(select(AgendaItem.title).where(AgendaItem.meeting_id == today.id))
        ).scalars()
        assert any(t.startswith("Edustajien valinta") for t in titles)  # an item to hold an election in
        await do_open_meeting(session, meeting=today, chair_id=board.members[0].person, actor="user:chair")
        count = (await session.execute(select(func.count()).select_from(Meeting))).scalar_one()
        assert count == 5  # and the two past board meetings with their minutes (web/demo/minutes.py)
    async with context.db.read() as session:
        report = await verify_database(session, context.signer.verifier)
        assert report.intact, report.summary()


async def test_the_other_forms_reach_the_domain_with_their_audit_entries(
    client: httpx.AsyncClient, context: AppContext, people: People
) -> None:
    board = people.board
    m1 = people.chair
    m2, m3, m4, _ = people.members
    for person in board.members[:4]:
        await ok(client, people.secretary, board, "mark-arrival", person=person)
    await ok(client, m1, board, "take-up", item=board.items[0])
    # A short reply and its withdrawal; a proposal and its withdrawal (R-PROP-6).
    await ok(client, m2, board, "ask-floor", item=board.items[0], kind="reply")
    page = (await client.get(url(board), headers=m2)).text
    assert "withdraw-request" in forms(page)
    request = re.search(r'name="request" value="(\d+)"', page)
    assert request
    await ok(client, m2, board, "withdraw-request", request=request.group(1))
    await ok(client, m3, board, "propose", item=board.items[0], kind="tabling", text="Asia pannaan pöydälle.")
    proposal = re.search(r'name="proposal" value="(\d+)"', (await client.get(url(board), headers=m3)).text)
    assert proposal
    await ok(client, m3, board, "withdraw-proposal", proposal=proposal.group(1))
    # The body finds m4 disqualified (R-DISQ-4): the secretary records it with its ground.
    await ok(
        client,
        people.secretary,
        board,
        "recusal",
        item=board.items[0],
        person=board.members[3],
        ground="party",
        text="Hakijan sisar.",
    )
    recused = await audit_entries(context, "recusal.recorded")
    assert json.loads(recused[0].data)["decided_by_body"] is True
    refused = await act(client, m4, board, "ask-floor", item=board.items[0], kind="speech")
    assert refused.status_code == 409
    # Nothing seconded against the base: the chair declares it the decision (R-PROP-3).
    await ok(client, m1, board, "close-discussion", item=board.items[0])
    page = (await client.get(url(board), headers=m1)).text
    assert "decide" in forms(page)
    assert "approve-order" not in forms(page)
    await ok(client, m1, board, "decide", item=board.items[0])
    assert json.loads((await audit_entries(context, "decision.made"))[0].data)
    await ok(client, people.secretary, board, "mark-departure", person=board.members[3])
    await ok(client, m4, board, "check-in")
    await ok(client, m4, board, "check-out")
    for action in ("floor.requested", "floor.request_withdrawn", "proposal.withdrawn", "departure.recorded"):
        assert await audit_entries(context, action), action


async def test_the_live_page_offers_sound_and_picture_when_the_hub_runs(
    client: httpx.AsyncClient, context: AppContext, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The media section (web/templates/_media.html) joins the live page only where KOKOUS_MEDIA_ENABLED=1."""
    board = people.board
    assert "data-media" not in (await client.get(url(board), headers=people.members[0])).text
    media = replace(context.settings.media, enabled=True)
    monkeypatch.setattr(context, "settings", replace(context.settings, media=media))
    page = (await client.get(url(board), headers=people.members[0])).text
    assert f'data-media data-meeting="{board.meeting_id}"' in page
    assert en("Join with sound and picture") in page


async def test_the_secretary_holds_a_roll_call_from_the_page(
    client: httpx.AsyncClient, context: AppContext, people: People
) -> None:
    """R-EMEET-1(1): the roll call's forms run the actions with their audit entries; members see each mark
    with its time beside the seats; a member is refused the roll call's forms."""
    board = people.board
    m2, m3 = people.members[:2]
    await ok(client, m2, board, "check-in")
    await ok(client, m3, board, "check-in")
    member_page = (await client.get(url(board), headers=m2)).text
    assert not forms(member_page) & {"roll-call", "roll-call-mark", "roll-call-end"}
    refused = await act(client, m2, board, "roll-call")
    assert refused.status_code == 403
    assert en("Only the secretary or the chair holds the roll call.") in refused.text

    secretary = people.secretary
    assert "roll-call" in forms((await client.get(url(board), headers=secretary)).text)
    await ok(client, secretary, board, "roll-call")
    page = (await client.get(url(board), headers=secretary)).text
    assert {"roll-call-mark", "roll-call-end"} <= forms(page)
    first, second = board.members[1], board.members[2]  # M2 and M3, by name
    assert "Everyone now sees and hears M2 (1 of 2)" in page
    # A mark that is not one of the three is refused and nothing is recorded.
    wrong = await act(client, secretary, board, "roll-call-mark", person=first, choice="perhaps")
    assert wrong.status_code == 422
    await ok(client, secretary, board, "roll-call-mark", person=first, choice="identified")
    late = await act(client, secretary, board, "roll-call-mark", person=first, choice="identified")
    assert late.status_code == 409  # a second click: the roll call has moved on
    await ok(client, secretary, board, "roll-call-mark", person=second, choice="not_identified")
    assert [e.action for e in await audit_entries(context, "roll_call.marked")] == ["roll_call.marked"] * 2
    assert len(await audit_entries(context, "roll_call.ended")) == 1  # ended by itself after the last
    seen = (await client.get(url(board), headers=people.members[2])).text
    when = f"{context.db.clock().astimezone(LOCAL):%H.%M}"
    assert f"identified {when}" in seen
    assert f"not identified {when}" in seen
    after = (await client.get(url(board), headers=secretary)).text
    assert "roll-call" in forms(after)  # a new roll call may start
    assert "roll-call-end" not in forms(after)
