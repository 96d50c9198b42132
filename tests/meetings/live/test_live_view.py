"""The snapshot a page starts from: the body sees the item under way; the public sees a public meeting's
public items only, and of a confidential item just that a closed item is being handled (R-EMEET-5,
R-PUB-2)."""

from __future__ import annotations

import json

import pytest

from core.clock import FixedClock
from meetings.access import PUBLIC, Viewer
from meetings.live.actions.attendance import do_record_arrival
from meetings.live.actions.items import do_close_discussion, do_decide_without_vote, do_take_up_item
from meetings.live.models import LiveMeeting
from meetings.live.queries import as_json, live_view, may_follow
from meetings.models import Meeting, MemberRole
from tests.meetings.live.world import SECRET_TITLE, Board, hold, item_of, make_board, meeting_of
from web.context import AppContext


@pytest.fixture
async def board(context: AppContext, clock: FixedClock) -> Board:
    made = await make_board(context, clock, public=True)
    await hold(context, clock, made)
    async with context.db.write() as session:
        meeting = await meeting_of(session, made)
        for person in made.members[:3]:
            await do_record_arrival(session, meeting=meeting, user_id=person, remote=False, actor="user:s")
    return made


async def view_of(context: AppContext, board: Board, viewer: Viewer):  # type: ignore[no-untyped-def]
    async with context.db.read() as session:
        meeting = await session.get(Meeting, board.meeting_id)
        live = await session.get(LiveMeeting, board.meeting_id)
        assert meeting is not None
        assert live is not None
        return await live_view(session, viewer, meeting, live)


async def take_up(context: AppContext, board: Board, item_id: int) -> None:
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, item_id)
        await do_take_up_item(session, meeting=meeting, item=item, actor="user:c")


async def test_the_body_and_the_public_see_a_public_item_alike(context: AppContext, board: Board) -> None:
    await take_up(context, board, board.items[0])
    member = Viewer(board.members[1], False, {board.body_id: frozenset({MemberRole.MEMBER})})
    inside, outside = await view_of(context, board, member), await view_of(context, board, PUBLIC)
    assert inside.current is not None
    assert outside.current is not None
    assert inside.current.proposals == outside.current.proposals  # R-VOTE-3: the proceedings are public
    assert outside.quorum.quorate  # three of five (R-QUORUM-1)
    assert outside.names[board.members[0]] == "M1"


async def test_the_snapshot_is_plain_json(context: AppContext, board: Board) -> None:
    await take_up(context, board, board.items[0])
    member = Viewer(board.members[1], False, {board.body_id: frozenset({MemberRole.MEMBER})})
    snapshot = json.loads(json.dumps(as_json(await view_of(context, board, member))))
    assert snapshot["meeting_id"] == board.meeting_id
    assert snapshot["current"]["id"] == board.items[0]
    assert snapshot["names"][str(board.members[0])] == "M1"
    assert snapshot["quorum"]["quorate"] is True


async def test_a_confidential_item_shows_the_public_only_that_it_is_handled(
    context: AppContext, board: Board
) -> None:
    await take_up(context, board, board.items[0])
    async with context.db.write() as session:
        meeting, item = await meeting_of(session, board), await item_of(session, board.items[0])
        await do_close_discussion(session, meeting=meeting, item=item, actor="user:c")
        await do_decide_without_vote(session, meeting=meeting, item=item, actor="user:c")
    await take_up(context, board, board.items[1])
    member = Viewer(board.members[1], False, {board.body_id: frozenset({MemberRole.MEMBER})})
    inside, outside = await view_of(context, board, member), await view_of(context, board, PUBLIC)
    assert inside.current is not None
    assert inside.current.title == SECRET_TITLE
    assert outside.current is not None
    assert outside.current.closed
    assert outside.current.title is None
    assert outside.current.proposals == ()
    assert SECRET_TITLE not in repr(outside)
    assert all(i.title != SECRET_TITLE for i in outside.items)


async def test_only_a_public_meeting_is_followed_by_the_public(context: AppContext, board: Board) -> None:
    async with context.db.read() as session:
        meeting = await session.get(Meeting, board.meeting_id)
        assert meeting is not None
        assert may_follow(PUBLIC, meeting)
        meeting.is_public = False
        assert not may_follow(PUBLIC, meeting)
        assert may_follow(Viewer(1, False, {board.body_id: frozenset({MemberRole.DEPUTY})}), meeting)
