"""Reads of users and sessions for the web layer and the login flow."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import SECOND_FACTOR_ROLES, RefreshToken, Role, User


def user_id_of(actor: str) -> int | None:
    """The user id in an actor string such as "user:7"; None for "system:demo", "cli:root" and the like."""
    kind, _, number = actor.partition(":")
    return int(number) if kind == "user" and number.isdigit() else None


def normalise_username(username: str) -> str:
    return username.strip().lower()


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(select(User).where(User.username == normalise_username(username)))
    return result.scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


def roles_of(user: User) -> frozenset[tuple[str, str]]:
    return frozenset((grant.role, grant.scope) for grant in user.roles)


def requires_second_factor(user: User) -> bool:
    return any(Role(grant.role) in SECOND_FACTOR_ROLES for grant in user.roles)


async def session_is_live(session: AsyncSession, family: str) -> bool:
    """A login's tokens are live until the family is revoked (logout, reuse, admin action)."""
    newest = await session.execute(
        select(RefreshToken.revoked_at)
        .where(RefreshToken.family == family)
        .order_by(RefreshToken.id.desc())
        .limit(1)
    )
    row = newest.first()
    return row is not None and row.revoked_at is None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, as the web layer sees them."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[tuple[str, str]]
    session_family: str
    methods: tuple[str, ...]
    via: str

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"

    def has_role(self, role: Role, scope: str = "") -> bool:
        return (str(role), scope) in self.roles


async def load_principal(
    session: AsyncSession, *, user_id: int, family: str, methods: tuple[str, ...], via: str
) -> Principal | None:
    user = await session.get(User, user_id)
    if user is None or not user.is_active or not await session_is_live(session, family):
        return None
    return Principal(user.id, user.username, user.display_name, roles_of(user), family, methods, via)
