"""Who is asking: the principals of several sign-ins read together agree, each, with one read alone; the
requests that arrive together are read together (web.security.PrincipalDesk: in one transaction on SQLite,
in two statements without one on PostgreSQL)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from auth import actions
from auth.models import Role, User
from auth.queries import SignIn, load_principal, load_principals
from tests.factories import make_user
from web.context import AppContext
from web.security import PrincipalDesk


async def _signed_in(context: AppContext, username: str, *, roles: tuple[Role, ...] = ()) -> SignIn:
    user = await make_user(context, username, roles=roles)
    async with context.db.write() as session:
        started = await actions.do_start_session(
            session, user=user, methods=("pwd",), address="127.0.0.1", user_agent="test"
        )
    return SignIn(user.id, started.family, ("pwd",), "bearer")


@pytest.fixture
async def sign_ins(context: AppContext) -> dict[str, SignIn]:
    """A live sign-in, one with roles, one logged out, one of a closed account, and forged combinations."""
    live = await _signed_in(context, "liisa")
    admin = await _signed_in(context, "pekka", roles=(Role.ADMIN, Role.AUDITOR))
    ended = await _signed_in(context, "kaisa")
    closed = await _signed_in(context, "matti")
    async with context.db.write() as session:
        await actions.do_end_session(session, user_id=ended.user_id, family=ended.family)
        user = await session.get(User, closed.user_id)
        assert user is not None
        await actions.do_set_active(session, user=user, active=False, actor="system:test")
    return {
        "live": live,
        "admin": admin,
        "ended": ended,
        "closed": closed,
        "another's login": SignIn(live.user_id, admin.family, ("pwd",), "bearer"),
        "no such login": SignIn(live.user_id, "0" * 32, ("pwd",), "cookie"),
        "no such user": SignIn(live.user_id + 1000, live.family, ("pwd",), "bearer"),
    }


async def test_read_together_each_is_as_read_alone(context: AppContext, sign_ins: dict[str, SignIn]) -> None:
    wanted = list(sign_ins.values())
    async with context.db.read() as session:
        together = await load_principals(session, wanted)
        alone = [
            await load_principal(session, user_id=s.user_id, family=s.family, methods=s.methods, via=s.via)
            for s in wanted
        ]
    assert together == alone
    found = dict(zip(sign_ins, together, strict=True))
    assert [name for name, p in found.items() if p is not None] == ["live", "admin"]
    admin = found["admin"]
    assert admin is not None
    assert admin.has_role(Role.ADMIN)
    assert admin.has_role(Role.AUDITOR)


async def test_requests_arriving_together_are_read_together(
    context: AppContext, sign_ins: dict[str, SignIn]
) -> None:
    desk = PrincipalDesk(context.db)
    reads: list[str] = []
    engine = context.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", (listener := lambda *a: reads.append(a[2])))
    try:
        found = await asyncio.gather(*(desk.load(s) for s in sign_ins.values()))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [p.user_id if p else None for p in found] == [
        sign_ins["live"].user_id,
        sign_ins["admin"].user_id,
        None,
        None,
        None,
        None,
        None,
    ]
    # The first finds the desk idle and is read alone (core.desk); the six that came meanwhile, together.
    assert len([r for r in reads if "refresh_token" in r]) == 2


async def test_a_failed_read_fails_its_requests_and_not_the_next(
    context: AppContext, sign_ins: dict[str, SignIn]
) -> None:
    desk = PrincipalDesk(context.db)
    broken = SimpleNamespace(read=None, session=None, sqlite=context.db.sqlite)  # no database at all
    desk.db = broken  # type: ignore[assignment]
    with pytest.raises(TypeError):
        await desk.load(sign_ins["live"])
    desk.db = context.db
    found = await desk.load(sign_ins["live"])
    assert found is not None
    assert found.user_id == sign_ins["live"].user_id
