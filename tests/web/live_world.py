"""The live API's tests share this: the board of tests/meetings/live/world.py on its meeting's day, and a
Bearer token for each of its people (issued as a completed sign-in would, without the password's cost)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from audit.models import AuditAction, AuditEntry
from auth.actions import do_start_session
from auth.models import User
from core.clock import FixedClock
from meetings.live.models import LiveMeeting, MeetingEventRecord
from tests.meetings.live.world import Board, make_board
from web.context import AppContext

LIVE = "/api/meetings/{meeting}/live"


@dataclass
class LiveWorld:
    board: Board
    headers: dict[str, dict[str, str]]  # by the board's names: m1 … m5, d1 … d5, sihteeri, esittelija

    @property
    def live(self) -> str:
        return LIVE.format(meeting=self.board.meeting_id)


async def bearer(context: AppContext, user_id: int) -> dict[str, str]:
    async with context.db.write() as session:
        user = await session.get(User, user_id)
        assert user is not None
        tokens = await do_start_session(
            session, user=user, methods=("pwd", "otp"), address="192.0.2.10", user_agent="test"
        )
    return {"Authorization": f"Bearer {tokens.access_token}"}


async def live_world(context: AppContext, clock: FixedClock, *, public: bool = False) -> LiveWorld:
    """The board, its meeting called, and the clock on the meeting's day (the tokens are issued then)."""
    board = await make_board(context, clock, public=public)
    clock.now = (clock() + timedelta(days=5)).replace(hour=13, minute=0)
    headers = {name: await bearer(context, person) for name, person in board.people.items()}
    return LiveWorld(board, headers)


async def version(context: AppContext, meeting_id: int) -> int:
    async with context.db.read() as session:
        live = await session.get(LiveMeeting, meeting_id)
        return live.version if live is not None else 0


async def audit_count(context: AppContext, action: AuditAction) -> int:
    async with context.db.read() as session:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == str(action))
        return int((await session.execute(query)).scalar_one())


async def events_since(context: AppContext, meeting_id: int, after: int) -> list[MeetingEventRecord]:
    async with context.db.read() as session:
        query = (
            select(MeetingEventRecord)
            .where(MeetingEventRecord.meeting_id == meeting_id, MeetingEventRecord.version > after)
            .order_by(MeetingEventRecord.version)
        )
        return list((await session.execute(query)).scalars())


async def step(
    client: httpx.AsyncClient,
    context: AppContext,
    world: LiveWorld,
    who: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    status: int = 200,
    audit: AuditAction | None = None,
    event: str | None = None,
) -> Any:
    """One request as `who`; on success, the step's audit entry is written once and its event is among the
    meeting's new, gaplessly numbered events, the last of which the answer names (`version`)."""
    meeting = world.board.meeting_id
    before = await version(context, meeting)
    audited = await audit_count(context, audit) if audit is not None else 0
    response = await client.request(
        method, world.live + path, headers=world.headers[who], json=body if body is not None else None
    )
    assert response.status_code == status, f"{method} {path} as {who}: {response.text}"
    answer = response.json()
    if audit is not None:
        assert await audit_count(context, audit) == audited + 1, f"{audit} for {method} {path}"
    if event is not None:
        new = await events_since(context, meeting, before)
        assert event in [e.type for e in new], f"{event} for {method} {path}: {[e.type for e in new]}"
        assert [e.version for e in new] == list(range(before + 1, before + 1 + len(new)))
        assert all(e.actor == f"user:{world.board.people[who]}" for e in new)
        assert answer["version"] == before + len(new)
    return answer
