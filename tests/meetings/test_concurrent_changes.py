"""Changes to one meeting run one after another (decision 0007): on PostgreSQL, two real transactions at once.

The first change acts and holds its transaction open; the second reads its rows and acts in a transaction of
its own, and must wait on `meetings.lock_meeting` until the first commits, then build on what it
committed. The shared fixtures bind every session to one rolled-back connection and cannot show this, so each
test here gets a database of its own, cloned from one that is migrated and seeded (a called meeting) once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from audit.models import AuditEntry
from auth.models import User
from auth.queries import user_by_username
from auth.ratelimit import MemoryLimiter
from core.clock import LOCAL, FixedClock
from core.config import TEST_PASSWORD_PROFILE, Settings
from core.db import Database, create_engine
from core.errors import InvalidTransition
from meetings.actions.agenda import ITEM_FIELDS, ItemSpec, do_add_item, do_update_item
from meetings.actions.attachments import do_add_attachment, do_remove_attachment
from meetings.actions.call import do_send_call
from meetings.actions.disqualifications import do_declare_disqualification
from meetings.actions.meetings import MeetingSpec, do_cancel_meeting, do_create_meeting, do_update_meeting
from meetings.models import (
    AgendaItem,
    AgendaItemVersion,
    Attachment,
    Body,
    Disqualification,
    InvitationRecipient,
    Meeting,
    MeetingStatus,
)
from tests.conftest import BASE_URL, START, backend
from tests.meetings.called_meeting import (
    PUBLIC_TITLE,
    SENDER,
    Town,
    event_of,
    make_town,
    meeting_row,
    outbox,
    send_call,
)
from web import migration
from web.context import AppContext, build_context

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="row locks need two real transactions on PostgreSQL; SQLite serialises writers (decision 0003)",
)

WAIT = 5.0  # seconds: a deadlock, or a change that never waits, fails the test instead of hanging it

Step = Callable[[AsyncSession], Awaitable[Any]]


@dataclass
class World:
    context: AppContext
    engine: AsyncEngine
    town: Town


@dataclass
class Seeded:
    admin: AsyncEngine
    url: URL
    name: str
    town: Town


def _context(data_dir: Path, engine: AsyncEngine) -> AppContext:
    """As conftest's `context`, but on a database of its own that commits."""
    clock = FixedClock(START)
    settings = Settings(
        data_dir=data_dir,
        base_url=BASE_URL,
        password_profile=TEST_PASSWORD_PROFILE,
        database_url="sqlite+aiosqlite:///unused",
    )
    return build_context(
        settings, db=Database(engine, clock=clock), clock=clock, limiter=MemoryLimiter(clock)
    )


def _engine(url: URL, name: str) -> AsyncEngine:
    return create_engine(url.set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="module")
async def seeded(data_dir: Path) -> AsyncIterator[Seeded]:
    """A fresh, migrated PostgreSQL database holding make_town's meeting, called: each test's template."""
    url = make_url(os.environ["KOKOUS_TEST_DATABASE_URL"])
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"kokous_lock_{secrets.token_hex(4)}"
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = _engine(url, name)
        try:
            await migration.upgrade(engine)
            context = _context(data_dir, engine)
            town = await make_town(context)
            await send_call(context, town)
        finally:
            await engine.dispose()  # a template must have no connections
        yield Seeded(admin, url, name, town)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def world(seeded: Seeded, data_dir: Path) -> AsyncIterator[World]:
    """A copy of the seeded database for one test, whose sessions each own a real transaction."""
    name = f"{seeded.name}_{secrets.token_hex(3)}"
    async with seeded.admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{seeded.name}"'))
    engine = _engine(seeded.url, name)
    try:
        yield World(_context(data_dir, engine), engine, seeded.town)
    finally:
        await engine.dispose()
        async with seeded.admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _until_blocked(engine: AsyncEngine) -> None:
    """Return once a session of this database waits on a lock that another holds."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
    )
    async with engine.connect() as conn:
        while not (await conn.execute(query)).scalar_one():
            await conn.rollback()  # a fresh snapshot of the activity on each look
            await asyncio.sleep(0.01)


async def concurrently(world: World, first: Step, second: Step) -> tuple[Any, Any]:
    """`first` acts in a transaction held open; meanwhile `second` reads and acts in its own. Once a session
    waits on a lock, `first` commits. `second` must have finished only after `first` began to commit.

    Returns both results; an exception of `second` is raised after that check."""
    db = world.context.db
    acted, release = asyncio.Event(), asyncio.Event()
    log: list[str] = []

    async def run_first() -> Any:
        async with db.write() as session:
            result = await first(session)
            acted.set()
            await release.wait()
            log.append("first commits")
        return result

    async def run_second() -> Any:
        await acted.wait()
        async with db.write() as session:
            try:
                return await second(session)
            finally:
                log.append("second acted")

    tasks = (asyncio.create_task(run_first()), asyncio.create_task(run_second()))
    try:
        await asyncio.wait_for(acted.wait(), WAIT)
        await asyncio.wait_for(_until_blocked(world.engine), WAIT)
        assert log == [], "the second change went ahead while the first was uncommitted"
        release.set()
        done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
    finally:
        release.set()
        for task in tasks:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
    first_result, second_result = done
    if isinstance(first_result, BaseException):
        raise first_result
    assert log == ["first commits", "second acted"]
    if isinstance(second_result, BaseException):
        raise second_result
    return first_result, second_result


async def entries(world: World, action: str, subject: str) -> list[dict[str, Any]]:
    async with world.context.db.read() as session:
        query = (
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.subject == subject)
            .order_by(AuditEntry.seq)
        )
        return [json.loads(e.data) for e in (await session.execute(query)).scalars()]


async def public_item(session: AsyncSession, town: Town) -> AgendaItem:
    query = select(AgendaItem).where(
        AgendaItem.meeting_id == town.meeting_id, AgendaItem.title == PUBLIC_TITLE
    )
    return (await session.execute(query)).scalar_one()


async def the_meeting(session: AsyncSession, town: Town) -> Meeting:
    meeting = await session.get(Meeting, town.meeting_id)
    assert meeting is not None
    return meeting


# ---- meeting.update: one SEQUENCE per invitation --------------------------------------------------

FIRST_TIME = datetime(2026, 12, 10, 17, 0, tzinfo=LOCAL)
SECOND_TIME = datetime(2026, 12, 10, 18, 0, tzinfo=LOCAL)


def moving_to(town: Town, starts_at: datetime) -> Step:
    async def step(session: AsyncSession) -> Meeting:
        meeting = await the_meeting(session, town)
        spec = MeetingSpec(starts_at=starts_at, place=meeting.place, mode=meeting.mode)
        return await do_update_meeting(
            session, meeting=meeting, spec=spec, base_url=BASE_URL, sender=SENDER, actor=town.actor
        )

    return step


async def test_two_updates_send_invitations_with_successive_sequences(world: World) -> None:
    town = world.town
    assert (await meeting_row(world.context, town)).calendar_sequence == 1  # the call

    await concurrently(world, moving_to(town, FIRST_TIME), moving_to(town, SECOND_TIME))

    updates = await outbox(world.context, "meeting.call_updated")
    by_sequence: dict[int, set[datetime]] = {}
    for message in updates:
        _, event = event_of(message)
        by_sequence.setdefault(event.decoded("SEQUENCE"), set()).add(event.decoded("DTSTART"))
    assert by_sequence == {2: {FIRST_TIME}, 3: {SECOND_TIME}}
    assert len(updates) == 8  # the four called, twice
    assert await outbox(world.context, "meeting.call_withdrawn") == []
    meeting = await meeting_row(world.context, town)
    assert (meeting.calendar_sequence, meeting.agenda_version) == (3, 3)
    assert meeting.starts_at == SECOND_TIME
    async with world.context.db.read() as session:
        query = select(InvitationRecipient).where(InvitationRecipient.meeting_id == town.meeting_id)
        rows = list((await session.execute(query)).scalars())
    assert [(r.first_sequence, r.last_sequence) for r in rows] == [(1, 3)] * 4
    assert await entries(world, "meeting.updated", f"meeting:{town.meeting_id}") == [
        {"changed": ["starts_at"], "agenda_version": 2, "recipients": 4, "withdrawn": 0},
        {"changed": ["starts_at"], "agenda_version": 3, "recipients": 4, "withdrawn": 0},
    ]


# ---- item.update after the call: one history row per version ----------------------------------------

FIRST_TEXT = "Ensimmäinen muutos: selostus täydennetty."
SECOND_TEXT = "Toinen muutos: selostus kirjoitettu uudelleen."


def describing(town: Town, description: str, reason: str) -> Step:
    async def step(session: AsyncSession) -> AgendaItem:
        meeting = await the_meeting(session, town)
        item = await public_item(session, town)
        spec = ItemSpec(**{k: getattr(item, k) for k in ITEM_FIELDS})
        return await do_update_item(
            session,
            item=item,
            meeting=meeting,
            spec=dataclasses.replace(spec, description=description),
            reason=reason,
            actor=town.actor,
        )

    return step


async def test_two_item_edits_keep_both_earlier_texts(world: World) -> None:
    town = world.town

    await concurrently(
        world,
        describing(town, FIRST_TEXT, "Selostusta täydennettiin."),
        describing(town, SECOND_TEXT, "Selostus kirjoitettiin uudelleen."),
    )

    async with world.context.db.read() as session:
        item = await public_item(session, town)
        query = (
            select(AgendaItemVersion)
            .where(AgendaItemVersion.item_id == item.id)
            .order_by(AgendaItemVersion.version)
        )
        history = list((await session.execute(query)).scalars())
    assert [(v.version, v.snapshot["description"], v.reason) for v in history] == [
        (1, "", "Selostusta täydennettiin."),
        (2, FIRST_TEXT, "Selostus kirjoitettiin uudelleen."),
    ]
    assert (item.version, item.description) == (3, SECOND_TEXT)
    assert (await meeting_row(world.context, town)).agenda_version == 3
    assert await entries(world, "item.updated", f"item:{item.id}") == [
        {"changed": ["description"], "version": 2, "reason": "Selostusta täydennettiin."},
        {"changed": ["description"], "version": 3, "reason": "Selostus kirjoitettiin uudelleen."},
    ]


# ---- a cancellation and a declaration at once: nothing is declared for a cancelled meeting ---------------


async def test_a_declaration_waiting_on_a_cancellation_is_refused(world: World) -> None:
    town = world.town
    async with world.context.db.read() as session:
        member = await user_by_username(session, "jasen")
        assert member is not None

    async def cancelling(session: AsyncSession) -> int:
        return await do_cancel_meeting(
            session,
            meeting=await the_meeting(session, town),
            reason="Kokous perutaan, koska asiat siirtyvät.",
            base_url=BASE_URL,
            sender=SENDER,
            actor=town.actor,
        )

    async def declaring(session: AsyncSession) -> object:
        user = await session.get(User, member.id)
        assert user is not None
        return await do_declare_disqualification(
            session,
            item=await public_item(session, town),
            user_id=user.id,
            ground="party",
            explanation="",
            actor=f"user:{user.id}",
        )

    with pytest.raises(InvalidTransition, match="cancelled"):
        await concurrently(world, cancelling, declaring)

    meeting = await meeting_row(world.context, town)
    assert meeting.status == MeetingStatus.CANCELLED
    async with world.context.db.read() as session:
        item = await public_item(session, town)
        assert list((await session.execute(select(Disqualification))).scalars()) == []
    assert len(await outbox(world.context, "meeting.cancelled")) == 4
    [cancelled] = await entries(world, "meeting.cancelled", f"meeting:{town.meeting_id}")
    assert (cancelled["call_sent"], cancelled["recipients"]) == (True, 4)
    assert await entries(world, "disqualification.declared", f"item:{item.id}") == []


# ---- attachment.remove at once: the agenda version goes up once per removal ------------------------------


async def attach(world: World, title: str) -> Attachment:
    town = world.town
    async with world.context.db.write() as session:
        return await do_add_attachment(
            session,
            item=await public_item(session, town),
            meeting=await the_meeting(session, town),
            title=title,
            filename="liite.pdf",
            content_type="application/pdf",
            sha256="0" * 64,
            size=1024,
            is_public=True,
            confidentiality_basis="",
            actor=town.actor,
        )


def removing(town: Town, attachment_id: int) -> Step:
    async def step(session: AsyncSession) -> None:
        attachment = await session.get(Attachment, attachment_id)
        assert attachment is not None
        meeting = await the_meeting(session, town)
        await do_remove_attachment(session, attachment=attachment, meeting=meeting, actor=town.actor)

    return step


async def removed(world: World, attachment: Attachment) -> list[dict[str, Any]]:
    async with world.context.db.read() as session:
        row = await session.get(Attachment, attachment.id)
        assert row is not None
        assert row.removed_at is not None
    return await entries(world, "attachment.removed", f"attachment:{attachment.id}")


async def test_an_attachment_removed_twice_at_once_is_removed_once(world: World) -> None:
    town = world.town
    attachment = await attach(world, "Talousarvioesitys")
    assert (await meeting_row(world.context, town)).agenda_version == 2

    await concurrently(world, removing(town, attachment.id), removing(town, attachment.id))

    assert (await meeting_row(world.context, town)).agenda_version == 3
    assert await removed(world, attachment) == [{"item": f"item:{attachment.item_id}", "agenda_version": 3}]


async def test_two_attachments_removed_at_once_raise_the_agenda_version_twice(world: World) -> None:
    """Only the meeting's lock orders these: each removal locks an attachment of its own."""
    town = world.town
    plan, annex = await attach(world, "Talousarvioesitys"), await attach(world, "Investointiliite")
    assert (await meeting_row(world.context, town)).agenda_version == 3

    await concurrently(world, removing(town, plan.id), removing(town, annex.id))

    assert (await meeting_row(world.context, town)).agenda_version == 5
    assert await removed(world, plan) == [{"item": f"item:{plan.item_id}", "agenda_version": 4}]
    assert await removed(world, annex) == [{"item": f"item:{annex.item_id}", "agenda_version": 5}]


# ---- call.send: two meetings of one body called at once never share a § ----------------------------


async def draft(world: World, day: int, titles: tuple[str, ...]) -> int:
    async with world.context.db.write() as session:
        body = await session.get(Body, world.town.body_id)
        assert body is not None
        spec = MeetingSpec(starts_at=datetime(2026, 12, day, 16, 0, tzinfo=LOCAL), place="Kunnantalo")
        meeting = await do_create_meeting(session, body=body, spec=spec, actor=world.town.actor)
        for title in titles:
            await do_add_item(session, meeting=meeting, spec=ItemSpec(title), actor=world.town.actor)
        return meeting.id


def calling(town: Town, meeting_id: int) -> Step:
    async def step(session: AsyncSession) -> int:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        return await do_send_call(
            session, meeting=meeting, base_url=BASE_URL, sender=SENDER, actor=town.actor
        )

    return step


async def sections(world: World, meeting_id: int) -> list[int]:
    async with world.context.db.read() as session:
        query = (
            select(AgendaItem.section).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.section)
        )
        return list((await session.execute(query)).scalars())


async def test_two_meetings_of_one_body_called_at_once_number_their_items_in_turn(world: World) -> None:
    """The §§ run on through the body's year (the called meeting holds §§ 1–2): the second call waits for the
    first, so their items never share a number."""
    first = await draft(world, 17, ("Talousarvion muutos", "Tilintarkastus"))
    second = await draft(world, 18, ("Kaavoitus",))

    await concurrently(world, calling(world.town, first), calling(world.town, second))

    assert await sections(world, first) == [3, 4]
    assert await sections(world, second) == [5]
    for meeting_id in (first, second):
        [sent] = await entries(world, "call.sent", f"meeting:{meeting_id}")
        assert sent["items"] == len(await sections(world, meeting_id))
