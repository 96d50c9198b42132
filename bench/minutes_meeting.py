"""A held council meeting of 40 items and 200 votes of 43 members, written straight into a fresh SQLite
database as the live meeting would have left it (events, handling, proposals, votes with every choice), so
that drafting its minutes can be timed (bench/minutes.py). Writing it is set-up, not measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from auth.models import User
from core.db import Base, Database, create_engine
from meetings.live.events import EventType
from meetings.live.models import ItemHandling, LiveMeeting, MeetingEventRecord, Proposal, Seconding, Vote
from meetings.models import AgendaItem, Body, Meeting, Membership, Organisation
from meetings.rules.voting import Choice

ITEMS, VOTES_PER_ITEM, MEMBERS = 40, 5, 43
START = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
CHOICES = (Choice.JAA, Choice.EI, Choice.JAA, Choice.TYHJA, Choice.EI, Choice.JAA, Choice.POISSA)
TEXT = "Kaupunginvaltuusto päättää asiasta esityslistan liitteen mukaisesti. " * 6


async def held_council(home: Path) -> tuple[Database, int, int]:
    """The database, the meeting's id and its secretary's id."""
    import web.models  # noqa: F401  (every table on Base.metadata)

    engine = create_engine(f"sqlite+aiosqlite:///{home / 'bench.sqlite3'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    db = Database(engine, clock=lambda: START + timedelta(days=10))
    async with db.write() as session:
        session.add(Organisation(name="Esimerkkilän kaupunki", updated_at=START))
        body = Body(slug="kv", name="Kaupunginvaltuusto", kind="council", seats=MEMBERS, created_at=START)
        session.add(body)
        users = [
            User(
                username=f"m{n}",
                display_name=f"Valtuutettu {n:02d} Esimerkki",
                password_hash="-",
                created_at=START,
                password_changed_at=START,
            )
            for n in range(MEMBERS + 1)
        ]
        session.add_all(users)
        await session.flush()
        members, secretary = [u.id for u in users[:MEMBERS]], users[MEMBERS].id
        for user_id in members:
            session.add(
                Membership(
                    body_id=body.id,
                    user_id=user_id,
                    role="member",
                    term_start=START.date(),
                    group="puolue",
                    created_at=START,
                )
            )
        session.add(
            Membership(
                body_id=body.id,
                user_id=secretary,
                role="secretary",
                term_start=START.date(),
                created_at=START,
            )
        )
        meeting = Meeting(
            body_id=body.id,
            number=9,
            year=2026,
            starts_at=START,
            place="Valtuustotalo",
            mode="hybrid",
            is_public=True,
            status="closed",
            call_sent_at=START - timedelta(days=7),
            created_at=START,
            updated_at=START,
        )
        session.add(meeting)
        await session.flush()
        closed = START + timedelta(hours=6)
        session.add(
            LiveMeeting(
                meeting_id=meeting.id,
                version=0,
                seating={},
                remote=[],
                chaired_by=members[0],
                lawful_declared_at=START,
                checkers=members[1:3],
                opened_at=START,
                closed_at=closed,
            )
        )
        events: list[tuple[str, int | None, dict[str, object]]] = [(EventType.OPENED, None, {})]
        events += [(EventType.ARRIVED, None, {"person": m, "remote": m % 3 == 0}) for m in members]
        quorum = {"quorate": True, "counted": members, "needed": 22, "seats": MEMBERS, "gaps": []}
        events.append((EventType.DECLARED_LAWFUL, None, {"quorum": quorum}))
        for section in range(1, ITEMS + 1):
            item = AgendaItem(
                meeting_id=meeting.id,
                position=section,
                section=section,
                title=f"Asia {section}: talousarvion muutos",
                presenter_id=members[0],
                description=TEXT,
                proposal=TEXT,
                updated_at=START,
            )
            session.add(item)
            await session.flush()
            at = START + timedelta(minutes=8 * section)
            proposals = [Proposal(item_id=item.id, kind="base", text=TEXT, made_by=None, made_at=at)]
            proposals += [
                Proposal(
                    item_id=item.id, kind="counter", text=f"Vastaehdotus {n}", made_by=members[n], made_at=at
                )
                for n in range(1, VOTES_PER_ITEM + 1)
            ]
            session.add_all(proposals)
            await session.flush()
            for n, proposal in enumerate(proposals[1:], start=1):
                session.add(Seconding(proposal_id=proposal.id, user_id=members[n + 1], at=at))
            for step in range(1, VOTES_PER_ITEM + 1):
                choices = {str(m): str(CHOICES[(m + section + step) % len(CHOICES)]) for m in members}
                result = {
                    "choices": choices,
                    "jaa": 0,
                    "ei": 0,
                    "tyhja": 0,
                    "poissa": 0,
                    "winner": "jaa",
                    "by_chair": False,
                    "void": False,
                }
                session.add(
                    Vote(
                        item_id=item.id,
                        step=step,
                        jaa=str(proposals[0].id),
                        ei=str(proposals[step].id),
                        opened_at=at,
                        closed_at=at,
                        entitled=members,
                        chair_id=members[0],
                        result=result,
                    )
                )
            session.add(
                ItemHandling(
                    item_id=item.id,
                    meeting_id=meeting.id,
                    state="decided",
                    started_at=at,
                    order=[],
                    decided_at=at,
                    decision=TEXT,
                    decided_how="vote",
                    decided_proposal_id=proposals[0].id,
                )
            )
            events.append((EventType.ITEM_TAKEN_UP, item.id, {"section": section}))
        events.append((EventType.CLOSED, None, {}))
        for version, (kind, item_id, data) in enumerate(events, start=1):
            session.add(
                MeetingEventRecord(
                    meeting_id=meeting.id,
                    version=version,
                    type=str(kind),
                    item_id=item_id,
                    data=data,
                    at=START + timedelta(seconds=version),
                    actor="bench",
                )
            )
        return db, meeting.id, secretary
