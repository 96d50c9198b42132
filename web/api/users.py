"""Account administration for admins: create users, grant and revoke roles, reset second factors."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions
from auth.models import Role, User
from auth.queries import user_by_id
from core.errors import NotFound, ValidationFailed
from web.guards import has_role, principal_of, recent_step_up
from web.http import Req
from web.schemas import NewUser, RoleChange, UserOut
from web.security import client_address

admin = has_role(Role.ADMIN)


def user_out(user: User) -> UserOut:
    roles = [{"role": g.role, "scope": g.scope} for g in sorted(user.roles, key=lambda g: (g.role, g.scope))]
    return UserOut(
        user.id,
        user.username,
        user.display_name,
        user.email,
        user.is_active,
        roles,
        user.totp_secret is not None,
    )


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        known = ", ".join(r.value for r in Role)
        raise ValidationFailed(
            "Unknown role {role}; known roles: {known}.", field="role", role=value, known=known
        ) from exc


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await user_by_id(session, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


@get("/", guards=[admin])
async def list_users(session: NamedDependency[AsyncSession]) -> list[UserOut]:
    users = (await session.execute(select(User).order_by(User.username))).scalars().all()
    return [user_out(u) for u in users]


@post("/", guards=[admin, recent_step_up], status_code=201)
async def create_user(
    request: Req, session: NamedDependency[AsyncSession], data: JSONBody[NewUser]
) -> UserOut:
    roles = [parse_role(r) for r in data.roles]
    actor = principal_of(request).actor
    user = await actions.do_create_user(
        session,
        username=data.username,
        display_name=data.display_name,
        password=data.password,
        email=data.email,
        actor=actor,
    )
    for role in roles:
        await actions.do_grant_role(session, user=user, role=role, actor=actor)
    return user_out(user)


@post("/{user_id:int}/roles", guards=[admin, recent_step_up], status_code=200)
async def grant_role(
    request: Req, session: NamedDependency[AsyncSession], user_id: FromPath[int], data: JSONBody[RoleChange]
) -> UserOut:
    user = await _user(session, user_id)
    await actions.do_grant_role(
        session, user=user, role=parse_role(data.role), scope=data.scope, actor=principal_of(request).actor
    )
    return user_out(user)


@delete("/{user_id:int}/roles/{role:str}", guards=[admin, recent_step_up], status_code=200)
async def revoke_role(
    request: Req,
    session: NamedDependency[AsyncSession],
    user_id: FromPath[int],
    role: FromPath[str],
    role_scope: Annotated[str, QueryParameter(name="scope")] = "",
) -> UserOut:
    user = await _user(session, user_id)
    actor = principal_of(request).actor
    await actions.do_revoke_role(session, user=user, role=parse_role(role), scope=role_scope, actor=actor)
    return user_out(user)


@post("/{user_id:int}/second-factor/reset", guards=[admin, recent_step_up], status_code=200)
async def reset_second_factor(
    request: Req, session: NamedDependency[AsyncSession], user_id: FromPath[int]
) -> UserOut:
    user = await _user(session, user_id)
    actor = principal_of(request).actor
    await actions.do_reset_totp(session, user=user, actor=actor, address=client_address(request))
    return user_out(user)


users_router = Router(
    path="/api/users",
    route_handlers=[list_users, create_user, grant_role, revoke_role, reset_second_factor],
    tags=["users"],
)
