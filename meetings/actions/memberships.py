"""Who holds which role in a body, for which term; chairs and secretaries get the matching sign-in role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.actions import do_grant_role, do_revoke_role
from auth.models import Role, User
from core.bounds import check_choice, check_length, length_of, valid_id
from core.db import session_clock
from core.errors import Conflict, ValidationFailed
from meetings.access import active_on, parent_row
from meetings.models import (
    Body,
    MemberRole,
    Membership,
)

# Body roles that need a second factor at sign-in (DESIGN.md §4), mirrored as scoped auth roles.
AUTH_ROLE = {MemberRole.CHAIR: Role.CHAIR, MemberRole.SECRETARY: Role.SECRETARY}


def body_scope(body_id: int) -> str:
    return f"body:{body_id}"


@dataclass(frozen=True, slots=True)
class MembershipSpec:
    user_id: int
    role: str
    term_start: date
    term_end: date | None = None
    deputy_for_id: int | None = None
    title: str = ""
    group: str = ""  # the council group or joint list (R-DEP-1)
    rank: int | None = None  # a council deputy's place in the group's election result (R-DEP-1)


async def _check_membership(session: AsyncSession, body: Body, spec: MembershipSpec) -> MemberRole:
    role = check_choice(MemberRole, spec.role, "role")
    check_length(spec.title, length_of(Membership.title), field="title")
    check_length(spec.group, length_of(Membership.group), field="group")
    if spec.rank is not None and (role != MemberRole.DEPUTY or not 1 <= spec.rank <= 1000):
        raise ValidationFailed("Only a deputy has a rank, from 1 to 1000.", field="rank")
    if spec.term_end is not None and spec.term_end < spec.term_start:
        raise ValidationFailed("The term cannot end before it starts.", field="term_end")
    if not valid_id(spec.user_id) or await session.get(User, spec.user_id) is None:
        raise ValidationFailed("No such user.", field="user_id")
    if spec.deputy_for_id is not None:
        if role != MemberRole.DEPUTY:
            raise ValidationFailed("Only a deputy stands in for a member.", field="deputy_for_id")
        principal = (
            await session.get(Membership, spec.deputy_for_id) if valid_id(spec.deputy_for_id) else None
        )
        if principal is None or principal.body_id != body.id or principal.role != MemberRole.MEMBER:
            raise ValidationFailed(
                "A personal deputy stands in for a member of the same body.", field="deputy_for_id"
            )
    duplicate = await session.execute(
        select(Membership.id).where(
            Membership.body_id == body.id,
            Membership.user_id == spec.user_id,
            Membership.role == role,
            active_on(spec.term_start),
        )
    )
    if duplicate.first():
        raise Conflict("This person already has that role in this body for that time.")
    return role


async def _seated_members(session: AsyncSession, body: Body, on: date) -> int:
    query = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.body_id == body.id, Membership.role == MemberRole.MEMBER, active_on(on))
    )
    return int((await session.execute(query)).scalar_one())


async def do_add_membership(
    session: AsyncSession, *, body: Body, spec: MembershipSpec, actor: str
) -> Membership:
    """Give a person a role in a body for a term.

    Audit: membership.added, and role.granted for a chair or secretary (they need a second factor).
    """
    role = await _check_membership(session, body, spec)
    if role == MemberRole.MEMBER and await _seated_members(session, body, spec.term_start) >= body.seats:
        raise Conflict("All {seats} statutory seats of this body are already filled.", seats=body.seats)
    membership = Membership(
        body_id=body.id,
        user_id=spec.user_id,
        role=role,
        term_start=spec.term_start,
        term_end=spec.term_end,
        deputy_for_id=spec.deputy_for_id,
        title=spec.title,
        group=spec.group.strip(),
        rank=spec.rank,
        created_at=session_clock(session)(),
    )
    session.add(membership)
    await session.flush()
    await record(
        session,
        AuditAction.MEMBERSHIP_ADDED,
        actor=actor,
        subject=f"body:{body.id}",
        data={
            "membership": membership.id,
            "user": f"user:{spec.user_id}",
            "role": str(role),
            "term_start": spec.term_start.isoformat(),
            "term_end": spec.term_end.isoformat() if spec.term_end else None,
            **({"group": spec.group.strip(), "rank": spec.rank} if spec.group.strip() else {}),
        },
    )
    if role in AUTH_ROLE:
        user = await parent_row(session, User, spec.user_id)
        await do_grant_role(session, user=user, role=AUTH_ROLE[role], scope=body_scope(body.id), actor=actor)
    return membership


async def do_end_membership(session: AsyncSession, *, membership: Membership, actor: str) -> None:
    """End a role now (resignation, release). Audit: membership.ended (+ role.revoked). Idempotent."""
    if membership.ended_at is not None:
        return
    membership.ended_at = session_clock(session)()
    await record(
        session,
        AuditAction.MEMBERSHIP_ENDED,
        actor=actor,
        subject=f"body:{membership.body_id}",
        data={"membership": membership.id, "user": f"user:{membership.user_id}", "role": membership.role},
    )
    role = MemberRole(membership.role)
    if role in AUTH_ROLE:
        still = await session.execute(
            select(Membership.id).where(
                Membership.body_id == membership.body_id,
                Membership.user_id == membership.user_id,
                Membership.role == role,
                Membership.ended_at.is_(None),
            )
        )
        user = await session.get(User, membership.user_id)
        if still.first() is None and user is not None:
            await do_revoke_role(
                session, user=user, role=AUTH_ROLE[role], scope=body_scope(membership.body_id), actor=actor
            )
