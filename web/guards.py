"""Route guards: thin adapters that refuse, record the refusal in the audit log, and raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actions import STEP_UP_NEEDED, do_return_step_up, do_use_step_up
from auth.models import Role
from auth.queries import Principal, step_up_usable
from core.bounds import valid_id
from core.errors import Forbidden, NotAuthenticated, NotFound
from web.security import app_context, auth_failure, record_denial

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
STEP_UP = "kokous_step_up"  # the scope key of a step-up that a guard let through


async def deny(connection: ASGIConnection[Any, Any, Any, Any], reason: str, *, kind: str) -> None:
    await record_denial(connection, reason, kind=kind)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthenticated(auth_failure(connection) or "Please sign in.")
    return principal


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.scope.get("user"), Principal):
        await deny(connection, "not signed in", kind="not_signed_in")
        principal_of(connection)


def has_role(*roles: Role) -> Guard:
    """Any one of `roles`, organisation-wide."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await signed_in(connection, handler)
        principal = principal_of(connection)
        if not any(principal.has_role(role) for role in roles):
            await deny(connection, f"requires role {' or '.join(roles)}", kind="role")
            raise Forbidden("You do not have the right to do this.")

    return guard


async def recent_step_up(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Sensitive changes need an unused step-up of this session, made in the last ten minutes: the access
    token that the step-up issued names it (`sup`). The route's transaction spends it (`spend_step_up`), so
    one step-up allows one change (docs/security.md)."""
    await signed_in(connection, handler)
    principal = principal_of(connection)
    claims = connection.scope.get("auth")
    nonce = claims.extra.get("sup") if claims is not None else None
    reason = "step-up authentication required"
    if isinstance(nonce, str):
        context = app_context(connection)
        async with context.db.read(bounded=True) as session:
            usable = await step_up_usable(session, principal, nonce, context.db.clock())
        if usable:
            connection.scope[STEP_UP] = nonce  # type: ignore[literal-required]
            return
        reason = "step-up used or expired"
    await deny(connection, reason, kind="step_up")
    raise Forbidden(STEP_UP_NEEDED)


async def spend_step_up(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession) -> None:
    """Spend the step-up that `recent_step_up` let through, in the route's own transaction before its handler
    runs (web/app.py): a failing handler rolls it back, and a second request racing with it is refused."""
    nonce = connection.scope.get(STEP_UP)
    principal = connection.scope.get("user")
    if isinstance(nonce, str) and isinstance(principal, Principal):
        await do_use_step_up(session, nonce=nonce, user_id=principal.user_id, family=principal.session_family)


async def return_step_up(connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession) -> None:
    """For a route under step-up that answers without changing anything (a preview): keep the step-up."""
    nonce = connection.scope.get(STEP_UP)
    principal = connection.scope.get("user")
    if isinstance(nonce, str) and isinstance(principal, Principal):
        family = principal.session_family
        await do_return_step_up(session, nonce=nonce, user_id=principal.user_id, family=family)


async def ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The app's first guard: every number in a route's path is an id (`{meeting_id:int}` …), and one that
    no row can have (0, negative, beyond the INTEGER keys) is not found, as a missing one is, before any
    other guard or the database sees it (a database fails on a number wider than its column)."""
    if any(isinstance(value, int) and not valid_id(value) for value in connection.path_params.values()):
        raise NotFound("Not found.")
