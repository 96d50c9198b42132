"""Reads of users and sessions for the web layer and the login flow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import SECOND_FACTOR_ROLES, RefreshToken, Role, RoleGrant, StepUp, User


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


def requires_second_factor(user: User) -> bool:
    return any(Role(grant.role) in SECOND_FACTOR_ROLES for grant in user.roles)


# The user, whether the login's newest refresh token is unrevoked (1), revoked (0) or missing (NULL), and
# their role grants; built once, so its compiled form and cache key are reused. The login must be the user's
# own: a token whose session id names another user's login finds no row, so it is refused.
_LIVE = (
    select(case((RefreshToken.revoked_at.is_(None), 1), else_=0))
    .where(RefreshToken.family == bindparam("family"), RefreshToken.user_id == bindparam("user_id"))
    .order_by(RefreshToken.id.desc())
    .limit(1)
    .scalar_subquery()
)
PRINCIPAL = (
    select(
        User.username, User.display_name, User.is_active, _LIVE.label("live"), RoleGrant.role, RoleGrant.scope
    )
    .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)


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
    """The person behind a token, if their account is active and that login is live and theirs: a login's
    tokens are live until its family is revoked (logout, reuse, admin action), i.e. while its newest refresh
    token is unrevoked.

    Runs on every signed-in request, so it is one statement (a row per role grant) and builds no ORM objects.
    """
    rows = (await session.execute(PRINCIPAL, {"user_id": user_id, "family": family})).all()
    if not rows or not rows[0].is_active or rows[0].live != 1:
        return None
    row = rows[0]
    roles = frozenset((r.role, r.scope) for r in rows if r.role is not None)
    return Principal(user_id, row.username, row.display_name, roles, family, methods, via)


@dataclass(frozen=True, slots=True)
class SignIn:
    """What an access token says of its sign-in: `load_principal`'s arguments."""

    user_id: int
    family: str
    methods: tuple[str, ...]
    via: str


_PEOPLE = select(
    User.id, User.username, User.display_name, User.is_active, RoleGrant.role, RoleGrant.scope
).outerjoin(RoleGrant, RoleGrant.user_id == User.id)


async def load_principals(session: AsyncSession, sign_ins: Sequence[SignIn]) -> list[Principal | None]:
    """`load_principal` for each of several sign-ins, in two statements however many (the requests that
    arrive together, web.security.PrincipalDesk): the same rule, that the account is active and the login's
    newest refresh token, of that user, is unrevoked."""
    people = await session.execute(_PEOPLE.where(User.id.in_({s.user_id for s in sign_ins})))
    found: dict[int, list[tuple[str, str, bool, str | None, str | None]]] = {}
    for person, username, display, active, role, scope in people.tuples():
        found.setdefault(person, []).append((username, display, active, role, scope))
    newest = (
        select(func.max(RefreshToken.id).label("id"))
        .where(RefreshToken.family.in_({s.family for s in sign_ins}))
        .group_by(RefreshToken.user_id, RefreshToken.family)
        .subquery()
    )
    live_query = select(RefreshToken.user_id, RefreshToken.family).where(
        RefreshToken.id.in_(select(newest.c.id)), RefreshToken.revoked_at.is_(None)
    )
    live = set((await session.execute(live_query)).tuples())
    return [_principal(s, found.get(s.user_id, []), (s.user_id, s.family) in live) for s in sign_ins]


def _principal(
    sign_in: SignIn, rows: list[tuple[str, str, bool, str | None, str | None]], live: bool
) -> Principal | None:
    if not rows or not rows[0][2] or not live:
        return None
    username, display, *_ = rows[0]
    roles = frozenset((role, scope or "") for *_, role, scope in rows if role is not None)
    return Principal(sign_in.user_id, username, display, roles, sign_in.family, sign_in.methods, sign_in.via)


async def step_up_usable(session: AsyncSession, principal: Principal, nonce: str, now: datetime) -> bool:
    """Whether the step-up `nonce` is this session's, unused and not expired (the guard's check;
    auth.actions.do_use_step_up then claims it in the action's transaction)."""
    found = await session.execute(
        select(StepUp.id).where(
            StepUp.nonce == nonce,
            StepUp.user_id == principal.user_id,
            StepUp.family == principal.session_family,
            StepUp.used_at.is_(None),
            StepUp.expires_at > now,
        )
    )
    return found.first() is not None
