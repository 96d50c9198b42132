"""An executive board with a chair, a secretary, three members (the first two with personal deputies), an
outsider in another body, and a called meeting whose item is in the electronic decision procedure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.models import Body, Meeting
from meetings.procedure.models import ProcedureItem
from meetings.procedure.scheduler import DeadlineScheduler
from tests.conftest import BASE_URL, START
from tests.factories import add_member, make_body, make_person
from web.context import AppContext

SENDER = "Kokous <kokous@kokous.test>"
TITLE = "Avustushakemus, Kylätalo ry"
PROPOSAL = "Kunnanhallitus myöntää 2 000 euron avustuksen."
DEADLINE = START + timedelta(days=3)  # Tuesday 1 December 2026, 11.00 Finnish time
MEETING = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # 16.00 Finnish time


@dataclass
class World:
    body_id: int
    meeting_id: int
    item_id: int
    procedure_id: int
    people: dict[str, int]  # username -> user id

    def actor(self, username: str) -> str:
        return f"user:{self.people[username]}"


async def make_world(
    context: AppContext,
    *,
    deadline: datetime = DEADLINE,
    deputies: bool = True,
    starts_at: datetime = MEETING,
) -> World:
    body_id = await make_body(context)
    other_id = await make_body(context, "ympa", kind="committee", name="Ympäristölautakunta")
    people: dict[str, int] = {}
    for username, role in (("sihteeri", "secretary"), ("pj", "chair"), ("lasna", "attendee")):
        people[username] = (await make_person(context, username, body_id, role)).id
    memberships: dict[str, int] = {}
    for username in ("aino", "bertta", "cecilia"):
        user = await make_person(context, username, body_id, "member")
        people[username] = user.id
        async with context.db.read() as session:
            from meetings.models import Membership

            memberships[username] = (
                await session.execute(
                    select(Membership.id).where(Membership.user_id == user.id, Membership.body_id == body_id)
                )
            ).scalar_one()
    if deputies:
        for username, member in (("avara", "aino"), ("bvara", "bertta")):
            user = await make_person(context, username, other_id, "member")
            people[username] = user.id
            await add_member(context, body_id, user.id, "deputy", deputy_for_id=memberships[member])
    people["ulko"] = (await make_person(context, "ulko", other_id, "member")).id
    actor = f"user:{people['sihteeri']}"
    async with context.db.write() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        meeting = await do_create_meeting(
            session, body=body, spec=MeetingSpec(starts_at=starts_at, place="Kunnantalo"), actor=actor
        )
        spec = ItemSpec(TITLE, proposal=PROPOSAL, decision_mode="decision_procedure", deadline_at=deadline)
        item = await do_add_item(session, meeting=meeting, spec=spec, actor=actor)
        await do_add_item(session, meeting=meeting, spec=ItemSpec("Talousarvio 2027"), actor=actor)
    async with context.db.write() as session:
        called = await session.get(Meeting, meeting.id)
        assert called is not None
        await do_send_call(
            session, meeting=called, base_url=BASE_URL, sender=SENDER, actor=f"user:{people['pj']}"
        )
        procedure_id = (
            await session.execute(select(ProcedureItem.id).where(ProcedureItem.item_id == item.id))
        ).scalar_one()
    return World(body_id, meeting.id, item.id, procedure_id, people)


def scheduler(context: AppContext) -> DeadlineScheduler:
    return DeadlineScheduler(context.db, base_url=BASE_URL)
