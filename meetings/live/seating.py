"""The body's roster on the meeting day, and the seating stored with a live meeting, for the pure seat rules.

Seats belong to the body's members (role `member`); personal deputies name the member they stand in for
(R-DEP-2); council deputies belong to a group and have a rank in its election result (R-DEP-1).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import LOCAL
from meetings.access import active_on
from meetings.models import Body, BodyKind, Meeting, MemberRole, Membership
from meetings.rules.seats import GroupDeputies, Member, Roster, Seat, Seating


async def roster_of(session: AsyncSession, meeting: Meeting, body: Body) -> Roster:
    """Who may sit in the meeting: the members on its day, each with their personal deputy or group."""
    on = meeting.starts_at.astimezone(LOCAL).date()
    query = (
        select(Membership)
        .where(
            Membership.body_id == body.id,
            Membership.role.in_([MemberRole.MEMBER, MemberRole.DEPUTY]),
            active_on(on),
        )
        .order_by(Membership.id)
    )
    rows = list((await session.execute(query)).scalars())
    members = [m for m in rows if m.role == MemberRole.MEMBER]
    deputies = [m for m in rows if m.role == MemberRole.DEPUTY]
    personal = {d.deputy_for_id: d.user_id for d in deputies if d.deputy_for_id is not None}
    return Roster(
        BodyKind(body.kind),
        tuple(Member(m.user_id, personal.get(m.id), m.group) for m in members),
        _group_deputies([d for d in deputies if d.deputy_for_id is None and d.group]),
    )


def _group_deputies(deputies: list[Membership]) -> tuple[GroupDeputies, ...]:
    groups: dict[str, list[Membership]] = {}
    for deputy in deputies:
        groups.setdefault(deputy.group, []).append(deputy)
    return tuple(
        GroupDeputies(name, tuple(d.user_id for d in sorted(group, key=lambda d: (d.rank or 10**6, d.id))))
        for name, group in sorted(groups.items())
    )


def dump(seating: Seating) -> dict[str, Any]:
    return {
        "seats": [[seat.member, seat.holder] for seat in seating.seats],
        "present": sorted(seating.present),
        "disconnected": sorted(seating.disconnected),
        "disqualified": sorted(seating.disqualified),
    }


def load(data: dict[str, Any]) -> Seating:
    return Seating(
        tuple(Seat(int(member), None if holder is None else int(holder)) for member, holder in data["seats"]),
        frozenset(int(p) for p in data["present"]),
        frozenset(int(p) for p in data["disconnected"]),
        frozenset(int(p) for p in data["disqualified"]),
    )
