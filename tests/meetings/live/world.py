"""A board of five with personal deputies, a chair, a secretary and a presenter, and a meeting called for
five days after the test clock's start with two items; `hold()` moves the clock to its day and opens it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import LOCAL, FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.live.actions.sitting import do_open_meeting
from meetings.live.models import LiveMeeting, Proposal
from meetings.models import AgendaItem, Body, Meeting, Membership
from tests.factories import add_member, make_body, make_person, make_user
from web.context import AppContext

SEATS = 5
SECRET_TITLE = "Virkasuhteen päättäminen, Matti Meikäläinen"


@dataclass
class Board:
    body_id: int
    meeting_id: int
    items: list[int]
    members: list[int]  # m1 … m5; m1 is also the chair
    deputies: list[int]  # d1 … d5, each the personal deputy of the member at the same index
    chair: int
    secretary: int
    presenter: int
    people: dict[str, int] = field(default_factory=dict)

    def actor(self, person: int) -> str:
        return f"user:{person}"


async def make_board(context: AppContext, clock: FixedClock, *, public: bool = False) -> Board:
    body_id = await make_body(context, "kh", kind="executive", seats=SEATS)
    people: dict[str, int] = {}
    members, deputies = [], []
    for n in range(1, SEATS + 1):
        member = await make_person(context, f"m{n}", body_id, "member")
        membership = await _membership_id(context, body_id, member.id)
        d = await make_user(context, f"d{n}")  # the member's personal deputy (R-DEP-2)
        await add_member(context, body_id, d.id, "deputy", deputy_for_id=membership)
        members.append(member.id)
        deputies.append(d.id)
        people[f"m{n}"], people[f"d{n}"] = member.id, d.id
    await add_member(context, body_id, members[0], "chair")
    secretary = await make_person(context, "sihteeri", body_id, "secretary")
    presenter = await make_person(context, "esittelija", body_id, "presenter")
    meeting_id, items = await _called_meeting(
        context, clock, body_id, presenter.id, secretary.id, members[0], public
    )
    people |= {"sihteeri": secretary.id, "esittelija": presenter.id}
    return Board(
        body_id, meeting_id, items, members, deputies, members[0], secretary.id, presenter.id, people
    )


async def _membership_id(context: AppContext, body_id: int, user_id: int) -> int:
    async with context.db.read() as session:
        query = select(Membership.id).where(Membership.body_id == body_id, Membership.user_id == user_id)
        return int((await session.execute(query)).scalar_one())


async def _called_meeting(
    context: AppContext,
    clock: FixedClock,
    body_id: int,
    presenter: int,
    secretary: int,
    chair: int,
    public: bool,
) -> tuple[int, list[int]]:
    day = (clock() + timedelta(days=5)).astimezone(LOCAL).replace(hour=16, minute=0, second=0, microsecond=0)
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        meeting = await do_create_meeting(
            session,
            body=body,
            spec=MeetingSpec(starts_at=day, place="Kunnantalo", is_public=public),
            actor=f"user:{secretary}",
        )
        items = []
        for title, proposal, publicity in (
            ("Talousarvio 2027", "Hallitus hyväksyy talousarvion.", "public"),
            (SECRET_TITLE, "Hallitus päättää virkasuhteesta.", "confidential"),
        ):
            basis = "JulkL 24 § 1 mom 29 k" if publicity == "confidential" else ""
            spec = ItemSpec(
                title,
                presenter_id=presenter,
                proposal=proposal,
                publicity=publicity,
                confidentiality_basis=basis,
            )
            items.append(
                (await do_add_item(session, meeting=meeting, spec=spec, actor=f"user:{secretary}")).id
            )
        await do_send_call(
            session,
            meeting=meeting,
            base_url="https://kokous.test",
            sender="kokous@kokous.test",
            actor=f"user:{chair}",
        )
    return meeting.id, items


async def hold(context: AppContext, clock: FixedClock, board: Board) -> None:
    """On the meeting's day, the chair opens it."""
    clock.now = (clock() + timedelta(days=5)).replace(hour=13, minute=0)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, board.meeting_id)
        assert meeting is not None
        await do_open_meeting(session, meeting=meeting, chair_id=board.chair, actor=board.actor(board.chair))


async def meeting_of(session: AsyncSession, board: Board) -> Meeting:
    meeting = await session.get(Meeting, board.meeting_id)
    assert meeting is not None
    return meeting


async def item_of(session: AsyncSession, item_id: int) -> AgendaItem:
    item = await session.get(AgendaItem, item_id)
    assert item is not None
    return item


async def live_of(context: AppContext, board: Board) -> LiveMeeting:
    async with context.db.read() as session:
        live = await session.get(LiveMeeting, board.meeting_id)
        assert live is not None
        return live


async def base_proposal(context: AppContext, item_id: int) -> Proposal:
    async with context.db.read() as session:
        query = select(Proposal).where(Proposal.item_id == item_id, Proposal.kind == "base")
        return (await session.execute(query)).scalar_one()
